//! CSRF tokens on every POST and security headers on every response.

use reqwest::StatusCode;

use crate::helpers::{email, spawn_app};

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let orgs_before = app.count("organizations").await;

    let missing = browser.post_raw("/orgs", &[("name", "Sneaky")]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let body = missing.text().await.expect("body");
    assert!(body.contains("This form has expired or did not come from Roster."));

    let wrong = browser
        .post_raw("/orgs", &[("name", "Sneaky"), ("csrf_token", "forged")])
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // Another browser's valid token does not work in this session.
    let other = app.new_browser();
    let their_token = other.csrf_token().await;
    let foreign = browser
        .post_raw("/orgs", &[("name", "Sneaky"), ("csrf_token", &their_token)])
        .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        app.count("organizations").await,
        orgs_before,
        "nothing was created"
    );
}

#[tokio::test]
async fn sign_in_and_sign_up_need_the_token_too() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    let response = browser
        .post_raw(
            "/signup",
            &[
                ("name", "A"),
                ("email", "a@example.com"),
                ("password", "long enough pw"),
                ("org_name", "X"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn htmx_sends_the_token_as_a_header() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let token = browser.csrf_token().await;
    let response = browser
        .client
        .post(browser.url("/orgs"))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Second+Org")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("organizations").await, 2);

    let refused = browser
        .client
        .post(browser.url("/orgs"))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", "forged")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Third")
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let fragment = refused.text().await.expect("body");
    assert!(
        fragment.starts_with("<div class=\"alert alert-error\""),
        "htmx gets a fragment: {fragment}"
    );
    assert!(!fragment.contains("<html"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    for path in [
        "/signin",
        "/no-such-page",
        &format!("/orgs/{org_id}/members"),
        "/healthz",
    ] {
        let response = browser.get(path).await;
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(
            headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
        assert!(headers.contains_key("referrer-policy"), "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over http"
        );
    }
}

#[tokio::test]
async fn pages_have_no_inline_script() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    for path in [
        "/account".to_string(),
        format!("/orgs/{org_id}/members"),
        "/orgs/new".into(),
    ] {
        let (status, body) = browser.get_html(&path).await;
        assert_eq!(status, StatusCode::OK);
        let scripts: Vec<&str> = body
            .match_indices("<script")
            .map(|(i, _)| &body[i..])
            .collect();
        for script in scripts {
            let tag_end = script.find('>').unwrap_or(0);
            assert!(
                script[..tag_end].contains("src=\"/static/"),
                "{path}: inline script"
            );
            assert!(
                script[tag_end..].starts_with("></script>"),
                "{path}: script body"
            );
        }
        assert!(
            !body.contains(" hx-on") && !body.contains("data-hx-on"),
            "{path}: hx-on needs unsafe-eval"
        );
    }
}

#[tokio::test]
async fn unknown_pages_answer_404_with_a_page() {
    let app = spawn_app().await;
    let (status, body) = app.browser.get_html("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
    assert!(body.contains("<html"));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let huge = "x".repeat(200 * 1024);
    let token = browser.csrf_token().await;
    let response = browser
        .post_raw("/orgs", &[("csrf_token", &token), ("name", &huge)])
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("organizations").await, 1);
}
