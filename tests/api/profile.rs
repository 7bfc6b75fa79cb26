//! Your profile on the Account page: your name, and your email address,
//! which changes only when the new address confirms it by the link sent
//! there (the old address is told). Mail stays in the outbox (no SMTP).

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app};

async fn audited(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND org_id IS NULL"
    ))
    .await
}

/// Messages in the outbox to `address`.
async fn mail_to(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE LOWER(recipient) = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// Accounts with `address`.
async fn accounts_with(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

async fn ask_for_email_change(browser: &Browser, new: &str, password: &str) -> reqwest::Response {
    browser
        .post_form("/account/email", &[("email", new), ("password", password)])
        .await
}

/// A fresh browser signs in.
async fn sign_in_status(app: &TestApp, address: &str) -> StatusCode {
    app.new_browser().sign_in(address, PASSWORD).await.status()
}

/// The `<main>` of a page (the header names the signed-in person).
fn main_of(page: &str) -> &str {
    let start = page.find("<main").unwrap_or(0);
    let end = page.find("</main>").unwrap_or(page.len());
    &page[start..end]
}

/// The flash message on a page.
fn flash_of(page: &str) -> &str {
    let start = page.find("id=\"flash-region\"").unwrap_or(0);
    let end = page[start..]
        .find("</div>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

#[tokio::test]
async fn a_new_name_shows_on_your_pages_and_in_member_search() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let mia_email = email("mia");
    let mia = app
        .member_with_role(&org, &mia_email, OrgRole::Member)
        .await;

    let renamed = mia
        .post_form("/account/name", &[("name", "Mia Lindqvist")])
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&renamed), "/account");
    let (status, account) = mia.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        flash_of(&account).contains("Your name is now Mia Lindqvist."),
        "{account}"
    );
    assert!(account.contains("Mia Lindqvist"));
    assert!(!account.contains("Member person"), "the old name is gone");
    assert_eq!(app.user(&mia_email).await.name, "Mia Lindqvist");
    assert_eq!(audited(&app, "account.name_changed").await, 1);

    // The Owner finds Mia by her new name on the Members page.
    let (_, found) = owner
        .get_html(&format!("/orgs/{org}/members?q=lindqvist"))
        .await;
    assert!(found.contains("1 member match"), "{found}");
    assert!(main_of(&found).contains("Mia Lindqvist"));
    assert!(main_of(&found).contains(&mia_email));
    let (_, old_name) = owner
        .get_html(&format!("/orgs/{org}/members?q=member+person"))
        .await;
    assert!(
        !main_of(&old_name).contains(&mia_email),
        "not by the old one"
    );

    // A name that is no name is refused, and nothing changes.
    let too_long = "x".repeat(300);
    for bad in ["", "   ", too_long.as_str()] {
        let refused = mia.post_form("/account/name", &[("name", bad)]).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}"
        );
    }
    assert_eq!(app.user(&mia_email).await.name, "Mia Lindqvist");
    assert_eq!(audited(&app, "account.name_changed").await, 1);
}

#[tokio::test]
async fn a_new_address_counts_only_once_its_link_is_followed() {
    let app = spawn_app().await;
    let old = email("rosa");
    let new = email("rosa-new");
    let (rosa, org) = app.signed_up("Rosa Diaz", &old, "Rosa Co").await;
    let old_mail = mail_to(&app, &old).await;

    let asked = ask_for_email_change(&rosa, &new, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&asked), "/account");
    let (_, account) = rosa.get_html("/account").await;
    assert!(
        flash_of(&account).contains(&format!("We sent a confirmation link to {new}")),
        "{account}"
    );

    // Two messages: the link to the new address, a notice to the old.
    assert_eq!(mail_to(&app, &new).await, 1);
    let subject = app
        .scalar_text(&format!(
            "SELECT subject FROM outbox WHERE LOWER(recipient) = '{}'",
            new.to_lowercase()
        ))
        .await;
    assert!(subject.contains("Confirm"), "{subject}");
    let body = app
        .scalar_text(&format!(
            "SELECT body_text FROM outbox WHERE LOWER(recipient) = '{}'",
            new.to_lowercase()
        ))
        .await;
    assert!(
        body.contains(&format!("{}/account/email/", app.address)),
        "{body}"
    );
    assert_eq!(
        mail_to(&app, &old).await,
        old_mail + 1,
        "the old address is told"
    );
    let link = app.outbox_link(&new, "/account/email/").await;
    assert!(link.len() > "/account/email/".len() + 20, "{link}");

    // Nothing has changed yet.
    assert_eq!(app.user(&old).await.email, old);
    assert_eq!(accounts_with(&app, &new).await, 0);
    assert_eq!(sign_in_status(&app, &old).await, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in_status(&app, &new).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(audited(&app, "account.email_change_requested").await, 1);
    assert_eq!(audited(&app, "account.email_changed").await, 0);

    // Opening the link shows a button; only pressing it changes anything.
    let (status, confirm_page) = rosa.get_html(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm_page.contains("<form"), "{confirm_page}");
    assert!(confirm_page.contains("method=\"post\""));
    assert_eq!(app.user(&old).await.email, old);

    let confirmed = rosa.post_form(&link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), "/account");
    let (_, account) = rosa.get_html("/account").await;
    assert!(
        flash_of(&account).contains(&format!("Your email address is now {new}")),
        "{account}"
    );
    let changed = app.user(&new).await;
    assert_eq!(changed.email, new);
    assert!(
        changed.email_verified_at.is_some(),
        "the new address is confirmed"
    );
    assert_eq!(accounts_with(&app, &old).await, 0);
    assert_eq!(app.role_of(&org, &new).await.as_deref(), Some("owner"));
    assert_eq!(app.role_of(&org, &old).await, None);
    assert_eq!(sign_in_status(&app, &new).await, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in_status(&app, &old).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The Members page finds the person by the new address.
    let local = new.split('@').next().expect("a local part");
    let (_, found) = rosa
        .get_html(&format!("/orgs/{org}/members?q={local}"))
        .await;
    assert!(found.contains("1 member match"), "{found}");
    assert!(main_of(&found).contains(&new));
    assert_eq!(audited(&app, "account.email_change_requested").await, 1);
    assert_eq!(audited(&app, "account.email_changed").await, 1);

    // The link works once.
    let again = rosa.post_form(&link, &[]).await;
    assert_eq!(again.status(), StatusCode::GONE);
    let (status, _) = rosa.get_html(&link).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = app.new_browser().get_html(&link).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(app.user(&new).await.email, new);
    assert_eq!(audited(&app, "account.email_changed").await, 1);
}

#[tokio::test]
async fn the_link_confirms_in_a_signed_out_browser_and_sends_to_sign_in() {
    let app = spawn_app().await;
    let old = email("sam");
    let new = email("sam-new");
    let (sam, _) = app.signed_up_unconfirmed("Sam Stone", &old, "Sam Co").await;
    let asked = ask_for_email_change(&sam, &new, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let link = app.outbox_link(&new, "/account/email/").await;

    let elsewhere = app.new_browser();
    let (status, _) = elsewhere.get_html(&link).await;
    assert_eq!(status, StatusCode::OK);
    let confirmed = elsewhere.post_form(&link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&confirmed).starts_with("/signin"),
        "{}",
        location(&confirmed)
    );
    let (_, signin) = elsewhere.get_html(&location(&confirmed)).await;
    assert!(
        signin.contains(&format!("Your email address is now {new}")),
        "{signin}"
    );
    let changed = app.user(&new).await;
    assert!(
        changed.email_verified_at.is_some(),
        "following the link confirms the address"
    );
    assert_eq!(sign_in_status(&app, &new).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_email_change_link_lasts_a_day() {
    let app = spawn_app().await;
    app.clock.freeze();
    let old = email("tara");
    let new = email("tara-new");
    let (tara, _) = app.signed_up("Tara Quinn", &old, "Tara Co").await;
    let asked = ask_for_email_change(&tara, &new, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let link = app.outbox_link(&new, "/account/email/").await;

    // A day is longer than a session: the link is opened signed out.
    app.clock.advance(24 * 3600 - 60);
    let (status, _) = app.new_browser().get_html(&link).await;
    assert_eq!(status, StatusCode::OK, "a minute before the day is over");
    app.clock.advance(120);
    let later = app.new_browser();
    let (status, _) = later.get_html(&link).await;
    assert_eq!(status, StatusCode::GONE, "a day later");
    let late = later.post_form(&link, &[]).await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert_eq!(app.user(&old).await.email, old);
    assert_eq!(accounts_with(&app, &new).await, 0);
    assert_eq!(audited(&app, "account.email_changed").await, 0);
    assert_eq!(sign_in_status(&app, &old).await, StatusCode::SEE_OTHER);

    // An unknown link is gone too.
    let (status, _) = later
        .get_html("/account/email/this-link-was-never-sent-to-anyone")
        .await;
    assert_eq!(status, StatusCode::GONE);
    let unknown = later
        .post_form("/account/email/this-link-was-never-sent-to-anyone", &[])
        .await;
    assert_eq!(unknown.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_wrong_password_or_an_address_in_use_sends_nothing() {
    let app = spawn_app().await;
    let old = email("uma");
    let (uma, _) = app.signed_up("Uma Park", &old, "Uma Co").await;
    let taken = email("taken");
    app.insert_user(&taken, "Tess Taken").await;
    let outbox = app.count("outbox").await;

    let wrong = ask_for_email_change(&uma, &email("uma-new"), "not my password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("Your password is not correct.")
    );
    let missing = uma
        .post_form("/account/email", &[("email", &email("uma-new"))])
        .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);

    for address in [taken.clone(), taken.to_uppercase()] {
        let refused = ask_for_email_change(&uma, &address, PASSWORD).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}"
        );
        let page = refused.text().await.expect("body");
        assert!(page.contains("belongs to another account"), "{page}");
    }
    for address in [old.clone(), old.to_uppercase()] {
        let refused = ask_for_email_change(&uma, &address, PASSWORD).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}"
        );
        let page = refused.text().await.expect("body");
        assert!(page.contains("already your address"), "{page}");
    }
    for address in ["", "not-an-address", "two@@example.test"] {
        let refused = ask_for_email_change(&uma, address, PASSWORD).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address:?}"
        );
    }

    assert_eq!(app.count("outbox").await, outbox, "nothing was sent");
    assert_eq!(app.count("email_changes").await, 0);
    assert_eq!(audited(&app, "account.email_change_requested").await, 0);
    assert_eq!(app.user(&old).await.email, old);
    assert_eq!(app.user(&taken).await.name, "Tess Taken");
}

#[tokio::test]
async fn a_pending_change_blocks_nobody_and_loses_to_an_account_made_meanwhile() {
    let app = spawn_app().await;
    let old = email("vic");
    let new = email("wanted");
    let (vic, org) = app.signed_up("Vic Vale", &old, "Vic Co").await;
    let asked = ask_for_email_change(&vic, &new, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let link = app.outbox_link(&new, "/account/email/").await;

    // Someone else signs up with the address meanwhile, and confirms it.
    let bea = app.new_browser();
    bea.sign_up("Bea Bright", &new, PASSWORD, "Bea Co").await;
    assert_eq!(accounts_with(&app, &new).await, 1);
    let verify = app.outbox_link(&new, "/verify/").await;
    let verified = bea.post_form(&verify, &[]).await;
    assert_eq!(verified.status(), StatusCode::SEE_OTHER);
    assert_eq!(sign_in_status(&app, &new).await, StatusCode::SEE_OTHER);
    let bea_org = app.owned_org(&new).await;

    let late = vic.post_form(&link, &[]).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(app.user(&old).await.email, old, "Vic keeps the old address");
    assert_eq!(app.user(&new).await.name, "Bea Bright");
    assert_eq!(accounts_with(&app, &new).await, 1);
    assert_eq!(app.role_of(&org, &old).await.as_deref(), Some("owner"));
    assert_eq!(app.role_of(&org, &new).await, None);
    assert_eq!(app.role_of(&bea_org, &new).await.as_deref(), Some("owner"));
    assert_eq!(sign_in_status(&app, &old).await, StatusCode::SEE_OTHER);
    assert_eq!(audited(&app, "account.email_changed").await, 0);
}

#[tokio::test]
async fn address_changes_are_limited_to_five_a_day() {
    let app = spawn_app().await;
    app.clock.freeze();
    let sam_email = email("sam");
    let (sam, _) = app.signed_up("Sam Stone", &sam_email, "Sam Co").await;
    for n in 1..=5 {
        let asked = ask_for_email_change(&sam, &email(&format!("sam-{n}")), PASSWORD).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER, "request {n}");
    }
    let sixth = email("sam-6");
    let refused = ask_for_email_change(&sam, &sixth, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = refused.text().await.expect("body");
    assert!(page.contains("several address changes"), "{page}");
    assert_eq!(mail_to(&app, &sixth).await, 0, "nothing sent to the sixth");
    assert_eq!(audited(&app, "account.email_change_requested").await, 5);

    // A day later (signed in again: the session has ended) the person may
    // ask again.
    app.clock.advance(24 * 3600 + 1);
    let sam = app.new_browser();
    let signed_in = sam.sign_in(&sam_email, PASSWORD).await;
    let status = signed_in.status();
    let body = signed_in.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", main_of(&body));
    let asked = ask_for_email_change(&sam, &sixth, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(mail_to(&app, &sixth).await, 1);
}

#[tokio::test]
async fn a_confirmed_change_ends_the_links_sent_to_the_old_address() {
    let app = spawn_app().await;
    let old = email("tess");
    let new = email("tess-new");
    let (tess, _) = app.signed_up("Tess Ryan", &old, "Tess Co").await;
    app.new_browser()
        .post_form("/password/forgot", &[("email", old.as_str())])
        .await;
    let reset = app.outbox_link(&old, "/password/reset/").await;
    let (status, _) = app.new_browser().get_html(&reset).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the reset link works before the change"
    );

    let asked = ask_for_email_change(&tess, &new, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let link = app.outbox_link(&new, "/account/email/").await;
    let confirmed = tess.post_form(&link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.user(&new).await.email, new);

    // The old mailbox no longer speaks for the account.
    let (status, _) = app.new_browser().get_html(&reset).await;
    assert_eq!(status, StatusCode::GONE, "the old reset link is dead");
    let stolen = app
        .new_browser()
        .post_form(
            &reset,
            &[
                ("new_password", "another long passphrase 42"),
                ("confirm_password", "another long passphrase 42"),
            ],
        )
        .await;
    assert_eq!(stolen.status(), StatusCode::GONE);
    assert_eq!(sign_in_status(&app, &new).await, StatusCode::SEE_OTHER);
}
