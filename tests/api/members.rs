//! Settings → Members: the list, the role badge, removal, leaving,
//! ownership transfer, and isolation between organizations.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{PASSWORD, email, location, spawn_app};

#[tokio::test]
async fn the_list_searches_filters_sorts_and_pages_with_the_query_in_the_url() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    for i in 0..60 {
        let role = if i % 3 == 0 {
            OrgRole::Viewer
        } else {
            OrgRole::Member
        };
        let user = app
            .insert_user(
                &format!("person{i:02}@acme.test"),
                &format!("Person {i:02}"),
            )
            .await;
        app.add_membership(&org, &user, role).await;
    }
    let special = app
        .insert_user("grace.hopper@navy.test", "Grace Hopper")
        .await;
    app.add_membership(&org, &special, OrgRole::Admin).await;

    let (status, first) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("62 members"));
    assert!(first.contains("Page 1 of 2"));
    assert_eq!(first.matches("<tr id=\"member-").count(), 50, "50 a page");
    let next = pager_link(&first, "next").expect("a link to the next page");
    assert!(next.starts_with("?page=2&after="), "{next}");

    let (_, second) = owner.get_html(&format!("/orgs/{org}/members?page=2")).await;
    assert_eq!(second.matches("<tr id=\"member-").count(), 12);
    assert!(second.contains("Page 2 of 2"));

    let (_, search) = owner
        .get_html(&format!("/orgs/{org}/members?q=HOPPER"))
        .await;
    assert!(search.contains("1 member match"));
    assert!(search.contains("grace.hopper@navy.test"));
    let (_, by_email) = owner
        .get_html(&format!("/orgs/{org}/members?q=navy.te"))
        .await;
    assert!(by_email.contains("Grace Hopper"));
    let (_, wildcard) = owner.get_html(&format!("/orgs/{org}/members?q=%25")).await;
    assert!(
        wildcard.contains("No members match this view."),
        "% is searched literally"
    );

    let (_, viewers) = owner
        .get_html(&format!("/orgs/{org}/members?role=viewer"))
        .await;
    assert!(viewers.contains("20 members match"));
    assert!(!viewers.contains("badge-member\""));

    let (_, paged) = owner
        .get_html(&format!(
            "/orgs/{org}/members?q=person&role=member&sort=joined&page=1"
        ))
        .await;
    assert!(paged.contains("40 members match"));
    assert!(
        paged.contains("value=\"person\""),
        "the search box keeps the query"
    );
    assert!(paged.contains("<option value=\"joined\" selected>"));

    let (_, by_name) = owner
        .get_html(&format!("/orgs/{org}/members?q=person"))
        .await;
    let p00 = by_name.find("Person 00").expect("Person 00");
    let p01 = by_name.find("Person 01").expect("Person 01");
    assert!(p00 < p01, "sorted by name");

    for bad in [
        "role=superuser",
        "sort=password",
        "page=abc",
        "page=18446744073709551615",
        "after=not-a-cursor",
        "sort=joined&after=6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d.ada",
        "after=6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d.a&before=6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d.b",
    ] {
        let response = owner.get(&format!("/orgs/{org}/members?{bad}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// The membership ids of the rows on a members page, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"member-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// The pager link with `rel`, as a query string.
fn pager_link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

#[tokio::test]
async fn next_and_previous_walk_every_member_once_in_each_sort() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    // Seven names for 119 people: the sort keys tie and the id decides.
    for i in 0..119 {
        let user = app
            .insert_user(
                &format!("walker{i:03}@acme.test"),
                &format!("Walker {}", i % 7),
            )
            .await;
        app.add_membership(&org, &user, OrgRole::Member).await;
    }
    for sort in ["name", "joined", "last_active"] {
        let base = format!("/orgs/{org}/members");
        let mut href = format!("{base}?sort={sort}");
        let mut pages: Vec<(String, Vec<String>)> = Vec::new();
        loop {
            let (status, html) = owner.get_html(&href).await;
            assert_eq!(status, StatusCode::OK, "{href}");
            pages.push((href.clone(), row_ids(&html)));
            match pager_link(&html, "next") {
                Some(next) => {
                    assert!(next.contains("after="), "Next carries a cursor: {next}");
                    href = format!("{base}{next}");
                }
                None => break,
            }
        }
        let sizes: Vec<usize> = pages.iter().map(|(_, ids)| ids.len()).collect();
        assert_eq!(sizes, [50, 50, 20], "{sort}");
        let mut every: Vec<&String> = pages.iter().flat_map(|(_, ids)| ids).collect();
        every.sort();
        every.dedup();
        assert_eq!(every.len(), 120, "{sort}: each member exactly once");

        // The same pages as by number.
        for (n, (_, ids)) in pages.iter().enumerate() {
            let (_, html) = owner
                .get_html(&format!("{base}?sort={sort}&page={}", n + 1))
                .await;
            assert_eq!(&row_ids(&html), ids, "{sort}: page {}", n + 1);
        }

        // Previous from the last page walks back to the same pages.
        let (_, last) = owner.get_html(&pages[2].0).await;
        let prev = pager_link(&last, "prev").expect("a Previous link");
        assert!(prev.contains("before="), "{prev}");
        let (_, second) = owner.get_html(&format!("{base}{prev}")).await;
        assert_eq!(row_ids(&second), pages[1].1, "{sort}: back to page 2");
        let first_href = pager_link(&second, "prev").expect("a Previous link");
        assert!(!first_href.contains("before="), "page 1 needs no cursor");
        let (_, first) = owner.get_html(&format!("{base}{first_href}")).await;
        assert_eq!(row_ids(&first), pages[0].1, "{sort}: back to page 1");
    }
}

#[tokio::test]
async fn a_searched_view_keeps_its_page_count_when_walked_by_next() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    for i in 0..119 {
        let user = app
            .insert_user(&format!("seeker{i:03}@acme.test"), &format!("Seeker {i}"))
            .await;
        app.add_membership(&org, &user, OrgRole::Member).await;
    }
    let base = format!("/orgs/{org}/members");
    let mut href = format!("{base}?q=seeker");
    let mut sizes = Vec::new();
    for page in 1..=3 {
        let (status, html) = owner.get_html(&href).await;
        assert_eq!(status, StatusCode::OK, "{href}");
        assert!(
            html.contains(&format!("Page {page} of 3")),
            "page {page} of the 119 who match, however it was reached: {html}"
        );
        sizes.push(row_ids(&html).len());
        match pager_link(&html, "next") {
            Some(next) => {
                assert!(page < 3, "no Next on the last page");
                assert!(next.contains("after="), "Next carries a cursor: {next}");
                href = format!("{base}{next}");
            }
            None => assert_eq!(page, 3, "Next on page {page}"),
        }
    }
    assert_eq!(sizes, [50, 50, 19]);
}

#[tokio::test]
async fn an_admin_changes_a_role_in_place_with_htmx() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;

    let editor = admin
        .client
        .get(admin.url(&format!("/orgs/{org}/members/{target}/role")))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("GET");
    assert_eq!(editor.status(), StatusCode::OK);
    let fragment = editor.text().await.expect("body");
    assert!(
        fragment.starts_with(&format!("<tr id=\"member-{target}\"")),
        "only the row"
    );
    assert!(fragment.contains("<option value=\"admin\""));
    assert!(
        !fragment.contains("<option value=\"owner\""),
        "Owner is never offered"
    );

    let token = admin.csrf_token().await;
    let saved = admin
        .client
        .post(admin.url(&format!("/orgs/{org}/members/{target}/role")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("role=viewer")
        .send()
        .await
        .expect("POST");
    assert_eq!(saved.status(), StatusCode::OK);
    let fragment = saved.text().await.expect("body");
    assert!(fragment.starts_with(&format!("<tr id=\"member-{target}\"")));
    assert!(fragment.contains("badge-viewer"));
    assert!(
        fragment.contains("hx-swap-oob"),
        "an announcement for the live region"
    );
    assert!(fragment.contains("is now Viewer."));
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed' AND before_value = 'member' AND after_value = 'viewer'")
            .await,
        1
    );
}

#[tokio::test]
async fn role_changes_work_without_javascript() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let (target, target_email) = app.add_member(&org, OrgRole::Viewer).await;

    let (status, page) = owner
        .get_html(&format!("/orgs/{org}/members/{target}/role"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<html"), "a whole page without htmx");
    assert!(page.contains("name=\"role\" value=\"admin\""));

    let response = owner
        .post_form(
            &format!("/orgs/{org}/members/{target}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/orgs/{org}/members"));
    let (_, list) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(list.contains("is now Admin."));
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("admin")
    );
}

#[tokio::test]
async fn the_role_ceiling_holds_on_the_server() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let owner_membership = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
        ))
        .await;
    assert_eq!(owner_membership, 1);
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;
    let (viewer, viewer_email) = app.add_member(&org, OrgRole::Viewer).await;
    let owner_id = membership_id_of_owner(&app, &org).await;

    let cases = [
        (
            &admin,
            viewer.as_str(),
            "owner",
            StatusCode::FORBIDDEN,
            "never Owner",
        ),
        (
            &admin,
            owner_id.as_str(),
            "member",
            StatusCode::FORBIDDEN,
            "the Owner cannot be demoted",
        ),
        (
            &admin,
            viewer.as_str(),
            "none",
            StatusCode::FORBIDDEN,
            "not a grantable role",
        ),
        (
            &admin,
            viewer.as_str(),
            "superuser",
            StatusCode::BAD_REQUEST,
            "unknown role",
        ),
        (
            &member,
            viewer.as_str(),
            "member",
            StatusCode::FORBIDDEN,
            "members cannot change roles",
        ),
    ];
    for (browser, target, role, status, why) in cases {
        let response = browser
            .post_form(
                &format!("/orgs/{org}/members/{target}/role"),
                &[("role", role)],
            )
            .await;
        assert_eq!(response.status(), status, "{why}");
    }
    assert_eq!(
        app.role_of(&org, &viewer_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(app.owners_of(&org).await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE org_id IS NOT NULL")
            .await,
        1,
        "only the sign-up's row: refusals write nothing"
    );

    // The owner's row shows no editor to an Admin.
    let (_, list) = admin.get_html(&format!("/orgs/{org}/members")).await;
    assert!(!list.contains(&format!("/members/{owner_id}/role")));
    assert!(!list.contains(&format!("/members/{owner_id}/remove")));
}

async fn membership_id_of_owner(app: &crate::helpers::TestApp, org: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    roster::entities::membership::Entity::find()
        .filter(roster::entities::membership::Column::OrgId.eq(org))
        .filter(roster::entities::membership::Column::Role.eq(OrgRole::Owner))
        .one(app.db.owner())
        .await
        .expect("query")
        .expect("owner")
        .id
}

#[tokio::test]
async fn an_admin_may_demote_themselves_and_then_loses_admin_pages() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    let (_, list) = admin
        .get_html(&format!("/orgs/{org}/members?q=admin"))
        .await;
    let marker = "/members/";
    let start = list.find("(you)").expect("own row");
    let row_start = list[..start].rfind(marker).expect("link") + marker.len();
    let own_id = &list[row_start..row_start + 36];

    let response = admin
        .post_form(
            &format!("/orgs/{org}/members/{own_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &admin_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(
        admin
            .get(&format!("/orgs/{org}/invitations"))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "the very next request uses the new role"
    );
}

#[tokio::test]
async fn removing_a_member_ends_their_access_at_once() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let viewer_email = email("viewer");
    let viewer = app
        .member_with_role(&org, &viewer_email, OrgRole::Viewer)
        .await;
    let (_, list) = owner
        .get_html(&format!("/orgs/{org}/members?role=viewer"))
        .await;
    let start = list.find("/remove\"").expect("remove link");
    let id = &list[start - 36..start];

    let (status, confirm) = owner
        .get_html(&format!("/orgs/{org}/members/{id}/remove"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("will lose access to Acme"));
    assert!(confirm.contains("They own no products."));

    let response = owner
        .post_form(&format!("/orgs/{org}/members/{id}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, after) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(after.contains("has been removed from Acme."));
    assert_eq!(app.role_of(&org, &viewer_email).await, None);
    assert_eq!(
        viewer.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'member.removed'")
            .await,
        1
    );
}

#[tokio::test]
async fn members_leave_but_the_owner_cannot() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let member_email = email("member");
    let member = app
        .member_with_role(&org, &member_email, OrgRole::Member)
        .await;

    let response = member.post_form(&format!("/orgs/{org}/leave"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(&org, &member_email).await, None);
    assert_eq!(
        member.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::NOT_FOUND
    );

    let (_, page) = owner.get_html(&format!("/orgs/{org}/leave")).await;
    assert!(page.contains("The Owner cannot leave."));
    let refused = owner.post_form(&format!("/orgs/{org}/leave"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.owners_of(&org).await, 1);
}

#[tokio::test]
async fn ownership_transfer_swaps_the_roles_after_the_password() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia", &owner_email, "Acme").await;
    let (_, heir_email) = app.add_member(&org, OrgRole::Member).await;
    let (_, outsider_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let (_, outsider_email) = app.add_member(&outsider_org, OrgRole::Admin).await;

    let wrong = owner
        .post_form(
            &format!("/orgs/{org}/transfer"),
            &[("email", &heir_email), ("password", "not it at all")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("Your password is not correct.")
    );

    let stranger = owner
        .post_form(
            &format!("/orgs/{org}/transfer"),
            &[("email", &outsider_email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        stranger.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a member of this organization"
    );
    assert!(
        stranger
            .text()
            .await
            .expect("body")
            .contains("No member of this organization has that email.")
    );
    assert_eq!(
        app.role_of(&org, &owner_email).await.as_deref(),
        Some("owner")
    );

    let done = owner
        .post_form(
            &format!("/orgs/{org}/transfer"),
            &[
                ("email", &heir_email.to_uppercase()),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, &heir_email).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        app.role_of(&org, &owner_email).await.as_deref(),
        Some("admin")
    );
    assert_eq!(app.owners_of(&org).await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'ownership.transferred'")
            .await,
        1
    );
    assert_eq!(
        owner.get(&format!("/orgs/{org}/transfer")).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn general_settings_are_edited_by_admins_and_shown_to_members() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;

    let bad = admin
        .post_form(
            &format!("/orgs/{org}/settings"),
            &[("name", ""), ("description", "")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("Enter an organization name.")
    );

    let saved = admin
        .post_form(
            &format!("/orgs/{org}/settings"),
            &[
                ("name", "Acme <Labs>"),
                ("description", "We build <b>rockets</b>."),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = viewer.get_html(&format!("/orgs/{org}/settings")).await;
    // askama escapes < and > as numeric entities.
    assert!(
        page.contains("Acme &#60;Labs&#62;"),
        "escaped, never rendered as markup"
    );
    assert!(page.contains("We build &#60;b&#62;rockets&#60;/b&#62;."));
    assert!(!page.contains("<b>rockets</b>"));
    assert!(page.contains("Only the Owner and Admins can change these settings."));
    assert!(!page.contains("Delete organization"));
    let row = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'settings.changed' AND after_value LIKE '%name: Acme <Labs>%'")
        .await;
    assert_eq!(row, 1, "the audit row lists the changed fields");
}

#[tokio::test]
async fn deleting_the_organization_needs_the_password_and_the_typed_name() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;

    let wrong_name = owner
        .post_form(
            &format!("/orgs/{org}/delete"),
            &[("confirm_name", "acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong_name.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_name
            .text()
            .await
            .expect("body")
            .contains("Type the organization")
    );
    let wrong_password = owner
        .post_form(
            &format!("/orgs/{org}/delete"),
            &[("confirm_name", "Acme"), ("password", "nope nope nope")],
        )
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("organizations").await, 1);

    let deleted = owner
        .post_form(
            &format!("/orgs/{org}/delete"),
            &[("confirm_name", "Acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("organizations").await, 0);
    assert_eq!(app.count("memberships").await, 0);
    assert_eq!(app.count("workspaces").await, 0);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = 'organization.deleted'"))
            .await,
        1,
        "the record survives the organization"
    );
    assert_eq!(
        member.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        location(&owner.get("/").await),
        "/orgs/new",
        "nothing left: create one"
    );
}

#[tokio::test]
async fn member_ids_from_another_organization_answer_404() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.signed_up("Ada", &email("ada"), "Org A").await;
    let (_, org_b) = app.signed_up("Bob", &email("bob"), "Org B").await;
    let (foreign, foreign_email) = app.add_member(&org_b, OrgRole::Member).await;

    for path in [
        format!("/orgs/{org_a}/members/{foreign}"),
        format!("/orgs/{org_a}/members/{foreign}/role"),
        format!("/orgs/{org_a}/members/{foreign}/remove"),
    ] {
        assert_eq!(
            owner_a.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    let role = owner_a
        .post_form(
            &format!("/orgs/{org_a}/members/{foreign}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(role.status(), StatusCode::NOT_FOUND);
    let remove = owner_a
        .post_form(&format!("/orgs/{org_a}/members/{foreign}/remove"), &[])
        .await;
    assert_eq!(remove.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.role_of(&org_b, &foreign_email).await.as_deref(),
        Some("member")
    );

    // A hidden field naming another organization is ignored: the path decides.
    let (own, own_email) = app.add_member(&org_a, OrgRole::Member).await;
    let response = owner_a
        .post_form(
            &format!("/orgs/{org_a}/members/{own}/role"),
            &[("role", "viewer"), ("org_id", &org_b), ("org", &org_b)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org_a, &own_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(
        app.role_of(&org_b, &foreign_email).await.as_deref(),
        Some("member")
    );
}

/// The Members page is read in the same round trip as the session (on
/// SQLite), before the person's roles are known: each organization of a
/// person in several shows its own members, its own total and, to a
/// Viewer, no invitation counts.
#[tokio::test]
async fn a_person_in_two_organizations_sees_each_ones_own_members_page() {
    let app = spawn_app().await;
    let ada_email = email("ada");
    let (ada, org_a) = app.signed_up("Ada", &ada_email, "Org A").await;
    let (_, org_b) = app.signed_up("Bob", &email("bob"), "Org B").await;
    let ada_user = app.user(&ada_email).await;
    app.add_membership(&org_b, &ada_user, OrgRole::Viewer).await;
    for (org, who, address) in [
        (&org_a, "Grace Hopper", "grace@a.test"),
        (&org_b, "Grace Hollis", "grace@b.test"),
        (&org_b, "Gracie Holt", "gracie@b.test"),
    ] {
        let user = app.insert_user(address, who).await;
        app.add_membership(org, &user, OrgRole::Member).await;
    }
    let invited = ada
        .post_form(
            &format!("/orgs/{org_a}/invitations"),
            &[("emails", "newcomer@a.test"), ("role", "member")],
        )
        .await;
    assert!(invited.status().is_success(), "{}", invited.status());
    assert_eq!(app.count("invitations").await, 1);

    let (status, a) = ada.get_html(&format!("/orgs/{org_a}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(a.contains("2 members"), "Ada and Grace Hopper");
    assert!(a.contains("Pending (1)"), "the Owner sees invitations");
    assert!(a.contains("Grace Hopper") && !a.contains("Grace Hollis"));

    let (status, b) = ada.get_html(&format!("/orgs/{org_b}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(b.contains("4 members"), "Bob, Ada, and the two in Org B");
    assert!(
        !b.contains("Pending ("),
        "a Viewer sees no invitation counts"
    );
    assert!(b.contains("Grace Hollis") && !b.contains("Grace Hopper"));

    // A search by fragment finds only the organization's own matches,
    // and counts them.
    let (_, found) = ada.get_html(&format!("/orgs/{org_b}/members?q=grac")).await;
    assert!(found.contains("2 members match this view"), "{found}");
    assert!(found.contains("Gracie Holt") && !found.contains("Grace Hopper"));
    let (_, found) = ada
        .get_html(&format!("/orgs/{org_a}/members?q=grace"))
        .await;
    assert!(found.contains("1 member matches this view"), "{found}");

    // An organization Ada does not belong to shows nothing at all.
    let (_, org_c) = app.signed_up("Cyrus Quill", &email("cyrus"), "Org C").await;
    for path in [
        format!("/orgs/{org_c}/members"),
        format!("/orgs/{org_c}/members?q=grace"),
    ] {
        let response = ada.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.expect("body");
        assert!(!body.contains("Cyrus Quill"), "{path}");
    }
}

/// SQLite's trigram index of members is merged into one segment at start
/// (a search walks every segment); merged, it still finds every member,
/// those who join afterwards included, and FTS5's own check passes.
#[tokio::test]
async fn the_search_index_merged_at_start_still_finds_every_member() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    for i in 0..30 {
        let user = app
            .insert_user(&format!("person{i}@acme.test"), &format!("Person {i}"))
            .await;
        app.add_membership(&org, &user, OrgRole::Member).await;
    }
    roster::services::members::merge_search_index(&app.db)
        .await
        .expect("merge the index");
    if app.db.backend() == sea_orm::DbBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        app.db
            .owner()
            .execute_unprepared(
                "INSERT INTO member_search (member_search, rank) VALUES ('integrity-check', 1)",
            )
            .await
            .expect("the merged index matches its table");
    }
    let (_, found) = owner
        .get_html(&format!("/orgs/{org}/members?q=person1"))
        .await;
    assert!(found.contains("11 members match this view"), "{found}");
    let late = app.insert_user("zed.late@acme.test", "Zed Late").await;
    app.add_membership(&org, &late, OrgRole::Viewer).await;
    let (_, found) = owner
        .get_html(&format!("/orgs/{org}/members?q=zed.la"))
        .await;
    assert!(found.contains("1 member matches this view"), "{found}");
    assert!(found.contains("Zed Late"));
}
