//! Input that attacks a person rather than the server: CSV exports that
//! run a formula when a spreadsheet splits them on another separator,
//! email addresses that look like someone else's, and passwords that are
//! easy to guess.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::entities::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::helpers::{Browser, PASSWORD, TestApp, email, spawn_app};

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
        .owner()
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
        .one(app.db.owner())
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

// ---------------------------------------------------------- addresses

/// Marks the address confirmed, as its verification link would.
async fn verify(app: &TestApp, address: &str) {
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE users SET email_verified_at = 1 WHERE email_normalized = '{}'",
            address.to_lowercase()
        ))
        .await
        .expect("verify the address");
}

const LOOK_ALIKE: &str = "invisible or look-alike character";

/// Unique addresses on a made-up domain, with room for a look-alike.
fn on(local: &str, domain: &str) -> String {
    format!(
        "{local}{}@{domain}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[tokio::test]
async fn sign_up_refuses_invisible_and_look_alike_addresses() {
    let app = spawn_app().await;
    for (address, code_point) in [
        ("b\u{200B}ob@acme.test", "U+200B"),
        ("bob\u{200D}@acme.test", "U+200D"),
        ("\u{202E}bob@acme.test", "U+202E"),
        ("\u{212A}im@acme.test", "U+212A"),
        ("bob@ac\u{200B}me.test", "U+200B"),
    ] {
        let response = app
            .new_browser()
            .post_form(
                "/signup",
                &[
                    ("name", "Bob"),
                    ("email", address),
                    ("password", PASSWORD),
                    ("org_name", "Acme"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address:?}"
        );
        let page = response.text().await.expect("body");
        assert!(page.contains(LOOK_ALIKE), "{address:?}");
        assert!(page.contains(code_point), "{address:?}");
    }
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("organizations").await, 0);
}

/// The address a page shows for the account: its members-page row.
async fn shown_and_stored(app: &TestApp, browser: &Browser, org: &str, stored: &str) {
    let in_db = app
        .scalar_text(&format!(
            "SELECT email FROM users WHERE email_normalized = '{stored}'"
        ))
        .await;
    assert_eq!(in_db, stored);
    let (_, members) = browser.get_html(&format!("/orgs/{org}/members")).await;
    assert!(members.contains(stored), "the page shows {stored}");
}

#[tokio::test]
async fn a_unicode_domain_is_stored_and_shown_in_its_ascii_form() {
    let app = spawn_app().await;
    // Cyrillic `а` in the domain: punycode, never the look-alike.
    let cyrillic = on("bob", "\u{0430}cme.test");
    let (bob, org) = app.signed_up("Bob", &cyrillic, "Acme").await;
    let stored = cyrillic.replace("\u{0430}cme.test", "xn--cme-5cd.test");
    shown_and_stored(&app, &bob, &org, &stored).await;
    // The Kelvin sign in the domain is the letter k to IDNA.
    let kelvin = on("kim", "\u{212A}ite.test");
    let (kim, org) = app.signed_up("Kim", &kelvin, "Kite").await;
    let stored = kelvin.replace('\u{212A}', "k");
    shown_and_stored(&app, &kim, &org, &stored).await;
    // Typed either way, it is the same account.
    assert_eq!(
        app.new_browser().sign_in(&kelvin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn invitations_name_a_look_alike_address_and_send_it_nothing() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia", &owner_email, "Acme").await;
    verify(&app, &owner_email).await;
    let response = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                (
                    "emails",
                    "b\u{200B}ob@acme.test\n\u{212A}im@acme.test\ngrace@acme.test",
                ),
                ("role", "member"),
            ],
        )
        .await;
    let page = response.text().await.expect("body");
    // Each refused address is named, its invisible character spelled out.
    assert!(page.contains("b[U+200B]ob@acme.test"), "{page}");
    assert!(page.contains("U+212A"), "{page}");
    assert_eq!(page.matches(LOOK_ALIKE).count(), 2, "{page}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}' \
             AND email_normalized <> 'grace@acme.test'"
        ))
        .await,
        0,
        "no invitation to a look-alike"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation'")
            .await,
        1,
        "only grace's message"
    );
}

#[tokio::test]
async fn sign_in_and_forgot_password_answer_as_before_for_look_alike_input() {
    let app = spawn_app().await;
    let address = on("bob", "acme.test");
    app.signed_up("Bob", &address, "Acme").await;
    let look_alike = address.replacen('b', "b\u{200B}", 1);

    let response = app.new_browser().sign_in(&look_alike, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("match an account")
    );

    let before = app.count("account_tokens").await;
    let response = app
        .new_browser()
        .post_form("/password/forgot", &[("email", &look_alike)])
        .await;
    // Refused for its shape, as sign-up refuses it: that says nothing
    // about which addresses have accounts.
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("look-alike character")
    );
    assert_eq!(
        app.count("account_tokens").await,
        before,
        "no reset link for a look-alike"
    );
}

// ---------------------------------------------------------- passwords

async fn sign_up_with(app: &TestApp, address: &str, password: &str) -> (StatusCode, String) {
    let response = app
        .new_browser()
        .post_form(
            "/signup",
            &[
                ("name", "Ada Lovelace"),
                ("email", address),
                ("password", password),
                ("org_name", "Analytical"),
            ],
        )
        .await;
    (response.status(), response.text().await.expect("body"))
}

#[tokio::test]
async fn sign_up_refuses_guessable_passwords_and_says_what_to_do() {
    let app = spawn_app().await;
    let address = email("ada");
    for (password, reason) in [
        ("password123", "This is a very common password."),
        (
            "Summer2024!",
            "Add another word or two. Uncommon words are better.",
        ),
        (
            address.as_str(),
            "This password contains your name or email address",
        ),
        ("Ada Lovelace 1815", "This password contains your name"),
    ] {
        let (status, page) = sign_up_with(&app, &address, password).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert!(page.contains(reason), "{password}: {reason}");
        assert!(page.contains("Add another word or two"), "{password}");
    }
    assert_eq!(app.count("users").await, 0);

    let (status, page) = sign_up_with(&app, &address, "violet kettle under the stairs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Check your email"));
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn every_page_that_sets_a_password_refuses_a_guessable_one() {
    let app = spawn_app().await;
    let address = email("ada");
    let (ada, org) = app.signed_up("Ada Lovelace", &address, "Analytical").await;

    // Change password: the person's own address is refused.
    let response = ada
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", &address),
                ("confirm_password", &address),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("This password contains your name or email address"));
    assert_eq!(
        app.new_browser().sign_in(&address, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the old password still works"
    );

    // Reset: a link straight in the database, as the mail would carry it;
    // the person's name is refused as their new password.
    let secret = roster::domain::token::generate();
    let now = app.clock.now();
    app.db
        .owner()
        .execute_unprepared(&format!(
            "INSERT INTO account_tokens (token_hash, user_id, purpose, email_normalized, \
             created_at, expires_at, used_at) VALUES ('{}', '{}', 'reset_password', '{}', \
             {now}, {}, NULL)",
            roster::domain::token::hash(&secret),
            app.user_id(&address).await,
            address.to_lowercase(),
            now + 3600
        ))
        .await
        .expect("insert a reset link");
    let response = app
        .new_browser()
        .post_form(
            &format!("/password/reset/{secret}"),
            &[
                ("new_password", "Ada Lovelace"),
                ("confirm_password", "Ada Lovelace"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("This password contains your name or email address")
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM account_tokens WHERE used_at IS NULL AND purpose = 'reset_password'")
            .await,
        1,
        "the link is still unused"
    );

    // Sign-up from an invitation.
    verify(&app, &address).await;
    let (_, token) = app.add_invitation(&org, OrgRole::Member).await;
    let response = app
        .new_browser()
        .post_form(
            &format!("/invitations/{token}/signup"),
            &[("name", "Nora Newcomer"), ("password", "Summer2024!")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Add another word or two")
    );
    assert_eq!(app.count("users").await, 1, "no account for Nora");
}
