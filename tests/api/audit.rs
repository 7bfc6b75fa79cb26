//! The audit log: a row per covered action with who, what, whom and the
//! change; nothing written when a change is refused or fails; the page's
//! filters, pages and CSV export (safe against formula injection); a
//! member's timeline; the access review.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use sea_orm::ConnectionTrait;

use crate::helpers::{PASSWORD, TestApp, email, location, spawn_app};

/// The newest row of `action` in `org`: "actor|target|before|after".
async fn last_row(app: &TestApp, org: &str, action: &str) -> String {
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
        ))
        .await;
    assert!(count > 0, "no {action} row");
    app.scalar_text(&format!(
        "SELECT actor_label || '|' || COALESCE(target_label, '') || '|' || \
         COALESCE(before_value, '') || '|' || COALESCE(after_value, '') \
         FROM audit_events WHERE org_id = '{org}' AND action = '{action}' \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .await
}

fn id_after(path: &str, marker: &str) -> String {
    path.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an id in the path")
        .to_string()
}

#[tokio::test]
async fn every_covered_action_writes_its_row_with_actor_target_and_change() {
    let app = spawn_app().await;
    let owner_email = email("owner");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let who = owner_email.to_lowercase();
    let general = app.general_workspace(&org).await;
    let mut checks: Vec<(&str, Vec<String>)> = Vec::new();
    checks.push(("organization.created", vec![who.clone(), "Acme".into()]));

    owner
        .post_form(
            &format!("/orgs/{org}/settings"),
            &[("name", "Acme Ltd"), ("description", "")],
        )
        .await;
    checks.push(("settings.changed", vec!["Acme".into(), "Acme Ltd".into()]));

    owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", "ivy@example.test"), ("role", "viewer")],
        )
        .await;
    checks.push((
        "invitation.sent",
        vec!["ivy@example.test".into(), "viewer".into()],
    ));
    let invitation = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE org_id = '{org}' AND email_normalized = 'ivy@example.test'"
        ))
        .await;
    // One invitation is resent at most every two minutes.
    app.clock.advance(2 * 60);
    owner
        .post_form(&format!("/orgs/{org}/invitations/{invitation}/resend"), &[])
        .await;
    checks.push(("invitation.resent", vec!["ivy@example.test".into()]));
    owner
        .post_form(&format!("/orgs/{org}/invitations/{invitation}/cancel"), &[])
        .await;
    checks.push(("invitation.revoked", vec!["ivy@example.test".into()]));

    let (_, token) = app.add_invitation(&org, OrgRole::Member).await;
    let joiner = app.new_browser();
    let joined = joiner
        .post_form(
            &format!("/invitations/{token}/signup"),
            &[("name", "Nora Newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    checks.push(("invitation.accepted", vec!["member".into()]));

    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    owner
        .post_form(
            &format!("/orgs/{org}/members/{target}/role"),
            &[("role", "viewer")],
        )
        .await;
    checks.push((
        "member.role_changed",
        vec![
            who.clone(),
            target_email.clone(),
            "member".into(),
            "viewer".into(),
        ],
    ));

    owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Harbor"), ("description", "")],
        )
        .await;
    checks.push(("workspace.created", vec!["Harbor".into()]));
    let harbor = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'harbor'"
        ))
        .await;
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{harbor}"),
            &[("title", "Harbour"), ("description", "")],
        )
        .await;
    checks.push(("workspace.renamed", vec!["Harbor".into(), "Harbour".into()]));
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{general}/members/{target}/role"),
            &[("role", "editor")],
        )
        .await;
    checks.push(("workspace.role_granted", vec!["editor".into()]));
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{general}/members/{target}/role"),
            &[("role", "none")],
        )
        .await;
    checks.push(("workspace.role_revoked", vec!["editor".into()]));

    let created = owner
        .post_form(
            &format!("/orgs/{org}/products"),
            &[("workspace_id", &general), ("name", "Atlas")],
        )
        .await;
    let atlas = id_after(&location(&created), "/products/");
    checks.push(("product.created", vec![who.clone(), "Atlas".into()]));
    owner
        .post_form(
            &format!("/orgs/{org}/products/{atlas}/owner"),
            &[("email", &target_email)],
        )
        .await;
    checks.push((
        "product.owner_changed",
        vec!["Olivia Owner".into(), "Atlas".into()],
    ));
    owner
        .post_form(
            &format!("/orgs/{org}/product-access/{target}/restrict"),
            &[("restricted", "on")],
        )
        .await;
    checks.push((
        "product_access.restricted",
        vec![
            target_email.clone(),
            "all products".into(),
            "restricted".into(),
        ],
    ));
    owner
        .post_form(
            &format!("/orgs/{org}/product-access/{target}/products/{atlas}"),
            &[("access", "view")],
        )
        .await;
    checks.push((
        "product_access.changed",
        vec!["Atlas: none".into(), "Atlas: view".into()],
    ));
    owner
        .post_form(&format!("/orgs/{org}/products/{atlas}/delete"), &[])
        .await;
    checks.push(("product.deleted", vec!["Atlas".into()]));

    let beacon = app.add_product(&general, "Beacon", None).await;
    owner
        .post_form(
            &format!("/orgs/{org}/products/{beacon}"),
            &[("name", "Beacon Two"), ("description", "")],
        )
        .await;
    checks.push((
        "product.updated",
        vec!["Beacon".into(), "Beacon Two".into()],
    ));
    owner
        .post_form(
            &format!("/orgs/{org}/product-access/{target}/bulk"),
            &[("workspace_id", &general)],
        )
        .await;
    checks.push((
        "product_access.bulk_granted",
        vec![target_email.clone(), "View on 1 product of General".into()],
    ));
    owner
        .post_form(
            &format!("/orgs/{org}/product-access/{target}/restrict"),
            &[("restricted", "off")],
        )
        .await;
    checks.push((
        "product_access.unrestricted",
        vec!["restricted".into(), "all products".into()],
    ));
    owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", "acme.test"), ("role", "viewer")],
        )
        .await;
    checks.push(("settings.auto_join_changed", vec!["acme.test".into()]));

    let (_, heir_ws_email) = app.add_member(&org, OrgRole::Member).await;
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{harbor}/transfer"),
            &[("email", &heir_ws_email), ("password", PASSWORD)],
        )
        .await;
    checks.push((
        "workspace.ownership_transferred",
        vec![heir_ws_email.clone()],
    ));
    let created = owner.post_form("/orgs", &[("name", "Beta")]).await;
    let beta = id_after(&location(&created), "/orgs/");
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{harbor}/move"),
            &[("to", &beta)],
        )
        .await;
    checks.push(("workspace.moved", vec!["Harbour".into(), beta.clone()]));
    owner
        .post_form(
            &format!("/orgs/{beta}/workspaces/{harbor}/delete"),
            &[("confirm_title", "Harbour")],
        )
        .await;
    assert!(
        last_row(&app, &beta, "workspace.deleted")
            .await
            .contains("Harbour")
    );
    let pop_up = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Pop-up"), ("description", "")],
        )
        .await;
    let pop_up = id_after(&location(&pop_up), "/workspaces/");
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{pop_up}/delete"),
            &[("confirm_title", "Pop-up")],
        )
        .await;
    checks.push(("workspace.deleted", vec!["Pop-up".into()]));

    let leaver_email = email("leaver");
    let leaver = app
        .member_with_role(&org, &leaver_email, OrgRole::Member)
        .await;
    leaver.post_form(&format!("/orgs/{org}/leave"), &[]).await;
    checks.push(("member.left", vec![leaver_email.to_lowercase()]));
    owner
        .post_form(&format!("/orgs/{org}/members/{target}/remove"), &[])
        .await;
    checks.push((
        "member.removed",
        vec![target_email.clone(), "viewer".into()],
    ));

    let (_, heir_email) = app.add_member(&org, OrgRole::Admin).await;
    owner
        .post_form(
            &format!("/orgs/{org}/transfer"),
            &[("email", &heir_email), ("password", PASSWORD)],
        )
        .await;
    checks.push(("ownership.transferred", vec![heir_email.clone()]));

    // The organization's deletion is recorded, and every row outlives it.
    let heir = app.new_browser();
    heir.sign_in(&heir_email, PASSWORD).await;
    let before_delete = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}'"
        ))
        .await;
    let deleted = heir
        .post_form(
            &format!("/orgs/{org}/delete"),
            &[("confirm_name", "Acme Ltd"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(
        last_row(&app, &org, "organization.deleted")
            .await
            .contains("Acme Ltd")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}'"
        ))
        .await,
        before_delete + 1
    );

    // Each action has a row, by the Owner (but for the joiner's and the
    // leaver's own), holding every expected part.
    let mut failures = Vec::new();
    for (action, parts) in &checks {
        let mut sql = format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
        );
        if !matches!(*action, "invitation.accepted" | "member.left") {
            sql.push_str(&format!(" AND actor_label = '{who}'"));
        }
        for part in parts {
            sql.push_str(&format!(
                " AND LOWER(actor_label || '|' || COALESCE(target_label, '') || '|' || \
                 COALESCE(before_value, '') || '|' || COALESCE(after_value, '')) LIKE '%{}%'",
                part.to_lowercase().replace('\'', "''")
            ));
        }
        if app.scalar(&sql).await == 0 {
            failures.push(format!(
                "{action}: no row with {parts:?}; newest: {}",
                last_row(&app, &org, action).await
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_refused_or_failed_change_leaves_neither_the_change_nor_a_row() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    let member = app
        .member_with_role(&org, &email("mo"), OrgRole::Member)
        .await;
    let refused = member
        .post_form(
            &format!("/orgs/{org}/members/{target}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let rows = |app: &TestApp| {
        let org = org.clone();
        let app_db = app.db.clone();
        async move {
            let backend = app_db.owner().get_database_backend();
            app_db
                .owner()
                .query_one_raw(sea_orm::Statement::from_string(
                    backend,
                    format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_events \
                         WHERE org_id = '{org}' AND action = 'member.role_changed'"
                    ),
                ))
                .await
                .expect("count")
                .expect("row")
                .try_get_by_index::<i64>(0)
                .expect("number")
        }
    };
    assert_eq!(rows(&app).await, 0);

    // A database failure injected into the audit insert: the role change
    // in the same transaction rolls back with it.
    let backend = app.db.owner().get_database_backend();
    let inject: &[&str] = match backend {
        sea_orm::DbBackend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'injected failure'; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_role_audit BEFORE INSERT ON audit_events FOR EACH ROW \
             WHEN (NEW.action = 'member.role_changed') EXECUTE FUNCTION refuse_audit()",
        ],
        _ => &[
            "CREATE TRIGGER refuse_role_audit BEFORE INSERT ON audit_events \
             WHEN NEW.action = 'member.role_changed' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
    };
    for sql in inject {
        app.db
            .owner()
            .execute_unprepared(sql)
            .await
            .expect("inject");
    }
    let failed = owner
        .post_form(
            &format!("/orgs/{org}/members/{target}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert!(failed.status().is_server_error(), "{}", failed.status());
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("member"),
        "the change rolled back with its row"
    );
    assert_eq!(rows(&app).await, 0);
    app.db
        .owner()
        .execute_unprepared("DROP TRIGGER refuse_role_audit")
        .await
        .ok();
}

/// Inserts an audit row straight into the database.
async fn add_row(app: &TestApp, org: &str, action: &str, target: &str, at: i64) {
    app.db
        .owner()
        .execute_unprepared(&format!(
            "INSERT INTO audit_events (id, org_id, actor_user_id, actor_label, action, \
             target_type, target_id, target_label, before_value, after_value, address, created_at) \
             VALUES ('{}', '{org}', NULL, 'seed@example.test', '{action}', 'member', NULL, \
             '{}', 'member', 'viewer', '192.0.2.1', {at})",
            uuid::Uuid::new_v4(),
            target.replace('\'', "''")
        ))
        .await
        .expect("insert a row");
}

#[tokio::test]
async fn the_log_filters_pages_and_exports_csv_safely() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let (_, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    // 2026-11-01 00:00 UTC and one row an hour before it, going back.
    let base = 1_793_491_200;
    for i in 0..120 {
        let (action, target) = if i % 3 == 0 {
            ("member.removed", "zed@example.test")
        } else {
            ("member.role_changed", "amy@example.test")
        };
        add_row(&app, &org, action, target, base - i * 3600).await;
    }
    add_row(
        &app,
        &org,
        "member.role_changed",
        "=cmd|' /C calc'!A0",
        base + 60,
    )
    .await;
    add_row(
        &app,
        &other_org,
        "member.removed",
        "secret@elsewhere.test",
        base,
    )
    .await;

    let (status, first) = owner.get_html(&format!("/orgs/{org}/audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("<tr>").count(), 51, "50 rows and the header");
    assert!(first.contains("Organization created"), "newest first");
    assert!(!first.contains("secret@elsewhere.test"));
    let older = first
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("after="))
        .expect("an Older link")
        .replace("&#38;", "&");
    let (_, second) = owner.get_html(&older).await;
    assert_eq!(second.matches("<tr>").count(), 51);
    assert!(second.contains("Newest"));

    let (_, removed) = owner
        .get_html(&format!("/orgs/{org}/audit?action=member.removed"))
        .await;
    assert_eq!(removed.matches("<tr>").count(), 41, "40 removals");
    assert!(!removed.contains("amy@example.test"));
    let (_, about_amy) = owner
        .get_html(&format!("/orgs/{org}/audit?member=AMY@example.test"))
        .await;
    assert!(about_amy.contains("amy@example.test") && !about_amy.contains("zed@example.test"));
    // 2026-10-31 only: the 24 rows of that day.
    let (_, one_day) = owner
        .get_html(&format!("/orgs/{org}/audit?from=2026-10-31&to=2026-10-31"))
        .await;
    assert_eq!(
        one_day.matches("<tr>").count(),
        25,
        "24 rows and the header"
    );
    let (_, nobody) = owner
        .get_html(&format!("/orgs/{org}/audit?actor=nobody@example.test"))
        .await;
    assert!(nobody.contains("No changes match this view."));
    // Filter mistakes come back on the page, at their field; a page link
    // that is not one is refused.
    for (bad, field) in [
        ("action=member.exploded", "action"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
    ] {
        let (status, page) = owner.get_html(&format!("/orgs/{org}/audit?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{bad}");
    }
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/audit?after=junk"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let export = owner
        .get(&format!("/orgs/{org}/audit.csv?action=member.role_changed"))
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"))
    );
    let csv = export.text().await.expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "\"When\",\"Who\",\"What\",\"Kind\",\"About\",\"Before\",\"After\",\"From address\""
    );
    assert_eq!(lines.len(), 1 + 81, "the header and 81 role changes");
    assert!(
        csv.contains(",\"'=cmd|' /C calc'!A0\","),
        "the formula is neutralized: {}",
        lines[1]
    );
    assert!(!csv.contains("secret@elsewhere.test"));
    // 900 older rows more: the export reads 1,000 at a time and must go on
    // past the first batch.
    let values: Vec<String> = (0..900)
        .map(|i| {
            format!(
                "('{}', '{org}', NULL, 'seed@example.test', 'workspace.created', 'workspace', \
                 NULL, 'Store {i}', NULL, 'Store {i}', NULL, {})",
                uuid::Uuid::new_v4(),
                base - 1_000_000 - i
            )
        })
        .collect();
    app.db
        .owner()
        .execute_unprepared(&format!(
            "INSERT INTO audit_events (id, org_id, actor_user_id, actor_label, action, \
             target_type, target_id, target_label, before_value, after_value, address, created_at) \
             VALUES {}",
            values.join(", ")
        ))
        .await
        .expect("insert rows");
    let full = owner
        .get(&format!("/orgs/{org}/audit.csv"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        full.lines().count(),
        1 + 122 + 900,
        "every row of the organization"
    );
    assert!(
        full.trim_end().ends_with(",\"Store 899\",\"\""),
        "the oldest comes last"
    );
}

#[tokio::test]
async fn a_members_page_shows_their_timeline_to_those_who_read_the_log() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    owner
        .post_form(
            &format!("/orgs/{org}/members/{target}/role"),
            &[("role", "viewer")],
        )
        .await;
    let (_, page) = owner
        .get_html(&format!("/orgs/{org}/members/{target}"))
        .await;
    assert!(page.contains("Timeline"));
    assert!(page.contains("Role changed"));
    assert!(page.contains("Member → Viewer"), "people's words: {page}");
    assert!(page.contains(&format!(
        "/orgs/{org}/audit?member={}",
        target_email.replace('@', "%40")
    )));
    let viewer = app
        .member_with_role(&org, &email("vic"), OrgRole::Viewer)
        .await;
    let (_, theirs) = viewer
        .get_html(&format!("/orgs/{org}/members/{target}"))
        .await;
    assert!(!theirs.contains("Timeline"));
}

#[tokio::test]
async fn access_review_flags_inactive_members_and_exports_them() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let now = app.clock.now();
    let mut ids = Vec::new();
    for (days_ago, role) in [
        (Some(200), OrgRole::Member),
        (Some(10), OrgRole::Viewer),
        (None, OrgRole::Member),
    ] {
        let at = days_ago.map_or(0, |d: i64| now - d * 86_400);
        let (id, _) = app.add_member_last_active(&org, role, at).await;
        ids.push(id);
    }
    let general = app.general_workspace(&org).await;
    let old_user = app
        .scalar_text(&format!(
            "SELECT user_id FROM memberships WHERE id = '{}'",
            ids[0]
        ))
        .await;
    app.add_workspace_role(&general, &old_user, "editor").await;
    app.set_restricted(&ids[2], true).await;

    let (status, page) = owner.get_html(&format!("/orgs/{org}/access-review")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("4 members"));
    assert!(page.contains("General: Editor"));
    assert!(page.contains("Restricted: no products"), "{page}");
    assert!(page.contains("Never"));
    assert_eq!(
        page.matches("badge-warning\">Inactive").count(),
        2,
        "200 days and never"
    );
    assert!(page.contains(&format!("/orgs/{org}/members/{}/remove", ids[0])));
    let (_, flagged) = owner
        .get_html(&format!("/orgs/{org}/access-review?days=5&inactive=1"))
        .await;
    assert!(flagged.contains("3 members inactive for more than 5 days"));
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/access-review?days=0"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let csv = owner
        .get(&format!("/orgs/{org}/access-review.csv?days=90"))
        .await
        .text()
        .await
        .expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "\"Name\",\"Email\",\"Role\",\"Workspace roles\",\"Products\",\"Last active\",\"Inactive\",\"Two-factor\""
    );
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with(",\"yes\",\"off\""))
            .count(),
        2
    );

    let viewer = app
        .member_with_role(&org, &email("vic"), OrgRole::Viewer)
        .await;
    let (status, _) = viewer.get_html(&format!("/orgs/{org}/access-review")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = viewer.get_html(&format!("/orgs/{org}/audit.csv")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_access_review_export_goes_on_past_its_first_batch() {
    let app = spawn_app().await;
    let seeded = roster::services::seed::seed(
        &app.db,
        &app.clock,
        "Big Co",
        "big.test",
        roster::services::seed::Size {
            members: 1_100,
            workspaces: 1,
            products: 0,
            audit_rows: 0,
        },
        PASSWORD,
    )
    .await
    .expect("seed");
    let owner = app.new_browser();
    owner.sign_in(&seeded.owner_email, PASSWORD).await;
    let org = seeded.org.id;
    let csv = owner
        .get(&format!("/orgs/{org}/access-review.csv"))
        .await
        .text()
        .await
        .expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 1_101,
        "the header, the Owner and 1,100 members"
    );
    let mut emails: Vec<&str> = lines[1..]
        .iter()
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), 1_101, "nobody twice, nobody skipped");
}
