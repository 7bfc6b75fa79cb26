//! Seats: the operator's limit on how many people (members, workspace
//! guests and pending invitations) an organization may have. Every way in
//! is refused with 409 once the seats are taken — the invitation form, the
//! API, accepting a link, auto-join, resending an expired invitation —
//! and the refusal says how many seats are left and whom to ask. The
//! Members page shows the seats taken; a configured default applies to new
//! organizations; setting the limit is audited; and twenty simultaneous
//! invitations for the last seat make exactly one.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use roster::domain::role::OrgRole;
use roster::services::seats::{self, Seats};
use serde_json::{Value, json};

use super::domain_proof::{app_with_dns, prove, save_domains};
use crate::helpers::{
    Browser, PASSWORD, TestApp, email, invitation_id, location, signed_in, spawn_app,
    spawn_app_with, text_of,
};

const DAY: i64 = 24 * 60 * 60;

/// Sets the organization's limit as the operator's command does.
async fn set_limit(app: &TestApp, org: &str, limit: Option<u64>) -> Seats {
    seats::set_limit(&app.db, &app.clock, org, limit)
        .await
        .expect("set the seat limit")
        .expect("the organization exists")
}

/// Sends the invitation form.
async fn invite(browser: &Browser, org: &str, emails: &str, role: &str) -> (StatusCode, String) {
    let response = browser
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", emails), ("role", role)],
        )
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn invitations_of(app: &TestApp, org: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}'"
    ))
    .await
}

async fn pending_of(app: &TestApp, org: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}' AND state = 'pending'"
    ))
    .await
}

/// Invitation messages waiting in the outbox for `address`.
async fn mail_to(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'invitation' AND LOWER(recipient) = '{}'",
        address.to_lowercase()
    ))
    .await
}

async fn audit_rows(app: &TestApp, org: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
    ))
    .await
}

/// The text of the element with `id` (and a little after it).
fn seats_text(page: &str) -> String {
    let at = page
        .find("id=\"seats\"")
        .unwrap_or_else(|| panic!("an element with id=\"seats\": {page}"));
    let start = at + page[at..].find('>').expect("end of the tag") + 1;
    let end = page[start..]
        .char_indices()
        .nth(300)
        .map_or(page.len(), |(i, _)| start + i);
    text_of(&page[start..end])
}

/// Asserts a refusal for want of seats: it says how many are left and
/// whom to ask.
/// Someone joining cannot free a seat: they are told whom to ask.
fn assert_joiner_told_no_seat(page: &str) {
    assert!(
        page.contains("no seat free for you"),
        "says there is no seat: {page}"
    );
    assert!(
        page.contains("Ask the person who invited you"),
        "says whom to ask: {page}"
    );
}

fn assert_no_seats_message(page: &str) {
    assert!(page.contains("seats left"), "says the seats left: {page}");
    assert!(page.contains("ask the Owner"), "says whom to ask: {page}");
}

#[tokio::test]
async fn the_invitation_form_refuses_the_whole_send_when_the_seats_run_out() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    // The Owner takes one of three seats: two are left.
    set_limit(&app, &org, Some(3)).await;

    let (status, page) = invite(
        &owner,
        &org,
        "ada@example.test, grace@example.test, alan@example.test",
        "member",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "three addresses, two seats");
    assert_no_seats_message(&page);
    assert!(page.contains("Olivia Owner"), "names the Owner: {page}");
    assert_eq!(
        invitations_of(&app, &org).await,
        0,
        "the whole send refused"
    );
    for address in [
        "ada@example.test",
        "grace@example.test",
        "alan@example.test",
    ] {
        assert_eq!(mail_to(&app, address).await, 0, "no mail to {address}");
    }
    assert_eq!(audit_rows(&app, &org, "invitation.sent").await, 0);

    // Two fit.
    let (status, page) = invite(
        &owner,
        &org,
        "ada@example.test, grace@example.test",
        "member",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Results: 2 invited"), "{page}");
    assert_eq!(pending_of(&app, &org).await, 2);

    // Now none is left: even one more is refused.
    let (status, page) = invite(&owner, &org, "alan@example.test", "viewer").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_no_seats_message(&page);
    assert_eq!(invitations_of(&app, &org).await, 2);
    assert_eq!(mail_to(&app, "alan@example.test").await, 0);

    // A cancelled invitation gives its seat back.
    let ada = invitation_id(&app, &org, "ada@example.test").await;
    let cancelled = owner
        .post_form(&format!("/orgs/{org}/invitations/{ada}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let (status, page) = invite(&owner, &org, "alan@example.test", "viewer").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(mail_to(&app, "alan@example.test").await, 1);
}

#[tokio::test]
async fn the_api_refuses_an_invitation_beyond_the_limit_with_a_409_problem() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let key = app.org_key(&org, OrgRole::Admin).await;
    set_limit(&app, &org, Some(1)).await;

    let response = app
        .api(Method::POST, "/invitations", &key)
        .header("Content-Type", "application/json")
        .body(json!({"emails": ["ada@example.test"], "role": "member"}).to_string())
        .send()
        .await
        .expect("an API answer");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let problem: Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("problem JSON");
    assert_eq!(problem["status"], 409, "{problem}");
    let detail = problem["detail"].as_str().expect("a detail");
    assert_no_seats_message(detail);
    assert_eq!(invitations_of(&app, &org).await, 0);
    assert_eq!(mail_to(&app, "ada@example.test").await, 0);
    assert_eq!(audit_rows(&app, &org, "invitation.sent").await, 0);

    // With a seat free, the same call invites.
    set_limit(&app, &org, Some(2)).await;
    let response = app
        .api(Method::POST, "/invitations", &key)
        .header("Content-Type", "application/json")
        .body(json!({"emails": ["ada@example.test"], "role": "member"}).to_string())
        .send()
        .await
        .expect("an API answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(pending_of(&app, &org).await, 1);
    assert_eq!(mail_to(&app, "ada@example.test").await, 1);
}

#[tokio::test]
async fn a_link_accepted_after_the_limit_was_lowered_is_refused_and_joins_nobody() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    // Carol already has an account; Alice will sign up from her link.
    let carol_address = email("carol");
    app.insert_user(&carol_address, "Carol").await;
    app.confirm_email(&carol_address).await;
    let carol = signed_in(&app, &carol_address).await;
    let (status, _) = invite(
        &owner,
        &org,
        &format!("alice@example.test, {carol_address}"),
        "member",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let alice_link = app.outbox_link("alice@example.test", "/invitations/").await;
    let carol_link = app.outbox_link(&carol_address, "/invitations/").await;

    // Three seats taken (the Owner and two invitations); the operator
    // lowers the limit to two. Nobody is removed, nobody more joins.
    let seats = set_limit(&app, &org, Some(2)).await;
    assert_eq!(seats.used, 3);
    assert_eq!(seats.limit, Some(2));

    let refused = app
        .new_browser()
        .post_form(
            &format!("{alice_link}/signup"),
            &[("name", "Alice Liddell"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_joiner_told_no_seat(&refused.text().await.expect("body"));
    assert_eq!(app.role_of(&org, "alice@example.test").await, None);

    let refused = carol.post_form(&format!("{carol_link}/accept"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_joiner_told_no_seat(&refused.text().await.expect("body"));
    assert_eq!(app.role_of(&org, &carol_address).await, None);
    assert_eq!(pending_of(&app, &org).await, 2, "both still pending");
    assert_eq!(audit_rows(&app, &org, "invitation.accepted").await, 0);
    app.assert_counts_match(&org).await;

    // At exactly the limit an invitation's seat passes to its member.
    set_limit(&app, &org, Some(3)).await;
    let joined = app
        .new_browser()
        .post_form(
            &format!("{alice_link}/signup"),
            &[("name", "Alice Liddell"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "alice@example.test").await.as_deref(),
        Some("member")
    );
    let joined = carol.post_form(&format!("{carol_link}/accept"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &carol_address).await.as_deref(),
        Some("member")
    );
    app.assert_counts_match(&org).await;
}

#[tokio::test]
async fn auto_join_is_refused_when_no_seat_is_left() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = format!(
        "seats-{}.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let saved = save_domains(&owner, &org, &domain, "member").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    prove(&app, &dns, &owner, &org, &domain).await;
    // Bea's address there is confirmed.
    let bea_address = format!("bea@{domain}");
    app.insert_user(&bea_address, "Bea").await;
    app.confirm_email(&bea_address).await;
    let bea = signed_in(&app, &bea_address).await;

    set_limit(&app, &org, Some(1)).await;
    let refused = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_joiner_told_no_seat(&refused.text().await.expect("body"));
    assert_eq!(app.role_of(&org, &bea_address).await, None);
    assert_eq!(audit_rows(&app, &org, "member.auto_joined").await, 0);
    app.assert_counts_match(&org).await;

    set_limit(&app, &org, Some(2)).await;
    let joined = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &bea_address).await.as_deref(),
        Some("member")
    );
    app.assert_counts_match(&org).await;
}

#[tokio::test]
async fn resending_an_expired_invitation_takes_a_seat_again() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    set_limit(&app, &org, Some(2)).await;
    let (status, _) = invite(&owner, &org, "xena@example.test", "member").await;
    assert_eq!(status, StatusCode::OK);
    let xena = invitation_id(&app, &org, "xena@example.test").await;

    // A week later Xena's invitation has expired and holds no seat: Yuri
    // takes the last one.
    app.clock.advance(8 * DAY);
    let owner = signed_in(&app, &owner_email).await;
    let (status, page) = invite(&owner, &org, "yuri@example.test", "member").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let yuri = invitation_id(&app, &org, "yuri@example.test").await;
    let xena_expiry = format!("SELECT expires_at FROM invitations WHERE id = '{xena}'");
    let expired_at = app.scalar(&xena_expiry).await;
    assert!(expired_at < app.clock.now());

    let refused = owner
        .post_form(&format!("/orgs/{org}/invitations/{xena}/resend"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_no_seats_message(&refused.text().await.expect("body"));
    assert_eq!(app.scalar(&xena_expiry).await, expired_at, "still expired");
    assert_eq!(mail_to(&app, "xena@example.test").await, 1, "no new mail");
    assert_eq!(audit_rows(&app, &org, "invitation.resent").await, 0);

    // Resending a pending invitation takes no new seat.
    app.clock.advance(3 * 60);
    let resent = owner
        .post_form(&format!("/orgs/{org}/invitations/{yuri}/resend"), &[])
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(mail_to(&app, "yuri@example.test").await, 2);

    // With Yuri's cancelled, Xena's may be resent.
    let cancelled = owner
        .post_form(&format!("/orgs/{org}/invitations/{yuri}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let resent = owner
        .post_form(&format!("/orgs/{org}/invitations/{xena}/resend"), &[])
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(mail_to(&app, "xena@example.test").await, 2);
    assert!(app.scalar(&xena_expiry).await > app.clock.now());
}

#[tokio::test]
async fn the_members_page_shows_the_seats_taken_of_the_limit() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (status, _) = invite(&owner, &org, "old@example.test", "member").await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(8 * DAY);
    let owner = signed_in(&app, &owner_email).await;
    // The Owner, a Member, a workspace guest and one pending invitation
    // take seats; the expired invitation does not.
    app.add_member(&org, OrgRole::Member).await;
    app.add_member(&org, OrgRole::None).await;
    let (status, _) = invite(&owner, &org, "new@example.test", "viewer").await;
    assert_eq!(status, StatusCode::OK);

    let seats = set_limit(&app, &org, Some(10)).await;
    assert_eq!(
        seats,
        Seats {
            used: 4,
            limit: Some(10)
        }
    );
    let (status, page) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let shown = seats_text(&page);
    assert!(shown.contains("4 of 10 seats"), "{shown}");

    // Cancelling the pending invitation frees its seat.
    let new = invitation_id(&app, &org, "new@example.test").await;
    owner
        .post_form(&format!("/orgs/{org}/invitations/{new}/cancel"), &[])
        .await;
    let (_, page) = owner.get_html(&format!("/orgs/{org}/members")).await;
    let shown = seats_text(&page);
    assert!(shown.contains("3 of 10 seats"), "{shown}");
}

#[tokio::test]
async fn the_configured_default_limit_applies_to_each_new_organization() {
    let app = spawn_app_with(|c| c.default_seat_limit = Some(3)).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, page) = owner.get_html(&format!("/orgs/{org}/members")).await;
    let shown = seats_text(&page);
    assert!(shown.contains("1 of 3 seats"), "{shown}");
    let (status, page) = invite(
        &owner,
        &org,
        "a@example.test, b@example.test, c@example.test",
        "member",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_no_seats_message(&page);
    assert_eq!(invitations_of(&app, &org).await, 0);
    let (status, _) = invite(&owner, &org, "a@example.test, b@example.test", "member").await;
    assert_eq!(status, StatusCode::OK);

    // "New organization" starts with the same limit.
    let created = owner.post_form("/orgs", &[("name", "Second Co")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let second = location(&created)
        .strip_prefix("/orgs/")
        .and_then(|rest| rest.split('/').next())
        .expect("the new organization's page")
        .to_string();
    assert_ne!(second, org);
    let (_, page) = owner.get_html(&format!("/orgs/{second}/members")).await;
    let shown = seats_text(&page);
    assert!(shown.contains("1 of 3 seats"), "{shown}");
    let seats = seats::of(app.db.owner(), &second, app.clock.now())
        .await
        .expect("seats");
    assert_eq!(
        seats,
        Seats {
            used: 1,
            limit: Some(3)
        }
    );
}

#[tokio::test]
async fn setting_the_limit_is_audited() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let action = "settings.seat_limit_changed";
    assert_eq!(audit_rows(&app, &org, action).await, 0);
    let seats = set_limit(&app, &org, Some(5)).await;
    assert_eq!(
        seats,
        Seats {
            used: 1,
            limit: Some(5)
        }
    );
    assert_eq!(seats.left(), Some(4));
    assert_eq!(audit_rows(&app, &org, action).await, 1);
    let seats = set_limit(&app, &org, None).await;
    assert_eq!(seats.limit, None);
    assert_eq!(audit_rows(&app, &org, action).await, 2);
    let target = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND target_id = '{org}'"
        ))
        .await;
    assert_eq!(target, 2, "the rows name the organization");

    // An unknown organization: nothing to set, nothing audited.
    let unknown = seats::set_limit(&app.db, &app.clock, "no-such-org", Some(3))
        .await
        .expect("no error");
    assert_eq!(unknown, None);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
        ))
        .await,
        2
    );
}

#[test]
fn the_limit_is_a_whole_number_of_at_least_one_or_none() {
    assert_eq!(seats::parse_limit("none"), Ok(None));
    assert_eq!(seats::parse_limit("3"), Ok(Some(3)));
    for bad in ["0", "-1", "", "three", "2.5"] {
        assert!(seats::parse_limit(bad).is_err(), "{bad:?} is refused");
    }
}

#[tokio::test]
async fn twenty_simultaneous_invitations_for_the_last_seat_make_one() {
    // One person's twenty requests all run at once: the organization's
    // write lock is under test here, not the cap on one person's requests.
    let app = spawn_app_with(|config| config.requests_per_person = 64).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    set_limit(&app, &org, Some(2)).await;
    let token = owner.csrf_token().await;
    let path = format!("/orgs/{org}/invitations");
    let addresses: Vec<String> = (0..20)
        .map(|i| format!("racer{i:02}@example.test"))
        .collect();
    let requests = addresses.iter().map(|address| {
        let owner = &owner;
        let path = &path;
        let token = &token;
        async move {
            owner
                .post_raw(
                    path,
                    &[
                        ("emails", address.as_str()),
                        ("role", "member"),
                        ("csrf_token", token.as_str()),
                    ],
                )
                .await
                .status()
        }
    });
    let statuses = join_all(requests).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "each is sent or refused for want of a seat: {statuses:?}"
    );
    assert_eq!(pending_of(&app, &org).await, 1);
    assert_eq!(invitations_of(&app, &org).await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation'")
            .await,
        1
    );
    let seats = seats::of(app.db.owner(), &org, app.clock.now())
        .await
        .expect("seats");
    assert_eq!(
        seats,
        Seats {
            used: 2,
            limit: Some(2)
        }
    );
}
