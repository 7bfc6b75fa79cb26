//! Two-factor sign-in: setting it up on the Account page (a QR code and
//! the secret, confirmed with a code from the app; ten recovery codes shown
//! once and stored hashed), signing in with a code or a recovery code,
//! codes refused when replayed or guessed too often, the pending sign-in
//! that expires, new recovery codes and turning it off. Codes are computed
//! here from the shared secret at the server's clock, as an authenticator
//! app would.

use base64::Engine;
use reqwest::{Response, StatusCode};
use totp_rs::Secret;

use crate::helpers::{
    Browser, PASSWORD, TestApp, code_at, csrf_in, email, location, spawn_app, text_of, wrong_code,
};

/// The flash message on a page.
fn flash_of(page: &str) -> &str {
    let start = page.find("id=\"flash-region\"").unwrap_or(0);
    let end = page[start..]
        .find("</div>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

/// The text of the section of a page under the heading `heading`.
fn section_of(page: &str, heading: &str) -> String {
    let start = page
        .find(&format!(">{heading}<"))
        .unwrap_or_else(|| panic!("a section {heading:?} in {page}"));
    let rest = &page[start + 1..];
    let end = [rest.find("</section>"), rest.find("<h2")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The words of `text`, punctuation dropped.
fn words(text: &str) -> Vec<String> {
    text_of(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The secret shown on the set-up page, in `#totp-secret` (spaces that
/// group it for typing dropped).
fn shown_secret(page: &str) -> String {
    let at = page
        .find("id=\"totp-secret\"")
        .unwrap_or_else(|| panic!("the secret on the set-up page: {page}"));
    let start = at + page[at..].find('>').expect("the tag ends") + 1;
    let end = start + page[start..].find("</code>").expect("the secret ends");
    page[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The recovery codes listed in `#recovery-codes`.
fn recovery_codes_in(page: &str) -> Vec<String> {
    let start = page
        .find("id=\"recovery-codes\"")
        .unwrap_or_else(|| panic!("the recovery codes on the page: {page}"));
    let end = start + page[start..].find("</ul>").expect("the list ends");
    page[start..end]
        .split("<code")
        .skip(1)
        .map(|item| {
            let open = item.find('>').expect("the tag ends") + 1;
            let close = item.find("</code>").expect("the code ends");
            item[open..close].trim().to_string()
        })
        .collect()
}

/// The stored secret of the person with user id `user_id`.
async fn stored_secret(app: &TestApp, user_id: &str) -> String {
    app.scalar_text(&format!(
        "SELECT secret FROM two_factor WHERE user_id = '{user_id}'"
    ))
    .await
}

async fn recovery_rows(app: &TestApp, user_id: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = '{user_id}'"
    ))
    .await
}

async fn two_factor_on(app: &TestApp, user_id: &str) -> bool {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE id = '{user_id}' AND two_factor_at IS NOT NULL"
    ))
    .await
        == 1
}

async fn sessions_of(app: &TestApp, user_id: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM user_sessions WHERE user_id = '{user_id}'"
    ))
    .await
}

/// Rows of `action` in the person's own log.
async fn logged(app: &TestApp, user_id: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id IS NULL \
         AND target_id = '{user_id}' AND action = '{action}'"
    ))
    .await
}

/// Turns two-factor on for the person signed in in `browser` as an
/// authenticator app would: reads the secret off the set-up page and
/// answers with the current code. Returns the secret and the recovery
/// codes shown. The clock then moves to the next step, so that the next
/// code is a fresh one.
async fn turn_on(app: &TestApp, browser: &Browser) -> (String, Vec<String>) {
    let (status, setup) = browser.get_html("/account/two-factor").await;
    assert_eq!(status, StatusCode::OK, "the set-up page");
    let secret = shown_secret(&setup);
    let response = browser
        .post_form(
            "/account/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the code confirms it");
    let page = response.text().await.expect("body");
    assert!(page.contains("Two-factor authentication is on"), "{page}");
    let codes = recovery_codes_in(&page);
    assert_eq!(codes.len(), 10, "{codes:?}");
    app.clock.advance(30);
    (secret, codes)
}

/// A person with their own organization and two-factor on, signed out.
/// Returns (address, user id, org id, secret, recovery codes).
async fn person_with_two_factor(app: &TestApp) -> (String, String, String, String, Vec<String>) {
    let address = email("ada");
    let (browser, org) = app.signed_up("Ada Lovelace", &address, "Acme").await;
    let (secret, codes) = turn_on(app, &browser).await;
    browser.sign_out().await;
    let user_id = app.user_id(&address).await;
    (address, user_id, org, secret, codes)
}

/// The password step of a sign-in in a new browser, which is asked for a
/// code next.
async fn password_step(app: &TestApp, address: &str, next: Option<&str>) -> Browser {
    let browser = app.new_browser();
    let mut fields = vec![("email", address), ("password", PASSWORD)];
    if let Some(next) = next {
        fields.push(("next", next));
    }
    let response = browser.post_form("/signin", &fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the password of {address}"
    );
    assert_eq!(location(&response), "/signin/two-factor");
    browser
}

/// Enters `code` on the page that asks for it.
async fn enter_code(browser: &Browser, code: &str) -> Response {
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

/// Follows redirects from `response` to the page they end on.
async fn landed(browser: &Browser, response: Response) -> (String, StatusCode, String) {
    let mut path = location(&response);
    for _ in 0..5 {
        let next = browser.get(&path).await;
        if next.status() == StatusCode::SEE_OTHER {
            path = location(&next);
            continue;
        }
        let status = next.status();
        return (path, status, next.text().await.expect("body"));
    }
    panic!("too many redirects from {}", location(&response));
}

/// Whether `browser` may see the organization's pages.
async fn signed_in_to(browser: &Browser, org: &str) -> bool {
    let response = browser.get(&format!("/orgs/{org}/members")).await;
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            let to = location(&response);
            assert!(
                to == "/signin" || to.starts_with("/signin?"),
                "a signed-out browser is sent to sign in, not to {to}"
            );
            false
        }
        other => panic!("the members page answered {other}"),
    }
}

#[tokio::test]
async fn setting_up_shows_a_qr_code_and_the_secret_and_a_code_turns_it_on() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    let (browser, _) = app.signed_up("Ada Lovelace", &ada, "Acme").await;
    let user_id = app.user_id(&ada).await;

    // Signed out, the page asks to sign in.
    let anonymous = app.new_browser().get("/account/two-factor").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(location(&anonymous).starts_with("/signin"));

    // The Account page says it is off and links to the set-up.
    let (_, account) = browser.get_html("/account").await;
    let section = section_of(&account, "Two-factor authentication");
    assert!(
        section.contains("href=\"/account/two-factor\""),
        "{section}"
    );
    assert!(words(&section).contains(&"Off".to_string()), "{section}");
    assert!(!words(&section).contains(&"On".to_string()), "{section}");

    let (status, setup) = browser.get_html("/account/two-factor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        setup.contains("Set up two-factor authentication"),
        "{setup}"
    );
    let img_at = setup
        .find("alt=\"QR code for your authenticator app\"")
        .expect("the QR code, described");
    let img_start = setup[..img_at].rfind("<img").expect("an image");
    let img_end = img_at + setup[img_at..].find('>').expect("the tag ends");
    let img = &setup[img_start..img_end];
    let src_marker = "src=\"data:image/svg+xml;base64,";
    let src_at = img.find(src_marker).expect("an SVG data: image") + src_marker.len();
    let encoded = &img[src_at..src_at + img[src_at..].find('"').expect("src ends")];
    let svg = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    assert!(
        String::from_utf8_lossy(&svg).contains("<svg"),
        "the image is an SVG"
    );
    assert!(setup.contains("action=\"/account/two-factor\""));
    assert!(setup.contains("name=\"code\""));

    // The secret on the page is the stored one: 160 bits of base32.
    let secret = shown_secret(&setup);
    assert_eq!(secret, stored_secret(&app, &user_id).await);
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{secret}"
    );
    assert!(
        Secret::Encoded(secret.clone()).to_bytes().is_ok(),
        "{secret}"
    );
    // An unfinished set-up, nothing on yet; opened again, it is the same.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM two_factor WHERE user_id = '{user_id}' AND confirmed_at IS NULL"
        ))
        .await,
        1
    );
    assert!(!two_factor_on(&app, &user_id).await);
    let (_, again) = browser.get_html("/account/two-factor").await;
    assert_eq!(shown_secret(&again), secret, "the set-up is reused");

    // A wrong code turns nothing on.
    let wrong = browser
        .post_form(
            "/account/two-factor",
            &[
                ("code", &wrong_code(&secret, app.clock.now())),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("That code is not right")
    );
    assert!(!two_factor_on(&app, &user_id).await);
    assert_eq!(recovery_rows(&app, &user_id).await, 0);

    // So does the right code with a wrong password: a borrowed session
    // cannot tie the account to someone else's app.
    let unproven = browser
        .post_form(
            "/account/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(unproven.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unproven
            .text()
            .await
            .expect("body")
            .contains("Your password is not correct.")
    );
    assert!(!two_factor_on(&app, &user_id).await);
    assert_eq!(recovery_rows(&app, &user_id).await, 0);

    // The right code turns it on and shows ten recovery codes, once.
    let right = browser
        .post_form(
            "/account/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(right.status(), StatusCode::OK);
    let page = right.text().await.expect("body");
    assert!(page.contains("Two-factor authentication is on"), "{page}");
    assert!(page.contains("shown only once"), "{page}");
    let codes = recovery_codes_in(&page);
    assert_eq!(codes.len(), 10, "{codes:?}");
    for code in &codes {
        let (left, right) = code.split_once('-').unwrap_or_else(|| panic!("{code}"));
        assert!(
            left.len() == 5
                && right.len() == 5
                && (left.chars().chain(right.chars()))
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "a code like xxxxx-xxxxx: {code}"
        );
    }
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten different codes");

    assert!(two_factor_on(&app, &user_id).await);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM two_factor WHERE user_id = '{user_id}' AND confirmed_at IS NOT NULL"
        ))
        .await,
        1
    );
    assert_eq!(recovery_rows(&app, &user_id).await, 10);
    // Stored hashed: the table never holds a code's text, in any form.
    for code in &codes {
        for form in [
            code.clone(),
            code.replace('-', ""),
            code.to_uppercase(),
            code.replace('-', "").to_uppercase(),
        ] {
            assert_eq!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM recovery_codes WHERE code_hash LIKE '%{form}%'"
                ))
                .await,
                0,
                "{form} is stored as it is"
            );
        }
    }
    assert_eq!(
        logged(&app, &user_id, "account.two_factor_enabled").await,
        1
    );

    // Shown only once: neither the two-factor page nor the Account page
    // shows them again, nor the secret.
    let (status, on) = browser.get_html("/account/two-factor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(on.contains("Two-factor authentication is on"), "{on}");
    assert!(
        on.contains("action=\"/account/two-factor/disable\""),
        "{on}"
    );
    assert!(
        on.contains("action=\"/account/two-factor/recovery-codes\""),
        "{on}"
    );
    assert!(
        !on.contains("id=\"totp-secret\""),
        "the secret is not shown"
    );
    assert!(!on.contains(&secret));
    let (_, account) = browser.get_html("/account").await;
    for code in &codes {
        assert!(!on.contains(code.as_str()), "{code} shown again");
        assert!(!account.contains(code.as_str()), "{code} shown again");
    }
    let section = section_of(&account, "Two-factor authentication");
    assert!(words(&section).contains(&"On".to_string()), "{section}");
    assert!(!words(&section).contains(&"Off".to_string()), "{section}");
    assert!(
        section.contains("href=\"/account/two-factor\""),
        "{section}"
    );

    // Turning it on again is refused, with a fresh code too.
    app.clock.advance(30);
    let twice = browser
        .post_form(
            "/account/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        twice
            .text()
            .await
            .expect("body")
            .contains("Two-factor authentication is already on")
    );
    assert_eq!(stored_secret(&app, &user_id).await, secret);
    assert_eq!(recovery_rows(&app, &user_id).await, 10);
    assert_eq!(
        logged(&app, &user_id, "account.two_factor_enabled").await,
        1
    );
}

#[tokio::test]
async fn the_password_alone_starts_no_session_and_the_code_lands_on_the_page_asked_for() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, user_id, org, secret, _) = person_with_two_factor(&app).await;
    let sessions = sessions_of(&app, &user_id).await;

    // Without a pending sign-in there is no code to enter.
    let nobody = app.new_browser().get("/signin/two-factor").await;
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&nobody), "/signin");

    let asked = format!("/orgs/{org}/settings");
    let browser = password_step(&app, &ada, Some(&asked)).await;
    assert!(!signed_in_to(&browser, &org).await, "no session yet");
    assert_eq!(sessions_of(&app, &user_id).await, sessions);
    let (status, page) = browser.get_html("/signin/two-factor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Enter the code from your authenticator app"),
        "{page}"
    );
    assert!(page.contains("name=\"code\""), "{page}");

    let wrong = enter_code(&browser, &wrong_code(&secret, app.clock.now())).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("That code is not right")
    );
    assert!(!signed_in_to(&browser, &org).await, "still no session");
    assert_eq!(sessions_of(&app, &user_id).await, sessions);

    let right = enter_code(&browser, &code_at(&secret, app.clock.now())).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&right), asked, "to the page asked for");
    let (status, _) = browser.get_html(&asked).await;
    assert_eq!(status, StatusCode::OK, "signed in");
    assert!(signed_in_to(&browser, &org).await);
    assert_eq!(sessions_of(&app, &user_id).await, sessions + 1);

    // Without a `next`, home.
    app.clock.advance(30);
    let plain = password_step(&app, &ada, None).await;
    let right = enter_code(&plain, &code_at(&secret, app.clock.now())).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&right), "/");
    assert!(signed_in_to(&plain, &org).await);
}

#[tokio::test]
async fn a_code_is_accepted_once_and_an_earlier_one_not_after_it() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, _, org, secret, _) = person_with_two_factor(&app).await;
    let code = code_at(&secret, app.clock.now());

    let laptop = password_step(&app, &ada, None).await;
    let used = enter_code(&laptop, &code).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    assert!(signed_in_to(&laptop, &org).await);

    // Someone who saw the code and knows the password, within its step.
    let other = password_step(&app, &ada, None).await;
    let replayed = enter_code(&other, &code).await;
    assert_eq!(
        replayed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code already used"
    );
    assert!(
        replayed
            .text()
            .await
            .expect("body")
            .contains("That code is not right")
    );
    assert!(!signed_in_to(&other, &org).await);
    // The step before, still within the allowed drift, is older than the
    // one used.
    let earlier = enter_code(&other, &code_at(&secret, app.clock.now() - 30)).await;
    assert_eq!(earlier.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!signed_in_to(&other, &org).await);

    // The next step's code works.
    app.clock.advance(30);
    let fresh = enter_code(&other, &code_at(&secret, app.clock.now())).await;
    assert_eq!(fresh.status(), StatusCode::SEE_OTHER);
    assert!(signed_in_to(&other, &org).await);
}

#[tokio::test]
async fn ten_wrong_codes_stop_even_the_right_code() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, _, org, secret, codes) = person_with_two_factor(&app).await;

    let attacker = password_step(&app, &ada, None).await;
    for attempt in 1..=10 {
        let response = enter_code(&attacker, &wrong_code(&secret, app.clock.now())).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong code {attempt}"
        );
    }
    let right = enter_code(&attacker, &code_at(&secret, app.clock.now())).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        right
            .text()
            .await
            .expect("body")
            .contains("Too many failed sign-ins")
    );
    assert!(!signed_in_to(&attacker, &org).await);
    // A recovery code is no way around it, nor a new password step.
    let recovery = enter_code(&attacker, &codes[0]).await;
    assert_eq!(recovery.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!signed_in_to(&attacker, &org).await);
    let again = app.new_browser().sign_in(&ada, PASSWORD).await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);

    // After the 15 minutes, the person signs in (the pending sign-in has
    // expired meanwhile: the password is asked again).
    app.clock.advance(15 * 60 + 1);
    let browser = password_step(&app, &ada, None).await;
    let right = enter_code(&browser, &code_at(&secret, app.clock.now())).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert!(signed_in_to(&browser, &org).await);
}

#[tokio::test]
async fn wrong_passwords_and_wrong_codes_count_together() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, _, org, secret, _) = person_with_two_factor(&app).await;

    let attacker = app.new_browser();
    for attempt in 1..=5 {
        let response = attacker.sign_in(&ada, "guess guess guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong password {attempt}"
        );
    }
    let browser = password_step(&app, &ada, None).await;
    for attempt in 1..=5 {
        let response = enter_code(&browser, &wrong_code(&secret, app.clock.now())).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong code {attempt}"
        );
    }
    let right = enter_code(&browser, &code_at(&secret, app.clock.now())).await;
    assert_eq!(
        right.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "ten failures in all"
    );
    assert!(!signed_in_to(&browser, &org).await);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_typed_any_way() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, user_id, org, _, codes) = person_with_two_factor(&app).await;

    let typed = [
        codes[0].clone(),
        codes[1].replace('-', ""),
        codes[2].to_uppercase(),
        codes[3].replace('-', "").to_uppercase(),
    ];
    for (i, code) in typed.iter().enumerate() {
        let browser = password_step(&app, &ada, None).await;
        let response = enter_code(&browser, code).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{code}");
        let (_, status, page) = landed(&browser, response).await;
        assert_eq!(status, StatusCode::OK, "{code}");
        let flash = flash_of(&page);
        assert!(flash.contains("You used a recovery code"), "{flash}");
        assert!(flash.contains(&format!("{} left", 9 - i)), "{flash}");
        assert!(signed_in_to(&browser, &org).await, "{code}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = '{user_id}' AND used_at IS NOT NULL"
        ))
        .await,
        4
    );
    assert_eq!(
        logged(&app, &user_id, "account.recovery_code_used").await,
        4
    );

    // Each once, however it is typed the second time.
    for code in [
        codes[0].clone(),
        codes[0].to_uppercase(),
        codes[1].clone(),
        codes[3].clone(),
    ] {
        let browser = password_step(&app, &ada, None).await;
        let response = enter_code(&browser, &code).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code} again"
        );
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("That code is not right")
        );
        assert!(!signed_in_to(&browser, &org).await, "{code} again");
    }
    assert_eq!(
        logged(&app, &user_id, "account.recovery_code_used").await,
        4
    );
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    let (browser, org) = app.signed_up("Ada Lovelace", &ada, "Acme").await;
    let user_id = app.user_id(&ada).await;
    let (secret, _) = turn_on(&app, &browser).await;

    // A wrong password or a wrong code changes nothing.
    let wrong_password = browser
        .post_form(
            "/account/two-factor/disable",
            &[
                ("password", "not my password"),
                ("code", &code_at(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_password
            .text()
            .await
            .expect("body")
            .contains("Your password is not correct.")
    );
    app.clock.advance(30);
    let wrong = browser
        .post_form(
            "/account/two-factor/disable",
            &[
                ("password", PASSWORD),
                ("code", &wrong_code(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("That code is not right")
    );
    assert!(two_factor_on(&app, &user_id).await);
    assert_eq!(stored_secret(&app, &user_id).await, secret);
    assert_eq!(recovery_rows(&app, &user_id).await, 10);
    assert_eq!(
        logged(&app, &user_id, "account.two_factor_disabled").await,
        0
    );
    let asked = app.new_browser();
    let response = asked.sign_in(&ada, PASSWORD).await;
    assert_eq!(location(&response), "/signin/two-factor", "still asked");

    // The password and a current code turn it off.
    app.clock.advance(30);
    let off = browser
        .post_form(
            "/account/two-factor/disable",
            &[
                ("password", PASSWORD),
                ("code", &code_at(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&off), "/account/two-factor");
    assert!(!two_factor_on(&app, &user_id).await);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM two_factor WHERE user_id = '{user_id}'"
        ))
        .await,
        0,
        "the secret is gone"
    );
    assert_eq!(recovery_rows(&app, &user_id).await, 0);
    assert_eq!(
        logged(&app, &user_id, "account.two_factor_disabled").await,
        1
    );
    let (_, status, page) = landed(&browser, off).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        flash_of(&page).contains("Two-factor authentication is off."),
        "{page}"
    );
    assert!(page.contains("Set up two-factor authentication"), "{page}");
    assert_ne!(shown_secret(&page), secret, "a new set-up has a new secret");

    // Sign-in asks for the password only.
    browser.sign_out().await;
    let plain = app.new_browser();
    let response = plain.sign_in(&ada, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(signed_in_to(&plain, &org).await);

    // A recovery code does in place of the code.
    let (_, codes) = turn_on(&app, &plain).await;
    let off = plain
        .post_form(
            "/account/two-factor/disable",
            &[("password", PASSWORD), ("code", &codes[0])],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&off), "/account/two-factor");
    assert!(!two_factor_on(&app, &user_id).await);
    assert_eq!(recovery_rows(&app, &user_id).await, 0);
}

#[tokio::test]
async fn new_recovery_codes_end_the_old_ones() {
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    let (browser, org) = app.signed_up("Ada Lovelace", &ada, "Acme").await;
    let user_id = app.user_id(&ada).await;
    let (secret, old) = turn_on(&app, &browser).await;

    let renewed = browser
        .post_form(
            "/account/two-factor/recovery-codes",
            &[
                ("password", PASSWORD),
                ("code", &code_at(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let page = renewed.text().await.expect("body");
    let new = recovery_codes_in(&page);
    assert_eq!(new.len(), 10, "{new:?}");
    for code in &new {
        assert!(!old.contains(code), "{code} was an old code");
    }
    assert_eq!(recovery_rows(&app, &user_id).await, 10, "the old rows gone");
    assert_eq!(
        logged(&app, &user_id, "account.recovery_codes_renewed").await,
        1
    );
    assert!(two_factor_on(&app, &user_id).await, "still on");

    let with_old = password_step(&app, &ada, None).await;
    let refused = enter_code(&with_old, &old[0]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!signed_in_to(&with_old, &org).await);

    let with_new = password_step(&app, &ada, None).await;
    let accepted = enter_code(&with_new, &new[0]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let (_, _, page) = landed(&with_new, accepted).await;
    assert!(flash_of(&page).contains("9 left"), "{page}");
    assert!(signed_in_to(&with_new, &org).await);
}

#[tokio::test]
async fn a_pending_sign_in_lasts_ten_minutes() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (ada, _, org, secret, _) = person_with_two_factor(&app).await;

    // Nine minutes and fifty seconds later, the code still completes it.
    let slow = password_step(&app, &ada, None).await;
    let (_, page) = slow.get_html("/signin/two-factor").await;
    let token = csrf_in(&page).expect("a CSRF token");
    app.clock.advance(590);
    let response = slow
        .post_raw(
            "/signin/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(signed_in_to(&slow, &org).await);

    // Ten minutes and a second: the password is asked again.
    let late = password_step(&app, &ada, None).await;
    let (_, page) = late.get_html("/signin/two-factor").await;
    let token = csrf_in(&page).expect("a CSRF token");
    app.clock.advance(601);
    let response = late
        .post_raw(
            "/signin/two-factor",
            &[
                ("code", &code_at(&secret, app.clock.now())),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(
        to == "/signin" || to.starts_with("/signin?"),
        "back to the password: {to}"
    );
    assert!(!signed_in_to(&late, &org).await);
    let (status, page) = late.get_html(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"password\""), "{page}");
    let expired = late.get("/signin/two-factor").await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&expired), "/signin");

    // The whole sign-in again works.
    app.clock.advance(30);
    let again = password_step(&app, &ada, None).await;
    let response = enter_code(&again, &code_at(&secret, app.clock.now())).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(signed_in_to(&again, &org).await);
}

/// Eight sign-ins waiting for their code send the same code (or the same
/// recovery code) at once: exactly one is signed in, on SQLite and on
/// PostgreSQL alike, since the step (or the code) is taken by a
/// conditional update.
#[tokio::test]
async fn simultaneous_sign_ins_with_one_code_sign_in_once() {
    let app = spawn_app().await;
    let (address, user_id, _, secret, codes) = person_with_two_factor(&app).await;
    for code in [code_at(&secret, app.clock.now()), codes[0].clone()] {
        let mut pending = Vec::new();
        for _ in 0..8 {
            let browser = password_step(&app, &address, None).await;
            let (_, page) = browser.get_html("/signin/two-factor").await;
            let token = csrf_in(&page).expect("a CSRF token on the code page");
            pending.push((browser, token));
        }
        let before = sessions_of(&app, &user_id).await;
        let answers =
            futures_util::future::join_all(pending.iter().map(|(browser, token)| async {
                let fields = [("code", code.as_str()), ("csrf_token", token.as_str())];
                browser.post_raw("/signin/two-factor", &fields).await
            }))
            .await;
        let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
        let signed_in = statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
            .count();
        assert_eq!((signed_in, refused), (1, 7), "{code}: {statuses:?}");
        assert_eq!(sessions_of(&app, &user_id).await, before + 1);
        // The seven refused attempts count as failed sign-ins: the next
        // round starts past the limits' window.
        app.clock
            .advance(roster::services::rate_limit::WINDOW_SECS + 1);
    }
}

/// Turning two-factor off takes the password and a code; someone holding
/// a session and the password still gets no more guesses at the code
/// than a sign-in does.
#[tokio::test]
async fn guessing_the_code_to_turn_it_off_is_limited_like_a_sign_in() {
    let app = spawn_app().await;
    let address = email("ada");
    let (browser, _) = app.signed_up("Ada Lovelace", &address, "Acme").await;
    let (secret, _) = turn_on(&app, &browser).await;
    let user_id = app.user_id(&address).await;
    let wrong = wrong_code(&secret, app.clock.now());
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = browser
            .post_form(
                "/account/two-factor/disable",
                &[("password", PASSWORD), ("code", &wrong)],
            )
            .await;
        statuses.push(response.status());
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let right = browser
        .post_form(
            "/account/two-factor/disable",
            &[
                ("password", PASSWORD),
                ("code", &code_at(&secret, app.clock.now())),
            ],
        )
        .await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(two_factor_on(&app, &user_id).await, "still on");
    assert!(logged(&app, &user_id, "account.sign_in_failed").await >= 10);
}
