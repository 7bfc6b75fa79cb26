//! What a newcomer met on a first run through Roster: landing pages that
//! refuse the person, people missing from the admin views, form addresses
//! that answer 404, filters that end on a dead end, messages that name the
//! wrong problem, typed input thrown away, organizations that cannot be
//! told apart, dead links in the Mailbox and words that differ between
//! pages.

use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::web::ROUTES;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app};

/// Follows redirects from `path` and returns where they end and the page.
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

/// The site-relative links of a page (`href="/…"`), without fragments.
fn links(body: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| {
            href.split('#')
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&")
        })
        .filter(|href| !href.starts_with("/static/"))
        .collect()
}

/// A workspace guest: organization role "None", Editor in one workspace.
async fn guest_in_workspace(app: &TestApp, org: &str, workspace: &str) -> (Browser, String) {
    let address = email("guest");
    let guest = app.member_with_role(org, &address, OrgRole::None).await;
    let user_id = app.user_id(&address).await;
    app.add_workspace_role(workspace, &user_id, "editor").await;
    (guest, address)
}

#[tokio::test]
async fn a_workspace_guest_signing_in_again_lands_on_their_workspaces() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let (guest, address) = guest_in_workspace(&app, &org, &general).await;
    guest.sign_out().await;

    let response = guest.sign_in(&address, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (landed, status, page) = follow(&guest, &location(&response)).await;
    assert_eq!(status, StatusCode::OK, "{landed}: {page}");
    assert_eq!(landed, format!("/orgs/{org}/workspaces"));
    assert!(page.contains("General"), "their workspace is listed");

    // Home, the organization's own address (the switcher's link) and the
    // way back from an error page all land there too.
    for start in ["/", &format!("/orgs/{org}")] {
        let (landed, status, _) = follow(&guest, start).await;
        assert_eq!(status, StatusCode::OK, "{start} → {landed}");
        assert_eq!(landed, format!("/orgs/{org}/workspaces"));
    }
    let (status, refused) = guest.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for href in links(&refused) {
        let (landed, status, _) = follow(&guest, &href).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the 403 page links to {href} → {landed}"
        );
    }
    drop(owner);
}

/// Every page a person can reach by following links from home answers
/// them: no page links to a place that refuses the person it is shown to.
#[tokio::test]
async fn no_page_links_to_a_place_that_refuses_the_person() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    app.add_product(&general, "Atlas", None).await;
    owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Engineering"), ("description", "")],
        )
        .await;
    let (guest, _) = guest_in_workspace(&app, &org, &general).await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    for (who, browser) in [
        ("guest", &guest),
        ("viewer", &viewer),
        ("member", &member),
        ("admin", &admin),
        ("owner", &owner),
    ] {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from(["/".to_string()]);
        let mut refused = Vec::new();
        while let Some(path) = queue.pop_front() {
            if seen.len() >= 80 || !seen.insert(path.clone()) {
                continue;
            }
            let (landed, status, body) = follow(browser, &path).await;
            if status != StatusCode::OK {
                refused.push(format!("{path} → {landed}: {status}"));
                continue;
            }
            for href in links(&body) {
                if !seen.contains(&href) {
                    queue.push_back(href);
                }
            }
        }
        assert!(
            refused.is_empty(),
            "the {who} is shown links that refuse them:\n{}",
            refused.join("\n")
        );
        assert!(seen.len() > 3, "the {who} reached only {seen:?}");
        eprintln!("the {who} followed {} links", seen.len());
    }
}

#[tokio::test]
async fn workspace_guests_are_in_members_product_access_and_the_access_review() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    app.add_member(&org, OrgRole::Member).await;
    app.add_member(&org, OrgRole::Viewer).await;
    let (_guest, guest_email) = guest_in_workspace(&app, &org, &general).await;

    let (_, members) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(
        members.contains(&guest_email),
        "Members All lists the guest"
    );
    assert!(
        members.contains("4 members"),
        "the count includes the guest"
    );
    assert!(members.contains("Workspace guest"), "marked as a guest");
    let (_, only_guests) = owner
        .get_html(&format!("/orgs/{org}/members?role=none"))
        .await;
    assert!(only_guests.contains(&guest_email));
    assert!(only_guests.contains("1 member match"));

    let (_, picker) = owner.get_html(&format!("/orgs/{org}/product-access")).await;
    assert!(
        picker.contains(&guest_email),
        "Product Access lists the guest"
    );
    assert!(picker.contains("4 members"));
    assert!(picker.contains("Products of their workspaces"));

    let (_, review) = owner.get_html(&format!("/orgs/{org}/access-review")).await;
    assert!(review.contains(&guest_email), "the review lists the guest");
    assert!(review.contains("4 members"));
    assert!(
        review.contains("General: Editor"),
        "with their workspace role"
    );
    let (_, csv) = owner
        .get_html(&format!("/orgs/{org}/access-review.csv"))
        .await;
    let row = csv
        .lines()
        .find(|line| line.contains(&guest_email))
        .expect("the guest's row in the export");
    assert!(
        row.contains("Workspace guest") && row.contains("General: Editor"),
        "{row}"
    );
    assert_eq!(csv.lines().count(), 5, "a header and four people:\n{csv}");
}

#[tokio::test]
async fn every_address_a_form_posts_to_answers_a_get_with_its_form() {
    // The table: a GET route beside every POST route.
    let gets: BTreeSet<&str> = ROUTES
        .iter()
        .filter(|(method, _)| *method == "get")
        .map(|(_, path)| *path)
        .collect();
    let missing: Vec<&str> = ROUTES
        .iter()
        .filter(|(method, path)| *method == "post" && !gets.contains(path))
        .map(|(_, path)| *path)
        .collect();
    assert!(missing.is_empty(), "POST without GET: {missing:?}");

    // A refused "Assign owner" and a refused workspace transfer, reloaded.
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    for (form, fields, holds) in [
        (
            format!("/orgs/{org}/products/{atlas}/owner"),
            vec![("email", "nobody@example.com")],
            "Assign owner",
        ),
        (
            format!("/orgs/{org}/workspaces/{general}/transfer"),
            vec![("email", "nobody@example.com"), ("password", PASSWORD)],
            "Transfer ownership",
        ),
    ] {
        let response = owner.post_form(&form, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form}"
        );
        let (landed, status, page) = follow(&owner, &form).await;
        assert_eq!(status, StatusCode::OK, "reloading {form} → {landed}");
        assert!(page.contains(holds), "{landed} holds the {holds} form");
    }
}

#[tokio::test]
async fn filter_mistakes_come_back_as_messages_at_the_field() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    for days in ["0", "-3", "many"] {
        let (status, page) = owner
            .get_html(&format!("/orgs/{org}/access-review?days={days}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "days={days}");
        assert!(page.contains("id=\"days-error\""), "days={days}");
        assert!(page.contains("Enter a whole number of days from 1 to 3650."));
        assert!(
            page.contains(&format!("value=\"{days}\"")),
            "keeps what was typed"
        );
        assert!(
            page.contains("<h1>Access review</h1>"),
            "the page, not a dead end"
        );
    }
    let (status, page) = owner
        .get_html(&format!("/orgs/{org}/audit?from=garbage"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"from-error\""));
    assert!(page.contains("Enter the date as YYYY-MM-DD"));
    assert!(page.contains("<h1>Audit log</h1>"));
    let (status, page) = owner
        .get_html(&format!("/orgs/{org}/audit?from=2026-12-02&to=2026-11-01"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"to-error\""));
    assert!(page.contains("The end date is before the start date."));
    // The same day as both ends is one day, not a mistake.
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/audit?from=2026-12-02&to=2026-12-02"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn messages_name_the_problem() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;

    let response = owner.post_form(&format!("/orgs/{org}/transfer"), &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("Enter the email address of the member who will become the Owner."));
    assert!(page.contains("Enter your password to confirm the transfer."));
    assert!(!page.contains("Your password is not correct."));

    let response = owner.post_form(&format!("/orgs/{org}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("Type the organization&#39;s name to confirm")
            || page.contains("Type the organization's name to confirm"),
        "{page}"
    );
    assert!(page.contains("Enter your password to confirm the deletion."));
    assert!(!page.contains("Your password is not correct."));

    let response = owner
        .post_form(
            &format!("/orgs/{org}/settings/auto-join"),
            &[
                ("domains", "acme.test\nnot a domain\nlocalhost"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("These are not domains like example.com: “not a domain”, “localhost”."),
        "{page}"
    );

    let anonymous = app.new_browser();
    let response = anonymous
        .post_form("/password/forgot", &[("email", "")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("Enter an email address."));
    assert!(!page.contains("If an account uses , "));
}

#[tokio::test]
async fn refused_addresses_stay_in_the_invite_form_and_the_outcome_comes_first() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let good = email("good");
    let response = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", &format!("{good}\nnot-an-address\nalso@@bad")),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("body");
    let textarea = page
        .split("<textarea id=\"emails\"")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("the addresses field");
    assert!(
        textarea.contains("not-an-address") && textarea.contains("also@@bad"),
        "{textarea}"
    );
    assert!(!textarea.contains(&good), "the sent one is done");
    let results = page.find("id=\"results-heading\"").expect("the results");
    let form = page.find("<h2>Invite people</h2>").expect("the form");
    assert!(results < form, "the outcome is above the form");
    assert!(page.contains("1 invited, 2 refused"));
}

#[tokio::test]
async fn organizations_with_one_name_are_told_apart() {
    let app = spawn_app().await;
    let (owner, _) = app
        .signed_up("Olivia Owner", &email("owner"), "Acme Corp")
        .await;
    let response = owner.post_form("/orgs", &[("name", "acme corp")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("You already belong to an organization named acme corp."));
    assert_eq!(app.count("organizations").await, 1, "nothing created yet");
    let response = owner
        .post_form(
            "/orgs",
            &[("name", "acme corp"), ("same_name", "acme corp")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "created when confirmed"
    );
    let (_, page) = owner.get_html("/account").await;
    let switcher = page
        .split("<ul class=\"menu\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("the switcher");
    let items: Vec<&str> = switcher.split("<li").skip(1).collect();
    let distinct: BTreeSet<String> = items
        .iter()
        .filter(|item| item.to_lowercase().contains("acme corp"))
        .map(|item| item.split('>').skip(2).collect::<String>())
        .collect();
    assert_eq!(distinct.len(), 2, "two distinct entries: {switcher}");
    assert!(switcher.contains("created "), "{switcher}");
}

#[tokio::test]
async fn the_mailbox_shows_each_invitation_state_and_only_live_links() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let (cancelled, resent, live) = (email("cancelled"), email("resent"), email("live"));
    let response = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", &format!("{cancelled}\n{resent}\n{live}")),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let id_of = |address: String| {
        let app = &app;
        async move {
            app.scalar_text(&format!(
                "SELECT id FROM invitations WHERE email_normalized = '{}'",
                address.to_lowercase()
            ))
            .await
        }
    };
    let cancelled_id = id_of(cancelled.clone()).await;
    owner
        .post_form(
            &format!("/orgs/{org}/invitations/{cancelled_id}/cancel"),
            &[],
        )
        .await;
    let resent_id = id_of(resent.clone()).await;
    app.clock.advance(600);
    owner
        .post_form(&format!("/orgs/{org}/invitations/{resent_id}/resend"), &[])
        .await;

    let (status, mailbox) = owner.get_html(&format!("/orgs/{org}/mailbox")).await;
    assert_eq!(status, StatusCode::OK);
    let articles: Vec<&str> = mailbox.split("<article").skip(1).collect();
    assert_eq!(articles.len(), 4, "three sends and one resend");
    let of = |address: &str| -> Vec<&str> {
        articles
            .iter()
            .copied()
            .filter(|a| a.contains(&format!("To {address}")))
            .collect()
    };
    let [cancelled_mail] = of(&cancelled)[..] else {
        panic!("one mail")
    };
    assert!(cancelled_mail.contains("Cancelled"));
    assert!(
        !cancelled_mail.contains("/invitations/"),
        "no dead link: {cancelled_mail}"
    );
    let resent_mails = of(&resent);
    assert_eq!(resent_mails.len(), 2);
    assert_eq!(
        resent_mails
            .iter()
            .filter(|m| m.contains("Replaced by a newer email"))
            .count(),
        1
    );
    assert_eq!(
        resent_mails
            .iter()
            .filter(|m| m.contains(">Pending<"))
            .count(),
        1
    );
    let [live_mail] = of(&live)[..] else {
        panic!("one mail")
    };
    assert!(live_mail.contains(">Pending<"));
    assert!(live_mail.contains("Invitation link for"));
}

#[tokio::test]
async fn the_audit_log_shows_people_words() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let (member, _) = app.add_member(&org, OrgRole::Admin).await;
    owner
        .post_form(
            &format!("/orgs/{org}/members/{member}/role"),
            &[("role", "member")],
        )
        .await;
    let invitee = email("ivy");
    owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", &invitee), ("role", "viewer")],
        )
        .await;
    let (_, page) = owner.get_html(&format!("/orgs/{org}/audit")).await;
    assert!(page.contains("class=\"pre\">Admin</td>"), "{page}");
    assert!(page.contains("class=\"pre\">Member</td>"));
    assert!(!page.contains("class=\"pre\">admin</td>"));
    assert!(page.contains(&format!("Invitation for {invitee}")));
    assert!(!page.contains("(invitation)"));
    let (_, csv) = owner.get_html(&format!("/orgs/{org}/audit.csv")).await;
    let header = csv.lines().next().expect("a header");
    assert_eq!(
        header,
        "\"When\",\"Who\",\"What\",\"Kind\",\"About\",\"Before\",\"After\",\"From address\""
    );
    assert!(csv.contains("\"Role changed\",\"Member\""), "{csv}");
    assert!(csv.contains("\"Admin\",\"Member\""), "{csv}");

    // One word for one thing: a cancelled invitation is "Cancelled" in
    // its list, its filter and the log.
    let id = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE email_normalized = '{}'",
            invitee.to_lowercase()
        ))
        .await;
    owner
        .post_form(&format!("/orgs/{org}/invitations/{id}/cancel"), &[])
        .await;
    let (_, list) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(list.contains("Cancelled"));
    assert!(!list.contains("Revoked"));
    let (_, settings) = owner.get_html(&format!("/orgs/{org}/settings")).await;
    assert!(settings.contains("<h1>Organization settings</h1>"));
    assert!(
        !settings.contains(">General</a>"),
        "the sidebar says Organization"
    );
}

#[tokio::test]
async fn members_can_be_filtered_by_workspace_without_leaving_members() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let response = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Engineering"), ("description", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let engineering = location(&response)
        .rsplit('/')
        .next()
        .expect("the new workspace's id")
        .to_string();
    let (_, in_general) = guest_in_workspace(&app, &org, &general).await;
    let (_, in_engineering) = guest_in_workspace(&app, &org, &engineering).await;

    let (_, all) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(
        !all.contains("/workspaces/{engineering}/members\""),
        "no tabs that leave Members"
    );
    assert!(all.contains("<select id=\"ws\" name=\"ws\">"));
    assert!(all.contains("3 members"));

    let (status, filtered) = owner
        .get_html(&format!("/orgs/{org}/members?ws={engineering}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(filtered.contains("<h1>Members</h1>"));
    assert!(filtered.contains(&in_engineering));
    assert!(
        !filtered.contains(&in_general),
        "a guest of another workspace"
    );
    assert!(filtered.contains("2 members match this view"));
    assert!(filtered.contains(&format!("href=\"/orgs/{org}/workspaces/{engineering}\"")));

    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/members?ws=not-a-workspace"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
