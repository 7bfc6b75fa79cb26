//! Custom roles built from modules, as people meet them: Settings → Roles
//! (define, edit, delete, start from a template), the organization's own
//! modules (the Owner's), the Manage roles panel of a member (grant and
//! take away, organization-wide or in one workspace, with the levels and
//! their reasons), the ceiling (nobody hands out module levels they do not
//! hold), what a role changes on its holder's very next request, ids of
//! another organization answering 404, and the audit row of every change.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Response, StatusCode};
use roster::domain::role::OrgRole;
use roster::entities::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::helpers::{Browser, TestApp, Who, email, location, spawn_app};

const REFUSED_ABOVE: &str = "module levels you hold yourself";

/// A person with `role` in `org`, signed in; returns their browser and
/// membership id.
async fn person(app: &TestApp, org: &str, role: OrgRole) -> (Browser, String) {
    let address = email(role.as_str());
    let browser = app.member_with_role(org, &address, role).await;
    (browser, membership_of(app, org, &address).await)
}

/// The membership id of `address` in `org`.
async fn membership_of(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// Sends a role's form to `path`: `levels` are (module key,
/// none|read|write).
async fn send_role_form(
    browser: &Browser,
    path: &str,
    name: &str,
    description: &str,
    scope: &str,
    levels: &[(&str, &str)],
) -> Response {
    let fields: Vec<(String, String)> = levels
        .iter()
        .map(|(module, level)| (format!("level_{module}"), (*level).to_string()))
        .collect();
    let mut form: Vec<(&str, &str)> = vec![
        ("name", name),
        ("description", description),
        ("scope", scope),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    browser.post_form(path, &form).await
}

/// Fills in the New role form.
async fn define_role(
    browser: &Browser,
    org: &str,
    name: &str,
    scope: &str,
    levels: &[(&str, &str)],
) -> Response {
    let path = format!("/orgs/{org}/roles");
    send_role_form(browser, &path, name, "Made by a test", scope, levels).await
}

/// Defines a role expecting it to be made; returns its id (read from the
/// redirect, checked against the database).
async fn defined_role(
    app: &TestApp,
    browser: &Browser,
    org: &str,
    name: &str,
    scope: &str,
    levels: &[(&str, &str)],
) -> String {
    let response = define_role(browser, org, name, scope, levels).await;
    let status = response.status();
    let to = location(&response);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "defining {name}: {}",
        response.text().await.unwrap_or_default()
    );
    let id = role_id(app, org, name).await;
    assert_eq!(to, format!("/orgs/{org}/roles/{id}"), "to the role's page");
    id
}

/// Sends the edit form of a role.
async fn update_role(
    browser: &Browser,
    org: &str,
    role: &str,
    name: &str,
    scope: &str,
    levels: &[(&str, &str)],
) -> Response {
    let path = format!("/orgs/{org}/roles/{role}");
    send_role_form(browser, &path, name, "Edited by a test", scope, levels).await
}

async fn role_id(app: &TestApp, org: &str, name: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM custom_roles WHERE org_id = '{org}' AND name = '{name}'"
    ))
    .await
}

/// Sets the custom roles `member` holds in one place (`""` for the
/// organization) through the Manage roles panel.
async fn set_roles(
    browser: &Browser,
    org: &str,
    member: &str,
    workspace: &str,
    roles: &[&str],
) -> Response {
    let mut form: Vec<(&str, &str)> = vec![("workspace_id", workspace)];
    form.extend(roles.iter().map(|id| ("role", *id)));
    browser
        .post_form(&format!("/orgs/{org}/members/{member}/roles"), &form)
        .await
}

/// Sets roles expecting it to work (303 back to the panel).
async fn granted(browser: &Browser, org: &str, member: &str, workspace: &str, roles: &[&str]) {
    let response = set_roles(browser, org, member, workspace, roles).await;
    let status = response.status();
    let to = location(&response);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "setting roles: {}",
        response.text().await.unwrap_or_default()
    );
    assert_eq!(to, format!("/orgs/{org}/members/{member}/roles"));
}

/// The roles a membership holds in one place (`""` for the organization).
async fn held(app: &TestApp, member: &str, workspace: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM role_assignments WHERE membership_id = '{member}' \
         AND scope_key = '{workspace}'"
    ))
    .await
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .order_by_asc(audit_event::Column::CreatedAt)
        .all(app.db.owner())
        .await
        .expect("query")
}

/// Renames a product through its edit form; returns the status.
async fn rename_product(browser: &Browser, org: &str, product: &str, name: &str) -> StatusCode {
    browser
        .post_form(
            &format!("/orgs/{org}/products/{product}"),
            &[("name", name), ("description", "")],
        )
        .await
        .status()
}

async fn body(response: Response) -> String {
    response.text().await.expect("body")
}

/// The tags on `page` carrying `value="{value}"`, to see which checkboxes
/// offer a role and which are checked.
fn tags_with_value<'a>(page: &'a str, value: &str) -> Vec<&'a str> {
    let needle = format!("value=\"{value}\"");
    page.match_indices(&needle)
        .map(|(at, _)| {
            let start = page[..at].rfind('<').unwrap_or(0);
            let end = page[at..].find('>').map_or(page.len(), |e| at + e + 1);
            &page[start..end]
        })
        .collect()
}

#[tokio::test]
async fn an_owner_defines_a_role_with_levels_and_sees_it_listed() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;

    let response = define_role(
        &owner,
        &org,
        "Auditor",
        "organization",
        &[
            ("audit_log", "read"),
            ("members", "read"),
            ("products", "none"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = role_id(&app, &org, "Auditor").await;
    assert_eq!(location(&response), format!("/orgs/{org}/roles/{id}"));
    assert_eq!(
        app.scalar_text(&format!("SELECT scope FROM custom_roles WHERE id = '{id}'"))
            .await,
        "organization"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{id}'"
        ))
        .await,
        2,
        "none is no level"
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT level FROM custom_role_levels WHERE role_id = '{id}' AND module_key = 'audit_log'"
        ))
        .await,
        "read"
    );

    let (status, page) = owner.get_html(&format!("/orgs/{org}/roles")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Roles"));
    assert!(page.contains("Auditor"), "the custom role: {page}");
    for builtin in ["Owner", "Admin", "Member", "Viewer", "Editor"] {
        assert!(page.contains(builtin), "the built-in role {builtin}");
    }
    assert!(
        page.contains(&format!("action=\"/orgs/{org}/roles\"")),
        "the New role form"
    );
    assert!(
        page.contains(&format!(
            "action=\"/orgs/{org}/roles/templates/campaign_manager\""
        )),
        "the templates"
    );
    assert!(
        page.contains(&format!("/orgs/{org}/roles/{id}")),
        "a link to edit it"
    );

    let (status, edit) = owner.get_html(&format!("/orgs/{org}/roles/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(edit.contains("Auditor"));

    let created = audit_rows(&app, "custom_role.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].org_id.as_deref(), Some(org.as_str()));
    assert_eq!(created[0].target_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        created[0].after_value.as_deref(),
        Some("audit_log: Read, members: Read")
    );
}

/// A role form that must come back: name, scope, levels, and the message
/// expected on the page (none: only the status is checked).
type BadForm<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Option<&'a str>);

#[tokio::test]
async fn the_role_form_refuses_bad_input_with_422_and_writes_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "both",
        &[("audit_log", "read")],
    )
    .await;

    let cases: [BadForm; 6] = [
        ("  ", "both", &[("members", "read")], Some("Enter a name")),
        (
            "Admin",
            "both",
            &[("members", "read")],
            Some("built-in role"),
        ),
        (
            "viewer",
            "both",
            &[("members", "read")],
            Some("built-in role"),
        ),
        (
            "AUDITOR",
            "both",
            &[("members", "read")],
            Some("already has a role called"),
        ),
        (
            "Campaigner",
            "both",
            &[("campaigns", "write")],
            Some("campaigns"),
        ),
        ("Planetary", "planet", &[("members", "read")], None),
    ];
    for (name, scope, levels, message) in cases {
        let response = define_role(&owner, &org, name, scope, levels).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} in {scope}"
        );
        let page = body(response).await;
        if let Some(message) = message {
            assert!(page.contains(message), "{name:?}: {message:?} in {page}");
        }
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_roles WHERE org_id = '{org}'"
        ))
        .await,
        1,
        "only Auditor"
    );
    assert_eq!(app.count("custom_role_levels").await, 1);
    assert_eq!(audit_rows(&app, "custom_role.created").await.len(), 1);
}

#[tokio::test]
async fn only_those_who_define_roles_may_and_guests_do_not_see_them() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let org = fixture.org_id.clone();
    let roles = format!("/orgs/{org}/roles");

    let (status, _) = fixture.browser(Who::Guest).get_html(&roles).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a workspace guest");
    for who in [Who::Viewer, Who::Member] {
        let browser = fixture.browser(who);
        let (status, _) = browser.get_html(&roles).await;
        assert_eq!(status, StatusCode::OK, "{who:?} sees the settings");
        let refused = define_role(browser, &org, "Mine", "both", &[("members", "read")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{who:?} defines");
        let refused = browser
            .post_form(&format!("{roles}/templates/reporting"), &[])
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{who:?} template");
    }
    assert_eq!(app.count("custom_roles").await, 0);

    let admin = fixture.browser(Who::Admin);
    let id = defined_role(
        &app,
        admin,
        &org,
        "Helpdesk",
        "both",
        &[("members", "write")],
    )
    .await;
    for who in [Who::Viewer, Who::Member] {
        let browser = fixture.browser(who);
        let (status, _) = browser.get_html(&format!("{roles}/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{who:?} sees the role");
        let edit = update_role(browser, &org, &id, "Taken", "both", &[]).await;
        assert_eq!(edit.status(), StatusCode::FORBIDDEN, "{who:?} edits");
        let delete = browser
            .post_form(&format!("{roles}/{id}/delete"), &[])
            .await;
        assert_eq!(delete.status(), StatusCode::FORBIDDEN, "{who:?} deletes");
    }
    let (status, _) = fixture
        .browser(Who::Guest)
        .get_html(&format!("{roles}/{id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar_text(&format!("SELECT name FROM custom_roles WHERE id = '{id}'"))
            .await,
        "Helpdesk"
    );
    assert_eq!(audit_rows(&app, "custom_role.updated").await.len(), 0);
}

#[tokio::test]
async fn a_template_gives_the_owner_its_role_and_the_modules_it_names() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;

    let response = owner
        .post_form(
            &format!("/orgs/{org}/roles/templates/campaign_manager"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = role_id(&app, &org, "Campaign Manager").await;
    assert_eq!(location(&response), format!("/orgs/{org}/roles/{id}"));
    let modules = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM custom_modules WHERE org_id = '{org}' \
             AND module_key IN ('campaigns', 'reports')"
        ))
        .await;
    assert_eq!(modules, 2, "campaigns and reports are added");
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT level FROM custom_role_levels WHERE role_id = '{id}' AND module_key = 'campaigns'"
        ))
        .await,
        "write"
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT level FROM custom_role_levels WHERE role_id = '{id}' AND module_key = 'reports'"
        ))
        .await,
        "read"
    );
    assert_eq!(audit_rows(&app, "module.added").await.len(), 2);
    assert_eq!(audit_rows(&app, "custom_role.created").await.len(), 1);

    // Reporting names reports, which is there now: no module is added.
    let response = owner
        .post_form(&format!("/orgs/{org}/roles/templates/reporting"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let reporting = role_id(&app, &org, "Reporting").await;
    assert_eq!(
        location(&response),
        format!("/orgs/{org}/roles/{reporting}")
    );
    assert_eq!(app.count("custom_modules").await, 2);
    assert_eq!(audit_rows(&app, "module.added").await.len(), 2);

    let (_, page) = owner.get_html(&format!("/orgs/{org}/roles")).await;
    assert!(page.contains("Campaign Manager"));
    assert!(page.contains("Reporting"));
    assert!(page.contains("Campaigns"), "the module is listed: {page}");

    let unknown = owner
        .post_form(&format!("/orgs/{org}/roles/templates/astrologer"), &[])
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("custom_roles").await, 2);
}

#[tokio::test]
async fn an_admins_template_leaves_out_the_modules_only_the_owner_may_add() {
    let app = spawn_app().await;
    let (_owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (admin, _) = person(&app, &org, OrgRole::Admin).await;

    let response = admin
        .post_form(
            &format!("/orgs/{org}/roles/templates/billing_administrator"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = role_id(&app, &org, "Billing administrator").await;
    assert_eq!(location(&response), format!("/orgs/{org}/roles/{id}"));
    assert_eq!(app.count("custom_modules").await, 0, "no module is added");
    assert_eq!(audit_rows(&app, "module.added").await.len(), 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{id}' AND module_key = 'billing'"
        ))
        .await,
        0,
        "the level in the missing module is left out"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{id}'"
        ))
        .await,
        2,
        "members and settings stay"
    );
    assert_eq!(
        audit_rows(&app, "custom_role.created").await[0]
            .after_value
            .as_deref(),
        Some("members: Read, settings: Read")
    );
}

#[tokio::test]
async fn only_the_owner_adds_modules_with_unique_well_formed_keys() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (admin, _) = person(&app, &org, OrgRole::Admin).await;
    let modules = format!("/orgs/{org}/modules");

    let added = owner
        .post_form(
            &modules,
            &[("name", "Campaigns"), ("key", ""), ("description", "Ads")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&added), format!("/orgs/{org}/roles"));
    let derived = owner
        .post_form(&modules, &[("name", "Loyalty Points"), ("description", "")])
        .await;
    assert_eq!(derived.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_modules WHERE org_id = '{org}' \
             AND module_key IN ('campaigns', 'loyalty_points')"
        ))
        .await,
        2,
        "keys derived from the names"
    );

    for (name, key) in [
        ("Campaigns again", "campaigns"),
        ("People", "members"),
        ("Bad", "Bad Key!"),
        ("", "empty_name"),
    ] {
        let refused = owner
            .post_form(
                &modules,
                &[("name", name), ("key", key), ("description", "")],
            )
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} / {key:?}"
        );
    }
    let refused = admin
        .post_form(
            &modules,
            &[("name", "Billing"), ("key", "billing"), ("description", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "an Admin");
    assert_eq!(app.count("custom_modules").await, 2);
    assert_eq!(audit_rows(&app, "module.added").await.len(), 2);

    // A module of the organization's own may be given in a role.
    defined_role(
        &app,
        &owner,
        &org,
        "Campaigner",
        "both",
        &[("campaigns", "write"), ("loyalty_points", "read")],
    )
    .await;
    let (_, page) = owner.get_html(&format!("/orgs/{org}/roles")).await;
    assert!(page.contains("Loyalty Points"));
}

#[tokio::test]
async fn removing_a_module_drops_its_levels_from_every_role() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (admin, _) = person(&app, &org, OrgRole::Admin).await;
    for name in ["Campaigns", "Billing"] {
        let added = owner
            .post_form(
                &format!("/orgs/{org}/modules"),
                &[("name", name), ("description", "")],
            )
            .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
    }
    let role = defined_role(
        &app,
        &owner,
        &org,
        "Campaigner",
        "both",
        &[("campaigns", "write"), ("products", "read")],
    )
    .await;
    let campaigns = app
        .scalar_text(&format!(
            "SELECT id FROM custom_modules WHERE org_id = '{org}' AND module_key = 'campaigns'"
        ))
        .await;
    let billing = app
        .scalar_text(&format!(
            "SELECT id FROM custom_modules WHERE org_id = '{org}' AND module_key = 'billing'"
        ))
        .await;

    let refused = admin
        .post_form(&format!("/orgs/{org}/modules/{billing}/delete"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "an Admin");

    let removed = owner
        .post_form(&format!("/orgs/{org}/modules/{campaigns}/delete"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_modules WHERE org_id = '{org}'"
        ))
        .await,
        1,
        "Billing stays"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{role}' AND module_key = 'campaigns'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT level FROM custom_role_levels WHERE role_id = '{role}' AND module_key = 'products'"
        ))
        .await,
        "read"
    );
    assert_eq!(audit_rows(&app, "module.removed").await.len(), 1);
    // Once gone, it may no longer be given.
    let refused = update_role(
        &owner,
        &org,
        &role,
        "Campaigner",
        "both",
        &[("campaigns", "write")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_role_manager_defines_and_edits_roles_only_within_their_own_levels() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let manager_role = defined_role(
        &app,
        &owner,
        &org,
        "Role manager",
        "organization",
        &[
            ("members", "write"),
            ("invitations", "write"),
            ("settings", "write"),
            ("workspaces", "read"),
        ],
    )
    .await;
    let auditor = defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "both",
        &[("audit_log", "read")],
    )
    .await;
    let (manager, manager_id) = person(&app, &org, OrgRole::Member).await;

    // Before the role, a Member defines nothing.
    let refused = define_role(&manager, &org, "Early", "both", &[("products", "read")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    granted(&owner, &org, &manager_id, "", &[&manager_role]).await;

    let readers = defined_role(
        &app,
        &manager,
        &org,
        "Product reader",
        "both",
        &[("products", "read"), ("members", "read")],
    )
    .await;
    assert!(!readers.is_empty());

    let above = define_role(
        &manager,
        &org,
        "Snoop",
        "both",
        &[("audit_log", "read"), ("members", "read")],
    )
    .await;
    assert_eq!(above.status(), StatusCode::FORBIDDEN);
    let page = body(above).await;
    assert!(page.contains(REFUSED_ABOVE), "{page}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_roles WHERE org_id = '{org}' AND name = 'Snoop'"
        ))
        .await,
        0
    );

    // Raising a role of theirs above their own levels, or editing one that
    // gives more than they hold: refused, nothing changes.
    let raised = update_role(
        &manager,
        &org,
        &readers,
        "Product reader",
        "both",
        &[("products", "read"), ("product_access", "write")],
    )
    .await;
    assert_eq!(raised.status(), StatusCode::FORBIDDEN);
    assert!(body(raised).await.contains(REFUSED_ABOVE));
    let narrowed = update_role(&manager, &org, &auditor, "Auditor", "both", &[]).await;
    assert_eq!(narrowed.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{auditor}' AND module_key = 'audit_log'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{readers}' AND module_key = 'product_access'"
        ))
        .await,
        0
    );

    // Within their levels the edit goes through.
    let edited = update_role(
        &manager,
        &org,
        &readers,
        "Product readers",
        "both",
        &[("products", "write")],
    )
    .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&edited), format!("/orgs/{org}/roles"));
    let created = audit_rows(&app, "custom_role.created").await;
    assert_eq!(created.len(), 3, "Role manager, Auditor, Product reader");
}

#[tokio::test]
async fn a_role_manager_grants_and_takes_away_only_roles_within_their_levels() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let manager_role = defined_role(
        &app,
        &owner,
        &org,
        "Role manager",
        "organization",
        &[
            ("members", "write"),
            ("invitations", "write"),
            ("settings", "write"),
            ("workspaces", "read"),
        ],
    )
    .await;
    let editor = defined_role(
        &app,
        &owner,
        &org,
        "Product editor",
        "both",
        &[("products", "write")],
    )
    .await;
    let gatekeeper = defined_role(
        &app,
        &owner,
        &org,
        "Gatekeeper",
        "both",
        &[("product_access", "write")],
    )
    .await;
    let auditor = defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "both",
        &[("audit_log", "read")],
    )
    .await;
    let (manager, manager_id) = person(&app, &org, OrgRole::Member).await;
    let (_, target) = person(&app, &org, OrgRole::Viewer).await;
    granted(&owner, &org, &manager_id, "", &[&manager_role]).await;

    granted(&manager, &org, &target, "", &[&editor]).await;
    assert_eq!(held(&app, &target, "").await, 1);

    let refused = set_roles(&manager, &org, &target, "", &[&editor, &gatekeeper]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(body(refused).await.contains(REFUSED_ABOVE));
    assert_eq!(held(&app, &target, "").await, 1, "nothing changes");

    // Nor may they take away what the Owner gave.
    granted(&owner, &org, &target, "", &[&editor, &auditor]).await;
    let refused = set_roles(&manager, &org, &target, "", &[&editor]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM role_assignments WHERE membership_id = '{target}' AND role_id = '{auditor}'"
        ))
        .await,
        1,
        "the Auditor role stays"
    );
    // Taking away one within their levels works, and leaves the rest.
    granted(&manager, &org, &target, "", &[&auditor]).await;
    assert_eq!(held(&app, &target, "").await, 1);
    assert_eq!(audit_rows(&app, "custom_role.revoked").await.len(), 1);

    // Someone who does not manage members changes no roles.
    let (member, _) = person(&app, &org, OrgRole::Member).await;
    let refused = set_roles(&member, &org, &target, "", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(held(&app, &target, "").await, 1);
}

#[tokio::test]
async fn an_auditor_role_opens_the_audit_log_on_the_next_request_and_revoking_closes_it() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let auditor = defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "organization",
        &[("audit_log", "read")],
    )
    .await;
    let (member, member_id) = person(&app, &org, OrgRole::Member).await;
    let audit = format!("/orgs/{org}/audit");

    assert_eq!(member.get(&audit).await.status(), StatusCode::FORBIDDEN);
    granted(&owner, &org, &member_id, "", &[&auditor]).await;
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT role_id FROM role_assignments WHERE membership_id = '{member_id}' AND scope_key = ''"
        ))
        .await,
        auditor
    );
    let (status, _) = member.get_html(&audit).await;
    assert_eq!(status, StatusCode::OK, "on the very next request");

    granted(&owner, &org, &member_id, "", &[]).await;
    assert_eq!(held(&app, &member_id, "").await, 0);
    assert_eq!(member.get(&audit).await.status(), StatusCode::FORBIDDEN);

    let grants = audit_rows(&app, "custom_role.granted").await;
    assert_eq!(grants.len(), 1);
    let before = grants[0].before_value.clone().unwrap_or_default();
    let after = grants[0].after_value.clone().unwrap_or_default();
    assert!(!before.contains("audit_log"), "{before}");
    assert!(after.contains("audit_log: Read"), "{after}");
    assert!(
        after.contains("products: Write"),
        "the Member's own: {after}"
    );
    let revokes = audit_rows(&app, "custom_role.revoked").await;
    assert_eq!(revokes.len(), 1);
    assert!(
        revokes[0]
            .before_value
            .as_deref()
            .unwrap_or_default()
            .contains("audit_log: Read")
    );
    assert!(
        !revokes[0]
            .after_value
            .as_deref()
            .unwrap_or_default()
            .contains("audit_log")
    );
    assert!(
        grants[0]
            .target_label
            .as_deref()
            .unwrap_or_default()
            .contains("Auditor")
    );
}

#[tokio::test]
async fn editing_a_role_changes_what_its_holders_may_do_at_once() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let helper = defined_role(
        &app,
        &owner,
        &org,
        "Helper",
        "organization",
        &[("members", "read")],
    )
    .await;
    let (member, member_id) = person(&app, &org, OrgRole::Member).await;
    granted(&owner, &org, &member_id, "", &[&helper]).await;
    let audit = format!("/orgs/{org}/audit");
    assert_eq!(member.get(&audit).await.status(), StatusCode::FORBIDDEN);

    let edited = update_role(
        &owner,
        &org,
        &helper,
        "Helper",
        "organization",
        &[("members", "read"), ("audit_log", "read")],
    )
    .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&edited), format!("/orgs/{org}/roles"));
    assert_eq!(member.get(&audit).await.status(), StatusCode::OK);

    let updated = audit_rows(&app, "custom_role.updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].target_id.as_deref(), Some(helper.as_str()));
    assert_eq!(updated[0].before_value.as_deref(), Some("members: Read"));
    assert_eq!(
        updated[0].after_value.as_deref(),
        Some("audit_log: Read, members: Read")
    );

    // Renaming to a name another role has is refused.
    defined_role(&app, &owner, &org, "Other", "both", &[]).await;
    let clash = update_role(&owner, &org, &helper, "other", "organization", &[]).await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(member.get(&audit).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn narrowing_the_scope_of_a_role_held_where_it_would_forbid_is_refused() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let general = app.general_workspace(&org).await;
    let analyst = defined_role(
        &app,
        &owner,
        &org,
        "Analyst",
        "both",
        &[("products", "read")],
    )
    .await;
    let (_, member) = person(&app, &org, OrgRole::Viewer).await;
    granted(&owner, &org, &member, &general, &[&analyst]).await;
    assert_eq!(held(&app, &member, &general).await, 1);

    let refused = update_role(
        &owner,
        &org,
        &analyst,
        "Analyst",
        "organization",
        &[("products", "read")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT scope FROM custom_roles WHERE id = '{analyst}'"
        ))
        .await,
        "both"
    );
    let allowed = update_role(
        &owner,
        &org,
        &analyst,
        "Analyst",
        "workspace",
        &[("products", "read")],
    )
    .await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT scope FROM custom_roles WHERE id = '{analyst}'"
        ))
        .await,
        "workspace"
    );
    assert_eq!(held(&app, &member, &general).await, 1);
}

#[tokio::test]
async fn deleting_a_role_takes_it_from_everyone_who_held_it() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let auditor = defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "both",
        &[("audit_log", "read")],
    )
    .await;
    let (member, member_id) = person(&app, &org, OrgRole::Member).await;
    let (_, viewer_id) = person(&app, &org, OrgRole::Viewer).await;
    granted(&owner, &org, &member_id, "", &[&auditor]).await;
    granted(&owner, &org, &viewer_id, "", &[&auditor]).await;
    let audit = format!("/orgs/{org}/audit");
    assert_eq!(member.get(&audit).await.status(), StatusCode::OK);

    let refused = member
        .post_form(&format!("/orgs/{org}/roles/{auditor}/delete"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("role_assignments").await, 2);

    let deleted = owner
        .post_form(&format!("/orgs/{org}/roles/{auditor}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), format!("/orgs/{org}/roles"));
    assert_eq!(app.count("custom_roles").await, 0);
    assert_eq!(app.count("custom_role_levels").await, 0);
    assert_eq!(app.count("role_assignments").await, 0);
    assert_eq!(member.get(&audit).await.status(), StatusCode::FORBIDDEN);
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/roles/{auditor}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let rows = audit_rows(&app, "custom_role.deleted").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id.as_deref(), Some(auditor.as_str()));
    assert_eq!(rows[0].before_value.as_deref(), Some("audit_log: Read"));
}

#[tokio::test]
async fn the_manage_roles_panel_shows_each_place_with_levels_and_reasons() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let berlin = app.add_workspace(&org, "Berlin").await;
    let templated = owner
        .post_form(
            &format!("/orgs/{org}/roles/templates/campaign_manager"),
            &[],
        )
        .await;
    assert_eq!(templated.status(), StatusCode::SEE_OTHER);
    let manager = role_id(&app, &org, "Campaign Manager").await;
    let (_, member) = person(&app, &org, OrgRole::Member).await;
    granted(&owner, &org, &member, &berlin, &[&manager]).await;
    assert_eq!(held(&app, &member, &berlin).await, 1);

    let (status, page) = owner
        .get_html(&format!("/orgs/{org}/members/{member}/roles"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Berlin"));
    assert!(page.contains("General"));
    assert!(page.contains("Campaign Manager"));
    assert!(page.contains("Campaigns"), "the organization's own module");
    assert!(page.contains(">Write<"), "a level cell");
    assert!(
        page.contains("from Campaign Manager (Berlin)"),
        "the reason: {page}"
    );
    assert!(page.contains("inherited from Member"));

    // A workspace role is offered in both workspaces, not organization-wide,
    // and checked only in Berlin.
    let boxes = tags_with_value(&page, &manager);
    assert_eq!(boxes.len(), 2, "{boxes:?}");
    assert!(
        boxes.iter().all(|b| b.contains("name=\"role\"")),
        "{boxes:?}"
    );
    assert_eq!(
        boxes.iter().filter(|b| b.contains("checked")).count(),
        1,
        "{boxes:?}"
    );

    // Who may see it.
    let (viewer, _) = person(&app, &org, OrgRole::Viewer).await;
    let (status, _) = viewer
        .get_html(&format!("/orgs/{org}/members/{member}/roles"))
        .await;
    assert_eq!(status, StatusCode::OK, "a Viewer sees members");
    let (guest, _) = person(&app, &org, OrgRole::None).await;
    let (status, _) = guest
        .get_html(&format!("/orgs/{org}/members/{member}/roles"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a workspace guest sharing no workspace with them does not see them"
    );
}

#[tokio::test]
async fn an_htmx_change_answers_with_the_updated_section_only() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let auditor = defined_role(
        &app,
        &owner,
        &org,
        "Auditor",
        "both",
        &[("audit_log", "read")],
    )
    .await;
    let (_, member) = person(&app, &org, OrgRole::Member).await;

    let token = owner.csrf_token().await;
    let form = serde_urlencoded::to_string([
        ("workspace_id", ""),
        ("role", auditor.as_str()),
        ("csrf_token", token.as_str()),
    ])
    .expect("encode");
    let response = owner
        .client
        .post(owner.url(&format!("/orgs/{org}/members/{member}/roles")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    let fragment = body(response).await;
    assert!(!fragment.contains("<html"), "only the section: {fragment}");
    assert!(fragment.contains("from Auditor"), "{fragment}");
    assert!(fragment.contains("Audit log"));
    assert!(fragment.contains(">Read<"));
    assert!(fragment.contains("inherited from Member"));
    assert_eq!(held(&app, &member, "").await, 1);
    assert_eq!(audit_rows(&app, "custom_role.granted").await.len(), 1);
}

#[tokio::test]
async fn a_role_is_held_only_where_its_scope_allows() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let general = app.general_workspace(&org).await;
    let in_workspaces = defined_role(
        &app,
        &owner,
        &org,
        "Shop helper",
        "workspace",
        &[("products", "write")],
    )
    .await;
    let org_wide = defined_role(
        &app,
        &owner,
        &org,
        "Treasurer",
        "organization",
        &[("settings", "read")],
    )
    .await;
    let (_, member) = person(&app, &org, OrgRole::Viewer).await;

    let refused = set_roles(&owner, &org, &member, "", &[&in_workspaces]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = set_roles(&owner, &org, &member, &general, &[&org_wide]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("role_assignments").await, 0);

    let unknown = set_roles(
        &owner,
        &org,
        &member,
        "no-such-workspace",
        &[&in_workspaces],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let foreign = app.general_workspace(&elsewhere).await;
    let foreign = set_roles(&owner, &org, &member, &foreign, &[&in_workspaces]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("role_assignments").await, 0);

    granted(&owner, &org, &member, &general, &[&in_workspaces]).await;
    granted(&owner, &org, &member, "", &[&org_wide]).await;
    assert_eq!(app.count("role_assignments").await, 2);
    assert_eq!(audit_rows(&app, "custom_role.granted").await.len(), 2);
}

#[tokio::test]
async fn a_role_held_in_one_workspace_widens_what_one_may_do_only_there() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let general = app.general_workspace(&org).await;
    let berlin = app.add_workspace(&org, "Berlin").await;
    let poster = app.add_product(&berlin, "Poster", None).await;
    let flyer = app.add_product(&general, "Flyer", None).await;
    let shop = defined_role(
        &app,
        &owner,
        &org,
        "Shop helper",
        "workspace",
        &[("products", "write"), ("workspaces", "read")],
    )
    .await;
    let (viewer, viewer_id) = person(&app, &org, OrgRole::Viewer).await;
    assert_eq!(
        rename_product(&viewer, &org, &poster, "Poster 2").await,
        StatusCode::FORBIDDEN
    );
    granted(&owner, &org, &viewer_id, &berlin, &[&shop]).await;
    assert_eq!(
        rename_product(&viewer, &org, &poster, "Poster 2").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        rename_product(&viewer, &org, &flyer, "Flyer 2").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.scalar_text(&format!("SELECT name FROM products WHERE id = '{poster}'"))
            .await,
        "Poster 2"
    );
    assert_eq!(
        app.scalar_text(&format!("SELECT name FROM products WHERE id = '{flyer}'"))
            .await,
        "Flyer"
    );

    let (_, panel) = owner
        .get_html(&format!("/orgs/{org}/members/{viewer_id}/roles"))
        .await;
    assert!(panel.contains("from Shop helper (Berlin)"), "{panel}");
}

#[tokio::test]
async fn ids_of_another_organization_answer_404_and_change_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (other, other_org) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let their_role = defined_role(
        &app,
        &other,
        &other_org,
        "Their role",
        "both",
        &[("members", "read")],
    )
    .await;
    let added = other
        .post_form(
            &format!("/orgs/{other_org}/modules"),
            &[("name", "Secrets"), ("description", "")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let their_module = app
        .scalar_text(&format!(
            "SELECT id FROM custom_modules WHERE org_id = '{other_org}'"
        ))
        .await;
    let (_, their_member) = person(&app, &other_org, OrgRole::Member).await;
    let (_, our_member) = person(&app, &org, OrgRole::Member).await;
    let our_role = defined_role(&app, &owner, &org, "Ours", "both", &[("members", "read")]).await;

    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/roles/{their_role}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "4: their role's page");
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/roles/no-such-role"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "4: an unknown role");
    let edit = update_role(&owner, &org, &their_role, "Mine now", "both", &[]).await;
    assert_eq!(edit.status(), StatusCode::NOT_FOUND, "5: editing theirs");
    let delete = owner
        .post_form(&format!("/orgs/{org}/roles/{their_role}/delete"), &[])
        .await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND, "6: deleting theirs");
    let delete = owner
        .post_form(&format!("/orgs/{org}/modules/{their_module}/delete"), &[])
        .await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND, "8: their module");
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/members/{their_member}/roles"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "9: their member's panel");
    let grant = set_roles(&owner, &org, &their_member, "", &[&our_role]).await;
    assert_eq!(grant.status(), StatusCode::NOT_FOUND, "10: their member");
    let grant = set_roles(&owner, &org, &our_member, "", &[&their_role]).await;
    assert!(
        grant.status() == StatusCode::NOT_FOUND
            || grant.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "10: their role id is not ours to grant: {}",
        grant.status()
    );

    assert_eq!(
        app.scalar_text(&format!(
            "SELECT name FROM custom_roles WHERE id = '{their_role}'"
        ))
        .await,
        "Their role"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM custom_modules WHERE id = '{their_module}'"
        ))
        .await,
        1
    );
    assert_eq!(app.count("role_assignments").await, 0);
    assert_eq!(audit_rows(&app, "custom_role.updated").await.len(), 0);
    assert_eq!(audit_rows(&app, "custom_role.deleted").await.len(), 0);
    assert_eq!(audit_rows(&app, "module.removed").await.len(), 0);
}

#[tokio::test]
async fn an_invitation_from_the_invitations_page_carries_custom_roles_into_its_workspace() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let berlin = app.add_workspace(&org, "Berlin").await;
    let made = owner
        .post_form(
            &format!("/orgs/{org}/roles/templates/campaign_manager"),
            &[],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let campaign = role_id(&app, &org, "Campaign Manager").await;
    let page = body(owner.get(&format!("/orgs/{org}/invitations")).await).await;
    assert!(
        page.contains(&format!("name=\"custom_role\" value=\"{campaign}\"")),
        "the form offers Campaign Manager"
    );

    // Without a workspace the roles have nowhere to be held: refused.
    let alone = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "carla@example.test"),
                ("role", "member"),
                ("custom_role", &campaign),
            ],
        )
        .await;
    assert_eq!(alone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(alone).await.contains("choose the workspace"));
    assert_eq!(app.count("invitations").await, 0);

    let sent = owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[
                ("emails", "carla@example.test"),
                ("role", "member"),
                ("workspace_id", &berlin),
                ("workspace_role", "viewer"),
                ("custom_role", &campaign),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert_eq!(app.count("invitation_roles").await, 1);

    let link = app.outbox_link("carla@example.test", "/invitations/").await;
    let joined = app
        .new_browser()
        .post_form(
            &format!("{link}/signup"),
            &[
                ("name", "Carla Campaigner"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(&org, "carla@example.test").await.as_deref(),
        Some("member")
    );
    let carla = membership_of(&app, &org, "carla@example.test").await;
    assert_eq!(
        held(&app, &carla, &berlin).await,
        1,
        "Campaign Manager in Berlin"
    );
    assert_eq!(held(&app, &carla, "").await, 0, "nothing organization-wide");
}
