//! Several Roster instances on one database with one secret key, as an
//! operator runs them behind a load balancer: a session works on either,
//! sign-in limits are shared, a change made through one is seen through
//! the other at the next request, and the outbox sends each message once.
//! Also a graceful stop: the mail worker finishes its message, hands the
//! rest back, and the next start sends them without waiting for a lease.

use std::time::Duration;

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{PASSWORD, TestApp, email, smtp_to, spawn_app_with};
use crate::smtp::SmtpSink;

#[tokio::test]
async fn a_session_and_its_changes_hold_across_two_instances() {
    let a = spawn_app_with(|_| {}).await;
    let b = a.another_instance(|_| {}).await;
    let (owner_a, org) = a.signed_up("Olivia Owner", &email("olivia"), "Acme").await;
    let owner_b = owner_a.on(&b);

    // Signed in through A, the same cookie works on B.
    let (status, page) = owner_b.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session works on the other instance"
    );
    assert!(page.contains("Acme"));

    // An Admin signed in through B loses the Admin pages on B at the very
    // next request after the Owner demotes them through A.
    let admin_email = email("admin");
    let admin_b = b.member_with_role(&org, &admin_email, OrgRole::Admin).await;
    let invitations = format!("/orgs/{org}/invitations");
    assert_eq!(admin_b.get(&invitations).await.status(), StatusCode::OK);
    let admin_id = a
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
            admin_email.to_lowercase()
        ))
        .await;
    let demoted = owner_a
        .post_form(
            &format!("/orgs/{org}/members/{admin_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(demoted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        admin_b.get(&invitations).await.status(),
        StatusCode::FORBIDDEN,
        "B refuses the demoted Admin at once"
    );

    // Removed through B, they are refused by A at the next request.
    let removed = owner_b
        .post_form(&format!("/orgs/{org}/members/{admin_id}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let admin_a = admin_b.on(&a);
    assert_eq!(
        admin_a.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::NOT_FOUND,
        "A no longer shows them the organization"
    );

    // Signing out through B ends the session on A too.
    let captured = owner_a.cookie_header();
    assert_eq!(owner_b.sign_out().await.status(), StatusCode::SEE_OTHER);
    let replay = a
        .new_browser()
        .client
        .get(a.browser.url(&format!("/orgs/{org}/members")))
        .header("Cookie", captured)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "the signed-out session is refused by the other instance"
    );
}

#[tokio::test]
async fn failed_sign_ins_count_across_instances() {
    let a = spawn_app_with(|_| {}).await;
    let b = a.another_instance(|_| {}).await;
    let eve = email("eve");
    let (browser, _) = a.signed_up("Eve", &eve, "Target").await;
    browser.sign_out().await;

    // Ten wrong guesses, alternating between the instances.
    let on_a = a.new_browser();
    let on_b = b.new_browser();
    for i in 0..10 {
        let attacker = if i % 2 == 0 { &on_a } else { &on_b };
        let response = attacker.sign_in(&eve, "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Each instance saw five, yet both refuse even the right password.
    for attacker in [&on_a, &on_b] {
        let response = attacker.sign_in(&eve, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn two_instances_send_each_invitation_once() {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let a = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    let b = a.another_instance(|_| {}).await;
    let (owner, org) = a.signed_up("Olivia Owner", &email("olivia"), "Acme").await;
    let addresses: Vec<String> = (0..40)
        .map(|i| format!("pair{i:02}@example.test"))
        .collect();
    // Half the invitations through each instance; both workers are woken
    // and race for the same outbox.
    for (instance, chunk) in [&a, &b].into_iter().zip(addresses.chunks(20)) {
        let response = owner
            .on(instance)
            .post_form(
                &format!("/orgs/{org}/invitations"),
                &[("emails", &chunk.join(",")), ("role", "viewer")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        a.mailer.nudge();
        b.mailer.nudge();
    }
    // 40 invitations and the Owner's address confirmation.
    sink.wait_for(41).await;
    wait_for_sent(&a, 41).await;
    // A moment more: a second copy would have arrived by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for address in &addresses {
        assert_eq!(
            sink.all_to(address, "/invitations/").len(),
            1,
            "{address} got exactly one message"
        );
    }
    assert_eq!(sink.messages().len(), 41, "nothing was sent twice");
}

#[tokio::test]
async fn a_graceful_stop_hands_unsent_mail_to_the_next_start() {
    // A slow mail server: the worker is mid-batch when the stop comes.
    let sink = SmtpSink::start_slow(Duration::from_millis(250)).await;
    let port = sink.port;
    let app = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let addresses: Vec<String> = (0..15)
        .map(|i| format!("late{i:02}@example.test"))
        .collect();
    let response = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", &addresses.join(",")), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    sink.wait_for(1).await;

    let stopped = app.stop().await;
    // Stopped mid-batch: whatever was sent is recorded as sent, and no
    // message is still held by the stopped worker.
    let delivered = sink.messages().len();
    // (15 invitations and the Owner's address confirmation.)
    assert!(delivered < 16, "the stop came mid-batch ({delivered} sent)");
    let sent = stopped
        .scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
        .await;
    assert_eq!(
        usize::try_from(sent).expect("count"),
        delivered,
        "every delivered message is recorded, no other"
    );
    let held = stopped
        .scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND locked_until > 0")
        .await;
    assert_eq!(held, 0, "the stopped worker holds no message");
    let next = stopped.start().await;

    // The next start sends the rest at once (not after the ten-minute
    // lease), and nobody gets a message twice.
    sink.wait_for(16).await;
    wait_for_sent(&next, 16).await;
    for address in &addresses {
        assert_eq!(
            sink.all_to(address, "/invitations/").len(),
            1,
            "{address} got exactly one message"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 16, "nothing was sent twice");
}

async fn wait_for_sent(app: &TestApp, count: i64) {
    for _ in 0..200 {
        let sent = app
            .scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await;
        if sent == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox never recorded {count} messages as sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_a_graceful_stop_finishes() {
    // A sign-in takes a while (argon2), so the stop comes while it runs;
    // the idle web worker ends first. On PostgreSQL a connection opened by
    // that worker died with it, and the sign-in that borrowed it answered
    // 500 (7 rounds out of 12 before connections were opened up front).
    for round in 0..6 {
        let app = spawn_app_with(|_| {}).await;
        let ada = email("ada");
        let (owner, org) = app.signed_up("Ada", &ada, "Acme").await;
        // Requests on both web workers.
        let members = format!("/orgs/{org}/members");
        let loads = (0..64).map(|_| owner.get(&members));
        futures_util::future::join_all(loads).await;
        let browser = app.new_browser();
        let token = browser.csrf_token().await;
        let server = app.server.clone();
        let stop = async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            server.stop(true).await;
        };
        let fields = [
            ("email", ada.as_str()),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ];
        let (response, ()) = tokio::join!(browser.post_raw("/signin", &fields), stop);
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "round {round}: the sign-in in flight finished"
        );
    }
}
