//! Attacks on a running Roster that once got through, each replayed
//! against the fix: redirects through `next=`, parallel password guessing,
//! password hashes in flight, password re-checks, reset requests per
//! address, invitations as a mail cannon, a workspace-less organization and
//! two Admins demoting each other at once (the last two matter most on
//! PostgreSQL, where transactions really run side by side).

use futures_util::future::join_all;
use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use sea_orm::ConnectionTrait;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app, spawn_app_with};

/// A strong new password for the forms that set one.
const NEW_PASSWORD: &str = "tangerine orbit kettle 47 wharf";

#[tokio::test]
async fn next_with_control_characters_never_leaves_the_site() {
    let app = spawn_app().await;
    let address = email("rosa");
    let (rosa, _) = app.signed_up("Rosa", &address, "Rosa Co").await;

    // Signed in: the sign-in page forwards to `next` only on this site.
    for next in ["/%09/evil.example", "/%0A/x", "/%0D/x", "/%5C/evil.example"] {
        let response = rosa.get(&format!("/signin?next={next}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(location(&response), "/", "next={next}");
    }

    // A successful sign-in with a poisoned `next` goes home, never 500.
    rosa.sign_out().await;
    for next in ["/\t/evil.example", "/\n/x", "/\r\n/x"] {
        let browser = app.new_browser();
        let response = browser
            .post_form(
                "/signin",
                &[("email", &address), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(location(&response), "/", "next={next:?}");
        // Signing out with it goes to the sign-in page, not elsewhere.
        let out = browser.post_form("/signout", &[("next", next)]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&out), "/signin?signed_out=1");
    }

    // Signed out: the form does not carry the poisoned value.
    let (status, page) = app
        .new_browser()
        .get_html("/signin?next=/%09/evil.example")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("evil.example"));

    // A real same-site path still works.
    let browser = app.new_browser();
    let response = browser
        .post_form(
            "/signin",
            &[
                ("email", &address),
                ("password", PASSWORD),
                ("next", "/account?tab=1"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account?tab=1");
}

/// POSTs a sign-in from `client_address` (as a reverse proxy reports it).
async fn sign_in_from(
    browser: &Browser,
    token: &str,
    account: &str,
    password: &str,
    client_address: &str,
) -> (StatusCode, String) {
    let body = serde_urlencoded::to_string([
        ("email", account),
        ("password", password),
        ("csrf_token", token),
    ])
    .expect("encode");
    let response = browser
        .client
        .post(browser.url("/signin"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Forwarded-For", client_address)
        .body(body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn simultaneous_wrong_passwords_stop_at_the_account_limit() {
    let app = spawn_app_with(|c| c.trust_proxy = true).await;
    let other = app.another_instance(|_| {}).await;
    let address = email("target");
    app.insert_user(&address, "Target Person").await;
    let first = app.new_browser();
    let token = first.csrf_token().await;
    let second = first.on(&other);

    // Sixty guesses at once, from sixty addresses, over two instances.
    let guesses = (0..60).map(|i| {
        let (browser, token, address) =
            (if i % 2 == 0 { &first } else { &second }, &token, &address);
        async move {
            sign_in_from(
                browser,
                token,
                address,
                "wrong password",
                &format!("198.51.100.{i}"),
            )
            .await
        }
    });
    let answers = join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let limited = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + limited, 60, "only 422 and 429: {answers:?}");
    assert!(
        checked <= 10,
        "{checked} guesses were checked; the limit is 10"
    );
    assert!(limited >= 50);
    let failures = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sign_in_failures WHERE bucket = 'account:{}'",
            address.to_lowercase()
        ))
        .await;
    assert!(failures <= 10, "{failures} failures recorded");
    // (Attempts refused while others were in flight may leave fewer than
    // ten: top up one at a time.)
    for i in failures..10 {
        let (status, _) =
            sign_in_from(&first, &token, &address, "wrong", &format!("203.0.113.{i}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // The right password is refused too until the window passes.
    let (status, page) = sign_in_from(&first, &token, &address, PASSWORD, "198.51.100.200").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Too many failed sign-ins"));
    app.clock.advance(16 * 60);
    let (status, _) = sign_in_from(&first, &token, &address, PASSWORD, "198.51.100.200").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn password_checks_in_flight_are_bounded_per_address() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    let token = browser.csrf_token().await;
    // Twenty sign-ins at once from one address, each for another account.
    let attempts = (0..20).map(|i| {
        let (browser, token) = (&browser, &token);
        async move {
            let body = serde_urlencoded::to_string([
                ("email", format!("nobody-{i}@example.com")),
                ("password", "wrong password".to_string()),
                ("csrf_token", token.clone()),
            ])
            .expect("encode");
            let response = browser
                .client
                .post(browser.url("/signin"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("POST");
            let status = response.status();
            let retry_after = response.headers().get("retry-after").is_some();
            (status, retry_after, response.text().await.expect("body"))
        }
    });
    let answers = join_all(attempts).await;
    let turned_away: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        answers
            .iter()
            .all(|(s, _, _)| *s == StatusCode::UNPROCESSABLE_ENTITY
                || *s == StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );
    assert!(
        !turned_away.is_empty(),
        "an address may not have twenty password checks in flight"
    );
    for (_, retry_after, page) in &turned_away {
        assert!(retry_after, "a turned-away request says when to retry");
        assert!(
            page.contains("Too many password requests at once"),
            "{page}"
        );
    }
    // Nothing was counted against those accounts: the same address signs
    // in normally right afterwards.
    let address = email("after");
    app.insert_user(&address, "After").await;
    let response = app.new_browser().sign_in(&address, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn password_rechecks_count_with_sign_in_failures() {
    let app = spawn_app().await;
    let address = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &address, "Acme").await;
    let admin_email = email("admin");
    app.member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;

    // Ten wrong passwords spread over the three forms that re-ask it.
    for i in 0..10 {
        let response = match i % 3 {
            0 => {
                owner
                    .post_form(
                        "/account/password",
                        &[
                            ("current_password", "not my password"),
                            ("new_password", NEW_PASSWORD),
                            ("confirm_password", NEW_PASSWORD),
                        ],
                    )
                    .await
            }
            1 => {
                owner
                    .post_form(
                        &format!("/orgs/{org}/transfer"),
                        &[("email", &admin_email), ("password", "not my password")],
                    )
                    .await
            }
            _ => {
                owner
                    .post_form(
                        &format!("/orgs/{org}/delete"),
                        &[("confirm_name", "Acme"), ("password", "not my password")],
                    )
                    .await
            }
        };
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "try {i}"
        );
    }

    // The eleventh, with the right password, is refused and changes nothing.
    let response = owner
        .post_form(
            &format!("/orgs/{org}/delete"),
            &[("confirm_name", "Acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = response.text().await.expect("body");
    assert!(page.contains("Too many wrong passwords"), "{page}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM organizations WHERE id = '{org}'"
        ))
        .await,
        1
    );
    let response = owner
        .post_form(
            &format!("/orgs/{org}/transfer"),
            &[("email", &admin_email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.role_of(&org, &address).await.as_deref(), Some("owner"));
    let response = owner
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // And sign-in counts them too.
    let response = app.new_browser().sign_in(&address, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forgot_password_is_limited_per_client_address_across_instances() {
    let app = spawn_app().await;
    let other = app.another_instance(|_| {}).await;
    let first = app.new_browser();
    let second = first.on(&other);
    for i in 0..20 {
        let browser = if i % 2 == 0 { &first } else { &second };
        let response = browser
            .post_form("/password/forgot", &[("email", &email("guess"))])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
    let response = first
        .post_form("/password/forgot", &[("email", &email("guess"))])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = response.text().await.expect("body");
    assert!(page.contains("Too many reset requests"), "{page}");
    let response = second
        .post_form("/password/forgot", &[("email", &email("guess"))])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(16 * 60);
    other.clock.advance(16 * 60);
    let response = first
        .post_form("/password/forgot", &[("email", &email("guess"))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn invite(browser: &Browser, org: &str, emails: &str) -> (StatusCode, String) {
    let response = browser
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", emails), ("role", "member")],
        )
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn an_unconfirmed_address_cannot_send_invitations() {
    let app = spawn_app().await;
    let address = email("mallory");
    let (mallory, org) = app
        .signed_up_unconfirmed("Mallory", &address, "IT Helpdesk")
        .await;
    let (_, page) = mallory.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(page.contains("Confirm your email address before sending invitations"));
    let (status, page) = invite(&mallory, &org, "victim@example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Confirm your email address before sending invitations"));
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation'")
            .await,
        0
    );
    app.confirm_email(&address).await;
    let (_, page) = mallory.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(!page.contains("Confirm your email address"));
    let (status, _) = invite(&mallory, &org, "friend@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("invitations").await, 1);
}

#[tokio::test]
async fn resending_one_invitation_is_spaced() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (status, _) = invite(&owner, &org, "bob@example.com").await;
    assert_eq!(status, StatusCode::OK);
    let id = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE org_id = '{org}'"
        ))
        .await;
    let resend = format!("/orgs/{org}/invitations/{id}/resend");
    for _ in 0..5 {
        let response = owner.post_form(&resend, &[]).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let page = response.text().await.expect("body");
        assert!(page.contains("sent moments ago"), "{page}");
    }
    let messages = "SELECT COUNT(*) FROM outbox WHERE kind = 'invitation'";
    assert_eq!(app.scalar(messages).await, 1, "one message for one send");
    app.clock.advance(2 * 60);
    let response = owner.post_form(&resend, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.scalar(messages).await, 2);
}

#[tokio::test]
async fn an_organization_sends_at_most_its_daily_invitations() {
    let app = spawn_app_with(|c| c.invitations_per_day = 3).await;
    let address = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &address, "Acme").await;
    let (status, _) = invite(&owner, &org, "a@example.com, b@example.com").await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = invite(&owner, &org, "c@example.com, d@example.com").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("may send 3 invitations a day"), "{page}");
    assert!(page.contains("1 more can go out now"), "{page}");
    assert_eq!(
        app.count("invitations").await,
        2,
        "nothing of the refused send"
    );
    let (status, _) = invite(&owner, &org, "c@example.com").await;
    assert_eq!(status, StatusCode::OK);
    // A resend counts as a send.
    app.clock.advance(5 * 60);
    let id = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE org_id = '{org}' AND email_normalized = 'a@example.com'"
        ))
        .await;
    let resend = format!("/orgs/{org}/invitations/{id}/resend");
    let response = owner.post_form(&resend, &[]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // A day later (signed in again) the organization may send again.
    app.clock.advance(24 * 3600);
    let owner = app.new_browser();
    owner.sign_in(&address, PASSWORD).await;
    let response = owner.post_form(&resend, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// Creates workspaces titled `titles` as the Owner; returns every
/// workspace id of the organization.
async fn workspaces(app: &TestApp, owner: &Browser, org: &str, titles: &[&str]) -> Vec<String> {
    for title in titles {
        let response = owner
            .post_form(
                &format!("/orgs/{org}/workspaces"),
                &[("title", title), ("description", "")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "create {title}");
    }
    let backend = app.db.owner().get_database_backend();
    let rows = app
        .db
        .owner()
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT id, title FROM workspaces WHERE org_id = '{org}' ORDER BY title"),
        ))
        .await
        .expect("workspaces");
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("id"))
        .collect()
}

#[tokio::test]
async fn the_only_workspace_cannot_be_moved_away() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let other_org = {
        let response = owner.post_form("/orgs", &[("name", "Acme Two")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        app.scalar_text("SELECT id FROM organizations WHERE name = 'Acme Two'")
            .await
    };
    let general = app.general_workspace(&org).await;
    let response = owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{general}/move"),
            &[("to", &other_org)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("only workspace"), "{page}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn simultaneous_deletes_leave_a_workspace() {
    let app = spawn_app().await;
    for trial in 0..4 {
        let (owner, org) = app
            .signed_up("Olivia Owner", &email("olivia"), &format!("Acme {trial}"))
            .await;
        let ids = workspaces(&app, &owner, &org, &["Two", "Three", "Four"]).await;
        assert_eq!(ids.len(), 4);
        let token = owner.csrf_token().await;
        let deletes = ids.iter().map(|id| {
            let (app, owner, token, org) = (&app, &owner, &token, &org);
            async move {
                let title = app
                    .scalar_text(&format!("SELECT title FROM workspaces WHERE id = '{id}'"))
                    .await;
                owner
                    .post_raw(
                        &format!("/orgs/{org}/workspaces/{id}/delete"),
                        &[("confirm_title", &title), ("csrf_token", token)],
                    )
                    .await
                    .status()
            }
        });
        let statuses = join_all(deletes).await;
        assert!(
            // Deleted, refused as the last one, or already gone.
            statuses.iter().all(|s| *s == StatusCode::SEE_OTHER
                || *s == StatusCode::UNPROCESSABLE_ENTITY
                || *s == StatusCode::NOT_FOUND),
            "{statuses:?}"
        );
        let left = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}'"
            ))
            .await;
        assert_eq!(left, 1, "trial {trial}: {statuses:?}");
    }
}

/// Two Admins act on each other at the same moment with `fields` posted
/// to `members/{id}/{action}`: at most one of them may win, on every
/// backend, because the role checked is the one in force at commit.
async fn admins_against_each_other(action: &str, fields: &[(&str, &str)]) {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    for trial in 0..5 {
        let (a_email, b_email) = (email("ada"), email("bea"));
        let ada = app.member_with_role(&org, &a_email, OrgRole::Admin).await;
        let bea = app.member_with_role(&org, &b_email, OrgRole::Admin).await;
        let membership = |address: String| {
            let app = &app;
            let org = &org;
            async move {
                app.scalar_text(&format!(
                    "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
                    address.to_lowercase()
                ))
                .await
            }
        };
        let (a_id, b_id) = (
            membership(a_email.clone()).await,
            membership(b_email.clone()).await,
        );
        let (a_token, b_token) = (ada.csrf_token().await, bea.csrf_token().await);
        let (a_path, b_path) = (
            format!("/orgs/{org}/members/{b_id}/{action}"),
            format!("/orgs/{org}/members/{a_id}/{action}"),
        );
        let mut a_fields = fields.to_vec();
        a_fields.push(("csrf_token", a_token.as_str()));
        let mut b_fields = fields.to_vec();
        b_fields.push(("csrf_token", b_token.as_str()));
        let (a_answer, b_answer) = tokio::join!(
            ada.post_raw(&a_path, &a_fields),
            bea.post_raw(&b_path, &b_fields),
        );
        let still_admins = [
            app.role_of(&org, &a_email).await,
            app.role_of(&org, &b_email).await,
        ]
        .iter()
        .filter(|r| r.as_deref() == Some("admin"))
        .count();
        let won = [a_answer.status(), b_answer.status()]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(
            (won, still_admins),
            (1, 1),
            "trial {trial}: exactly one {action} applies ({} / {})",
            a_answer.status(),
            b_answer.status()
        );
        app.assert_counts_match(&org).await;
    }
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_cannot_both_win() {
    admins_against_each_other("role", &[("role", "viewer")]).await;
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_cannot_both_win() {
    admins_against_each_other("remove", &[]).await;
}

#[tokio::test]
async fn simultaneous_sends_cannot_pass_the_daily_invitation_limit_together() {
    let app = spawn_app_with(|c| c.invitations_per_day = 3).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let (owner_token, admin_token) = (owner.csrf_token().await, admin.csrf_token().await);
    let path = format!("/orgs/{org}/invitations");
    let owner_fields = [
        ("emails", "a@example.com, b@example.com"),
        ("role", "member"),
        ("csrf_token", owner_token.as_str()),
    ];
    let admin_fields = [
        ("emails", "c@example.com, d@example.com"),
        ("role", "member"),
        ("csrf_token", admin_token.as_str()),
    ];
    let (first, second) = tokio::join!(
        owner.post_raw(&path, &owner_fields),
        admin.post_raw(&path, &admin_fields),
    );
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    assert_eq!(app.count("invitations").await, 2);
}
