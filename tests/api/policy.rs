//! The one policy as people meet it: its table printed by `roster
//! permissions` and shown beside the role choices, refusals that come back
//! the same way from every path, and service messages at the field they
//! name.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use sea_orm::EntityTrait;

use crate::helpers::{email, location, spawn_app};

const DISCLOSURE: &str = "<details class=\"role-help\"><summary>What each role can do</summary>";

#[test]
fn roster_permissions_prints_the_table_the_documentation_holds() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("permissions")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run roster permissions");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let documented =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PERMISSIONS.md"))
            .expect("docs/PERMISSIONS.md");
    assert_eq!(printed, documented);
    for line in [
        "| Make another member the Owner | yes | no | no | no | no |",
        "| Lower their own role to Viewer | no | yes | no | no | no |",
        "| Move it to an organization where they are an Admin or the Owner | yes | no | no | no | no |",
        "| Edit it | yes | yes | no | yes | no | no |",
    ] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
}

#[actix_web::test]
async fn what_each_role_can_do_is_beside_the_role_choices() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (member_id, _) = app.add_member(&org, OrgRole::Member).await;
    let general = app.general_workspace(&org).await;
    for path in [
        format!("/orgs/{org}/invitations"),
        format!("/orgs/{org}/members"),
        format!("/orgs/{org}/members/{member_id}"),
        format!("/orgs/{org}/settings"),
        format!("/orgs/{org}/workspaces/{general}/members"),
    ] {
        let (status, page) = owner.get_html(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(page.contains(DISCLOSURE), "{path}: {page}");
    }
    let (_, invitations) = owner.get_html(&format!("/orgs/{org}/invitations")).await;
    assert!(invitations.contains(
        "<th scope=\"row\">Make another member the Owner</th><td>Yes</td><td class=\"muted\">No</td>"
    ));
    assert!(
        invitations.contains("<th scope=\"col\">Editor</th>"),
        "the workspace roles' table too"
    );
    // Someone who chooses no roles is not shown the table.
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    let (status, members) = viewer.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!members.contains(DISCLOSURE));
}

#[actix_web::test]
async fn a_service_s_message_lands_at_the_field_it_names() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    app.confirm_email(&olivia).await;
    // A workspace guest needs a workspace: the message is at that select.
    let refused = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "guest@example.com"),
                ("role", "none"),
                ("workspace_id", ""),
                ("workspace_role", "viewer"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains(
            "<p class=\"field-error\" id=\"workspace_id-error\">Choose a workspace for someone \
             without an organization role.</p>"
        ),
        "{page}"
    );
    assert!(page.contains("<a href=\"#workspace_id\">Choose a workspace"));
    assert!(
        !page.contains("id=\"emails-error\""),
        "not at the addresses"
    );
    assert_eq!(app.count("invitations").await, 0);

    // A product in a workspace that is not the organization's.
    let elsewhere = uuid::Uuid::new_v4().to_string();
    let refused = owner
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &elsewhere),
                ("name", "Atlas"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains(
            "id=\"workspace_id-error\">Choose a workspace where you may add products.</p>"
        ),
        "{page}"
    );
    assert!(!page.contains("id=\"name-error\""));
    assert_eq!(app.count("products").await, 0);
}

#[actix_web::test]
async fn a_workspace_moves_only_where_its_owner_is_an_admin() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (owner, acme) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    let (_, beta) = app.signed_up("Bea Boss", &email("bea"), "Beta").await;
    // Olivia is only a Member of Beta.
    let olivia_id = app.user_id(&olivia).await;
    let person = roster::entities::user::Entity::find_by_id(olivia_id)
        .one(app.db.owner())
        .await
        .expect("read")
        .expect("Olivia");
    app.add_membership(&beta, &person, OrgRole::Member).await;
    let created = owner
        .post_form(
            &format!("/orgs/{acme}/workspaces"),
            &[("title", "Store 7"), ("description", "")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let ws = location(&created)
        .rsplit('/')
        .next()
        .expect("the workspace id")
        .to_string();
    let move_path = format!("/orgs/{acme}/workspaces/{ws}/move");
    let (status, form) = owner.get_html(&move_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !form.contains(&format!("value=\"{beta}\"")),
        "Beta is not offered: {form}"
    );
    let refused = owner.post_form(&move_path, &[("to", &beta)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains(
            "You can move a workspace only to an organization where you are an Admin or the Owner."
        ),
        "{page}"
    );
    let still_home = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE id = '{ws}' AND org_id = '{acme}'"
        ))
        .await;
    assert_eq!(still_home, 1, "nothing moved");
    let moved_rows = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.moved'")
        .await;
    assert_eq!(moved_rows, 0);
}

#[actix_web::test]
async fn a_refusal_reads_the_same_from_the_page_and_from_the_write() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let owner_membership = app
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
        ))
        .await;
    let protected = "The Owner cannot be removed, demoted or leave; transfer ownership first.";
    let member_path = format!("/orgs/{org}/members/{owner_membership}");
    for path in [
        format!("{member_path}/remove"),
        format!("{member_path}/role"),
    ] {
        let (status, page) = admin.get_html(&path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains(protected), "{path}: {page}");
    }
    let removed = admin.post_form(&format!("{member_path}/remove"), &[]).await;
    assert_eq!(removed.status(), StatusCode::FORBIDDEN);
    assert!(removed.text().await.expect("body").contains(protected));
    let demoted = admin
        .post_form(&format!("{member_path}/role"), &[("role", "admin")])
        .await;
    assert_eq!(demoted.status(), StatusCode::FORBIDDEN);
    assert!(demoted.text().await.expect("body").contains(protected));
    assert_eq!(app.owners_of(&org).await, 1);
    // Removing oneself is leaving.
    let own = app
        .scalar_text(&format!(
            "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = '{org}' AND u.email_normalized = '{}'",
            olivia.to_lowercase()
        ))
        .await;
    let refused = owner
        .post_form(&format!("/orgs/{org}/members/{own}/remove"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("To leave the organization, use Leave organization.")
    );
}

#[actix_web::test]
async fn a_guest_who_gives_up_their_own_role_lands_on_their_workspaces() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let general = app.general_workspace(&org).await;
    let created = app.add_workspace(&org, "Store 7").await;
    let mut guests = Vec::new();
    for label in ["guest-a", "guest-b"] {
        let address = email(label);
        let browser = app.member_with_role(&org, &address, OrgRole::None).await;
        let user_id = app.user_id(&address).await;
        app.add_workspace_role(&general, &user_id, "admin").await;
        app.add_workspace_role(&created, &user_id, "viewer").await;
        let membership = app
            .scalar_text(&format!(
                "SELECT id FROM memberships WHERE org_id = '{org}' AND user_id = '{user_id}'"
            ))
            .await;
        guests.push((browser, membership));
    }
    let role_path =
        |membership: &str| format!("/orgs/{org}/workspaces/{general}/members/{membership}/role");
    // Without JavaScript: a redirect to the workspaces they still have.
    let (plain, plain_id) = &guests[0];
    let gone = plain
        .post_form(&role_path(plain_id), &[("role", "none")])
        .await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&gone), format!("/orgs/{org}/workspaces"));
    let (status, list) = plain.get_html(&location(&gone)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("Store 7") && !list.contains(">General</a>"),
        "{list}"
    );
    // By htmx: the browser is sent there too, not shown a 404.
    let (htmx, htmx_id) = &guests[1];
    let token = htmx.csrf_token().await;
    let response = htmx
        .client
        .post(htmx.url(&role_path(htmx_id)))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&[("role", "none")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("HX-Redirect")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/orgs/{org}/workspaces").as_str())
    );
    let left = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{general}' AND role = 'admin'"
        ))
        .await;
    assert_eq!(left, 0, "both gave their role up");
}

#[actix_web::test]
async fn someone_who_may_add_no_product_is_refused_before_the_form_is_read() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let general = app.general_workspace(&org).await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    for name in ["", "Atlas"] {
        let refused = viewer
            .post_form(
                &format!("/orgs/{org}/products"),
                &[
                    ("workspace_id", &general),
                    ("name", name),
                    ("description", ""),
                ],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "name {name:?}");
        assert!(
            refused
                .text()
                .await
                .expect("body")
                .contains("permission to add products in this organization.")
        );
    }
    assert_eq!(app.count("products").await, 0);
}
