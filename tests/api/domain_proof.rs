//! Auto-join domains must be proven with a DNS TXT record before they
//! welcome anyone: an added domain is pending, "Check now" asks the DNS
//! server the test runs, and only a verified domain offers to join. Free
//! email providers are refused outright; a domain is verified by one
//! organization at a time.

use migrations::{MigratorTrait, SchemaManager};
use reqwest::{Response, StatusCode};
use roster::domain::role::OrgRole;
use sea_orm::ConnectionTrait;

use crate::dns::{DnsServer, config_for};
use crate::helpers::{Browser, TestApp, Who, email, location, spawn_app_with};

/// An app whose DNS questions go to a server the test controls.
pub async fn app_with_dns() -> (TestApp, DnsServer) {
    let dns = DnsServer::start().await;
    let config = dns.config();
    let app = spawn_app_with(|c| c.dns = config).await;
    (app, dns)
}

/// A domain no other test uses.
fn unique_domain(label: &str) -> String {
    format!(
        "{label}-{}.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

pub async fn save_domains(owner: &Browser, org: &str, domains: &str, role: &str) -> Response {
    owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[("domains", domains), ("role", role)],
        )
        .await
}

/// The id and token of an organization's domain row.
pub async fn domain_row(app: &TestApp, org: &str, domain: &str) -> (String, String) {
    let select = |column: &str| {
        format!(
            "SELECT {column} FROM auto_join_domains WHERE org_id = '{org}' AND domain = '{domain}'"
        )
    };
    (
        app.scalar_text(&select("id")).await,
        app.scalar_text(&select("token")).await,
    )
}

async fn verified_count(app: &TestApp, domain: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM auto_join_domains WHERE domain = '{domain}' AND verified_at IS NOT NULL"
    ))
    .await
}

async fn audited_verifications(app: &TestApp) -> i64 {
    app.scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'settings.auto_join_domain_verified'",
    )
    .await
}

pub async fn check_now(browser: &Browser, org: &str, domain_id: &str) -> Response {
    browser
        .post_form(
            &format!("/orgs/{org}/settings/auto-join/{domain_id}/check"),
            &[],
        )
        .await
}

/// Publishes the organization's record for `domain` and presses Check now.
pub async fn prove(app: &TestApp, dns: &DnsServer, owner: &Browser, org: &str, domain: &str) {
    let (id, token) = domain_row(app, org, domain).await;
    dns.publish(
        &format!("_roster-verification.{domain}"),
        &format!("roster-verification={token}"),
    );
    let checked = check_now(owner, org, &id).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER, "{domain} verified");
}

/// A person at `address` whose address is confirmed.
async fn confirmed(app: &TestApp, name: &str, address: &str) -> Browser {
    let (browser, _) = app
        .signed_up(name, address, &format!("{name}'s Side Project"))
        .await;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE users SET email_verified_at = 1 WHERE email_normalized = '{}'",
            address.to_lowercase()
        ))
        .await
        .expect("confirm the address");
    browser
}

#[tokio::test]
async fn a_domain_welcomes_nobody_until_its_txt_record_is_found() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = unique_domain("acme");
    let saved = save_domains(&owner, &org, &domain, "member").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (id, token) = domain_row(&app, &org, &domain).await;
    assert!(token.len() >= 43, "a long random token: {token}");
    assert_eq!(verified_count(&app, &domain).await, 0, "stored pending");

    // The settings page says exactly what to publish.
    let (_, settings) = owner.get_html(&format!("/orgs/{org}/settings")).await;
    assert!(settings.contains("publish the DNS record shown below, then press Check now"));
    assert!(settings.contains("Pending"));
    assert!(settings.contains(&format!("<code>_roster-verification.{domain}</code>")));
    assert!(settings.contains(&format!("<code>roster-verification={token}</code>")));
    assert!(settings.contains(&format!(
        "action=\"/orgs/{org}/settings/auto-join/{id}/check\""
    )));

    // A confirmed address there is offered nothing yet.
    let bea_address = format!("bea@{domain}");
    let bea = confirmed(&app, "Bea", &bea_address).await;
    let (_, account) = bea.get_html("/account").await;
    assert!(account.contains("Your email address is confirmed."));
    assert!(!account.contains("Join Acme"), "no offer while pending");
    let early = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(early.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.role_of(&org, &bea_address).await, None);

    // Checking before publishing: what was looked up, and that it was not
    // found.
    let early_check = check_now(&owner, &org, &id).await;
    assert_eq!(early_check.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = early_check.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "No TXT record was found at _roster-verification.{domain}. Publish one with the value \
             roster-verification={token}, then check again"
        )),
        "{page}"
    );
    assert_eq!(
        dns.asked().last().map(String::as_str),
        Some(format!("_roster-verification.{domain}").as_str())
    );
    assert_eq!(verified_count(&app, &domain).await, 0);

    // Published (beside an unrelated record), checked: verified.
    let name = format!("_roster-verification.{domain}");
    dns.publish(&name, "v=spf1 -all");
    dns.publish(&name, &format!("roster-verification={token}"));
    let checked = check_now(&owner, &org, &id).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&checked), format!("/orgs/{org}/settings"));
    let (_, settings) = owner.get_html(&format!("/orgs/{org}/settings")).await;
    assert!(settings.contains(&format!(
        "{domain} is verified. People with a confirmed address there can now join Acme."
    )));
    assert!(settings.contains("Verified</span> on "));
    assert_eq!(verified_count(&app, &domain).await, 1);
    assert_eq!(audited_verifications(&app).await, 1);
    let (_, audit) = owner.get_html(&format!("/orgs/{org}/audit")).await;
    assert!(audit.contains("Auto-join domain verified"));

    // Now the offer appears and joining works.
    let (_, account) = bea.get_html("/account").await;
    assert!(account.contains("Acme welcomes everyone with your email domain, as Member."));
    let joined = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &bea_address).await.as_deref(),
        Some("member")
    );

    // Checking again changes nothing and writes no second audit row.
    let again = check_now(&owner, &org, &id).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(audited_verifications(&app).await, 1);

    // Saving the list again (another role) keeps the domain verified.
    save_domains(&owner, &org, &domain, "viewer").await;
    assert_eq!(verified_count(&app, &domain).await, 1);
    // Removed and added back, it must be proven again, with a new token.
    save_domains(&owner, &org, "", "viewer").await;
    save_domains(&owner, &org, &domain, "viewer").await;
    let (_, new_token) = domain_row(&app, &org, &domain).await;
    assert_ne!(new_token, token);
    assert_eq!(verified_count(&app, &domain).await, 0);
}

#[tokio::test]
async fn a_wrong_token_does_not_verify() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = unique_domain("acme");
    save_domains(&owner, &org, &domain, "member").await;
    let (id, token) = domain_row(&app, &org, &domain).await;
    dns.publish(
        &format!("_roster-verification.{domain}"),
        "roster-verification=not-the-token",
    );
    let checked = check_now(&owner, &org, &id).await;
    assert_eq!(checked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = checked.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "The TXT records at _roster-verification.{domain} do not include \
             roster-verification={token} (1 other record(s) found)."
        )),
        "{page}"
    );
    assert!(page.contains("role=\"alert\""));
    assert_eq!(verified_count(&app, &domain).await, 0);
    assert_eq!(audited_verifications(&app).await, 0);
}

#[tokio::test]
async fn free_email_providers_are_refused_and_nothing_is_stored() {
    let (app, _dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    for list in [
        "gmail.com",
        "acme.test\nGMAIL.com",
        "mail.gmail.com",
        "@outlook.com",
    ] {
        let refused = save_domains(&owner, &org, list, "member").await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{list}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains(
                "is a free email provider; auto-join works only with a domain your organization \
                 controls."
            ),
            "{list}: {page}"
        );
    }
    let page = save_domains(&owner, &org, "gmail.com", "member")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("gmail.com is a free email provider"));
    assert_eq!(app.count("auto_join_domains").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'settings.auto_join_changed'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_dns_server_that_is_down_or_silent_gets_a_clear_answer_not_a_500() {
    // Nothing answers at all: every lookup times out.
    let (silent, _socket) = DnsServer::silent().await;
    let app = spawn_app_with(|c| c.dns = config_for(silent)).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = unique_domain("acme");
    save_domains(&owner, &org, &domain, "member").await;
    let (id, _) = domain_row(&app, &org, &domain).await;
    let checked = check_now(&owner, &org, &id).await;
    assert_eq!(checked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = checked.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "Roster looked up the TXT record at _roster-verification.{domain}, but DNS did not \
             answer in time, so the domain is not verified."
        )),
        "{page}"
    );

    // No server on the port at all (UDP refused, TCP refused).
    let closed = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let app = spawn_app_with(|c| c.dns = config_for(closed)).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    save_domains(&owner, &org, &domain, "member").await;
    let (id, _) = domain_row(&app, &org, &domain).await;
    let checked = check_now(&owner, &org, &id).await;
    assert_eq!(checked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = checked.text().await.unwrap();
    assert!(
        page.contains(&format!("_roster-verification.{domain}"))
            && page.contains("so the domain is not verified"),
        "{page}"
    );
    assert_eq!(verified_count(&app, &domain).await, 0);
}

#[tokio::test]
async fn only_the_owner_checks_a_domain_and_only_their_own() {
    let (app, dns) = app_with_dns().await;
    let fixture = app.fixture().await;
    let org = fixture.org_id.clone();
    let owner = fixture.browser(Who::Owner);
    let domain = unique_domain("acme");
    save_domains(owner, &org, &domain, "member").await;
    let (id, token) = domain_row(&app, &org, &domain).await;
    dns.publish(
        &format!("_roster-verification.{domain}"),
        &format!("roster-verification={token}"),
    );
    for (who, want) in [
        (Who::Anonymous, StatusCode::SEE_OTHER),
        (Who::Outsider, StatusCode::NOT_FOUND),
        (Who::Removed, StatusCode::NOT_FOUND),
        (Who::Guest, StatusCode::FORBIDDEN),
        (Who::Viewer, StatusCode::FORBIDDEN),
        (Who::Member, StatusCode::FORBIDDEN),
        (Who::Admin, StatusCode::FORBIDDEN),
    ] {
        let response = check_now(fixture.browser(who), &org, &id).await;
        assert_eq!(response.status(), want, "{who:?}");
    }
    assert_eq!(verified_count(&app, &domain).await, 0);

    // Another organization's domain id, from this organization's page.
    let (other_owner, other_org) = app
        .signed_up("Oscar Other", &email("oscar"), "Other Co")
        .await;
    let other_domain = unique_domain("other");
    save_domains(&other_owner, &other_org, &other_domain, "member").await;
    let (other_id, other_token) = domain_row(&app, &other_org, &other_domain).await;
    dns.publish(
        &format!("_roster-verification.{other_domain}"),
        &format!("roster-verification={other_token}"),
    );
    let foreign = check_now(owner, &org, &other_id).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let unknown = check_now(owner, &org, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(verified_count(&app, &other_domain).await, 0);

    // The Owner may.
    let checked = check_now(owner, &org, &id).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    assert_eq!(verified_count(&app, &domain).await, 1);
}

#[tokio::test]
async fn a_domain_is_verified_by_one_organization_at_a_time() {
    let (app, dns) = app_with_dns().await;
    let domain = unique_domain("shared");
    let (first, first_org) = app.signed_up("Fay First", &email("fay"), "First Co").await;
    let (second, second_org) = app
        .signed_up("Sam Second", &email("sam"), "Second Co")
        .await;
    // Both list it while it is pending: allowed.
    save_domains(&first, &first_org, &domain, "member").await;
    let saved = save_domains(&second, &second_org, &domain, "member").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    prove(&app, &dns, &first, &first_org, &domain).await;

    // The second publishes its own token too: still refused.
    let (second_id, second_token) = domain_row(&app, &second_org, &domain).await;
    dns.publish(
        &format!("_roster-verification.{domain}"),
        &format!("roster-verification={second_token}"),
    );
    let refused = check_now(&second, &second_org, &second_id).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let taken = format!(
        "{domain} is already verified by another organization. A domain welcomes people into \
         one organization only; that organization has to remove it first."
    );
    assert!(refused.text().await.unwrap().contains(&taken));
    assert_eq!(verified_count(&app, &domain).await, 1);

    // A third cannot even list it.
    let (third, third_org) = app.signed_up("Tia Third", &email("tia"), "Third Co").await;
    let refused = save_domains(&third, &third_org, &domain, "member").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(&taken));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM auto_join_domains WHERE org_id = '{third_org}'"
        ))
        .await,
        0
    );

    // Once the first removes it, the second may prove it.
    save_domains(&first, &first_org, "", "member").await;
    let checked = check_now(&second, &second_org, &second_id).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    assert_eq!(verified_count(&app, &domain).await, 1);
}

/// Domains listed before proof was required come back pending, with a
/// fresh token, and welcome nobody until proven.
#[tokio::test]
async fn domains_listed_before_proof_existed_are_pending_again() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = unique_domain("legacy");
    save_domains(&owner, &org, &domain, "member").await;
    prove(&app, &dns, &owner, &org, &domain).await;
    let (_, old_token) = domain_row(&app, &org, &domain).await;

    // Back to the table as it was (org_id, domain), then forward again.
    let migration = migrations::Migrator::migrations()
        .into_iter()
        .find(|m| m.name() == "m20261202_000010_domain_verification")
        .expect("the migration");
    let manager = SchemaManager::new(app.db.owner());
    migration.down(&manager).await.expect("down");
    assert_eq!(app.count("auto_join_domains").await, 1, "the old row");
    migration.up(&manager).await.expect("up");

    let (id, token) = domain_row(&app, &org, &domain).await;
    assert!(!id.is_empty());
    assert!(token.len() >= 43, "a fresh random token: {token}");
    assert_ne!(token, old_token);
    assert_eq!(verified_count(&app, &domain).await, 0);
    let bea = confirmed(&app, "Bea", &format!("bea@{domain}")).await;
    let (_, account) = bea.get_html("/account").await;
    assert!(!account.contains("Join Acme"));
    let refused = bea.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let (_, settings) = owner.get_html(&format!("/orgs/{org}/settings")).await;
    assert!(settings.contains(&format!("<code>roster-verification={token}</code>")));

    // The old record no longer proves it; the new one does.
    let stale = check_now(&owner, &org, &id).await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    prove(&app, &dns, &owner, &org, &domain).await;
    let (_, account) = bea.get_html("/account").await;
    assert!(account.contains("Join Acme"));
}

#[tokio::test]
async fn the_joiners_role_still_applies_to_verified_domains() {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let domain = unique_domain("acme");
    save_domains(&owner, &org, &domain, "viewer").await;
    prove(&app, &dns, &owner, &org, &domain).await;
    let vic = confirmed(&app, "Vic", &format!("vic@{domain}")).await;
    let joined = vic.post_form(&format!("/auto-join/{org}"), &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &format!("vic@{domain}")).await.as_deref(),
        Some(OrgRole::Viewer.as_str())
    );
}
