//! "Where you are signed in" on the Account page: each session named by
//! its browser and system, the current one marked, ending one or all the
//! others, its last activity kept up to date; and the session limits an
//! organization sets (idle and absolute), the strictest of a person's
//! organizations applying, named on their Account page.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::Jar;
use roster::domain::role::OrgRole;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app, text_of};

const MINUTE: i64 = 60;

const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// A browser that sends `user_agent` with every request.
fn browser_with_agent(app: &TestApp, user_agent: &str) -> Browser {
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

/// `address` signed in from a browser that says it is `user_agent`.
async fn signed_in_with(app: &TestApp, address: &str, user_agent: &str) -> Browser {
    let browser = browser_with_agent(app, user_agent);
    let response = browser.sign_in(address, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in as {address}"
    );
    browser
}

/// The id of the session of `address` started by `user_agent`.
async fn session_id(app: &TestApp, address: &str, user_agent: &str) -> String {
    let user_id = app.user_id(address).await;
    app.scalar_text(&format!(
        "SELECT id FROM user_sessions WHERE user_id = '{user_id}' AND user_agent = '{user_agent}'"
    ))
    .await
}

async fn sessions_of(app: &TestApp, address: &str) -> i64 {
    let user_id = app.user_id(address).await;
    app.scalar(&format!(
        "SELECT COUNT(*) FROM user_sessions WHERE user_id = '{user_id}'"
    ))
    .await
}

/// The `#sessions` table of the Account page.
fn sessions_table(page: &str) -> &str {
    let at = page
        .find("id=\"sessions\"")
        .unwrap_or_else(|| panic!("the sessions table: {page}"));
    let end = at + page[at..].find("</table>").expect("the end of the table");
    &page[at..end]
}

/// The text of each row of the `#sessions` table's body.
fn session_rows(page: &str) -> Vec<String> {
    let table = sessions_table(page);
    let body = table.find("<tbody").map_or(table, |at| &table[at..]);
    body.split("<tr").skip(1).map(text_of).collect()
}

/// Asserts a signed-out browser: sent to sign in.
async fn assert_signed_out(browser: &Browser, path: &str, what: &str) {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{what}");
    assert!(
        location(&response).starts_with("/signin"),
        "{what}: {}",
        location(&response)
    );
}

async fn assert_signed_in(browser: &Browser, path: &str, what: &str) {
    assert_eq!(browser.get(path).await.status(), StatusCode::OK, "{what}");
}

/// Saves an organization's session limits on Settings → Security.
async fn set_limits(owner: &Browser, org: &str, idle_minutes: &str, lifetime_hours: &str) {
    let response = owner
        .post_form(
            &format!("/orgs/{org}/settings/security"),
            &[
                ("grace_days", "7"),
                ("idle_minutes", idle_minutes),
                ("lifetime_hours", lifetime_hours),
            ],
        )
        .await;
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, StatusCode::SEE_OTHER, "limits saved: {body}");
}

/// Some text either side of `needle` in the text a person reads.
fn around(page: &str, needle: &str) -> String {
    let text = text_of(page);
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} on the page: {text}"));
    let chars: Vec<char> = text.chars().collect();
    let at = text[..at].chars().count();
    let start = at.saturating_sub(200);
    let end = (at + 200).min(chars.len());
    chars[start..end].iter().collect()
}

#[tokio::test]
async fn each_session_is_named_by_its_browser_and_the_current_one_is_marked() {
    let app = spawn_app().await;
    let ada = email("ada");
    app.signed_up("Ada", &ada, "Acme").await;
    let firefox = signed_in_with(&app, &ada, FIREFOX_LINUX).await;
    let chrome = signed_in_with(&app, &ada, CHROME_WINDOWS).await;
    signed_in_with(&app, &ada, SAFARI_IOS).await;
    let firefox_id = session_id(&app, &ada, FIREFOX_LINUX).await;
    let chrome_id = session_id(&app, &ada, CHROME_WINDOWS).await;
    let safari_id = session_id(&app, &ada, SAFARI_IOS).await;

    let (status, page) = firefox.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Where you are signed in"), "{page}");
    let rows = session_rows(&page);
    assert_eq!(
        rows.len(),
        4,
        "the sign-up browser and three more: {rows:?}"
    );
    for name in ["Firefox on Linux", "Chrome on Windows", "Safari on iOS"] {
        assert_eq!(
            rows.iter().filter(|r| r.contains(name)).count(),
            1,
            "{name}: {rows:?}"
        );
    }
    assert!(
        rows.iter().any(|r| r.contains("Unknown browser")),
        "the sign-up browser sent no User-Agent: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.contains("127.0.0.1")),
        "the address of each: {rows:?}"
    );
    let current: Vec<&String> = rows.iter().filter(|r| r.contains("This session")).collect();
    assert_eq!(current.len(), 1, "{rows:?}");
    assert!(current[0].contains("Firefox on Linux"), "{rows:?}");
    let table = sessions_table(&page);
    for other in [&chrome_id, &safari_id] {
        assert!(
            table.contains(&format!("action=\"/account/sessions/{other}/end\"")),
            "an End form for the others: {table}"
        );
    }
    assert!(
        !table.contains(&format!("/account/sessions/{firefox_id}/end")),
        "none for this session: {table}"
    );
    assert!(
        page.contains("action=\"/account/sessions/end-others\""),
        "{page}"
    );
    assert!(page.contains("Sign out all other sessions"), "{page}");

    let (_, page) = chrome.get_html("/account").await;
    let rows = session_rows(&page);
    let current: Vec<&String> = rows.iter().filter(|r| r.contains("This session")).collect();
    assert_eq!(current.len(), 1, "{rows:?}");
    assert!(current[0].contains("Chrome on Windows"), "{rows:?}");
}

#[tokio::test]
async fn ending_a_session_signs_that_browser_out_and_not_this_one() {
    let app = spawn_app().await;
    let ada = email("ada");
    let (_, org) = app.signed_up("Ada", &ada, "Acme").await;
    let firefox = signed_in_with(&app, &ada, FIREFOX_LINUX).await;
    let chrome = signed_in_with(&app, &ada, CHROME_WINDOWS).await;
    let chrome_id = session_id(&app, &ada, CHROME_WINDOWS).await;
    let members = format!("/orgs/{org}/members");

    let response = firefox
        .post_form(&format!("/account/sessions/{chrome_id}/end"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    let (status, page) = firefox.get_html("/account").await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    assert!(page.contains("That session has ended."), "{page}");
    assert!(
        !session_rows(&page)
            .iter()
            .any(|r| r.contains("Chrome on Windows")),
        "{page}"
    );
    assert_signed_out(&chrome, &members, "the ended session").await;
    assert_signed_in(&firefox, &members, "this session").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM user_sessions WHERE id = '{chrome_id}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn another_person_s_session_or_an_unknown_one_is_not_found_and_keeps_working() {
    let app = spawn_app().await;
    let ada = email("ada");
    let (ada_browser, _) = app.signed_up("Ada", &ada, "Acme").await;
    let bob = email("bob");
    let (_, bob_org) = app.signed_up("Bob", &bob, "Bobcorp").await;
    let bob_chrome = signed_in_with(&app, &bob, CHROME_WINDOWS).await;
    let bob_session = session_id(&app, &bob, CHROME_WINDOWS).await;
    let sessions_before = app.count("user_sessions").await;

    for id in [bob_session.as_str(), "no-such-session"] {
        let response = ada_browser
            .post_form(&format!("/account/sessions/{id}/end"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
    }
    assert_signed_in(
        &bob_chrome,
        &format!("/orgs/{bob_org}/members"),
        "Bob's session",
    )
    .await;
    assert_signed_in(&ada_browser, "/account", "Ada's session").await;
    assert_eq!(app.count("user_sessions").await, sessions_before);
}

#[tokio::test]
async fn signing_out_all_other_sessions_keeps_this_one() {
    let app = spawn_app().await;
    let ada = email("ada");
    let (first, org) = app.signed_up("Ada", &ada, "Acme").await;
    let firefox = signed_in_with(&app, &ada, FIREFOX_LINUX).await;
    let chrome = signed_in_with(&app, &ada, CHROME_WINDOWS).await;
    let bob = email("bob");
    let (bob_browser, bob_org) = app.signed_up("Bob", &bob, "Bobcorp").await;
    let members = format!("/orgs/{org}/members");

    let response = firefox.post_form("/account/sessions/end-others", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    let (status, page) = firefox.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Every other session has ended."), "{page}");
    assert_eq!(session_rows(&page).len(), 1, "{page}");
    assert_signed_in(&firefox, &members, "this session").await;
    assert_signed_out(&chrome, &members, "another session").await;
    assert_signed_out(&first, &members, "the sign-up session").await;
    assert_eq!(sessions_of(&app, &ada).await, 1);
    assert_signed_in(
        &bob_browser,
        &format!("/orgs/{bob_org}/members"),
        "someone else",
    )
    .await;
}

#[tokio::test]
async fn last_active_moves_when_the_session_is_used() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    let (browser, org) = app.signed_up("Ada", &ada, "Acme").await;
    let user_id = app.user_id(&ada).await;
    let last_seen = format!("SELECT last_seen_at FROM user_sessions WHERE user_id = '{user_id}'");
    let before = app.scalar(&last_seen).await;
    assert!(before <= app.clock.now());

    app.clock.advance(90);
    assert_signed_in(&browser, &format!("/orgs/{org}/members"), "Ada").await;
    let after = app.scalar(&last_seen).await;
    assert!(after > before, "last_seen_at {before} → {after}");
    assert!(after <= app.clock.now());
}

#[tokio::test]
async fn an_organization_s_idle_limit_signs_its_members_out_and_nobody_else() {
    let app = spawn_app().await;
    let (owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let mia = email("mia");
    let member = app.member_with_role(&acme, &mia, OrgRole::Member).await;
    let pat = email("pat");
    let (outsider, elsewhere) = app.signed_up("Pat", &pat, "Elsewhere").await;
    set_limits(&owner, &acme, "10", "").await;
    let members = format!("/orgs/{acme}/members");

    app.clock.advance(9 * MINUTE);
    assert_signed_in(&member, &members, "9 idle minutes").await;
    app.clock.advance(9 * MINUTE);
    assert_signed_in(&member, &members, "activity keeps the session").await;
    app.clock.advance(11 * MINUTE);
    assert_signed_out(&member, &members, "11 idle minutes in Acme").await;
    assert_signed_in(
        &outsider,
        &format!("/orgs/{elsewhere}/members"),
        "29 idle minutes outside Acme (the server allows 60)",
    )
    .await;
}

#[tokio::test]
async fn an_organization_s_lifetime_ends_sessions_even_when_active() {
    let app = spawn_app().await;
    let (owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    set_limits(&owner, &acme, "", "1").await;
    let mia = email("mia");
    let member = app.member_with_role(&acme, &mia, OrgRole::Member).await;
    let (outsider, elsewhere) = app.signed_up("Pat", &email("pat"), "Elsewhere").await;
    let members = format!("/orgs/{acme}/members");
    let elsewhere_members = format!("/orgs/{elsewhere}/members");

    for minutes in [10, 20, 30, 40, 50] {
        app.clock.advance(10 * MINUTE);
        assert_signed_in(&member, &members, &format!("{minutes} minutes")).await;
        assert_signed_in(&outsider, &elsewhere_members, &format!("{minutes} minutes")).await;
    }
    app.clock.advance(11 * MINUTE);
    assert_signed_out(&member, &members, "61 minutes after signing in").await;
    assert_signed_in(
        &outsider,
        &elsewhere_members,
        "61 minutes outside Acme (the server allows 12 hours)",
    )
    .await;
}

#[tokio::test]
async fn the_strictest_organization_applies_and_the_account_page_names_it() {
    let app = spawn_app().await;
    let (acme_owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme Lenient")
        .await;
    let (beta_owner, beta) = app
        .signed_up("Bella Boss", &email("bella"), "Beta Strict")
        .await;
    set_limits(&acme_owner, &acme, "30", "").await;
    set_limits(&beta_owner, &beta, "10", "").await;
    let mia = email("mia");
    let member = app.member_with_role(&acme, &mia, OrgRole::Member).await;
    app.add_membership(&beta, &app.user(&mia).await, OrgRole::Member)
        .await;
    let ann = email("ann");
    let acme_only = app.member_with_role(&acme, &ann, OrgRole::Member).await;

    let (status, page) = member.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    let sentence = around(&page, "10 minutes");
    assert!(
        sentence.contains("Beta Strict"),
        "names the organization that limits the sessions: {sentence}"
    );

    app.clock.advance(11 * MINUTE);
    assert_signed_out(
        &member,
        &format!("/orgs/{acme}/members"),
        "Beta Strict's 10 minutes apply in Acme too",
    )
    .await;
    assert_signed_in(
        &acme_only,
        &format!("/orgs/{acme}/members"),
        "Acme alone allows 30 minutes",
    )
    .await;
}
