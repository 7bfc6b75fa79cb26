//! Forgot password → reset link, email verification, and auto-join by a
//! confirmed address's domain. Mail goes through a local SMTP sink.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use super::domain_proof::{app_with_dns, prove};
use crate::dns::DnsServer;
use crate::helpers::{PASSWORD, TestApp, email, location, smtp_to, spawn_app, spawn_app_with};
use crate::smtp::{Received, SmtpSink};

async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    (app, sink)
}

/// The path of the first link to `marker` (`/password/reset/`, `/verify/`).
fn link_path(message: &Received, marker: &str) -> String {
    let at = message.text.find(marker).expect("a link");
    let token: String = message.text[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("{marker}{token}")
}

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn a_reset_link_works_once_for_an_hour_and_ends_every_session() {
    let (app, sink) = app_with_sink().await;
    app.clock.freeze();
    let address = email("rosa");
    let (first, _) = app.signed_up("Rosa", &address, "Rosa Co").await;
    let second = app.new_browser();
    second.sign_in(&address, PASSWORD).await;
    sink.wait_for(1).await; // the verification message of the sign-up

    let anon = app.new_browser();
    let unknown = anon
        .post_form("/password/forgot", &[("email", "nobody@example.test")])
        .await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let unknown_page = unknown.text().await.expect("body");
    let known = anon
        .post_form("/password/forgot", &[("email", &address.to_uppercase())])
        .await;
    assert_eq!(known.status(), StatusCode::OK);
    let known_page = known.text().await.expect("body");
    let answer = "a link to choose a new password is on its way";
    assert!(unknown_page.contains(answer) && known_page.contains(answer));

    let messages = sink.wait_for(2).await;
    assert_eq!(messages.len(), 2, "no mail for the unknown address");
    let reset = sink.last_to(&address);
    assert!(reset.text.contains("Subject: Reset your Roster password"));
    let path = link_path(&reset, "/password/reset/");

    let (status, form) = anon.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Choose a new password"));
    let mismatch = anon
        .post_form(
            &path,
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let done = anon
        .post_form(
            &path,
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    // This browser is signed in; both earlier sessions are over.
    let (status, _) = anon.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    for old in [&first, &second] {
        let response = old.get("/account").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/signin"));
    }
    let old_password = app.new_browser().sign_in(&address, PASSWORD).await;
    assert_eq!(old_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new_password = app.new_browser().sign_in(&address, NEW_PASSWORD).await;
    assert_eq!(new_password.status(), StatusCode::SEE_OTHER);

    // Used once: the link is dead.
    let (status, page) = app.new_browser().get_html(&path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired or has already been used"));
    let again = app
        .new_browser()
        .post_form(
            &path,
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::GONE);
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'account.password_reset'")
        .await;
    assert_eq!(audit, 1);

    // A newer link retires the older one; an hour later it is dead too.
    // Links for one account are at least two minutes apart, whatever is
    // asked.
    anon.post_form("/password/forgot", &[("email", &address)])
        .await;
    let flood = anon
        .post_form("/password/forgot", &[("email", &address)])
        .await;
    assert!(flood.text().await.expect("body").contains(answer));
    sink.wait_for(3).await;
    app.clock.advance(121);
    anon.post_form("/password/forgot", &[("email", &address)])
        .await;
    sink.wait_for(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 4, "the flood sent nothing");
    // (Delivery order within one second is not fixed: find the live one.)
    let messages = sink.messages();
    let links = [
        link_path(&messages[2], "/password/reset/"),
        link_path(&messages[3], "/password/reset/"),
    ];
    let mut statuses = Vec::new();
    for link in &links {
        statuses.push(app.new_browser().get(link).await.status());
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::GONE],
        "only the newest link works"
    );
    let newer = if app.new_browser().get(&links[0]).await.status() == StatusCode::OK {
        &links[0]
    } else {
        &links[1]
    };
    app.clock.advance(3600);
    let (status, _) = app.new_browser().get_html(newer).await;
    assert_eq!(status, StatusCode::GONE, "an hour later");
}

#[tokio::test]
async fn a_confirmed_address_on_a_listed_domain_may_join_with_the_chosen_role() {
    let sink = SmtpSink::start().await;
    let dns = DnsServer::start().await;
    let (port, dns_config) = (sink.port, dns.config());
    let app = spawn_app_with(|config| {
        config.smtp = Some(smtp_to(port));
        config.dns = dns_config;
    })
    .await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let refused = admin
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", "acme.test"), ("role", "member")],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "the Owner's setting"
    );
    let bad = owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", "acme.test\nnot a domain"), ("role", "viewer")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("auto_join_domains").await, 0);
    let saved = owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", "ACME.test"), ("role", "viewer")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, general) = owner.get_html(&format!("/orgs/{org}/settings")).await;
    assert!(general.contains(">acme.test</textarea>"));
    assert!(general.contains("<option value=\"viewer\" selected>"));
    // The organization proves it controls acme.test.
    prove(&app, &dns, &owner, &org, "acme.test").await;

    let (bea, _) = app
        .signed_up_unconfirmed("Bea", "bea@acme.test", "Bea's Side Project")
        .await;
    let verification = sink.wait_to("bea@acme.test", "/verify/").await;
    assert!(
        verification
            .text
            .contains("Subject: Confirm your email address for Roster")
    );
    let path = link_path(&verification, "/verify/");
    let (_, account) = bea.get_html("/account").await;
    assert!(account.contains("not confirmed yet"));
    assert!(!account.contains("Join Acme"), "no offer before confirming");
    let early = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);

    // Opening the link changes nothing; the button does.
    let (status, page) = bea.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Confirm my email address"));
    let verified = app
        .scalar(
            "SELECT COUNT(*) FROM users WHERE email_normalized = 'bea@acme.test' \
             AND email_verified_at IS NOT NULL",
        )
        .await;
    assert_eq!(verified, 0);
    let confirmed = bea.post_form(&path, &[]).await;
    assert_eq!(location(&confirmed), "/account");
    let (_, account) = bea.get_html("/account").await;
    assert!(account.contains("Your email address is confirmed."));
    assert!(account.contains("Acme welcomes everyone with your email domain, as Viewer."));

    let joined = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "bea@acme.test").await.as_deref(),
        Some("viewer")
    );
    let again = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'member.auto_joined'")
        .await;
    assert_eq!(audit, 1);
    app.assert_counts_match(&org).await;

    // Another domain: the organization does not offer it.
    let (carl, _) = app
        .signed_up_unconfirmed("Carl", "carl@elsewhere.test", "Carl Co")
        .await;
    let carl_link = link_path(
        &sink.wait_to("carl@elsewhere.test", "/verify/").await,
        "/verify/",
    );
    carl.post_form(&carl_link, &[]).await;
    let refused = carl.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.role_of(&org, "carl@elsewhere.test").await, None);

    // A verification link works once.
    let (status, _) = app.new_browser().get_html(&path).await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn an_account_made_from_an_invitation_is_not_confirmed_for_auto_join() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", "acme.test"), ("role", "member")],
        )
        .await;
    prove(&app, &dns, &owner, &org, "acme.test").await;
    let (_, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let (invitation, token) = app.add_invitation(&other_org, OrgRole::Member).await;
    // Point the invitation at an acme.test address.
    use sea_orm::ConnectionTrait;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE invitations SET email = 'ivan@acme.test', email_normalized = 'ivan@acme.test' \
             WHERE id = '{invitation}'"
        ))
        .await
        .expect("retarget");
    let ivan = app.new_browser();
    let joined = ivan
        .post_form(
            &format!("/invitations/{token}/signup"),
            &[("name", "Ivan"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let (_, account) = ivan.get_html("/account").await;
    assert!(account.contains("not confirmed yet"));
    let refused = ivan.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_smtp_account_mail_is_never_shown_on_a_page() {
    let app = spawn_app().await;
    let address = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &address, "Acme").await;
    app.new_browser()
        .post_form("/password/forgot", &[("email", &address)])
        .await;
    let kept = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE kind IN ('password_reset', 'verify_email')")
        .await;
    assert_eq!(
        kept, 2,
        "both wait in the outbox (and their links are logged)"
    );
    let (status, mailbox) = owner.get_html(&format!("/orgs/{org}/mailbox")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!mailbox.contains("/password/reset/"));
    assert!(!mailbox.contains("/verify/"));
    assert!(mailbox.contains("No invitation mail yet."));
}
