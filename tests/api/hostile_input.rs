//! Hostile and malformed input on every route, as the Owner (who may do
//! the most): overlong strings, control characters, NUL, SQL and HTML
//! metacharacters, huge and negative numbers, unknown enum values,
//! duplicate fields. Nothing may answer 5xx or drop the connection, and no
//! markup may come back unescaped.

use roster::domain::role::OrgRole;
use roster::web::ROUTES;

use reqwest::StatusCode;

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
    // Each value once per field, and (POST) each field twice: a form with
    // a duplicate field is refused whole before its handler runs, so the
    // single pass is the one that reaches the handlers.
    let passes = hostile_values()
        .into_iter()
        .flat_map(|v| [(v.clone(), false), (v, true)])
        .filter(|(_, twice)| method != "get" || !twice);
    for (value, twice) in passes {
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
            if twice {
                all.extend(fields.iter().copied());
            }
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
        // each with a fresh organization. Each route starts past the
        // sign-in limits' window: the wrong passwords of earlier routes'
        // hostile values all come from this one address.
        app.clock
            .advance(roster::services::rate_limit::WINDOW_SECS + 1);
        let fixture = app.fixture().await;
        problems.extend(sweep(&app, &fixture, method, pattern).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// NUL can be in no address, name or id, and PostgreSQL text cannot hold
/// it: anywhere in a request it answers 400 with a message, before any
/// handler (on PostgreSQL these answered 500: sign-in, forgot password,
/// moving a workspace, assigning a product owner, bulk product access).
#[tokio::test]
async fn a_nul_anywhere_answers_400_and_writes_nothing() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let org = &fixture.org_id;
    let owner = fixture.browser(Who::Owner);
    let general = app.general_workspace(org).await;
    let product = app.add_product(&general, "Target", None).await;
    let member = app.add_member(org, OrgRole::Member).await.0;
    let failures_before = app.count("sign_in_failures").await;
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/signin".into(),
            vec![("email", "\u{0}"), ("password", "x")],
        ),
        (
            "/password/forgot".into(),
            vec![("email", "a\u{0}@example.com")],
        ),
        (
            format!("/orgs/{org}/workspaces/{general}/move"),
            vec![("to", "\u{0}")],
        ),
        (
            format!("/orgs/{org}/products/{product}/owner"),
            vec![("email", "\u{0}")],
        ),
        (
            format!("/orgs/{org}/product-access/{member}/bulk"),
            vec![("workspace_id", "\u{0}")],
        ),
        (
            format!("/orgs/{org}/settings"),
            vec![("name", "Acme\u{0}"), ("description", "")],
        ),
    ];
    for (path, fields) in forms {
        let response = owner.post_form(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "POST {path}");
        let page = response.text().await.expect("body");
        assert!(
            page.contains("contains a NUL character"),
            "POST {path} says why"
        );
    }
    for path in [
        format!("/orgs/{org}/members/%00"),
        format!("/orgs/{org}/members?q=%00"),
        format!("/orgs/{org}/products/a%00b"),
    ] {
        let response = owner.get(&path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "GET {path}");
    }
    assert_eq!(
        app.count("sign_in_failures").await,
        failures_before,
        "the refused sign-in was not even counted"
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT name FROM organizations WHERE id = '{org}'"
        ))
        .await,
        fixture.org_name,
        "nothing renamed"
    );
}
