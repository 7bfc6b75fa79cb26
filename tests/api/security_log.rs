//! Your security log (`/account/security`): what happened to your account
//! — sign-ins (with the browser in words), failed ones, password, address
//! and two-factor changes, recovery codes used, sessions ended, being
//! signed out everywhere by an administrator — newest first, 25 to a page,
//! and only your own.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::Jar;
use roster::domain::role::OrgRole;

use crate::helpers::{
    Browser, PASSWORD, TestApp, code_at, csrf_in, email, location, spawn_app, text_of, wrong_code,
};

const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// A browser that sends `user_agent` with every request.
fn browser_with(app: &TestApp, user_agent: &str) -> Browser {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .expect("client");
    Browser {
        address: app.address.clone(),
        client,
        jar,
    }
}

/// Enters `code` on the page that asks for it.
async fn enter_code(browser: &Browser, code: &str) -> reqwest::Response {
    let (status, page) = browser.get_html("/signin/two-factor").await;
    assert_eq!(status, StatusCode::OK, "the page asking for a code");
    let token = csrf_in(&page).expect("a CSRF token on the code page");
    browser
        .post_raw(
            "/signin/two-factor",
            &[("code", code), ("csrf_token", &token)],
        )
        .await
}

/// The `<main>` of a page (the header names the signed-in person).
fn main_of(page: &str) -> &str {
    let start = page.find("<main").unwrap_or(0);
    let end = page.find("</main>").unwrap_or(page.len());
    &page[start..end]
}

/// The text of each row of the log on a page, top to bottom.
fn rows_of(page: &str) -> Vec<String> {
    let main = main_of(page);
    let (open, close) = if main.contains("<td") {
        ("<tr", "</tr>")
    } else {
        ("<li", "</li>")
    };
    main.split(open)
        .skip(1)
        .map(|row| &row[..row.find(close).unwrap_or(row.len())])
        .filter(|row| open != "<tr" || row.contains("<td"))
        .map(|row| text_of(&format!("{open}{row}")))
        .collect()
}

/// Where the first (newest) row saying `what` is.
fn first(rows: &[String], what: &str) -> usize {
    rows.iter()
        .position(|r| r.contains(what))
        .unwrap_or_else(|| panic!("no row says {what:?}: {rows:#?}"))
}

/// Where the last (oldest) row saying `what` is.
fn last(rows: &[String], what: &str) -> usize {
    rows.iter()
        .rposition(|r| r.contains(what))
        .unwrap_or_else(|| panic!("no row says {what:?}: {rows:#?}"))
}

/// One page of the log of the person signed in in `browser`.
async fn log_page(browser: &Browser, path: &str) -> Vec<String> {
    let (status, page) = browser.get_html(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    rows_of(&page)
}

/// Rows about the person with user id `user_id` in their log.
async fn events_of(app: &TestApp, user_id: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id IS NULL AND target_id = '{user_id}'"
    ))
    .await
}

async fn logged(app: &TestApp, user_id: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id IS NULL \
         AND target_id = '{user_id}' AND action = '{action}'"
    ))
    .await
}

/// Signs in with the password in `browser`.
async fn signs_in(browser: &Browser, address: &str, password: &str) {
    let response = browser.sign_in(address, password).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in as {address}"
    );
}

#[tokio::test]
async fn signed_out_the_log_asks_to_sign_in_and_the_account_page_links_to_it() {
    let app = spawn_app().await;
    let response = app.new_browser().get("/account/security").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(
        to == "/signin" || to.starts_with("/signin?"),
        "to sign in, not {to}"
    );

    let (browser, _) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let (status, account) = browser.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    let link = account
        .find("href=\"/account/security\"")
        .expect("a link to the security log");
    let text = text_of(&account[link..link + account[link..].find("</a>").expect("the link")]);
    assert!(text.contains("Your security log"), "{text}");
    let (status, _) = browser.get_html("/account/security").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_kind_of_event_shows_newest_first() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let mut sam = email("sam");
    let person = app.insert_user(&sam, "Sam Subject").await;
    let member_id = app.add_membership(&org, &person, OrgRole::Member).await;
    app.confirm_email(&sam).await;
    let user_id = person.id.clone();
    let mut password = PASSWORD.to_string();
    let firefox = browser_with(&app, FIREFOX_ON_LINUX);

    // A wrong password, then the right one, in Firefox on Linux.
    app.clock.advance(60);
    let failed = firefox.sign_in(&sam, "not my password").await;
    assert_eq!(failed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(60);
    signs_in(&firefox, &sam, &password).await;

    // A new password.
    app.clock.advance(60);
    let new_password = "a much better passphrase";
    let changed = firefox
        .post_form(
            "/account/password",
            &[
                ("current_password", &password),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    password = new_password.to_string();

    // A new address, confirmed by its link.
    app.clock.advance(60);
    let new_address = email("sam-new");
    let asked = firefox
        .post_form(
            "/account/email",
            &[("email", &new_address), ("password", &password)],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let link = app.outbox_link(&new_address, "/account/email/").await;
    let confirmed = firefox.post_form(&link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    sam = new_address;

    // Two-factor on.
    app.clock.advance(60);
    let (_, setup) = firefox.get_html("/account/two-factor").await;
    assert!(setup.contains("id=\"totp-secret\""), "{setup}");
    let secret = app
        .scalar_text(&format!(
            "SELECT secret FROM two_factor WHERE user_id = '{user_id}'"
        ))
        .await;
    let on = firefox
        .post_form(
            "/account/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(on.status(), StatusCode::OK);
    let on_page = on.text().await.expect("body");
    let marker = "id=\"recovery-codes\"";
    let codes_at = on_page.find(marker).expect("the recovery codes");
    let first_code = {
        let rest = &on_page[codes_at..];
        let open = rest.find("<code").expect("a code");
        let start = open + rest[open..].find('>').expect("tag") + 1;
        let end = start + rest[start..].find("</code>").expect("code ends");
        rest[start..end].trim().to_string()
    };

    // A phone: a wrong code, then a recovery code.
    app.clock.advance(60);
    let phone = app.new_browser();
    let pending = phone.sign_in(&sam, &password).await;
    assert_eq!(location(&pending), "/signin/two-factor");
    let wrong = enter_code(&phone, &wrong_code(&secret, app.clock.now())).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(60);
    let recovered = enter_code(&phone, &first_code).await;
    assert_eq!(recovered.status(), StatusCode::SEE_OTHER);

    // Two-factor off.
    app.clock.advance(60);
    let off = firefox
        .post_form(
            "/account/two-factor/disable",
            &[
                ("password", &password),
                ("code", &code_at(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);

    // The phone's session ended from the Account page.
    app.clock.advance(60);
    let (_, account) = firefox.get_html("/account").await;
    let ends: Vec<&str> = account
        .split("action=\"/account/sessions/")
        .skip(1)
        .filter_map(|s| s.split_once("/end\"").map(|(id, _)| id))
        .collect();
    assert_eq!(ends.len(), 1, "one other session to end: {ends:?}");
    let ended = firefox
        .post_form(&format!("/account/sessions/{}/end", ends[0]), &[])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);

    // The Owner signs Sam out everywhere.
    app.clock.advance(60);
    let signed_out = owner
        .post_form(&format!("/orgs/{org}/members/{member_id}/sign-out"), &[])
        .await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);

    // Sam signs in again and reads the log.
    app.clock.advance(60);
    let reader = browser_with(&app, FIREFOX_ON_LINUX);
    signs_in(&reader, &sam, &password).await;
    let rows = log_page(&reader, "/account/security").await;

    assert!(rows[0].contains("Signed in"), "newest first: {rows:#?}");
    let everywhere = first(&rows, "Signed out everywhere");
    assert!(
        rows[everywhere].contains(&format!("by {owner_email}")),
        "{}",
        rows[everywhere]
    );
    let session_ended = last(&rows, "Session ended");
    let two_factor_off = first(&rows, "Two-factor turned off");
    let recovery = first(&rows, "Recovery code used");
    let wrong_code = first(&rows, "Sign-in failed");
    let two_factor_on = first(&rows, "Two-factor turned on");
    let address_changed = first(&rows, "Email address changed");
    let password_changed = first(&rows, "Password changed");
    let first_sign_in = last(&rows, "Signed in");
    let wrong_password = last(&rows, "Sign-in failed");
    let order = [
        0,
        everywhere,
        session_ended,
        two_factor_off,
        recovery,
        wrong_code,
        two_factor_on,
        address_changed,
        password_changed,
        first_sign_in,
        wrong_password,
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first, positions {order:?}: {rows:#?}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains("Sign-in failed")).count(),
        2,
        "a wrong password and a wrong code: {rows:#?}"
    );
    assert!(
        rows[first_sign_in].contains("Firefox on Linux"),
        "the browser in words: {}",
        rows[first_sign_in]
    );
    assert!(
        rows[first_sign_in].contains("127.0.0.1"),
        "the address: {}",
        rows[first_sign_in]
    );

    // Stored as the person's own audit rows, under the actions' names.
    for action in [
        "account.signed_in",
        "account.sign_in_failed",
        "account.password_changed",
        "account.email_changed",
        "account.two_factor_enabled",
        "account.two_factor_disabled",
        "account.recovery_code_used",
        "account.session_ended",
        "account.signed_out_everywhere",
    ] {
        assert!(logged(&app, &user_id, action).await >= 1, "{action}");
    }

    // The Owner, who signed Sam out, does not see Sam's log.
    let owner_rows = log_page(&owner, "/account/security").await;
    for row in &owner_rows {
        for theirs in [
            "Signed out everywhere",
            "Two-factor turned",
            "Recovery code used",
            "Firefox on Linux",
            "Sign-in failed",
        ] {
            assert!(!row.contains(theirs), "Sam's event in Olivia's log: {row}");
        }
    }
}

#[tokio::test]
async fn the_log_shows_25_events_a_page() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    let person = app.insert_user(&ada, "Ada Lovelace").await;
    app.confirm_email(&ada).await;

    // The oldest event: a failed sign-in; then 26 sign-ins.
    app.clock.advance(1);
    let failed = app.new_browser().sign_in(&ada, "not my password").await;
    assert_eq!(failed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..25 {
        app.clock.advance(1);
        signs_in(&app.new_browser(), &ada, PASSWORD).await;
    }
    app.clock.advance(1);
    let reader = app.new_browser();
    signs_in(&reader, &ada, PASSWORD).await;
    let total = events_of(&app, &person.id).await;
    assert!(total > 25, "{total} events");
    assert_eq!(logged(&app, &person.id, "account.signed_in").await, 26);

    let (status, page) = reader.get_html("/account/security").await;
    assert_eq!(status, StatusCode::OK);
    let one = rows_of(&page);
    assert_eq!(one.len(), 25, "{one:#?}");
    assert!(
        one.iter().all(|r| r.contains("Signed in")),
        "the newest 25: {one:#?}"
    );
    assert!(main_of(&page).contains("page=2"), "a link to the next page");

    let two = log_page(&reader, "/account/security?page=2").await;
    assert_eq!(
        two.len(),
        usize::try_from(total - 25).expect("a count"),
        "{two:#?}"
    );
    assert!(
        two.last().expect("a row").contains("Sign-in failed"),
        "the oldest last: {two:#?}"
    );
}

#[tokio::test]
async fn a_person_never_sees_another_persons_events() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ann = email("ann");
    let bob = email("bob");
    let ann_person = app.insert_user(&ann, "Ann").await;
    let bob_person = app.insert_user(&bob, "Bob").await;
    app.confirm_email(&ann).await;
    app.confirm_email(&bob).await;

    // Bob's failed sign-in and sign-in from Chrome on Windows, and a new
    // password.
    app.clock.advance(60);
    let chrome = browser_with(&app, CHROME_ON_WINDOWS);
    let failed = chrome.sign_in(&bob, "not my password").await;
    assert_eq!(failed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    signs_in(&chrome, &bob, PASSWORD).await;
    app.clock.advance(60);
    let new_password = "a much better passphrase";
    let changed = chrome
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
    assert!(logged(&app, &bob_person.id, "account.password_changed").await >= 1);

    // Ann sees her sign-in only.
    app.clock.advance(60);
    let firefox = browser_with(&app, FIREFOX_ON_LINUX);
    signs_in(&firefox, &ann, PASSWORD).await;
    for path in [
        "/account/security".to_string(),
        "/account/security?page=2".to_string(),
        format!("/account/security?user_id={}", bob_person.id),
    ] {
        let (status, page) = firefox.get_html(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let main = text_of(main_of(&page));
        for theirs in [
            "Chrome on Windows",
            "Password changed",
            "Sign-in failed",
            bob.as_str(),
        ] {
            assert!(!main.contains(theirs), "{path} shows {theirs:?}: {main}");
        }
    }
    let ann_rows = log_page(&firefox, "/account/security").await;
    assert_eq!(
        ann_rows.len(),
        usize::try_from(events_of(&app, &ann_person.id).await).expect("a count"),
        "{ann_rows:#?}"
    );
    assert!(ann_rows[0].contains("Signed in"), "{ann_rows:#?}");
    assert!(ann_rows[0].contains("Firefox on Linux"), "{ann_rows:#?}");

    // Bob sees his.
    let bob_reader = app.new_browser();
    signs_in(&bob_reader, &bob, new_password).await;
    let bob_rows = log_page(&bob_reader, "/account/security").await;
    first(&bob_rows, "Password changed");
    first(&bob_rows, "Sign-in failed");
    assert!(
        bob_rows.iter().any(|r| r.contains("Chrome on Windows")),
        "{bob_rows:#?}"
    );
    assert!(
        !bob_rows.iter().any(|r| r.contains("Firefox on Linux")),
        "not Ann's sign-in: {bob_rows:#?}"
    );
}
