//! `roster backup` and `roster restore` on SQLite: a copy taken while the
//! server runs restores with the data, and a server started on it works.

use reqwest::StatusCode;
use roster::config::DatabaseUrl;
use roster::services::backup;

use crate::helpers::{PASSWORD, email, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_backup_taken_while_serving_restores_with_its_data() {
    let app = spawn_app().await;
    if app.db.backend() != sea_orm::DbBackend::Sqlite {
        // PostgreSQL is backed up with pg_dump; the command refuses.
        let dir = tempfile::tempdir().expect("dir");
        let refused = backup::backup(&app.db, &dir.path().join("x.db")).await;
        assert!(
            refused
                .expect_err("refused")
                .to_string()
                .contains("pg_dump")
        );
        return;
    }
    let owner_email = email("owner");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("it's a backup.db");

    // Writes go on while the copy is taken.
    let writes = async {
        for i in 0..20 {
            owner
                .post_form(
                    &format!("/orgs/{org}/workspaces"),
                    &[("title", &format!("Store {i}")), ("description", "")],
                )
                .await;
        }
    };
    let (bytes, ()) = tokio::join!(backup::backup(&app.db, &copy), writes);
    assert!(bytes.expect("backup") > 0);
    assert!(
        backup::backup(&app.db, &copy).await.is_err(),
        "an existing file is never overwritten"
    );

    // Restore over an existing database: it is kept aside.
    let restored = dir.path().join("restored.db");
    std::fs::write(&restored, b"an older database").expect("write");
    let url = DatabaseUrl::new(format!("sqlite://{}?mode=rwc", restored.display()));
    let kept = backup::restore(&url, &copy, 1_800_000_000)
        .await
        .expect("restore")
        .expect("the old file kept");
    assert_eq!(std::fs::read(&kept).expect("read"), b"an older database");

    let second = spawn_app_with(|config| config.database_url = url.clone()).await;
    let browser = second.new_browser();
    assert_eq!(
        browser.sign_in(&owner_email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, page) = browser.get_html(&format!("/orgs/{org}/workspaces")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acme"), "the organization came back");
    assert!(page.contains("General"));

    // Garbage is refused, and the database is left alone.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").expect("write");
    let refused = backup::restore(&url, &junk, 1_800_000_001).await;
    assert!(refused.is_err());
    assert!(backup::check(&restored).await.is_ok());
}
