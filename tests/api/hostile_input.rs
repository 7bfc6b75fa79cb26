//! Hostile and malformed input on every route, as the Owner (who may do
//! the most): overlong strings, control characters, NUL, SQL and HTML
//! metacharacters, huge and negative numbers, unknown enum values,
//! duplicate fields. Nothing may answer 5xx or drop the connection, and no
//! markup may come back unescaped.

use roster::domain::role::OrgRole;
use roster::web::ROUTES;

use crate::helpers::{Fixture, TestApp, Who, spawn_app};

/// Every form field name Roster's forms use.
pub(super) const FIELDS: &[&str] = &[
    "name",
    "email",
    "password",
    "org_name",
    "next",
    "current_password",
    "new_password",
    "confirm_password",
    "role",
    "description",
    "confirm_name",
    "emails",
    "workspace_id",
    "workspace_role",
    "domains",
    "title",
    "confirm_title",
    "to",
    "q",
    "sort",
    "page",
    "state",
    "after",
    "before",
    "access",
    "restricted",
];

fn hostile_values() -> Vec<String> {
    vec![
        String::new(),
        "x".repeat(10_000),
        "\u{0}\u{1}\u{7f}".into(),
        "<script>alert(1)</script>".into(),
        "'; DROP TABLE users; --".into(),
        "%00%ff".into(),
        "18446744073709551616".into(),
        "18446744073709551615".into(),
        "-1".into(),
        "owner".into(),
        "none".into(),
        "Ünïcödé 🦀 \u{202e}".into(),
        "a@b".into(),
        "../../etc/passwd".into(),
    ]
}

async fn sweep(app: &TestApp, fixture: &Fixture, method: &str, pattern: &str) -> Vec<String> {
    let owner = fixture.browser(Who::Owner);
    let general = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{}' ORDER BY created_at, id",
            fixture.org_id
        ))
        .await;
    let product = app.add_product(&general, "Hostile target", None).await;
    // Product Access pages of a real member, to reach past the lookup.
    let member = if pattern.starts_with("/orgs/{org_id}/product-access") {
        app.add_member(&fixture.org_id, OrgRole::Member).await.0
    } else {
        "00000000-0000-0000-0000-000000000000".to_string()
    };
    let path = pattern
        .replace("{org_id}", &fixture.org_id)
        .replace("{member_id}", &member)
        .replace("{product_id}", &product)
        .replace("{invitation_id}", "%3Cb%3E")
        .replace("{workspace_id}", &general)
        .replace("{token}", "%27%3B--")
        .replace("{path:.*}", "..%2F..%2Fsecret");
    let mut problems = Vec::new();
    for value in hostile_values() {
        let fields: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, value.as_str())).collect();
        let response = if method == "get" {
            // A URL carries less: 500 characters a value at most.
            let short: String = value.chars().take(500).collect();
            let fields: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, short.as_str())).collect();
            let query = serde_urlencoded::to_string(&fields).expect("encode");
            owner
                .client
                .get(owner.url(&format!("{path}?{query}")))
                .send()
                .await
        } else {
            let token = owner.csrf_token().await;
            let mut all = fields.clone();
            all.push(("csrf_token", &token));
            // The same fields twice.
            all.extend(fields.iter().copied());
            let body = serde_urlencoded::to_string(&all).expect("encode");
            owner
                .client
                .post(owner.url(&path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
        };
        match response {
            Err(err) => {
                let err = err.to_string();
                let err: String = err.chars().take(200).collect();
                problems.push(format!("{method} {pattern}: the connection failed: {err}"));
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                if status.is_server_error() {
                    problems.push(format!("{method} {pattern} with {value:.40?}: {status}"));
                }
                if body.contains("<script>alert(1)</script>") {
                    problems.push(format!("{method} {pattern}: markup came back unescaped"));
                }
            }
        }
    }
    problems
}

#[tokio::test]
async fn no_route_fails_on_hostile_input() {
    let app = spawn_app().await;
    let mut problems = Vec::new();
    for (method, pattern) in ROUTES {
        // Routes that end the session or the organization are swept last,
        // each with a fresh organization.
        let fixture = app.fixture().await;
        problems.extend(sweep(&app, &fixture, method, pattern).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
