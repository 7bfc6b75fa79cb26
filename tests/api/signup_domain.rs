//! Sign-up on a domain an organization has proven and welcomes: the form
//! offers to join it instead of creating an organization, and the
//! verification link then joins it. Someone with pending invitations who
//! signs up without their link is told about them.

use reqwest::StatusCode;

use super::domain_proof::{app_with_dns, prove, save_domains};
use crate::dns::DnsServer;
use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app};

/// An app whose organization "Acme" welcomes acme.test (proven) with
/// `role`; returns the app, its DNS server, the Owner and the organization.
async fn acme_welcoming(role: &str) -> (TestApp, DnsServer, Browser, String) {
    let (app, dns) = app_with_dns().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let saved = save_domains(&owner, &org, "acme.test", role).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    prove(&app, &dns, &owner, &org, "acme.test").await;
    (app, dns, owner, org)
}

/// Posts the sign-up form with `org` (the choice; empty at first).
async fn sign_up(browser: &Browser, address: &str, org: &str) -> (StatusCode, String) {
    let response = browser
        .post_form(
            "/signup",
            &[
                ("name", "Bea Bright"),
                ("email", address),
                ("password", PASSWORD),
                ("org_name", "Bea Side Project"),
                ("org", org),
            ],
        )
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// What sign-up may have written: accounts, organizations, memberships,
/// messages.
async fn written(app: &TestApp) -> [i64; 4] {
    [
        app.count("users").await,
        app.count("organizations").await,
        app.count("memberships").await,
        app.count("outbox").await,
    ]
}

async fn memberships_of(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM memberships WHERE email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// Follows redirects from `path` to the page at the end.
async fn follow(browser: &Browser, path: &str) -> (String, StatusCode, String) {
    let mut path = path.to_string();
    for _ in 0..5 {
        let response = browser.get(&path).await;
        if response.status() == StatusCode::SEE_OTHER {
            path = location(&response);
            continue;
        }
        let status = response.status();
        return (path, status, response.text().await.expect("body"));
    }
    panic!("{path}: too many redirects");
}

/// The flash message on a page.
fn flash_of(page: &str) -> &str {
    let start = page.find("id=\"flash-region\"").unwrap_or(0);
    let end = page[start..]
        .find("</div>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

/// Opens the verification link sent to `address` in a fresh browser and
/// presses its button; returns the browser and where it was sent.
async fn follow_verification(app: &TestApp, address: &str) -> (Browser, String) {
    let link = app.outbox_link(address, "/verify/").await;
    let browser = app.new_browser();
    let (status, _) = browser.get_html(&link).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let confirmed = browser.post_form(&link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER, "{link}");
    let next = location(&confirmed);
    (browser, next)
}

#[tokio::test]
async fn an_address_on_a_verified_domain_is_offered_its_organization() {
    let (app, _dns, _, org) = acme_welcoming("member").await;
    // Another organization has only added its domain, not proven it.
    let (beta_owner, beta) = app.signed_up("Boris Beta", &email("boris"), "Beta").await;
    save_domains(&beta_owner, &beta, "beta.test", "member").await;
    let before = written(&app).await;

    let (status, page) = sign_up(&app.new_browser(), "bea@acme.test", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Check your email"), "nothing sent yet");
    let legend_at = page.find("<legend").expect("a fieldset with a legend");
    let legend =
        &page[legend_at..page[legend_at..].find("</legend>").expect("its end") + legend_at];
    assert!(legend.contains("already on Roster"), "{legend}");
    assert!(page.contains(&format!("value=\"join:{org}\"")), "{page}");
    assert!(page.contains("Join Acme once you confirm your address"));
    assert!(page.contains("value=\"new\""));
    assert!(page.contains("Create my own organization"));
    assert!(page.contains("type=\"radio\""));
    assert!(page.contains("name=\"org\""));
    // What was typed stays (but the password).
    assert!(page.contains("value=\"bea@acme.test\""));
    assert!(page.contains("value=\"Bea Side Project\""));
    assert!(!page.contains(PASSWORD), "the password is not sent back");
    assert_eq!(written(&app).await, before, "nothing written yet");

    // A domain that is only pending offers nothing: sign-up goes ahead.
    let (status, page) = sign_up(&app.new_browser(), "carl@beta.test", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Check your email"), "{page}");
    assert!(!page.contains(&format!("join:{beta}")));
    // As does an address on no listed domain.
    let (status, page) = sign_up(&app.new_browser(), &email("dora"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Check your email"), "{page}");
}

#[tokio::test]
async fn joining_at_sign_up_creates_no_organization_and_the_link_joins_it() {
    let (app, _dns, owner, org) = acme_welcoming("member").await;
    let (_, offer) = sign_up(&app.new_browser(), "bea@acme.test", "").await;
    assert!(offer.contains(&format!("value=\"join:{org}\"")));
    let [users, orgs, memberships, _] = written(&app).await;

    let (status, sent) = sign_up(&app.new_browser(), "bea@acme.test", &format!("join:{org}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sent.contains("Check your email"), "{sent}");
    assert!(sent.contains("you join Acme"), "{sent}");
    let [users_after, orgs_after, memberships_after, _] = written(&app).await;
    assert_eq!(users_after, users + 1, "the account is made");
    assert_eq!(orgs_after, orgs, "no organization of their own");
    assert_eq!(
        memberships_after, memberships,
        "not in Acme before confirming"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM organizations WHERE name = 'Bea Side Project'")
            .await,
        0
    );
    assert_eq!(app.role_of(&org, "bea@acme.test").await, None);

    let (bea, next) = follow_verification(&app, "bea@acme.test").await;
    assert!(
        next.starts_with(&format!("/orgs/{org}")),
        "lands in Acme: {next}"
    );
    assert_eq!(
        app.role_of(&org, "bea@acme.test").await.as_deref(),
        Some("member"),
        "Acme's auto-join role"
    );
    assert_eq!(memberships_of(&app, "bea@acme.test").await, 1);
    assert_eq!(app.count("organizations").await, orgs);
    let joined = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = 'member.auto_joined'"
        ))
        .await;
    assert_eq!(joined, 1);
    let (_, status, page) = follow(&bea, &next).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acme"));
    app.assert_counts_match(&org).await;

    // The Owner sees Bea among the members.
    let (_, members) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(members.contains("bea@acme.test"));

    // The link works once: nothing joins twice.
    let link_again = app.new_browser();
    let (status, _) = link_again
        .get_html(&app.outbox_link("bea@acme.test", "/verify/").await)
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(memberships_of(&app, "bea@acme.test").await, 1);
}

#[tokio::test]
async fn the_auto_join_role_decides_the_role_joined_with() {
    let (app, _dns, _, org) = acme_welcoming("viewer").await;
    let (status, _) = sign_up(&app.new_browser(), "vic@acme.test", &format!("join:{org}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, next) = follow_verification(&app, "vic@acme.test").await;
    assert!(next.starts_with(&format!("/orgs/{org}")), "{next}");
    assert_eq!(
        app.role_of(&org, "vic@acme.test").await.as_deref(),
        Some("viewer")
    );
}

#[tokio::test]
async fn choosing_my_own_organization_creates_it_as_before() {
    let (app, _dns, _, org) = acme_welcoming("member").await;
    let orgs = app.count("organizations").await;
    let (status, sent) = sign_up(&app.new_browser(), "bea@acme.test", "new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(sent.contains("Check your email"), "{sent}");
    assert_eq!(app.count("organizations").await, orgs + 1);
    let own = app.owned_org("bea@acme.test").await;
    let name = app
        .scalar_text(&format!(
            "SELECT name FROM organizations WHERE id = '{own}'"
        ))
        .await;
    assert_eq!(name, "Bea Side Project");

    let (_, _) = follow_verification(&app, "bea@acme.test").await;
    assert_eq!(
        app.role_of(&org, "bea@acme.test").await,
        None,
        "not in Acme"
    );
    assert_eq!(
        app.role_of(&own, "bea@acme.test").await.as_deref(),
        Some("owner")
    );
    assert_eq!(memberships_of(&app, "bea@acme.test").await, 1);
}

#[tokio::test]
async fn joining_an_organization_that_does_not_list_the_domain_is_refused() {
    let (app, _dns, _, acme) = acme_welcoming("member").await;
    let (_, beta) = app.signed_up("Boris Beta", &email("boris"), "Beta").await;
    let before = written(&app).await;

    let mut answers = Vec::new();
    for (address, choice) in [
        ("bea@acme.test", format!("join:{beta}")),
        ("carl@elsewhere.test", format!("join:{acme}")),
        (
            "bea@acme.test",
            "join:6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d".to_string(),
        ),
    ] {
        let (status, _) = sign_up(&app.new_browser(), address, &choice).await;
        answers.push((format!("{address} {choice}"), status));
    }
    let expected: Vec<(String, StatusCode)> = answers
        .iter()
        .map(|(asked, _)| (asked.clone(), StatusCode::UNPROCESSABLE_ENTITY))
        .collect();
    assert_eq!(answers, expected);
    assert_eq!(written(&app).await, before, "nothing written");
    assert_eq!(app.role_of(&beta, "bea@acme.test").await, None);
}

#[tokio::test]
async fn without_a_seat_left_the_link_says_so_and_a_new_organization_is_open() {
    let (app, _dns, _, org) = acme_welcoming("member").await;
    let (status, sent) = sign_up(&app.new_browser(), "bea@acme.test", &format!("join:{org}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sent.contains("Check your email"));
    // The Owner's seat is the only one.
    roster::services::seats::set_limit(&app.db, &app.clock, &org, Some(1))
        .await
        .expect("set the limit")
        .expect("the organization");

    let (bea, next) = follow_verification(&app, "bea@acme.test").await;
    assert_eq!(app.role_of(&org, "bea@acme.test").await, None);
    let (_, status, page) = follow(&bea, &next).await;
    assert_eq!(status, StatusCode::OK);
    let flash = flash_of(&page);
    assert!(flash.contains("no seat free for you"), "{page}");
    assert!(flash.contains("Ask the person who invited you"), "{flash}");
    let (status, new_org) = bea.get_html("/orgs/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(new_org.contains("action=\"/orgs\""));
    let created = bea
        .post_form("/orgs", &[("name", "Bea Side Project")])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let own = app.owned_org("bea@acme.test").await;
    assert_ne!(own, org);
}

#[tokio::test]
async fn someone_invited_who_signs_up_without_the_link_is_told_after_confirming() {
    let app = spawn_app().await;
    let ivy = "ivy@example.test";
    let mut inviting = Vec::new();
    for (owner_name, org_name) in [("Olivia Owner", "Beacon"), ("Hana Harbor", "Harbor")] {
        let (owner, org) = app.signed_up(owner_name, &email("owner"), org_name).await;
        let sent = owner
            .post_form(
                &format!("/orgs/{org}/invitations"),
                &[("emails", ivy), ("role", "member")],
            )
            .await;
        assert_eq!(sent.status(), StatusCode::OK);
        inviting.push(org);
    }
    // Ivy signs up without following either invitation.
    app.new_browser()
        .sign_up("Ivy Ito", ivy, PASSWORD, "Ivy Co")
        .await;

    let (browser, next) = follow_verification(&app, ivy).await;
    let (_, status, page) = follow(&browser, &next).await;
    assert_eq!(status, StatusCode::OK);
    let flash = flash_of(&page);
    assert!(flash.contains("invitation"), "{page}");
    assert!(flash.contains("Beacon"), "{flash}");
    assert!(flash.contains("Harbor"), "{flash}");
    assert!(
        flash
            .to_lowercase()
            .contains("open the link in the invitation email"),
        "{flash}"
    );
    // Being told joins nothing: the invitation's link does.
    for org in &inviting {
        assert_eq!(app.role_of(org, ivy).await, None);
        let pending = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}' AND state = 'pending'"
            ))
            .await;
        assert_eq!(pending, 1);
    }

    // Someone without invitations hears nothing of the kind.
    let dora = email("dora");
    app.new_browser()
        .sign_up("Dora Dahl", &dora, PASSWORD, "Dora Co")
        .await;
    let (browser, next) = follow_verification(&app, &dora).await;
    let (_, _, page) = follow(&browser, &next).await;
    assert!(!flash_of(&page).contains("invitation"), "{page}");
}
