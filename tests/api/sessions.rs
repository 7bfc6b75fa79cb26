//! Sessions: sign-out, replayed cookies, timeouts, password change and
//! signing out everywhere.

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, email, location, spawn_app};

async fn replay(
    app_address: &str,
    cookie: &reqwest::header::HeaderValue,
    path: &str,
) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    client
        .get(format!("{app_address}{path}"))
        .header("Cookie", cookie.clone())
        .send()
        .await
        .expect("GET")
}

#[tokio::test]
async fn sign_out_ends_the_session_and_a_captured_cookie_is_refused() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let members = format!("/orgs/{org_id}/members");
    let captured = browser.cookie_header();
    assert_eq!(
        replay(&app.address, &captured, &members).await.status(),
        StatusCode::OK
    );

    let response = browser.sign_out().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?signed_out=1");
    let (_, body) = browser.get_html("/signin?signed_out=1").await;
    assert!(body.contains("You have signed out."));

    let after = browser.get(&members).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/signin"));

    let replayed = replay(&app.address, &captured, &members).await;
    assert_eq!(
        replayed.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
    assert!(location(&replayed).starts_with("/signin"));
}

#[tokio::test]
async fn sign_out_requires_a_post() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    // A GET (a reload of the address) is sent home, still signed in.
    let response = browser.get("/signout").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let still = browser.get(&format!("/orgs/{org_id}/members")).await;
    assert_eq!(still.status(), StatusCode::OK, "a GET changes nothing");
}

#[tokio::test]
async fn idle_sessions_time_out() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let members = format!("/orgs/{org_id}/members");

    app.clock.advance(59 * 60);
    assert_eq!(
        browser.get(&members).await.status(),
        StatusCode::OK,
        "59 idle minutes are fine"
    );
    app.clock.advance(59 * 60);
    assert_eq!(
        browser.get(&members).await.status(),
        StatusCode::OK,
        "activity extends the session"
    );

    app.clock.advance(61 * 60);
    let response = browser.get(&members).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "61 idle minutes end it"
    );
    assert!(location(&response).starts_with("/signin"));
}

#[tokio::test]
async fn sessions_end_after_their_absolute_lifetime_even_when_active() {
    let app = spawn_app().await;
    let (browser, org_id) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let members = format!("/orgs/{org_id}/members");
    for _ in 0..14 {
        app.clock.advance(50 * 60);
        assert_eq!(browser.get(&members).await.status(), StatusCode::OK);
    }
    // 11 h 40 min so far; 30 more minutes pass 12 hours.
    app.clock.advance(30 * 60);
    let response = browser.get(&members).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn htmx_requests_without_a_session_are_told_to_redirect() {
    let app = spawn_app().await;
    let browser = Browser::new(&app.address);
    let response = browser
        .client
        .get(browser.url("/account"))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response
            .headers()
            .get("HX-Redirect")
            .and_then(|v| v.to_str().ok()),
        Some("/signin?next=%2Faccount")
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app().await;
    let ada = email("ada");
    let (laptop, org_id) = app.signed_up("Ada", &ada, "Acme").await;
    let phone = app.new_browser();
    assert_eq!(
        phone.sign_in(&ada, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let captured = laptop.cookie_header();
    let members = format!("/orgs/{org_id}/members");

    let new_password = "a much better passphrase";
    let wrong = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("Your current password is not correct.")
    );

    let mismatch = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch
            .text()
            .await
            .expect("body")
            .contains("The two new passwords don")
    );

    let changed = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let (status, body) = laptop.get_html("/account").await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    assert!(body.contains("Your password has been changed."));

    assert_eq!(
        phone.get(&members).await.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        replay(&app.address, &captured, &members).await.status(),
        StatusCode::SEE_OTHER,
        "a cookie from before the change is refused"
    );

    let fresh = app.new_browser();
    assert_eq!(
        fresh.sign_in(&ada, PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        fresh.sign_in(&ada, new_password).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let ada = email("ada");
    let (laptop, org_id) = app.signed_up("Ada", &ada, "Acme").await;
    let phone = app.new_browser();
    assert_eq!(
        phone.sign_in(&ada, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let members = format!("/orgs/{org_id}/members");
    assert_eq!(phone.get(&members).await.status(), StatusCode::OK);

    let response = laptop.post_form("/account/sign-out-everywhere", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop.get(&members).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get(&members).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("user_sessions").await, 0);
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let response = app.browser.get("/signin").await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    assert!(cookie.starts_with("roster_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in tests");
}

#[tokio::test]
async fn secure_cookies_and_hsts_when_served_over_https() {
    let app = crate::helpers::spawn_app_with(|c| c.secure_cookies = true).await;
    let response = app.browser.get("/signin").await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cookie.contains("Secure"));
    assert!(response.headers().contains_key("strict-transport-security"));
}
