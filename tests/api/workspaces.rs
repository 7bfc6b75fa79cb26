//! Workspaces: the list (what each person may see), creation with unique
//! titles, the Overview with its access label, renaming under the
//! workspace's rules, isolation between organizations, and ownership when
//! a workspace's Owner leaves.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{PASSWORD, TestApp, email, location, spawn_app};

#[tokio::test]
async fn admins_create_workspaces_with_titles_unique_in_the_organization() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;

    let created = admin
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[
                ("title", "  Store 12 "),
                ("description", "The harbour shop"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let page_path = location(&created);
    let (status, page) = admin.get_html(&page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Store 12</h1>"));
    assert!(page.contains("Workspace Store 12 is ready."));
    assert!(page.contains("Owner: Admin"), "the creator owns it: {page}");
    assert!(page.contains(
        "your access: Owner — given in this workspace; Admin from the organization role"
    ));

    let taken = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "STORE 12"), ("description", "")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .expect("body")
            .contains("Another workspace of this organization has this title.")
    );
    let refused = member
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Mine"), ("description", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let blank = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", " "), ("description", "")],
        )
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}'"
        ))
        .await,
        2
    );
    // Another organization may use the same title.
    let (other, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let same = other
        .post_form(
            &format!("/orgs/{other_org}/workspaces"),
            &[("title", "Store 12"), ("description", "")],
        )
        .await;
    assert_eq!(same.status(), StatusCode::SEE_OTHER);

    // The list: search, sort, 25 a page.
    app.clock.advance(60);
    for i in 0..25 {
        owner
            .post_form(
                &format!("/orgs/{org}/workspaces"),
                &[("title", &format!("Branch {i:02}")), ("description", "")],
            )
            .await;
    }
    let (_, list) = member.get_html(&format!("/orgs/{org}/workspaces")).await;
    assert!(list.contains("27 workspaces"));
    assert!(list.contains("Page 1 of 2"));
    assert_eq!(list.matches("<tr id=\"workspace-").count(), 25);
    assert!(
        !list.contains("New workspace"),
        "a Member cannot create one"
    );
    let (_, found) = member
        .get_html(&format!("/orgs/{org}/workspaces?q=STORE"))
        .await;
    assert!(found.contains("1 workspace matches this search"));
    assert!(found.contains("Store 12"));
    let (_, newest) = member
        .get_html(&format!("/orgs/{org}/workspaces?sort=created"))
        .await;
    assert!(
        !newest.contains("General</a></td>"),
        "the oldest is not on page 1"
    );
    let (_, oldest) = member
        .get_html(&format!("/orgs/{org}/workspaces?sort=created&page=2"))
        .await;
    assert!(
        oldest.contains("General</a></td>"),
        "newest first: {oldest}"
    );
    let bad = member
        .get(&format!("/orgs/{org}/workspaces?sort=size"))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.created'")
        .await;
    assert_eq!(audit, 27);
}

#[tokio::test]
async fn renaming_follows_the_workspace_role_and_ids_stay_in_their_organization() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let ws = app.general_workspace(&org).await;
    let viewer_email = email("viewer");
    let viewer = app
        .member_with_role(&org, &viewer_email, OrgRole::Viewer)
        .await;
    let editor_email = email("ws-admin");
    let ws_admin = app
        .member_with_role(&org, &editor_email, OrgRole::Viewer)
        .await;
    app.add_workspace_role(&ws, &app.user_id(&editor_email).await, "admin")
        .await;

    let path = format!("/orgs/{org}/workspaces/{ws}");
    let (_, page) = viewer.get_html(&path).await;
    assert!(page.contains("your access: Viewer — from the organization role"));
    assert!(
        !page.contains("<form method=\"post\" action=\"/orgs/"),
        "read-only"
    );
    let refused = viewer
        .post_form(&path, &[("title", "Taken over"), ("description", "")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let (_, page) = ws_admin.get_html(&path).await;
    assert!(page.contains(
        "your access: Admin — given in this workspace; Viewer from the organization role"
    ));
    let renamed = ws_admin
        .post_form(
            &path,
            &[
                ("title", "Head office"),
                ("description", "Where it started"),
            ],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let title = app
        .scalar_text(&format!("SELECT title FROM workspaces WHERE id = '{ws}'"))
        .await;
    assert_eq!(title, "Head office");
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.renamed'")
        .await;
    assert_eq!(audit, 1);

    // Another organization's Owner: the id answers 404, and nothing moves.
    let (outsider, outsider_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    for attempt in [
        format!("/orgs/{outsider_org}/workspaces/{ws}"),
        format!("/orgs/{org}/workspaces/{ws}"),
    ] {
        let (status, _) = outsider.get_html(&attempt).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{attempt}");
        let post = outsider
            .post_form(&attempt, &[("title", "Mine now"), ("description", "")])
            .await;
        assert_eq!(post.status(), StatusCode::NOT_FOUND, "{attempt}");
    }
    let title = app
        .scalar_text(&format!("SELECT title FROM workspaces WHERE id = '{ws}'"))
        .await;
    assert_eq!(title, "Head office");
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/workspaces/not-a-workspace"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_workspace_guest_sees_only_their_workspaces() {
    let app = spawn_app().await;
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
    let guest_email = email("guest");
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    app.add_workspace_role(&store, &app.user_id(&guest_email).await, "editor")
        .await;

    // The Owner's list counts everyone with access: the Owner (inherited)
    // and, in Store 1, the guest too.
    let (_, all) = owner.get_html(&format!("/orgs/{org}/workspaces")).await;
    assert!(
        all.contains("Store 1</a></td>\n      <td data-label=\"Owner\">Olivia Owner</td>\n      <td data-label=\"Members\">2</td>"),
        "{all}"
    );
    assert!(all.contains("General</a></td>\n      <td data-label=\"Owner\">Olivia Owner</td>\n      <td data-label=\"Members\">1</td>"));
    let (status, list) = guest.get_html(&format!("/orgs/{org}/workspaces")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("1 workspace"));
    assert!(list.contains("Store 1"));
    assert!(!list.contains("General</a></td>"));
    let (status, page) = guest
        .get_html(&format!("/orgs/{org}/workspaces/{store}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("your access: Editor — given in this workspace"));
    let general = app.general_workspace(&org).await;
    let (status, _) = guest
        .get_html(&format!("/orgs/{org}/workspaces/{general}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not another workspace");
    let (status, _) = guest.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not the member list");
}

#[tokio::test]
async fn when_a_workspace_owner_leaves_the_organization_owner_takes_it_over() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    admin
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Store 9"), ("description", "")],
        )
        .await;
    let store = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'store 9'"
        ))
        .await;
    let owner_id = app.user_id(&owner_email).await;
    app.add_workspace_role(&store, &owner_id, "viewer").await;
    let admin_id = app.user_id(&admin_email).await;
    let membership = app
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{org}' AND user_id = '{admin_id}'"
        ))
        .await;

    let removed = owner
        .post_form(&format!("/orgs/{org}/members/{membership}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let owners = app
        .scalar_text(&format!(
            "SELECT user_id FROM workspace_members WHERE workspace_id = '{store}' AND role = 'owner'"
        ))
        .await;
    assert_eq!(owners, owner_id, "the organization's Owner owns it now");
    let roles = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{store}'"
        ))
        .await;
    assert_eq!(roles, 1, "one Owner, and the leaver's roles are gone");
    let left = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE user_id = '{admin_id}'"
        ))
        .await;
    assert_eq!(left, 0);
}

async fn membership_of(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

#[tokio::test]
async fn workspace_admins_grant_and_take_away_direct_roles_under_the_ceiling() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let ws = app.general_workspace(&org).await;
    let (member_email, viewer_email, guest_email) =
        (email("member"), email("viewer"), email("guest"));
    let member = app
        .member_with_role(&org, &member_email, OrgRole::Member)
        .await;
    let viewer = app
        .member_with_role(&org, &viewer_email, OrgRole::Viewer)
        .await;
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    let tab = format!("/orgs/{org}/workspaces/{ws}/members");
    let role_path = |address_membership: &str| {
        format!("/orgs/{org}/workspaces/{ws}/members/{address_membership}/role")
    };

    // The member list filters by workspace, on Members.
    let (_, all) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert!(
        all.contains(&format!("<option value=\"{ws}\">General</option>")),
        "{all}"
    );
    let (status, list) = owner.get_html(&tab).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("3 people have access"), "{list}");
    assert!(list.contains("Owner — given in this workspace; Admin from the organization role"));
    assert!(list.contains("Editor — from the organization role"));
    assert!(
        !list.contains(&guest_email),
        "a guest without a role has no access"
    );

    // Without JavaScript: the guest gets a direct Editor role.
    let guest_membership = membership_of(&app, &org, &guest_email).await;
    let granted = owner
        .post_form(&role_path(&guest_membership), &[("role", "editor")])
        .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let (status, _) = guest
        .get_html(&format!("/orgs/{org}/workspaces/{ws}"))
        .await;
    assert_eq!(status, StatusCode::OK, "the guest sees the workspace now");
    let (_, guest_view) = guest.get_html(&tab).await;
    assert!(guest_view.contains("by a direct role"));
    assert!(guest_view.contains(&guest_email));
    assert!(
        !guest_view.contains(&member_email),
        "a guest does not see the organization's members"
    );

    // An organization Member (Editor here) sees everyone, without controls.
    let (_, member_view) = member.get_html(&tab).await;
    assert!(member_view.contains(&guest_email));
    assert!(member_view.contains("Editor — given in this workspace"));
    assert!(!member_view.contains("<select"));

    // By htmx: only the row comes back, with an announcement.
    let viewer_membership = membership_of(&app, &org, &viewer_email).await;
    let token = owner.csrf_token().await;
    let response = owner
        .client
        .post(owner.url(&role_path(&viewer_membership)))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("role=admin")
        .send()
        .await
        .expect("grant");
    assert_eq!(response.status(), StatusCode::OK);
    let fragment = response.text().await.expect("body");
    assert!(fragment.starts_with(&format!("<tr id=\"access-{viewer_membership}\"")));
    assert!(
        fragment.contains("Admin — given in this workspace; Viewer from the organization role")
    );
    assert!(fragment.contains("hx-swap-oob"));

    // The access explainer on the member's page says why.
    let (_, explained) = owner
        .get_html(&format!("/orgs/{org}/members/{viewer_membership}"))
        .await;
    assert!(
        explained.contains("Admin — given in this workspace; Viewer from the organization role"),
        "{explained}"
    );
    assert!(explained.contains("<td>Admin</td>"), "effective role");

    // The new workspace Admin manages roles, up to Admin, never Owner.
    let member_membership = membership_of(&app, &org, &member_email).await;
    let up = viewer
        .post_form(&role_path(&member_membership), &[("role", "admin")])
        .await;
    assert_eq!(up.status(), StatusCode::SEE_OTHER);
    let owner_row = app
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
        ))
        .await;
    for (target, role) in [
        (&member_membership, "owner"),
        (&owner_row, "viewer"),
        (&owner_row, "none"),
    ] {
        let refused = viewer
            .post_form(&role_path(target), &[("role", role)])
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let unknown = viewer
        .post_form(&role_path(&member_membership), &[("role", "superuser")])
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    // An Editor cannot manage roles.
    let plain_email = email("plain");
    let plain = app
        .member_with_role(&org, &plain_email, OrgRole::Member)
        .await;
    let refused = plain
        .post_form(&role_path(&guest_membership), &[("role", "viewer")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Taking the guest's role away ends their access.
    let revoked = viewer
        .post_form(&role_path(&guest_membership), &[("role", "none")])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let (_, explained) = owner
        .get_html(&format!("/orgs/{org}/members/{guest_membership}"))
        .await;
    assert!(explained.contains("has no access to any workspace"));
    let (status, _) = guest
        .get_html(&format!("/orgs/{org}/workspaces/{ws}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A member of another organization: 404, nothing written.
    let (_, other_org) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let foreign = app
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{other_org}'"
        ))
        .await;
    let refused = owner
        .post_form(&role_path(&foreign), &[("role", "viewer")])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let granted = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.role_granted'")
        .await;
    let revoked = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.role_revoked'")
        .await;
    assert_eq!((granted, revoked), (3, 1));
    let owners = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{ws}' AND role = 'owner'"
        ))
        .await;
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn ownership_moves_by_transfer_and_stays_single_under_concurrent_transfers() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    let (m1, m2) = (email("member1"), email("member2"));
    app.member_with_role(&org, &m1, OrgRole::Member).await;
    app.member_with_role(&org, &m2, OrgRole::Member).await;
    admin
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Store 5"), ("description", "")],
        )
        .await;
    let store = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'store 5'"
        ))
        .await;
    let transfer = format!("/orgs/{org}/workspaces/{store}/transfer");
    let owner_of_store = || {
        let app = &app;
        let store = store.clone();
        async move {
            app.scalar_text(&format!(
                "SELECT u.email_normalized FROM workspace_members wm JOIN users u ON u.id = wm.user_id \
                 WHERE wm.workspace_id = '{store}' AND wm.role = 'owner'"
            ))
            .await
        }
    };

    // The workspace Owner's password confirms a transfer: wrong or
    // missing, nothing changes.
    for fields in [
        vec![
            ("email", m1.as_str()),
            ("password", "not the password at all"),
        ],
        vec![("email", m1.as_str()), ("password", "")],
        vec![("email", m1.as_str())],
    ] {
        let refused = admin.post_form(&transfer, &fields).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert!(
            refused
                .text()
                .await
                .expect("body")
                .contains("Your password is not correct."),
            "{fields:?}"
        );
        assert_eq!(owner_of_store().await, admin_email.to_lowercase());
    }
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.ownership_transferred'"
        )
        .await,
        0,
        "nothing was transferred"
    );

    let unknown = admin
        .post_form(
            &transfer,
            &[("email", "nobody@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .expect("body")
            .contains("Nobody in this organization has that email address.")
    );
    // The organization's Owner may transfer any workspace.
    let moved = owner
        .post_form(&transfer, &[("email", &m1), ("password", PASSWORD)])
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let role_of = |address: String| {
        let app = &app;
        let store = store.clone();
        async move {
            app.scalar_text(&format!(
                "SELECT wm.role FROM workspace_members wm JOIN users u ON u.id = wm.user_id \
                 WHERE wm.workspace_id = '{store}' AND u.email_normalized = '{}'",
                address.to_lowercase()
            ))
            .await
        }
    };
    assert_eq!(role_of(m1.clone()).await, "owner");
    assert_eq!(
        role_of(admin_email.clone()).await,
        "admin",
        "the old Owner stays Admin"
    );
    // The old Owner, now only an Admin here, may not transfer it.
    let refused = admin
        .post_form(
            &transfer,
            &[("email", &admin_email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Two transfers at once: one wins, no 500, one Owner.
    let to_m2 = [("email", m2.as_str()), ("password", PASSWORD)];
    let to_admin = [("email", admin_email.as_str()), ("password", PASSWORD)];
    let (a, b) = tokio::join!(
        owner.post_form(&transfer, &to_m2),
        owner.post_form(&transfer, &to_admin),
    );
    for status in [a.status(), b.status()] {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(&status),
            "{status}"
        );
    }
    let owners = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{store}' AND role = 'owner'"
        ))
        .await;
    assert_eq!(owners, 1);
    let transfers = app
        .scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.ownership_transferred'",
        )
        .await;
    assert!(transfers >= 2);
}

#[tokio::test]
async fn deleting_a_workspace_needs_its_title_and_leaves_one_behind() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    owner
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
    let delete = format!("/orgs/{org}/workspaces/{popup}/delete");
    let (_, page) = owner
        .get_html(&format!("/orgs/{org}/workspaces/{popup}"))
        .await;
    assert!(page.contains("removes it, its 0 products and the direct roles of 1 person"));

    let refused = admin
        .post_form(&delete, &[("confirm_title", "Pop-up")])
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "an org Admin does not own it"
    );
    let mistyped = owner
        .post_form(&delete, &[("confirm_title", "pop up")])
        .await;
    assert_eq!(mistyped.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped
            .text()
            .await
            .expect("body")
            .contains("title exactly to confirm")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}'"
        ))
        .await,
        2
    );
    let deleted = owner
        .post_form(&delete, &[("confirm_title", "Pop-up")])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{popup}'"
        ))
        .await,
        0
    );
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/workspaces/{popup}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.deleted'")
        .await;
    assert_eq!(audit, 1);

    let general = app.general_workspace(&org).await;
    let last = owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{general}/delete"),
            &[("confirm_title", "General")],
        )
        .await;
    assert_eq!(last.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        last.text()
            .await
            .expect("body")
            .contains("An organization keeps at least one workspace.")
    );
}

#[tokio::test]
async fn a_moved_workspace_leaves_the_old_organization_entirely() {
    let app = spawn_app().await;
    let (owner, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let created = owner.post_form("/orgs", &[("name", "Beta")]).await;
    let beta = location(&created)
        .trim_start_matches("/orgs/")
        .split('/')
        .next()
        .expect("the new organization's id")
        .to_string();
    owner
        .post_form(
            &format!("/orgs/{acme}/workspaces"),
            &[("title", "Store 7"), ("description", "")],
        )
        .await;
    let ws = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{acme}' AND title_normalized = 'store 7'"
        ))
        .await;
    let (guest_email, both_email, admin_email) = (email("guest"), email("both"), email("admin"));
    let guest = app
        .member_with_role(&acme, &guest_email, OrgRole::None)
        .await;
    let both = app
        .member_with_role(&acme, &both_email, OrgRole::Member)
        .await;
    let both_user = app.user_id(&both_email).await;
    // "both" belongs to Beta too.
    app.add_membership(&beta, &app.user(&both_email).await, OrgRole::Viewer)
        .await;
    app.add_workspace_role(&ws, &app.user_id(&guest_email).await, "editor")
        .await;
    app.add_workspace_role(&ws, &both_user, "admin").await;
    let admin = app
        .member_with_role(&acme, &admin_email, OrgRole::Admin)
        .await;

    let move_path = format!("/orgs/{acme}/workspaces/{ws}/move");
    let refused = admin.post_form(&move_path, &[("to", &beta)]).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "an org Admin does not own it"
    );
    let (status, preview) = owner.get_html(&format!("{move_path}?to={beta}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        preview.contains(&guest_email),
        "the guest loses access: {preview}"
    );
    assert!(!preview.contains(&both_email), "a member of Beta keeps it");

    let moved = owner.post_form(&move_path, &[("to", &beta)]).await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&moved), format!("/orgs/{beta}/workspaces/{ws}"));

    // Nothing of it is left in Acme.
    for person in [&both, &guest, &admin, &owner] {
        let (status, _) = person
            .get_html(&format!("/orgs/{acme}/workspaces/{ws}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, acme_list) = owner.get_html(&format!("/orgs/{acme}/workspaces")).await;
    assert!(!acme_list.contains(">Store 7</a></td>"), "{acme_list}");
    let rows_in_acme = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE org_id = '{acme}' AND workspace_id = '{ws}'"
        ))
        .await;
    assert_eq!(rows_in_acme, 0);
    // In Beta: the member of both keeps the direct role, the guest's is gone.
    let (status, page) = both
        .get_html(&format!("/orgs/{beta}/workspaces/{ws}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Admin — given in this workspace; Viewer from the organization role"));
    let guest_rows = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members wm JOIN users u ON u.id = wm.user_id \
             WHERE wm.workspace_id = '{ws}' AND u.email_normalized = '{}'",
            guest_email.to_lowercase()
        ))
        .await;
    assert_eq!(guest_rows, 0);
    let owners = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{ws}' AND role = 'owner'"
        ))
        .await;
    assert_eq!(owners, 1);
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.moved'")
        .await;
    assert_eq!(audit, 2, "one row in each organization");

    // Back again is refused while Acme has a workspace of that title.
    owner
        .post_form(
            &format!("/orgs/{acme}/workspaces"),
            &[("title", "Store 7"), ("description", "")],
        )
        .await;
    let clash = owner
        .post_form(
            &format!("/orgs/{beta}/workspaces/{ws}/move"),
            &[("to", &acme)],
        )
        .await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
