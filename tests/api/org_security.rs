//! An organization's security settings (Settings → Security): who may see
//! and save them, the values refused at their field, two-factor required
//! after a grace period (a banner with the days left, then the member
//! without it is stopped on every page, form and API request of that
//! organization until they set it up, and nowhere else), the two-factor
//! state on the Members page and the access review, and signing a member
//! out everywhere.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode};
use roster::domain::role::OrgRole;
use roster::entities::organization;
use roster::services::api_keys::NewKind;
use sea_orm::EntityTrait;

use crate::helpers::{
    Browser, PASSWORD, TestApp, Who, code_at, csrf_in, email, location, signed_in, spawn_app,
    text_of,
};

const DAY: i64 = 24 * 60 * 60;

/// The secret shown on the set-up page, in the element with
/// `id="totp-secret"`.
fn secret_on(page: &str) -> String {
    let at = page
        .find("id=\"totp-secret\"")
        .unwrap_or_else(|| panic!("the secret on the set-up page: {}", text_of(page)));
    let start = at + page[at..].find('>').expect("the end of the tag") + 1;
    let end = start + page[start..].find("</").expect("the end of the secret");
    page[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Sets two-factor up as a person does on their Account: opens the set-up
/// page, reads the secret, sends the code their app shows now.
async fn turn_on_two_factor(app: &TestApp, browser: &Browser) -> String {
    let (status, page) = browser.get_html("/account/two-factor").await;
    assert_eq!(status, StatusCode::OK, "the set-up page: {page}");
    let secret = secret_on(&page);
    let code = code_at(&secret, app.clock.now());
    let response = browser
        .post_form(
            "/account/two-factor",
            &[("code", &code), ("password", PASSWORD)],
        )
        .await;
    let status = response.status();
    let page = response.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "the code is accepted: {page}");
    assert!(
        page.contains("Two-factor authentication is on"),
        "turned on: {page}"
    );
    secret
}

/// A fresh browser signed in as `address`, who has two-factor on: the
/// password, then the code their app shows now.
async fn signed_in_with_code(app: &TestApp, address: &str, secret: &str) -> Browser {
    let browser = app.new_browser();
    let response = browser.sign_in(address, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "password of {address}"
    );
    assert_eq!(location(&response), "/signin/two-factor");
    let (status, page) = browser.get_html("/signin/two-factor").await;
    assert_eq!(status, StatusCode::OK, "the code form: {page}");
    let token = csrf_in(&page).expect("a CSRF token on the code form");
    let code = code_at(secret, app.clock.now());
    let response = browser
        .post_raw(
            "/signin/two-factor",
            &[("code", code.as_str()), ("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the code of {address}"
    );
    browser
}

fn security_path(org: &str) -> String {
    format!("/orgs/{org}/settings/security")
}

/// Sends the Settings → Security form.
async fn save_security(browser: &Browser, org: &str, fields: &[(&str, &str)]) -> Response {
    browser.post_form(&security_path(org), fields).await
}

/// Saves the form expecting it to be saved.
async fn saved(browser: &Browser, org: &str, fields: &[(&str, &str)]) {
    let response = save_security(browser, org, fields).await;
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, StatusCode::SEE_OTHER, "{fields:?}: {body}");
}

async fn org_row(app: &TestApp, org: &str) -> organization::Model {
    organization::Entity::find_by_id(org.to_string())
        .one(app.db.owner())
        .await
        .expect("query")
        .expect("the organization")
}

async fn audit_rows(app: &TestApp, org: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
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

/// The text of the table row that holds `needle`.
fn row_of(page: &str, needle: &str) -> String {
    let at = page
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} on the page: {page}"));
    let start = page[..at]
        .rfind("<tr")
        .unwrap_or_else(|| panic!("a table row around {needle}: {page}"));
    let end = at + page[at..].find("</tr>").expect("the end of the row");
    text_of(&page[start..end])
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// The fields of one CSV line (quoted or not).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
}

/// A GET as htmx sends it.
async fn htmx_get(browser: &Browser, path: &str) -> Response {
    browser
        .client
        .get(browser.url(path))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("GET")
}

async fn get_members_api(app: &TestApp, secret: &str) -> Response {
    app.api(Method::GET, "/members", secret)
        .send()
        .await
        .expect("GET /members")
}

/// A 403 page that says the organization requires two-factor and links
/// to the set-up.
fn assert_refused_for_two_factor(status: StatusCode, page: &str, what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {page}");
    assert!(
        page.contains("requires two-factor authentication"),
        "{what} says why: {page}"
    );
    assert!(
        page.contains("href=\"/account/two-factor"),
        "{what} links to the set-up: {page}"
    );
}

/// Makes a personal key through Settings → API keys; returns the status.
async fn make_key_on_page(browser: &Browser, org: &str, name: &str) -> (StatusCode, String) {
    let response = browser
        .post_form(
            &format!("/orgs/{org}/api-keys"),
            &[("name", name), ("kind", "personal"), ("lifetime", "30")],
        )
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn keys_named(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM api_keys WHERE name = '{name}'"
    ))
    .await
}

#[tokio::test]
async fn the_security_page_is_for_the_owner_and_admins_only() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let org = &fixture.org_id;
    for who in [Who::Owner, Who::Admin] {
        let (status, page) = fixture.browser(who).get_html(&security_path(org)).await;
        assert_eq!(status, StatusCode::OK, "{who:?}: {page}");
        assert!(
            page.contains(&format!("action=\"/orgs/{org}/settings/security\"")),
            "{who:?} sees the form: {page}"
        );
        for field in [
            "require_two_factor",
            "grace_days",
            "idle_minutes",
            "lifetime_hours",
        ] {
            assert!(
                page.contains(&format!("name=\"{field}\"")),
                "{who:?}: the field {field}: {page}"
            );
        }
    }
    for who in [Who::Member, Who::Viewer] {
        let (status, _) = fixture.browser(who).get_html(&security_path(org)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who:?} may not see it");
        let refused = save_security(
            fixture.browser(who),
            org,
            &[
                ("require_two_factor", "on"),
                ("grace_days", "7"),
                ("idle_minutes", ""),
                ("lifetime_hours", ""),
            ],
        )
        .await;
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{who:?} may not save it"
        );
    }
    assert_eq!(org_row(&app, org).await.two_factor_required_at, None);
    assert_eq!(audit_rows(&app, org, "settings.security_changed").await, 0);
}

#[tokio::test]
async fn saving_the_security_settings_stores_them_flashes_and_audits() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;

    let response = save_security(
        &owner,
        &org,
        &[
            ("require_two_factor", "on"),
            ("grace_days", "14"),
            ("idle_minutes", "30"),
            ("lifetime_hours", "8"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), security_path(&org), "back to the page");
    let (status, page) = owner.get_html(&security_path(&org)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Security settings saved."), "{page}");

    let row = org_row(&app, &org).await;
    assert_eq!(row.two_factor_required_at, Some(app.clock.now()));
    assert_eq!(row.two_factor_grace_days, 14);
    assert_eq!(row.session_idle_minutes, Some(30));
    assert_eq!(row.session_lifetime_hours, Some(8));
    assert_eq!(audit_rows(&app, &org, "settings.security_changed").await, 1);

    // An Admin saves too: no requirement, the server's own limits.
    let admin = app
        .member_with_role(&org, &email("adam"), OrgRole::Admin)
        .await;
    saved(
        &admin,
        &org,
        &[
            ("grace_days", "7"),
            ("idle_minutes", ""),
            ("lifetime_hours", ""),
        ],
    )
    .await;
    let row = org_row(&app, &org).await;
    assert_eq!(row.two_factor_required_at, None, "the box left unticked");
    assert_eq!(row.two_factor_grace_days, 7);
    assert_eq!(row.session_idle_minutes, None, "empty is the server's");
    assert_eq!(row.session_lifetime_hours, None, "empty is the server's");
    assert_eq!(audit_rows(&app, &org, "settings.security_changed").await, 2);
}

#[tokio::test]
async fn values_out_of_range_are_refused_at_their_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let before = org_row(&app, &org).await;
    let cases: [(&str, &str); 7] = [
        ("grace_days", "91"),
        ("grace_days", "-1"),
        ("grace_days", "x"),
        ("idle_minutes", "4"),
        // More than the server's idle timeout (60 minutes in tests).
        ("idle_minutes", "61"),
        ("lifetime_hours", "0"),
        // More than the server's lifetime (12 hours in tests).
        ("lifetime_hours", "13"),
    ];
    for (field, value) in cases {
        let mut fields = vec![
            ("require_two_factor", "on"),
            ("grace_days", "7"),
            ("idle_minutes", "30"),
            ("lifetime_hours", "8"),
        ];
        for f in &mut fields {
            if f.0 == field {
                f.1 = value;
            }
        }
        let response = save_security(&owner, &org, &fields).await;
        let status = response.status();
        let page = response.text().await.expect("body");
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {page}"
        );
        assert!(
            page.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
            "{field}={value}: a message at the field: {page}"
        );
        assert_eq!(
            org_row(&app, &org).await,
            before,
            "{field}={value}: nothing written"
        );
    }
    assert_eq!(audit_rows(&app, &org, "settings.security_changed").await, 0);
}

#[tokio::test]
async fn required_two_factor_warns_during_the_grace_period_then_stops_the_member_until_set_up() {
    let app = spawn_app().await;
    app.clock.freeze();
    let olivia = email("olivia");
    let (owner, acme) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    let (_, beta) = app
        .signed_up("Bella Boss", &email("bella"), "Beta Works")
        .await;
    // The Owner sets two-factor up first, so the requirement never stops her.
    let owner_secret = turn_on_two_factor(&app, &owner).await;

    let mia = email("mia");
    let member = app.member_with_role(&acme, &mia, OrgRole::Member).await;
    app.add_membership(&beta, &app.user(&mia).await, OrgRole::Member)
        .await;
    let acting = app.acting_of(&acme, &mia).await;
    let key = app
        .api_key(&acting, "Mia script", NewKind::Personal, 30)
        .await;
    let members = format!("/orgs/{acme}/members");
    let workspaces = format!("/orgs/{acme}/workspaces");

    saved(
        &owner,
        &acme,
        &[
            ("require_two_factor", "on"),
            ("grace_days", "7"),
            ("idle_minutes", ""),
            ("lifetime_hours", ""),
        ],
    )
    .await;
    let row = org_row(&app, &acme).await;
    assert_eq!(row.two_factor_required_at, Some(app.clock.now()));
    assert_eq!(row.two_factor_grace_days, 7);

    // During the grace period: a banner with the days left; everything works.
    let (status, page) = member.get_html(&members).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Acme requires two-factor authentication"),
        "the banner: {page}"
    );
    assert!(page.contains("7 days left"), "{page}");
    assert!(page.contains("href=\"/account/two-factor"), "{page}");
    // Days pass: every session has timed out, so both sign in again.
    app.clock.advance(3 * DAY);
    let member = signed_in(&app, &mia).await;
    let owner = signed_in_with_code(&app, &olivia, &owner_secret).await;
    let (status, page) = member.get_html(&workspaces).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("4 days left"), "{page}");
    let (status, page) = make_key_on_page(&member, &acme, "Before deadline").await;
    assert_eq!(status, StatusCode::CREATED, "a form works: {page}");
    assert_eq!(get_members_api(&app, &key).await.status(), StatusCode::OK);
    let (_, security) = owner.get_html(&security_path(&acme)).await;
    let mia_row = row_of(&security, &mia);
    assert!(has_word(&mia_row, "Off"), "{mia_row}");
    assert!(mia_row.contains("4 days left"), "{mia_row}");

    // After the deadline.
    app.clock.advance(4 * DAY + 60);
    let member = signed_in(&app, &mia).await;
    let owner = signed_in_with_code(&app, &olivia, &owner_secret).await;
    for path in [&members, &workspaces] {
        let response = member.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            location(&response),
            format!("/account/two-factor?required_by={acme}"),
            "{path}"
        );
    }
    let (status, page) = make_key_on_page(&member, &acme, "After deadline").await;
    assert_refused_for_two_factor(status, &page, "a form");
    assert_eq!(keys_named(&app, "After deadline").await, 0, "no key made");
    let response = htmx_get(&member, &members).await;
    let status = response.status();
    let page = response.text().await.expect("body");
    assert_refused_for_two_factor(status, &page, "an htmx request");

    let refused = get_members_api(&app, &key).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let content_type = refused
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let text = refused.text().await.expect("body");
    let problem: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"));
    assert_eq!(problem["status"], 403);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("two-factor"),
        "{problem}"
    );

    // Another organization keeps working; the member is not removed.
    let (status, _) = member.get_html(&format!("/orgs/{beta}/members")).await;
    assert_eq!(status, StatusCode::OK, "Beta Works does not require it");
    assert_eq!(app.role_of(&acme, &mia).await.as_deref(), Some("member"));
    let (_, security) = owner.get_html(&security_path(&acme)).await;
    let mia_row = row_of(&security, &mia);
    assert!(has_word(&mia_row, "Off"), "{mia_row}");
    assert!(has_word(&mia_row, "Blocked"), "{mia_row}");

    // The page the redirect leads to names the organization; setting it
    // up there restores access at the next request.
    let (status, page) = member
        .get_html(&format!("/account/two-factor?required_by={acme}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Acme requires two-factor authentication"),
        "{page}"
    );
    turn_on_two_factor(&app, &member).await;
    let (status, page) = member.get_html(&members).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        !page.contains("requires two-factor authentication"),
        "no banner once it is on: {page}"
    );
    assert_eq!(get_members_api(&app, &key).await.status(), StatusCode::OK);
    let (status, page) = make_key_on_page(&member, &acme, "After set-up").await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let (_, security) = owner.get_html(&security_path(&acme)).await;
    let mia_row = row_of(&security, &mia);
    assert!(has_word(&mia_row, "On"), "{mia_row}");
    assert!(!has_word(&mia_row, "Blocked"), "{mia_row}");
}

#[tokio::test]
async fn the_members_page_and_the_access_review_show_who_has_two_factor() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let ann = email("ann");
    let ann_browser = app.member_with_role(&org, &ann, OrgRole::Member).await;
    turn_on_two_factor(&app, &ann_browser).await;
    let bob = email("bob");
    app.member_with_role(&org, &bob, OrgRole::Member).await;

    // The security page.
    let (_, security) = owner.get_html(&security_path(&org)).await;
    assert!(has_word(&row_of(&security, &ann), "On"), "{security}");
    assert!(has_word(&row_of(&security, &bob), "Off"), "{security}");

    // Members.
    let members = format!("/orgs/{org}/members");
    let (status, page) = owner.get_html(&members).await;
    assert_eq!(status, StatusCode::OK);
    assert!(row_of(&page, &ann).contains("2FA on"), "{page}");
    assert!(row_of(&page, &bob).contains("2FA off"), "{page}");
    let (status, off) = owner.get_html(&format!("{members}?two_factor=off")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(off.contains(&bob), "{off}");
    assert!(!off.contains(&ann), "only those without it: {off}");
    let (status, on) = owner.get_html(&format!("{members}?two_factor=on")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(on.contains(&ann), "{on}");
    assert!(!on.contains(&bob), "only those with it: {on}");

    // Access review.
    let review = format!("/orgs/{org}/access-review");
    let (status, page) = owner.get_html(&review).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">Two-factor</th>"), "the column: {page}");
    assert!(has_word(&row_of(&page, &ann), "On"), "{page}");
    assert!(has_word(&row_of(&page, &bob), "Off"), "{page}");
    let (status, off) = owner.get_html(&format!("{review}?two_factor=off")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(off.contains(&bob), "{off}");
    assert!(!off.contains(&ann), "only those without it: {off}");

    let csv = owner
        .get(&format!("/orgs/{org}/access-review.csv"))
        .await
        .text()
        .await
        .expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    let header = csv_fields(lines[0]);
    let column = header
        .iter()
        .position(|h| h.to_lowercase().replace('-', "_") == "two_factor")
        .unwrap_or_else(|| panic!("a two_factor column: {}", lines[0]));
    for (address, expected) in [(&ann, "on"), (&bob, "off")] {
        let line = lines
            .iter()
            .find(|l| l.contains(address.as_str()))
            .unwrap_or_else(|| panic!("{address} in the export: {csv}"));
        assert_eq!(csv_fields(line)[column], expected, "{line}");
    }
}

#[tokio::test]
async fn the_owner_signs_a_member_out_everywhere() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let mia = email("mia");
    let laptop = app.member_with_role(&org, &mia, OrgRole::Member).await;
    let phone = signed_in(&app, &mia).await;
    let mia_id = app.acting_of(&org, &mia).await.membership_id;
    let members = format!("/orgs/{org}/members");
    let member_page = format!("/orgs/{org}/members/{mia_id}");
    let sign_out = format!("{member_page}/sign-out");

    let (status, page) = owner.get_html(&member_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("action=\"{sign_out}\"")),
        "the form: {page}"
    );
    assert!(page.contains("Sign out everywhere"), "{page}");

    let response = owner.post_form(&sign_out, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), member_page, "back to the member page");
    let (status, page) = owner.get_html(&member_page).await;
    assert_eq!(status, StatusCode::OK, "the Owner stays signed in");
    assert!(
        page.contains("Member person has been signed out everywhere."),
        "{page}"
    );
    for browser in [&laptop, &phone] {
        let response = browser.get(&members).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/signin"), "signed out");
    }
    assert_eq!(sessions_of(&app, &mia).await, 0);
    assert_eq!(audit_rows(&app, &org, "member.signed_out").await, 1);
    // They may sign in again.
    let again = signed_in(&app, &mia).await;
    assert_eq!(again.get(&members).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_a_member_out_reaches_their_sessions_on_every_instance() {
    let a = spawn_app().await;
    let b = a.another_instance(|_| {}).await;
    let (owner, org) = a.signed_up("Olivia Owner", &email("olivia"), "Acme").await;
    let mia = email("mia");
    let on_a = a.member_with_role(&org, &mia, OrgRole::Member).await;
    let on_b = Browser::new(&b.address);
    assert_eq!(
        on_b.sign_in(&mia, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let members = format!("/orgs/{org}/members");
    assert_eq!(on_a.get(&members).await.status(), StatusCode::OK);
    assert_eq!(on_b.get(&members).await.status(), StatusCode::OK);
    let mia_id = a.acting_of(&org, &mia).await.membership_id;

    let response = owner
        .post_form(&format!("/orgs/{org}/members/{mia_id}/sign-out"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for (browser, instance) in [(&on_a, "A"), (&on_b, "B")] {
        let response = browser.get(&members).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the session on {instance} ended"
        );
        assert!(location(&response).starts_with("/signin"));
    }
    // Neither cookie works on the other instance either.
    let swapped = on_a.on(&b);
    assert_eq!(swapped.get(&members).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(sessions_of(&a, &mia).await, 0);
    assert_eq!(audit_rows(&a, &org, "member.signed_out").await, 1);
}

#[tokio::test]
async fn only_those_who_manage_a_member_sign_them_out() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    let owner_id = app.acting_of(&org, &olivia).await.membership_id;
    let adam = email("adam");
    let admin = app.member_with_role(&org, &adam, OrgRole::Admin).await;
    let member = app
        .member_with_role(&org, &email("max"), OrgRole::Member)
        .await;
    let viewer = app
        .member_with_role(&org, &email("vic"), OrgRole::Viewer)
        .await;
    let tom = email("tom");
    let target = app.member_with_role(&org, &tom, OrgRole::Member).await;
    let tom_id = app.acting_of(&org, &tom).await.membership_id;
    let members = format!("/orgs/{org}/members");

    for (actor, who) in [(&member, "a Member"), (&viewer, "a Viewer")] {
        let response = actor
            .post_form(&format!("/orgs/{org}/members/{tom_id}/sign-out"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who}");
        let (_, page) = actor
            .get_html(&format!("/orgs/{org}/members/{tom_id}"))
            .await;
        assert!(
            !page.contains(&format!("/orgs/{org}/members/{tom_id}/sign-out")),
            "{who} is not offered the form: {page}"
        );
    }
    assert_eq!(target.get(&members).await.status(), StatusCode::OK);

    // An Admin may not sign the Owner out, and is not offered to.
    let owner_page = format!("/orgs/{org}/members/{owner_id}");
    let (_, page) = admin.get_html(&owner_page).await;
    assert!(
        !page.contains(&format!("{owner_page}/sign-out")),
        "no form for the Owner: {page}"
    );
    let response = admin
        .post_form(&format!("{owner_page}/sign-out"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(owner.get(&members).await.status(), StatusCode::OK);
    assert_eq!(audit_rows(&app, &org, "member.signed_out").await, 0);

    // An Admin signs a Member out.
    let response = admin
        .post_form(&format!("/orgs/{org}/members/{tom_id}/sign-out"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(target.get(&members).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_rows(&app, &org, "member.signed_out").await, 1);
}

#[tokio::test]
async fn a_member_of_another_organization_is_not_found_and_nobody_is_signed_out() {
    let app = spawn_app().await;
    let (owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, beta) = app
        .signed_up("Bella Boss", &email("bella"), "Beta Works")
        .await;
    // Yan belongs to Beta Works only; Xia to both.
    let yan = email("yan");
    let yan_browser = app.member_with_role(&beta, &yan, OrgRole::Member).await;
    let xia = email("xia");
    let xia_browser = app.member_with_role(&beta, &xia, OrgRole::Member).await;
    app.add_membership(&acme, &app.user(&xia).await, OrgRole::Member)
        .await;
    for address in [&yan, &xia] {
        let beta_id = app.acting_of(&beta, address).await.membership_id;
        let response = owner
            .post_form(&format!("/orgs/{acme}/members/{beta_id}/sign-out"), &[])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{address}'s Beta Works membership"
        );
    }
    for browser in [&yan_browser, &xia_browser] {
        assert_eq!(
            browser.get(&format!("/orgs/{beta}/members")).await.status(),
            StatusCode::OK,
            "still signed in"
        );
    }
    assert_eq!(sessions_of(&app, &yan).await, 1);
    assert_eq!(sessions_of(&app, &xia).await, 1);
    assert_eq!(audit_rows(&app, &acme, "member.signed_out").await, 0);
    assert_eq!(audit_rows(&app, &beta, "member.signed_out").await, 0);
}

/// A member the requirement stops may still leave the organization: the
/// requirement keeps nobody in.
#[tokio::test]
async fn a_member_stopped_by_the_requirement_may_still_leave() {
    let app = spawn_app().await;
    let (owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let max = email("max");
    let member = app.member_with_role(&acme, &max, OrgRole::Member).await;
    saved(
        &owner,
        &acme,
        &[("require_two_factor", "on"), ("grace_days", "0")],
    )
    .await;
    let stopped = member.get(&format!("/orgs/{acme}/members")).await;
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&stopped),
        format!("/account/two-factor?required_by={acme}")
    );
    let (status, page) = member.get_html(&format!("/orgs/{acme}/leave")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let left = member.post_form(&format!("/orgs/{acme}/leave"), &[]).await;
    assert_eq!(left.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(&acme, &max).await, None, "no longer a member");
}
