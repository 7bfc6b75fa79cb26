//! Input that attacks a person rather than the server: CSV exports that
//! run a formula when a spreadsheet splits them on another separator.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::entities::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::helpers::{Browser, email, spawn_app};

// ---------------------------------------------------------------- CSV

/// What makes a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

const DDE: &str = "Q3 plan;=cmd|' /C calc'!A0;";

fn starts_a_formula(cell: &str) -> bool {
    cell.trim_start_matches([' ', '"']).starts_with(TRIGGERS)
}

/// Splits `csv` as a spreadsheet might, on `,`, `;` and tab, both naively
/// (lines, then the separator) and quote-aware (a CSV reader with that
/// delimiter), and asserts that no cell starts with a formula trigger.
fn assert_no_formula_under_any_separator(csv: &str) {
    for separator in [b',', b';', b'\t'] {
        let sep = char::from(separator);
        for line in csv.split(['\n', '\r']) {
            for cell in line.split(sep) {
                assert!(
                    !starts_a_formula(cell),
                    "split naively on {sep:?}, {cell:?} is a formula (line {line:?})"
                );
            }
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.as_bytes());
        for record in reader.records() {
            let record = record.expect("a CSV record");
            for cell in record.iter() {
                assert!(
                    !starts_a_formula(cell),
                    "read with {sep:?} as delimiter, {cell:?} is a formula ({record:?})"
                );
            }
        }
    }
}

async fn download(browser: &Browser, path: &str) -> String {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("body")
}

#[tokio::test]
async fn the_audit_export_runs_no_formula_whatever_the_separator() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let workspace = app.general_workspace(&org).await;
    let created = owner
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &workspace),
                ("name", DDE),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    // Pages refuse control characters in labels, but the export must be
    // safe for whatever the log holds (a row from an older version, a
    // description with tabs): a row with tab, CR and line-break payloads.
    app.db
        .write()
        .execute_unprepared(&format!(
            "INSERT INTO audit_events (id, org_id, actor_user_id, actor_label, action, target_type, \
             target_id, target_label, before_value, after_value, address, created_at) VALUES \
             ('{}', '{org}', NULL, 'x\t=1+2', 'product.updated', 'product', NULL, \
             'a\r@SUM(A1)', ' \"-2', 'b\n+cmd|x;\t-y', NULL, {})",
            uuid::Uuid::new_v4(),
            app.clock.now()
        ))
        .await
        .expect("insert an audit row");

    let csv = download(&owner, &format!("/orgs/{org}/audit.csv")).await;
    assert_no_formula_under_any_separator(&csv);
    // Still recognisable: the name with a `'` before the formula.
    assert!(csv.contains("\"Q3 plan;'=cmd|' /C calc'!A0;\""), "{csv}");
    assert!(csv.contains("\"'@SUM(A1)") || csv.contains("a\r'@SUM(A1)"));
    assert!(csv.contains("x\t'=1+2"), "{csv}");
}

#[tokio::test]
async fn the_access_review_export_runs_no_formula_whatever_the_separator() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    // A real sign-up: the name passes every check of the form.
    let mallory_email = email("mallory");
    let named = "Mallory;=HYPERLINK(\"http://evil.test\",\"x\")";
    app.signed_up(named, &mallory_email, "Mallory Co").await;
    let mallory = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(mallory_email.to_lowercase()))
        .one(app.db.read())
        .await
        .expect("query")
        .expect("mallory");
    app.add_membership(&org, &mallory, OrgRole::Member).await;
    // A tab in a name cannot come through the form; straight in the
    // database it stands for a row written some other way.
    let tabbed = app
        .insert_user(&email("tab"), "Tab\t=cmd|' /C calc'!A0")
        .await;
    app.add_membership(&org, &tabbed, OrgRole::Member).await;

    let csv = download(&owner, &format!("/orgs/{org}/access-review.csv")).await;
    assert_no_formula_under_any_separator(&csv);
    assert!(
        csv.contains("\"Mallory;'=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\""),
        "{csv}"
    );
    assert!(csv.contains("\"Tab\t'=cmd|' /C calc'!A0\""), "{csv}");
}
