//! Invitations: sending to many addresses, delivery through a real SMTP
//! conversation (a local sink), every branch of the link, resend, cancel,
//! expiry, the role ceiling at sending and at acceptance, and concurrent
//! accepts.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::mail::Mailer;
use roster::services::invitations::VALID_SECS;
use sea_orm::ConnectionTrait;

use crate::helpers::{
    PASSWORD, TestApp, email, invitation_id, location, smtp_to, spawn_app, spawn_app_with,
};
use crate::smtp::SmtpSink;

async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    (app, sink)
}

async fn invite(
    browser: &crate::helpers::Browser,
    org: &str,
    emails: &str,
    role: &str,
) -> (StatusCode, String) {
    let response = browser
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", emails), ("role", role)],
        )
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn one_send_reports_each_address_and_the_mail_arrives_over_smtp() {
    let (app, sink) = app_with_sink().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let member = app.insert_user("mark@acme.test", "Mark Member").await;
    app.add_membership(&org, &member, OrgRole::Member).await;

    let list =
        "ada@example.test, not-an-address\nMARK@acme.test; grace@example.test,ada@example.test";
    let (status, page) = invite(&owner, &org, list, "admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Results: 2 invited"), "{page}");
    assert!(page.contains("<strong>ada@example.test</strong> —"));
    assert!(page.contains("invalid address"));
    let mark = page
        .find("<strong>MARK@acme.test</strong>")
        .expect("a line for Mark");
    assert!(
        page[mark..mark + 120].contains("already a member"),
        "{page}"
    );
    assert_eq!(
        app.count("invitations").await,
        2,
        "duplicates and members are skipped"
    );

    // Again: the pending one is offered for resending.
    let (_, again) = invite(&owner, &org, "grace@example.test", "admin").await;
    assert!(again.contains("already invited"));
    assert!(
        again.contains(
            "Resend<span class=\"visually-hidden\"> the invitation to grace@example.test"
        )
    );
    assert_eq!(app.count("invitations").await, 2);

    let ada = sink.wait_to("ada@example.test", "/invitations/").await;
    sink.wait_to("grace@example.test", "/invitations/").await;
    wait_for_outbox(&app, "kind = 'invitation' AND sent_at IS NOT NULL", 2).await;
    assert!(sink.messages().iter().all(|m| m.recipients.len() == 1));
    assert!(
        ada.text
            .contains("Subject: Olivia Owner invited you to Acme on Roster")
    );
    assert!(ada.text.contains("multipart/alternative"));
    assert!(ada.text.contains("Content-Type: text/plain"));
    assert!(ada.text.contains("Content-Type: text/html"));
    assert!(ada.text.contains("as Admin"));
    assert!(ada.text.contains("From: Roster <roster@roster.test>"));
    let link = ada.invitation_link();
    assert!(link.starts_with(&app.address), "{link}");

    // The token is in the mail, never in the database.
    let token = link.rsplit('/').next().expect("token");
    assert_eq!(token.len(), 43);
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE token_hash = '{token}'"
        ))
        .await;
    assert_eq!(stored, 0);
    let bodies = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE body_text LIKE '%{token}%' OR body_html LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(bodies, 0, "a delivered message's body is not kept");

    let (_, listing) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(listing.contains("ada@example.test"));
    assert!(listing.contains(">Pending<"));
    assert!(listing.contains(">Sent<"), "delivery state shown");
    assert!(listing.contains("Olivia Owner"));
}

#[tokio::test]
async fn a_new_person_signs_up_from_the_link_and_lands_in_the_organization() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    // Invited with capitals; the account keeps the invited address, its
    // domain in the lower-case form it is stored in.
    invite(&owner, &org, "Alice@Example.test", "member").await;
    let path = sink
        .wait_to("alice@example.test", "/invitations/")
        .await
        .invitation_path();

    let alice = app.new_browser();
    let (status, landing) = alice.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        landing
            .contains("Olivia Owner invited <strong>Alice@example.test</strong> to Acme as Member")
    );
    assert!(landing.contains("Create account and join"));

    // Bad input: the form comes back, nothing is written.
    let short = alice
        .post_form(
            &format!("{path}/signup"),
            &[("name", "Alice"), ("password", "short")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.expect("body").contains("at least 8"));
    assert_eq!(app.count("users").await, 1);

    let response = alice
        .post_form(
            &format!("{path}/signup"),
            &[("name", "Alice Liddell"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/orgs/{org}"));
    let (status, members) = alice.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(members.contains("You joined Acme."));
    assert_eq!(
        app.role_of(&org, "alice@example.test").await.as_deref(),
        Some("member")
    );
    let accepted = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}' AND state = 'accepted' \
             AND accepted_by IS NOT NULL"
        ))
        .await;
    assert_eq!(accepted, 1);
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.accepted'")
        .await;
    assert_eq!(audit, 1);
    app.assert_counts_match(&org).await;

    // The link is used up.
    let (status, used) = app.new_browser().get_html(&path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(used.contains("has already been used"));
    assert!(used.contains("ask Olivia Owner"));

    // The owner sees it accepted.
    let (_, listing) = owner
        .get_html(&format!("/orgs/{org}/invitations?state=accepted"))
        .await;
    assert!(listing.contains("Alice@example.test"));
    assert!(listing.contains(">Accepted<"));
}

#[tokio::test]
async fn an_existing_account_signs_in_then_joins_in_one_click() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (bob, _) = app.signed_up("Bob", "bob@example.test", "Bob's Shop").await;
    bob.sign_out().await;
    invite(&owner, &org, "BOB@example.test", "viewer").await;
    let path = sink
        .wait_to("bob@example.test", "/invitations/")
        .await
        .invitation_path();

    let (status, landing) = bob.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(landing.contains("Sign in to accept"));
    assert!(landing.contains(&format!("/signin?next={path}")));
    let signed_in = bob
        .post_form(
            "/signin",
            &[
                ("email", "bob@example.test"),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await;
    assert_eq!(location(&signed_in), path);
    let (_, confirm) = bob.get_html(&path).await;
    assert!(confirm.contains("Join Acme"));
    assert_eq!(
        app.role_of(&org, "bob@example.test").await,
        None,
        "nothing before the click"
    );
    let (status, _) = bob.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a pending invitation grants nothing"
    );

    let joined = bob.post_form(&format!("{path}/accept"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "bob@example.test").await.as_deref(),
        Some("viewer")
    );
    let (_, account) = bob.get_html("/account").await;
    assert!(
        account.contains("Acme"),
        "the organization is in the switcher"
    );

    // Already a member: a second invitation says so.
    let (_, again) = invite(&owner, &org, "bob@example.test", "viewer").await;
    assert!(again.contains("already a member"));
}

#[tokio::test]
async fn signed_in_as_someone_else_the_page_offers_to_switch() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (carol, _) = app.signed_up("Carol", &email("carol"), "Carol Co").await;
    invite(&owner, &org, "dave@example.test", "member").await;
    let path = sink
        .wait_to("dave@example.test", "/invitations/")
        .await
        .invitation_path();

    let (status, page) = carol.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This invitation is for another address"));
    assert!(page.contains("Sign out and continue as dave@example.test"));
    let refused = carol.post_form(&format!("{path}/accept"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.role_of(&org, &email("carol")).await, None);

    let switched = carol.post_form("/signout", &[("next", &path)]).await;
    assert_eq!(location(&switched), path);
    let (_, after) = carol.get_html(&path).await;
    assert!(after.contains("Create account and join"));
}

#[tokio::test]
async fn links_expire_after_seven_days_to_the_second() {
    let (app, sink) = app_with_sink().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    invite(
        &owner,
        &org,
        "early@example.test, late@example.test",
        "member",
    )
    .await;
    let early = sink
        .wait_to("early@example.test", "/invitations/")
        .await
        .invitation_path();
    let late = sink
        .wait_to("late@example.test", "/invitations/")
        .await
        .invitation_path();

    app.clock.advance(VALID_SECS - 1);
    let joined = app
        .new_browser()
        .post_form(
            &format!("{early}/signup"),
            &[("name", "Early Bird"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        joined.status(),
        StatusCode::SEE_OTHER,
        "accepted at 7 days − 1 s"
    );

    app.clock.advance(2);
    let browser = app.new_browser();
    let (status, page) = browser.get_html(&late).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired"));
    assert!(page.contains("ask Olivia Owner to resend it"));
    let refused = browser
        .post_form(
            &format!("{late}/signup"),
            &[("name", "Late Comer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::GONE,
        "refused at 7 days + 1 s"
    );
    assert_eq!(app.count("users").await, 2, "no account for the late one");

    // A week later the Owner signs in again and sees it expired.
    let owner = app.new_browser();
    owner.sign_in(&owner_email, PASSWORD).await;
    let (_, expired) = owner
        .get_html(&format!("/orgs/{org}/invitations?state=expired"))
        .await;
    assert!(expired.contains("late@example.test"));
    assert!(!expired.contains("early@example.test"));
}

#[tokio::test]
async fn resend_kills_the_old_link_and_cancel_revokes_it() {
    let (app, sink) = app_with_sink().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    invite(&owner, &org, "erin@example.test", "member").await;
    let first = sink
        .wait_to("erin@example.test", "/invitations/")
        .await
        .invitation_path();
    let id = invitation_id(&app, &org, "erin@example.test").await;

    app.clock.advance(3 * 24 * 3600);
    let owner = app.new_browser();
    owner.sign_in(&owner_email, PASSWORD).await;
    // By htmx: only the row comes back, with an announcement.
    let token = owner.csrf_token().await;
    let response = owner
        .client
        .post(owner.url(&format!("/orgs/{org}/invitations/{id}/resend")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .send()
        .await
        .expect("resend");
    assert_eq!(response.status(), StatusCode::OK);
    let fragment = response.text().await.expect("body");
    assert!(fragment.starts_with(&format!("<tr id=\"invitation-{id}\"")));
    assert!(fragment.contains("hx-swap-oob"));
    assert!(fragment.contains("the previous link no longer works"));
    assert!(!fragment.contains("<html"));

    let mut second = first.clone();
    for _ in 0..200 {
        second = sink
            .wait_to("erin@example.test", "/invitations/")
            .await
            .invitation_path();
        if second != first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ne!(first, second);
    let (status, _) = app.new_browser().get_html(&first).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old link is dead");
    let (status, _) = app.new_browser().get_html(&second).await;
    assert_eq!(status, StatusCode::OK);
    // The expiry restarted from the resend.
    let expires = app
        .scalar(&format!(
            "SELECT expires_at FROM invitations WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(expires, app.clock.now() + VALID_SECS);

    // Without JavaScript: a plain form and a redirect.
    let cancelled = owner
        .post_form(&format!("/orgs/{org}/invitations/{id}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.new_browser().get_html(&second).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("was cancelled"));
    let again = owner
        .post_form(&format!("/orgs/{org}/invitations/{id}/cancel"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let actions = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE target_id = '{id}' \
             AND action IN ('invitation.sent', 'invitation.resent', 'invitation.revoked')"
        ))
        .await;
    assert_eq!(actions, 3);
}

#[tokio::test]
async fn the_role_ceiling_holds_when_sending_and_again_when_accepting() {
    let (app, sink) = app_with_sink().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;

    let (status, _) = invite(&admin, &org, "x@example.test", "owner").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nobody invites an Owner");
    let (status, _) = invite(&member, &org, "x@example.test", "viewer").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitations").await, 0);

    invite(&admin, &org, "frank@example.test", "admin").await;
    let path = sink
        .wait_to("frank@example.test", "/invitations/")
        .await
        .invitation_path();
    // The Admin is demoted before Frank accepts.
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE memberships SET role = 'member' WHERE org_id = '{org}' \
             AND email_normalized = '{}'",
            admin_email.to_lowercase()
        ))
        .await
        .expect("demote");
    let frank = app.new_browser();
    let refused = frank
        .post_form(
            &format!("{path}/signup"),
            &[("name", "Frank"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains("can no longer grant the Admin role"),
        "{page}"
    );
    assert_eq!(app.role_of(&org, "frank@example.test").await, None);
    assert_eq!(app.count("users").await, 3, "no account was left behind");
    let recorded = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.refused'")
        .await;
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn fifty_simultaneous_accepts_make_one_membership() {
    // One person's fifty accepts all run at once: the database's rules
    // are under test here, not the cap on one person's requests.
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = spawn_app_with(|config| {
        config.smtp = Some(smtp_to(port));
        config.requests_per_person = 64;
    })
    .await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (grace, _) = app.signed_up("Grace", "grace@example.test", "Navy").await;
    invite(&owner, &org, "grace@example.test", "member").await;
    let path = sink
        .wait_to("grace@example.test", "/invitations/")
        .await
        .invitation_path();
    let token = grace.csrf_token().await;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = grace.client.clone();
        let url = grace.url(&format!("{path}/accept"));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("csrf_token={token}"))
                .send()
                .await
                .expect("accept")
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let joined = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(joined, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::SEE_OTHER,
            StatusCode::GONE,
            StatusCode::CONFLICT
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let memberships = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}'"
        ))
        .await;
    assert_eq!(memberships, 2);
    app.assert_counts_match(&org).await;
}

/// Waits (5 s at most) until `count` messages of the outbox match
/// `condition`.
async fn wait_for_outbox(app: &TestApp, condition: &str, count: i64) {
    for _ in 0..100 {
        let matching = app
            .scalar(&format!("SELECT COUNT(*) FROM outbox WHERE {condition}"))
            .await;
        if matching == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the outbox never got to {condition}");
}

#[tokio::test]
async fn with_smtp_down_invitations_wait_and_go_out_once_it_is_back() {
    let port = SmtpSink::free_port();
    let app = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (status, _) = invite(&owner, &org, "hana@example.test", "member").await;
    assert_eq!(status, StatusCode::OK, "queued even though SMTP is down");
    // The worker (nudged by the send) records the failed attempt.
    wait_for_outbox(&app, "kind = 'invitation' AND last_error IS NOT NULL", 1).await;

    let (_, listing) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(listing.contains("Failing:"), "the failure shows: {listing}");
    let attempts = app
        .scalar("SELECT CAST(attempts AS BIGINT) FROM outbox WHERE kind = 'invitation'")
        .await;
    assert!(attempts >= 1);

    let sink = SmtpSink::start_on(port).await;
    // Not before the backoff has passed.
    app.mailer.deliver_due().await.expect("a delivery round");
    assert!(sink.messages().is_empty());
    app.clock.advance(31);
    app.mailer.nudge();
    let mail = sink.wait_to("hana@example.test", "/invitations/").await;
    assert_eq!(mail.recipients, ["hana@example.test"]);
    wait_for_outbox(&app, "kind = 'invitation' AND sent_at IS NOT NULL", 1).await;
    let (_, listing) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(listing.contains(">Sent<"));
    app.mailer.deliver_due().await.expect("a delivery round");
    assert_eq!(
        sink.all_to("hana@example.test", "/invitations/").len(),
        1,
        "sent once"
    );
    // The link works.
    let (status, _) = app.new_browser().get_html(&mail.invitation_path()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn without_smtp_the_mailbox_shows_the_organizations_invitations_only() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (other, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    invite(&owner, &org, "ivy@example.test", "member").await;
    invite(&other, &other_org, "secret@example.test", "member").await;

    let (status, mailbox) = owner.get_html(&format!("/orgs/{org}/mailbox")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(mailbox.contains("To ivy@example.test"));
    assert!(!mailbox.contains("secret@example.test"));
    let start = mailbox.find("href=\"http://").expect("a link") + "href=\"".len();
    let end = start + mailbox[start..].find('"').expect("end");
    let link = &mailbox[start..end];
    let path = &link[link.find("/invitations/").expect("path")..];
    let (status, page) = app.new_browser().get_html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Create account and join"));

    let (_, listing) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(listing.contains("In the mailbox"));
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    let (status, _) = viewer.get_html(&format!("/orgs/{org}/mailbox")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // With SMTP configured there is no Mailbox page.
    let (app, _sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (status, _) = owner.get_html(&format!("/orgs/{org}/mailbox")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invitation_ids_from_another_organization_answer_404() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let (foreign, _) = app.add_invitation(&other_org, OrgRole::Member).await;
    for action in ["resend", "cancel"] {
        let response = owner
            .post_form(&format!("/orgs/{org}/invitations/{foreign}/{action}"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let state = app
        .scalar_text(&format!(
            "SELECT state FROM invitations WHERE id = '{foreign}'"
        ))
        .await;
    assert_eq!(state, "pending");
    let (status, page) = app
        .new_browser()
        .get_html("/invitations/not-a-real-token")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("This invitation link is not valid"));
}

#[tokio::test]
async fn bad_invitation_forms_get_a_clear_answer_and_write_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (status, page) = invite(&owner, &org, " ,\n ", "member").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Enter at least one email address."));
    let many: Vec<String> = (0..101).map(|i| format!("p{i}@example.test")).collect();
    let (status, page) = invite(&owner, &org, &many.join(","), "member").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("at most 100 addresses"));
    let (status, _) = invite(&owner, &org, "a@example.test", "superuser").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for bad in ["state=lost", "page=x", "page=9223372036854775807"] {
        let response = owner.get(&format!("/orgs/{org}/invitations?{bad}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(app.count("invitations").await, 0);
    let invitation_mail = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation'")
        .await;
    assert_eq!(invitation_mail, 0);
}

#[tokio::test]
async fn several_workers_on_one_database_send_each_message_once() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let addresses: Vec<String> = (0..40)
        .map(|i| format!("crowd{i:02}@example.test"))
        .collect();
    let (status, _) = invite(&owner, &org, &addresses.join(","), "viewer").await;
    assert_eq!(status, StatusCode::OK);
    // Two more workers, as two more instances would run, race the
    // application's own for the same outbox.
    let mut config = crate::helpers::test_config(roster::config::DatabaseUrl::new("unused"));
    config.smtp = Some(smtp_to(sink.port));
    let others: Vec<Mailer> = (0..2)
        .map(|_| Mailer::new(&config, app.db.clone(), app.clock.clone()).expect("mailer"))
        .collect();
    let rounds = others.iter().map(|mailer| async move {
        for _ in 0..5 {
            mailer.deliver_due().await.expect("a delivery round");
        }
    });
    futures_util::future::join_all(rounds).await;
    wait_for_outbox(&app, "kind = 'invitation' AND sent_at IS NOT NULL", 40).await;
    for address in &addresses {
        assert_eq!(
            sink.all_to(address, "/invitations/").len(),
            1,
            "{address} got exactly one message"
        );
    }
}

#[tokio::test]
async fn an_invitation_into_a_workspace_makes_a_guest_who_sees_only_that_workspace() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Store 1"), ("description", "")],
        )
        .await;
    let store = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'store 1'"
        ))
        .await;
    let no_workspace = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "wendy@example.test"),
                ("role", "none"),
                ("workspace_id", ""),
            ],
        )
        .await;
    assert_eq!(no_workspace.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "wendy@example.test"),
                ("role", "none"),
                ("workspace_id", &store),
                ("workspace_role", "editor"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let page = sent.text().await.expect("body");
    assert!(page.contains("Editor in Store 1"), "{page}");
    let mail = sink.wait_to("wendy@example.test", "/invitations/").await;
    assert!(mail.text.contains("as Editor in the workspace Store 1"));

    let wendy = app.new_browser();
    let joined = wendy
        .post_form(
            &format!("{}/signup", mail.invitation_path()),
            &[("name", "Wendy"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "wendy@example.test").await.as_deref(),
        Some("none")
    );
    let (_, list) = wendy.get_html(&format!("/orgs/{org}/workspaces")).await;
    assert!(list.contains("Store 1"));
    assert!(list.contains("1 workspace"));
    let (status, page) = wendy
        .get_html(&format!("/orgs/{org}/workspaces/{store}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("your access: Editor — given in this workspace"));
    let (status, _) = wendy.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not the organization's member list"
    );
    app.assert_counts_match(&org).await;
}

#[tokio::test]
async fn a_workspace_invitation_is_checked_again_when_it_is_accepted() {
    let (app, sink) = app_with_sink().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    let store = app.general_workspace(&org).await;
    let owner_role = admin
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "x@example.test"),
                ("role", "viewer"),
                ("workspace_id", &store),
                ("workspace_role", "owner"),
            ],
        )
        .await;
    assert_eq!(
        owner_role.status(),
        StatusCode::BAD_REQUEST,
        "ownership moves by transfer"
    );
    admin
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Pop-up"), ("description", "")],
        )
        .await;
    let popup = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'pop-up'"
        ))
        .await;
    admin
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "yann@example.test"),
                ("role", "none"),
                ("workspace_id", &popup),
                ("workspace_role", "admin"),
            ],
        )
        .await;
    let mail = sink.wait_to("yann@example.test", "/invitations/").await;
    // The workspace is deleted before Yann accepts.
    admin
        .post_form(
            &format!("/orgs/{org}/workspaces/{popup}/delete"),
            &[("confirm_title", "Pop-up")],
        )
        .await;
    let refused = app
        .new_browser()
        .post_form(
            &format!("{}/signup", mail.invitation_path()),
            &[("name", "Yann"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains("no longer belongs to the organization"),
        "{page}"
    );
    assert_eq!(app.role_of(&org, "yann@example.test").await, None);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email_normalized = 'yann@example.test'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_workspace_guest_invited_to_the_organization_gets_the_role() {
    let (app, sink) = app_with_sink().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let guest_email = email("guest");
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    let (status, page) = invite(&owner, &org, &guest_email, "member").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Results: 1 invited"),
        "a guest is not yet a member"
    );
    let path = sink
        .wait_to(&guest_email, "/invitations/")
        .await
        .invitation_path();
    let (_, page) = guest.get_html(&path).await;
    assert!(page.contains("Join Acme"), "{page}");
    let joined = guest.post_form(&format!("{path}/accept"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &guest_email).await.as_deref(),
        Some("member")
    );
    let memberships = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
            guest_email.to_lowercase()
        ))
        .await;
    assert_eq!(memberships, 1);
    app.assert_counts_match(&org).await;
}

#[tokio::test]
async fn cancelling_an_invitation_is_a_quiet_link_to_a_confirmation_step() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    invite(&owner, &org, "quinn@example.test", "member").await;
    let id = invitation_id(&app, &org, "quinn@example.test").await;
    let sql = format!("SELECT state FROM invitations WHERE id = '{id}'");
    let state = || app.scalar_text(&sql);

    // The list offers Cancel as a plain link, not a filled red button
    // that cancels on the first click.
    let (_, list) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    let confirm = format!("/orgs/{org}/invitations/{id}/cancel");
    assert!(
        list.contains(&format!(
            "<a class=\"danger-link\" href=\"{confirm}\">Cancel"
        )),
        "Cancel links to its confirmation"
    );
    assert!(!list.contains("danger\">Cancel"), "no filled danger button");
    assert!(
        !list.contains(&format!("data-hx-post=\"{confirm}\"")),
        "no one-click cancel"
    );

    // Opening the confirmation changes nothing.
    let (status, page) = owner.get_html(&confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Cancel the invitation to quinn@example.test?"));
    assert!(page.contains(&format!("<form method=\"post\" action=\"{confirm}\">")));
    assert!(page.contains("Keep it"));
    assert_eq!(state().await, "pending");

    // Confirming cancels it; then there is nothing left to confirm.
    let done = owner.post_form(&confirm, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(state().await, "revoked");
    let (status, page) = owner.get_html(&confirm).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("there is nothing to cancel"), "{page}");
}
