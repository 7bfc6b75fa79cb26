//! The Members page shows the people who are not in yet: a Status nav
//! with counts (Active, Pending, Expired, All), invitation rows with their
//! state, and — for those who manage members — Resend, Cancel and Copy
//! link. Copy link hands over a fresh link without sending mail; the link
//! in the last message stops working.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::services::invitations::VALID_SECS;

use crate::helpers::{
    Browser, PASSWORD, TestApp, email, invitation_id, signed_in, spawn_app, text_of,
};

const DAY: i64 = 24 * 60 * 60;

async fn invite(browser: &Browser, org: &str, emails: &str, role: &str) {
    let response = browser
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", emails), ("role", role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "invited {emails}");
}

/// Invitation messages in the outbox for `address`.
async fn mail_to(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'invitation' AND LOWER(recipient) = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// The text of the Status nav.
fn status_nav(page: &str) -> String {
    let at = page
        .find("aria-label=\"Status\"")
        .unwrap_or_else(|| panic!("a Status nav: {page}"));
    let start = at + page[at..].find('>').expect("end of the tag") + 1;
    let end = start + page[start..].find("</nav>").expect("the end of the nav");
    text_of(&page[start..end])
}

/// The row of an invitation, if the page has one.
fn invitation_row<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let start = page.find(&format!("<tr id=\"invitation-{id}\""))?;
    let end = start + page[start..].find("</tr>").expect("the end of the row");
    Some(&page[start..end])
}

/// The URL in the attribute that starts with `start` (`action="/orgs/…`):
/// the address a button or link on the page leads to, as a browser reads
/// it.
fn url_in(html: &str, start: &str) -> String {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} on the page: {html}"));
    let value = at + html[at..].find('"').expect("an attribute") + 1;
    let end = value + html[value..].find('"').expect("the attribute's end");
    html[value..end].replace("&amp;", "&")
}

/// The link in the Copy link page's read-only field.
fn copied_link(page: &str) -> String {
    let at = page
        .find("id=\"invitation-link\"")
        .unwrap_or_else(|| panic!("a field with the link: {page}"));
    let tag_start = page[..at].rfind('<').expect("the tag's start");
    let tag_end = at + page[at..].find('>').expect("the tag's end");
    let tag = &page[tag_start..tag_end];
    assert!(tag.starts_with("<input"), "{tag}");
    assert!(tag.contains("readonly"), "read-only: {tag}");
    let value = tag.find("value=\"").expect("a value") + "value=\"".len();
    let end = value + tag[value..].find('"').expect("the value's end");
    tag[value..end].to_string()
}

#[tokio::test]
async fn the_status_filter_counts_and_lists_pending_and_expired_invitations() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    invite(&owner, &org, "early@example.test", "member").await;
    let early = invitation_id(&app, &org, "early@example.test").await;
    app.clock.advance(8 * DAY);
    let owner = signed_in(&app, &owner_email).await;
    app.add_member(&org, OrgRole::Member).await;
    app.add_member(&org, OrgRole::Viewer).await;
    invite(
        &owner,
        &org,
        "late1@example.test, late2@example.test",
        "viewer",
    )
    .await;
    let late1 = invitation_id(&app, &org, "late1@example.test").await;
    let late2 = invitation_id(&app, &org, "late2@example.test").await;
    let members = format!("/orgs/{org}/members");

    // Active is the default: the members, no invitations.
    let (status, page) = owner.get_html(&members).await;
    assert_eq!(status, StatusCode::OK);
    let nav = status_nav(&page);
    for count in ["Active (3)", "Pending (2)", "Expired (1)", "All (6)"] {
        assert!(nav.contains(count), "{count} in {nav}");
    }
    assert_eq!(page.matches("<tr id=\"member-").count(), 3);
    assert!(!page.contains("<tr id=\"invitation-"), "{page}");
    let (status, active) = owner.get_html(&format!("{members}?status=active")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(active.matches("<tr id=\"member-").count(), 3);
    assert!(!active.contains("<tr id=\"invitation-"));

    let (status, pending) = owner.get_html(&format!("{members}?status=pending")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(status_nav(&pending).contains("Pending (2)"));
    for (id, address) in [
        (&late1, "late1@example.test"),
        (&late2, "late2@example.test"),
    ] {
        let row = invitation_row(&pending, id).unwrap_or_else(|| panic!("{address}: {pending}"));
        let text = text_of(row);
        assert!(text.contains(address), "{text}");
        assert!(text.contains("Viewer"), "the role: {text}");
        assert!(text.contains("Pending"), "the state: {text}");
        assert!(text.contains("Olivia Owner"), "invited by: {text}");
        assert!(
            row.contains(&format!("action=\"/orgs/{org}/invitations/{id}/resend")),
            "Resend: {row}"
        );
        assert!(
            row.contains(&format!("href=\"/orgs/{org}/invitations/{id}/cancel")),
            "Cancel: {row}"
        );
        assert!(
            row.contains(&format!("action=\"/orgs/{org}/invitations/{id}/link")),
            "Copy link: {row}"
        );
        assert!(text.contains("Copy link"), "{text}");
    }
    assert!(
        invitation_row(&pending, &early).is_none(),
        "not the expired one"
    );
    assert!(!pending.contains("<tr id=\"member-"));

    let (status, expired) = owner.get_html(&format!("{members}?status=expired")).await;
    assert_eq!(status, StatusCode::OK);
    let row = invitation_row(&expired, &early).unwrap_or_else(|| panic!("{expired}"));
    let text = text_of(row);
    assert!(text.contains("early@example.test"), "{text}");
    assert!(text.contains("Member"), "the role: {text}");
    assert!(text.contains("Expired"), "the state: {text}");
    assert!(
        row.contains(&format!("action=\"/orgs/{org}/invitations/{early}/resend")),
        "Resend: {row}"
    );
    assert!(invitation_row(&expired, &late1).is_none());
    assert!(invitation_row(&expired, &late2).is_none());

    // All: the members, then the pending and expired invitations.
    let (status, all) = owner.get_html(&format!("{members}?status=all")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.matches("<tr id=\"member-").count(), 3);
    let last_member = all.rfind("<tr id=\"member-").expect("members");
    for id in [&late1, &late2, &early] {
        let at = all
            .find(&format!("<tr id=\"invitation-{id}\""))
            .unwrap_or_else(|| panic!("{id} listed: {all}"));
        assert!(at > last_member, "invitations come after the members");
    }
    let text = text_of(invitation_row(&all, &early).expect("the expired row"));
    assert!(text.contains("Expired"), "{text}");
    let text = text_of(invitation_row(&all, &late1).expect("a pending row"));
    assert!(text.contains("Pending"), "{text}");

    for bad in ["lost", "revoked", "accepted", "PENDING"] {
        let response = owner.get(&format!("{members}?status={bad}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "status={bad}");
    }
}

#[tokio::test]
async fn resending_an_expired_invitation_from_members_sends_a_new_link_and_makes_it_pending() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    invite(
        &owner,
        &org,
        "erin@example.test, fred@example.test",
        "member",
    )
    .await;
    let erin = invitation_id(&app, &org, "erin@example.test").await;
    let fred = invitation_id(&app, &org, "fred@example.test").await;
    let first = app.outbox_link("erin@example.test", "/invitations/").await;

    app.clock.advance(8 * DAY);
    let owner = signed_in(&app, &owner_email).await;
    let (_, expired) = owner
        .get_html(&format!("/orgs/{org}/members?status=expired"))
        .await;
    assert!(status_nav(&expired).contains("Expired (2)"));
    let row = invitation_row(&expired, &erin).unwrap_or_else(|| panic!("{expired}"));
    let resend = url_in(
        row,
        &format!("action=\"/orgs/{org}/invitations/{erin}/resend"),
    );
    let fred_row = invitation_row(&expired, &fred).unwrap_or_else(|| panic!("{expired}"));
    let fred_resend = url_in(
        fred_row,
        &format!("data-hx-post=\"/orgs/{org}/invitations/{fred}/resend"),
    );

    // Without JavaScript: the plain form on the Members page.
    let resent = owner.post_form(&resend, &[]).await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(mail_to(&app, "erin@example.test").await, 2, "a new email");
    let second = app.outbox_link("erin@example.test", "/invitations/").await;
    assert_ne!(first, second);
    let (status, _) = app.new_browser().get_html(&second).await;
    assert_eq!(status, StatusCode::OK, "the new link works");
    let (status, _) = app.new_browser().get_html(&first).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old one does not");
    assert_eq!(
        app.scalar(&format!(
            "SELECT expires_at FROM invitations WHERE id = '{erin}'"
        ))
        .await,
        app.clock.now() + VALID_SECS
    );

    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    let nav = status_nav(&pending);
    assert!(nav.contains("Pending (1)"), "{nav}");
    assert!(nav.contains("Expired (1)"), "{nav}");
    let text = text_of(invitation_row(&pending, &erin).unwrap_or_else(|| panic!("{pending}")));
    assert!(text.contains("Pending"), "{text}");
    assert!(!text.contains("Expired"), "{text}");
    let (_, expired) = owner
        .get_html(&format!("/orgs/{org}/members?status=expired"))
        .await;
    assert!(invitation_row(&expired, &erin).is_none());

    // By htmx: only the row comes back, now pending.
    let token = owner.csrf_token().await;
    let response = owner
        .client
        .post(owner.url(&fred_resend))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .send()
        .await
        .expect("resend");
    assert_eq!(response.status(), StatusCode::OK);
    let fragment = response.text().await.expect("body");
    assert!(
        fragment
            .trim_start()
            .starts_with(&format!("<tr id=\"invitation-{fred}\"")),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"));
    let row = invitation_row(&fragment, &fred).expect("the row");
    assert!(text_of(row).contains("Pending"), "{row}");
    assert_eq!(mail_to(&app, "fred@example.test").await, 2);
}

#[tokio::test]
async fn cancel_from_members_takes_the_invitation_off_the_list_and_kills_its_link() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    invite(&owner, &org, "quinn@example.test", "member").await;
    let id = invitation_id(&app, &org, "quinn@example.test").await;
    let link = app.outbox_link("quinn@example.test", "/invitations/").await;
    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    let row = invitation_row(&pending, &id).unwrap_or_else(|| panic!("{pending}"));
    let confirm = url_in(row, &format!("href=\"/orgs/{org}/invitations/{id}/cancel"));

    // The link asks first; opening it changes nothing.
    let (status, page) = owner.get_html(&confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("quinn@example.test"));
    assert_eq!(
        app.scalar_text(&format!("SELECT state FROM invitations WHERE id = '{id}'"))
            .await,
        "pending"
    );
    let cancel = url_in(
        &page,
        &format!("action=\"/orgs/{org}/invitations/{id}/cancel"),
    );
    let done = owner.post_form(&cancel, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_text(&format!("SELECT state FROM invitations WHERE id = '{id}'"))
            .await,
        "revoked"
    );
    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    assert!(invitation_row(&pending, &id).is_none());
    assert!(status_nav(&pending).contains("Pending (0)"));
    let (status, page) = app.new_browser().get_html(&link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("was cancelled"));
}

#[tokio::test]
async fn copy_link_hands_over_a_fresh_link_that_works_once_and_sends_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    invite(&owner, &org, "nina@example.test", "member").await;
    let id = invitation_id(&app, &org, "nina@example.test").await;
    let emailed = app.outbox_link("nina@example.test", "/invitations/").await;
    assert_eq!(mail_to(&app, "nina@example.test").await, 1);

    // The Copy link button on the Members page.
    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    let row = invitation_row(&pending, &id).unwrap_or_else(|| panic!("{pending}"));
    let copy = url_in(row, &format!("action=\"/orgs/{org}/invitations/{id}/link"));
    let response = owner.post_form(&copy, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("body");
    let link = copied_link(&page);
    let prefix = format!("{}/invitations/", app.address);
    assert!(link.starts_with(&prefix), "{link}");
    assert!(link.len() > prefix.len() + 20, "a long secret: {link}");
    assert!(page.contains("works once"), "{page}");
    assert!(page.contains("no longer works"), "{page}");
    assert_eq!(
        mail_to(&app, "nina@example.test").await,
        1,
        "no email is sent"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' \
             AND action = 'invitation.link_copied' AND target_id = '{id}'"
        ))
        .await,
        1
    );

    // The emailed link no longer works.
    let (status, old) = app.new_browser().get_html(&emailed).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(old.contains("This invitation link is not valid"), "{old}");

    // The copied one does, once.
    let path = link[app.address.len()..].to_string();
    let (status, landing) = app.new_browser().get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(landing.contains("Create account and join"), "{landing}");
    let joined = app
        .new_browser()
        .post_form(
            &format!("{path}/signup"),
            &[("name", "Nina Newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "nina@example.test").await.as_deref(),
        Some("member")
    );
    let (status, _) = app.new_browser().get_html(&path).await;
    assert_eq!(status, StatusCode::GONE, "used up");

    // An accepted invitation has no link to copy.
    let again = owner
        .post_form(&format!("/orgs/{org}/invitations/{id}/link"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn copy_link_is_for_those_who_manage_members_of_this_organization() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let (id, token) = app.add_invitation(&org, OrgRole::Member).await;
    let (_, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let (foreign, foreign_token) = app.add_invitation(&other_org, OrgRole::Member).await;
    let copy = format!("/orgs/{org}/invitations/{id}/link");

    for (who, browser) in [("Member", &member), ("Viewer", &viewer)] {
        let refused = browser.post_form(&copy, &[]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{who}");
        // Invitations are for those who manage members: the Pending view
        // is refused, and their Members page offers no invitation buttons.
        let (status, _) = browser
            .get_html(&format!("/orgs/{org}/members?status=pending"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        let (status, page) = browser.get_html(&format!("/orgs/{org}/members")).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert!(
            !page.contains("aria-label=\"Status\""),
            "{who} sees the status filter"
        );
        for action in ["resend", "cancel", "link"] {
            assert!(
                !page.contains(&format!("/orgs/{org}/invitations/{id}/{action}")),
                "{who} is offered {action}"
            );
        }
    }
    // The link in the message still works: nothing changed.
    let (status, _) = app
        .new_browser()
        .get_html(&format!("/invitations/{token}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Another organization's invitation is not found here.
    let refused = owner
        .post_form(&format!("/orgs/{org}/invitations/{foreign}/link"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let (status, _) = app
        .new_browser()
        .get_html(&format!("/invitations/{foreign_token}"))
        .await;
    assert_eq!(status, StatusCode::OK, "the foreign link still works");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.link_copied'")
            .await,
        0
    );

    // An Admin may copy it.
    let copied = admin.post_form(&copy, &[]).await;
    assert_eq!(copied.status(), StatusCode::OK);
    let link = copied_link(&copied.text().await.expect("body"));
    let (status, _) = app.new_browser().get_html(&link[app.address.len()..]).await;
    assert_eq!(status, StatusCode::OK);

    // A cancelled invitation has no link to copy.
    let cancelled = owner
        .post_form(&format!("/orgs/{org}/invitations/{id}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let refused = owner.post_form(&copy, &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn copy_link_gives_an_expired_invitation_seven_more_days_if_a_seat_is_free() {
    let app = spawn_app().await;
    app.clock.freeze();
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    invite(&owner, &org, "xena@example.test", "member").await;
    let xena = invitation_id(&app, &org, "xena@example.test").await;
    app.clock.advance(8 * DAY);
    let owner = signed_in(&app, &owner_email).await;
    // The Owner and Yuri's invitation fill both seats.
    roster::services::seats::set_limit(&app.db, &app.clock, &org, Some(2))
        .await
        .expect("set the limit")
        .expect("the organization");
    invite(&owner, &org, "yuri@example.test", "member").await;
    let yuri = invitation_id(&app, &org, "yuri@example.test").await;
    let expiry = format!("SELECT expires_at FROM invitations WHERE id = '{xena}'");
    let expired_at = app.scalar(&expiry).await;

    let copy = format!("/orgs/{org}/invitations/{xena}/link");
    let refused = owner.post_form(&copy, &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let page = refused.text().await.expect("body");
    assert!(page.contains("seats left"), "{page}");
    assert_eq!(app.scalar(&expiry).await, expired_at, "still expired");

    owner
        .post_form(&format!("/orgs/{org}/invitations/{yuri}/cancel"), &[])
        .await;
    let copied = owner.post_form(&copy, &[]).await;
    assert_eq!(copied.status(), StatusCode::OK);
    let link = copied_link(&copied.text().await.expect("body"));
    assert_eq!(app.scalar(&expiry).await, app.clock.now() + VALID_SECS);
    assert_eq!(mail_to(&app, "xena@example.test").await, 1, "no email");
    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    let text = text_of(invitation_row(&pending, &xena).unwrap_or_else(|| panic!("{pending}")));
    assert!(text.contains("Pending"), "{text}");
    let (status, _) = app.new_browser().get_html(&link[app.address.len()..]).await;
    assert_eq!(status, StatusCode::OK);
}
