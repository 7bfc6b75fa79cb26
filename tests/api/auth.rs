//! Sign-up and sign-in, good and bad.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, email, location, spawn_app};

#[tokio::test]
async fn sign_up_creates_account_organization_and_first_workspace_and_the_link_signs_in() {
    let app = spawn_app().await;
    let ada = email("ada");
    app.browser
        .sign_up(
            "Ada Lovelace",
            &ada.to_uppercase(),
            PASSWORD,
            "Analytical Engines",
        )
        .await;
    let org_id = app.owned_org(&ada).await;

    // No session yet: the verification link starts it.
    let (status, _) = app
        .browser
        .get_html(&format!("/orgs/{org_id}/members"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "not signed in by sign-up");
    let verify = app.outbox_link(&ada, "/verify/").await;
    let (status, page) = app.browser.get_html(&verify).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Confirm my email address"));
    let confirmed = app.browser.post_form(&verify, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let home = app.browser.get(&location(&confirmed)).await;
    assert_eq!(location(&home), format!("/orgs/{org_id}/members"));

    let (status, body) = app
        .browser
        .get_html(&format!("/orgs/{org_id}/members"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Welcome to Roster, Ada Lovelace."),
        "welcome flash"
    );
    assert!(body.contains("Analytical Engines"));
    assert!(body.contains("Ada Lovelace"));
    assert!(body.contains("badge-owner"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL")
            .await,
        1,
        "the link confirmed the address"
    );

    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE email_normalized = '{}'",
            ada.to_lowercase()
        ))
        .await,
        1,
        "the email is stored normalized"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org_id}' AND role = 'owner'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org_id}' AND title = 'General'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org_id}' AND action = 'organization.created'"
        ))
        .await,
        1
    );
    let hash_prefix = app
        .scalar("SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'")
        .await;
    assert_eq!(hash_prefix, 1, "argon2id with the OWASP parameters");
}

#[tokio::test]
async fn bad_sign_up_input_shows_the_form_again_and_writes_nothing() {
    let app = spawn_app().await;
    let cases: [(&str, &str, &str, &str, &str); 6] = [
        (
            "Ada",
            "not-an-email",
            PASSWORD,
            "Acme",
            "Enter an email address like name@example.com.",
        ),
        (
            "Ada",
            "ada@example.com",
            "short",
            "Acme",
            "Use at least 8 characters.",
        ),
        (
            "Ada",
            "ada@example.com",
            "Password123",
            "Acme",
            "This is a very common password. Add another word or two.",
        ),
        (
            "   ",
            "ada@example.com",
            PASSWORD,
            "Acme",
            "Enter your name.",
        ),
        (
            "Ada",
            "ada@example.com",
            PASSWORD,
            "",
            "Enter an organization name.",
        ),
        ("Ada", "", "", "", "Enter an email address."),
    ];
    for (name, email, password, org, message) in cases {
        let response = app
            .browser
            .post_form(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", password),
                    ("org_name", org),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        let body = response.text().await.expect("body");
        assert!(body.contains(message), "expected {message:?} in the page");
        assert!(
            body.contains("aria-invalid=\"true\""),
            "the field is marked invalid"
        );
        assert!(!body.contains(PASSWORD), "the password is never echoed");
    }
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("organizations").await, 0);
    assert_eq!(app.count("memberships").await, 0);
}

#[tokio::test]
async fn missing_fields_are_messages_not_errors() {
    let app = spawn_app().await;
    let response = app.browser.post_form("/signup", &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(body.contains("Enter your name."));
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn sign_up_with_a_taken_address_in_another_case_creates_nothing() {
    let app = spawn_app().await;
    let grace = email("grace");
    app.signed_up("Grace", &grace, "Navy").await;
    let audit_before = app.count("audit_events").await;

    let other = app.new_browser();
    let response = other
        .post_form(
            "/signup",
            &[
                ("name", "Grace Again"),
                ("email", &grace.to_uppercase()),
                ("password", PASSWORD),
                ("org_name", "Second"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("Check your email"));
    assert!(!body.contains("already exists"));
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(app.count("memberships").await, 1);
    assert_eq!(app.count("audit_events").await, audit_before);
}

#[tokio::test]
async fn sign_in_with_good_and_bad_credentials() {
    let app = spawn_app().await;
    let linus = email("linus");
    let (browser, org_id) = app.signed_up("Linus", &linus, "Kernel").await;
    browser.sign_out().await;

    let stranger = app.new_browser();
    let wrong_password = stranger.sign_in(&linus, "not the password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_body = wrong_password.text().await.expect("body");
    let unknown = stranger
        .sign_in("nobody@example.com", "not the password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_body = unknown.text().await.expect("body");
    for body in [&wrong_body, &unknown_body] {
        assert!(body.contains("password don"), "same message for both");
        assert!(
            body.contains("t match an account."),
            "same message for both"
        );
    }

    let good = stranger
        .sign_in(&linus.to_uppercase(), crate::helpers::PASSWORD)
        .await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&good), "/");
    let home = stranger.get("/").await;
    assert_eq!(location(&home), format!("/orgs/{org_id}/members"));
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_but_never_off_site() {
    let app = spawn_app().await;
    let mary = email("mary");
    let (browser, org_id) = app.signed_up("Mary", &mary, "Lab").await;
    browser.sign_out().await;

    let asked = format!("/orgs/{org_id}/settings");
    let response = browser.get(&asked).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/signin?next={}", asked.replace('/', "%2F"))
    );

    let back = browser
        .post_form(
            "/signin",
            &[("email", &mary), ("password", PASSWORD), ("next", &asked)],
        )
        .await;
    assert_eq!(location(&back), asked);

    browser.sign_out().await;
    let off_site = browser
        .post_form(
            "/signin",
            &[
                ("email", &mary),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&off_site), "/");
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_per_account() {
    let app = spawn_app().await;
    let eve = email("eve");
    let (browser, _) = app.signed_up("Eve", &eve, "Target").await;
    browser.sign_out().await;

    let attacker = app.new_browser();
    for _ in 0..10 {
        let response = attacker.sign_in(&eve, "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right password is refused while the account is throttled.
    let response = attacker.sign_in(&eve, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = response.text().await.expect("body");
    assert!(body.contains("Too many failed sign-ins. Wait 15 minutes and try again."));

    // The count lives in the database (shared by every instance).
    assert_eq!(
        app.count("sign_in_failures").await,
        20,
        "10 for the account, 10 for the address"
    );

    app.clock.advance(15 * 60 + 1);
    let response = attacker.sign_in(&eve, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "allowed again after the window"
    );
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_per_address() {
    let app = spawn_app().await;
    let attacker = app.new_browser();
    for i in 0..50 {
        let response = attacker
            .sign_in(&format!("person{i}@example.com"), "guess guess guess")
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = attacker
        .sign_in("someone-else@example.com", "guess guess guess")
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}
