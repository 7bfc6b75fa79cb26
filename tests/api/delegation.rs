//! Delegation to workspace admins: a workspace's Admin (even a guest with
//! no organization role) invites people straight into that workspace and
//! hands out custom roles there, never above their own levels there and
//! never beyond it; and a limited role manager granting a role while the
//! Owner redefines it leaves a consistent state.

use futures_util::future::join_all;
use reqwest::{Response, StatusCode};
use roster::domain::role::OrgRole;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app, spawn_app_with};

/// Roster's own modules, whose level fields every role form sends.
const BUILTIN_MODULES: [&str; 8] = [
    "members",
    "invitations",
    "workspaces",
    "products",
    "product_access",
    "audit_log",
    "settings",
    "api_keys",
];

/// Adds one of the organization's own modules on the Roles page.
pub(super) async fn add_module(owner: &Browser, org: &str, key: &str, name: &str) {
    let added = owner
        .post_form(
            &format!("/orgs/{org}/modules"),
            &[("name", name), ("key", key), ("description", "")],
        )
        .await;
    assert_eq!(
        added.status(),
        StatusCode::SEE_OTHER,
        "add the module {key}"
    );
}

/// The role form's fields: every built-in module's level (None unless
/// `levels` names it) and the levels of the organization's own modules
/// `levels` names.
fn role_form(name: &str, scope: &str, levels: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = vec![
        ("name".to_string(), name.to_string()),
        ("description".to_string(), format!("{name}, for the tests")),
        ("scope".to_string(), scope.to_string()),
    ];
    let level_of = |key: &str| {
        levels
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("none", |(_, level)| level)
    };
    for key in BUILTIN_MODULES {
        fields.push((format!("level_{key}"), level_of(key).to_string()));
    }
    for (key, level) in levels {
        if !BUILTIN_MODULES.contains(key) {
            fields.push((format!("level_{key}"), (*level).to_string()));
        }
    }
    fields
}

fn as_pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Defines a custom role on the Roles page (`scope` organization,
/// workspace or both); returns its id.
pub(super) async fn define_role(
    owner: &Browser,
    org: &str,
    name: &str,
    scope: &str,
    levels: &[(&str, &str)],
) -> String {
    let fields = role_form(name, scope, levels);
    let created = owner
        .post_form(&format!("/orgs/{org}/roles"), &as_pairs(&fields))
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER, "define {name}");
    let to = location(&created);
    let prefix = format!("/orgs/{org}/roles/");
    let id = to
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("the new role's page, not {to}"));
    assert!(!id.is_empty() && !id.contains('/'), "{to}");
    id.to_string()
}

/// Sets exactly the custom roles `member_id` holds in `place` (a
/// workspace id, or "" for organization-wide) on the member's page.
pub(super) async fn set_roles(
    browser: &Browser,
    org: &str,
    member_id: &str,
    place: &str,
    roles: &[&str],
) -> Response {
    let mut fields = vec![("workspace_id", place)];
    fields.extend(roles.iter().map(|role| ("role", *role)));
    browser
        .post_form(&format!("/orgs/{org}/members/{member_id}/roles"), &fields)
        .await
}

/// The membership id of the person with `address` in `org`.
pub(super) async fn membership_id(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// A person with no organization role and the direct `role` in
/// `workspace`, signed in; returns their browser and membership id.
pub(super) async fn workspace_guest(
    app: &TestApp,
    org: &str,
    workspace: &str,
    address: &str,
    role: &str,
) -> (Browser, String) {
    let browser = app.member_with_role(org, address, OrgRole::None).await;
    app.add_workspace_role(workspace, &app.user_id(address).await, role)
        .await;
    (browser, membership_id(app, org, address).await)
}

/// How many custom roles `member_id` holds in `place` ("" for
/// organization-wide), or only `role` when given.
async fn held(app: &TestApp, member_id: &str, place: &str, role: Option<&str>) -> i64 {
    let role_filter = role
        .map(|r| format!(" AND role_id = '{r}'"))
        .unwrap_or_default();
    app.scalar(&format!(
        "SELECT COUNT(*) FROM role_assignments WHERE membership_id = '{member_id}' \
         AND scope_key = '{place}'{role_filter}"
    ))
    .await
}

/// The message of the flash on a page, if it has one.
fn flash_on(page: &str) -> Option<&str> {
    let start = page.find("<div class=\"alert alert-")?;
    let body = &page[start..];
    let open = body.find('>')? + 1;
    let close = body.find("</div>")?;
    Some(&body[open..close])
}

/// Invites `emails` into a workspace from its Members tab.
async fn invite_into(
    browser: &Browser,
    org: &str,
    workspace: &str,
    emails: &str,
    workspace_role: &str,
    roles: &[&str],
) -> Response {
    let mut fields = vec![("emails", emails), ("workspace_role", workspace_role)];
    fields.extend(roles.iter().map(|role| ("role", *role)));
    browser
        .post_form(
            &format!("/orgs/{org}/workspaces/{workspace}/invitations"),
            &fields,
        )
        .await
}

/// One column of the invitation to `address`.
async fn invitation_column(app: &TestApp, address: &str, column: &str) -> String {
    app.scalar_text(&format!(
        "SELECT {column} FROM invitations WHERE email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

async fn invitations_to(app: &TestApp, address: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM invitations WHERE email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

/// A refused workspace invitation: who is refused, their browser, the
/// workspace, the workspace role, the custom roles carried, and the
/// status (None: any refusal will do).
type Refusal<'a> = (
    &'a str,
    &'a Browser,
    &'a str,
    &'a str,
    &'a [&'a str],
    Option<StatusCode>,
);

/// Acme with the workspaces Berlin and Munich, its own module Campaigns,
/// and the custom roles a workspace Admin may or may not hand out.
struct Acme {
    owner: Browser,
    org: String,
    berlin: String,
    munich: String,
    /// Workspace scope: Campaigns Write, Products Write, Members Read.
    campaign_manager: String,
    /// Workspace scope: Audit log Read, which a workspace Admin lacks.
    auditor: String,
    /// Organization-wide only: Campaigns Read.
    campaign_reader: String,
}

async fn acme(app: &TestApp) -> Acme {
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let berlin = app.add_workspace(&org, "Berlin").await;
    let munich = app.add_workspace(&org, "Munich").await;
    add_module(&owner, &org, "campaigns", "Campaigns").await;
    let campaign_manager = define_role(
        &owner,
        &org,
        "Campaign Manager",
        "workspace",
        &[
            ("campaigns", "write"),
            ("products", "write"),
            ("members", "read"),
        ],
    )
    .await;
    let auditor = define_role(
        &owner,
        &org,
        "Auditor",
        "workspace",
        &[("audit_log", "read")],
    )
    .await;
    let campaign_reader = define_role(
        &owner,
        &org,
        "Campaign reader",
        "organization",
        &[("campaigns", "read")],
    )
    .await;
    Acme {
        owner,
        org,
        berlin,
        munich,
        campaign_manager,
        auditor,
        campaign_reader,
    }
}

#[tokio::test]
async fn a_workspace_admin_guest_invites_into_their_workspace_with_a_custom_role() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let (admin, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-admin"), "admin").await;

    let nina = email("nina");
    let sent = invite_into(
        &admin,
        org,
        &acme.berlin,
        &nina,
        "editor",
        &[&acme.campaign_manager],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let members_tab = format!("/orgs/{org}/workspaces/{}/members", acme.berlin);
    assert_eq!(location(&sent), members_tab);
    let (status, page) = admin.get_html(&members_tab).await;
    assert_eq!(status, StatusCode::OK);
    let flash = flash_on(&page).unwrap_or_else(|| panic!("a flash: {page}"));
    assert!(
        flash.contains(&nina) || flash.contains("1 invitation"),
        "the flash says what was sent: {flash}"
    );

    // A guest's invitation straight into Berlin, carrying the custom role.
    assert_eq!(invitation_column(&app, &nina, "role").await, "none");
    assert_eq!(
        invitation_column(&app, &nina, "workspace_id").await,
        acme.berlin
    );
    assert_eq!(
        invitation_column(&app, &nina, "workspace_role").await,
        "editor"
    );
    let invitation = invitation_column(&app, &nina, "id").await;
    let carried = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM invitation_roles WHERE invitation_id = '{invitation}' \
             AND role_id = '{}'",
            acme.campaign_manager
        ))
        .await;
    assert_eq!(carried, 1, "the invitation carries Campaign Manager");

    // Nina accepts from the link in her mail.
    let link = app.outbox_link(&nina, "/invitations/").await;
    let joined = app
        .new_browser()
        .post_form(
            &format!("{link}/signup"),
            &[("name", "Nina Neu"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(org, &nina).await.as_deref(), Some("none"));
    let user = app.user_id(&nina).await;
    let direct = app
        .scalar_text(&format!(
            "SELECT role FROM workspace_members WHERE workspace_id = '{}' AND user_id = '{user}'",
            acme.berlin
        ))
        .await;
    assert_eq!(direct, "editor");
    let member = membership_id(&app, org, &nina).await;
    assert_eq!(
        held(&app, &member, &acme.berlin, Some(&acme.campaign_manager)).await,
        1,
        "Campaign Manager in Berlin"
    );
    assert_eq!(held(&app, &member, "", None).await, 0, "nothing org-wide");
    assert_eq!(
        held(&app, &member, &acme.munich, None).await,
        0,
        "nothing in Munich"
    );
    app.assert_counts_match(org).await;
}

#[tokio::test]
async fn workspace_invitations_stay_within_the_inviters_role_and_workspace() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let (admin, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-admin"), "admin").await;
    let (editor, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-editor"), "editor").await;
    let member = app
        .member_with_role(org, &email("member"), OrgRole::Member)
        .await;

    // An Admin there may invite another Admin.
    let peer = email("peer");
    let sent = invite_into(&admin, org, &acme.berlin, &peer, "admin", &[]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(invitations_to(&app, &peer).await, 1);
    assert!(
        app.outbox_link(&peer, "/invitations/")
            .await
            .starts_with("/invitations/")
    );

    // So may the Owner.
    let by_owner = email("by-owner");
    let sent = invite_into(&acme.owner, org, &acme.berlin, &by_owner, "viewer", &[]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(invitations_to(&app, &by_owner).await, 1);

    // Each refusal, and the status it answers.
    let refused = email("refused");
    let auditor = [acme.auditor.as_str()];
    let reader = [acme.campaign_reader.as_str()];
    let cases: [Refusal; 6] = [
        (
            "a direct Editor",
            &editor,
            &acme.berlin,
            "viewer",
            &[],
            Some(StatusCode::FORBIDDEN),
        ),
        (
            "an Admin of Berlin into Munich",
            &admin,
            &acme.munich,
            "viewer",
            &[],
            Some(StatusCode::NOT_FOUND),
        ),
        (
            "a Member with no role in the workspace",
            &member,
            &acme.berlin,
            "viewer",
            &[],
            Some(StatusCode::FORBIDDEN),
        ),
        (
            "carrying a role with Audit log Read",
            &admin,
            &acme.berlin,
            "viewer",
            &auditor,
            Some(StatusCode::FORBIDDEN),
        ),
        (
            "the workspace's Owner role",
            &admin,
            &acme.berlin,
            "owner",
            &[],
            None,
        ),
        (
            "carrying an organization-wide role",
            &acme.owner,
            &acme.berlin,
            "viewer",
            &reader,
            None,
        ),
    ];
    for (who, browser, workspace, role, roles, want) in cases {
        let status = invite_into(browser, org, workspace, &refused, role, roles)
            .await
            .status();
        match want {
            Some(want) => assert_eq!(status, want, "{who}"),
            None => assert!(status.is_client_error(), "{who}: {status}"),
        }
        assert_eq!(
            invitations_to(&app, &refused).await,
            0,
            "{who}: no invitation"
        );
    }

    // No address: the form comes back.
    let empty = invite_into(&admin, org, &acme.berlin, "  ", "viewer", &[]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}'"
        ))
        .await,
        2,
        "only the two invitations sent"
    );
}

#[tokio::test]
async fn the_members_tab_offers_the_invite_form_to_a_workspace_admin_only() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let (admin, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-admin"), "admin").await;
    let (editor, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-editor"), "editor").await;
    let tab = format!("/orgs/{org}/workspaces/{}/members", acme.berlin);
    let form = format!("\"/orgs/{org}/workspaces/{}/invitations\"", acme.berlin);

    let (status, page) = admin.get_html(&tab).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&form),
        "an Admin sees the invite form: {page}"
    );
    let (status, page) = acme.owner.get_html(&tab).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&form), "so does the Owner");
    let (status, page) = editor.get_html(&tab).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&form), "an Editor does not: {page}");
}

#[tokio::test]
async fn a_workspace_admin_guest_hands_out_custom_roles_only_in_their_workspace() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let (admin, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-admin"), "admin").await;
    let (_, target) = workspace_guest(&app, org, &acme.berlin, &email("ws-viewer"), "viewer").await;

    let granted = set_roles(
        &admin,
        org,
        &target,
        &acme.berlin,
        &[&acme.campaign_manager],
    )
    .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        held(&app, &target, &acme.berlin, Some(&acme.campaign_manager)).await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'custom_role.granted'")
            .await,
        1
    );

    // Not in another workspace, not organization-wide, not above their
    // own levels in Berlin.
    let elsewhere = set_roles(
        &admin,
        org,
        &target,
        &acme.munich,
        &[&acme.campaign_manager],
    )
    .await;
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&elsewhere.status()),
        "another workspace: {}",
        elsewhere.status()
    );
    let org_wide = set_roles(&admin, org, &target, "", &[&acme.campaign_reader]).await;
    assert_eq!(
        org_wide.status(),
        StatusCode::FORBIDDEN,
        "organization-wide"
    );
    let above = set_roles(
        &admin,
        org,
        &target,
        &acme.berlin,
        &[&acme.campaign_manager, &acme.auditor],
    )
    .await;
    assert_eq!(above.status(), StatusCode::FORBIDDEN, "Audit log Read");
    assert_eq!(held(&app, &target, &acme.munich, None).await, 0);
    assert_eq!(held(&app, &target, "", None).await, 0);
    assert_eq!(
        held(&app, &target, &acme.berlin, None).await,
        1,
        "still only Campaign Manager in Berlin"
    );

    // Taking it away again is theirs too.
    let revoked = set_roles(&admin, org, &target, &acme.berlin, &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(held(&app, &target, &acme.berlin, None).await, 0);

    // The organization's pages stay closed to them.
    let (status, _) = admin.get_html(&format!("/orgs/{org}/invitations")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let outsider = email("outsider");
    let sent = admin
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", &outsider), ("role", "member")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::FORBIDDEN);
    assert_eq!(invitations_to(&app, &outsider).await, 0);
}

/// The Owner adds Audit log Read to a role while a Member who manages
/// roles (through an organization-wide custom role) grants it: each
/// grant lands before the edit (and is allowed) or after it (and is
/// refused, the role now above the granter's levels), never half.
#[tokio::test]
async fn granting_a_role_while_the_owner_redefines_it_stays_consistent() {
    // One person's requests all run at once: the database's rules are
    // under test here, not the cap on one person's requests.
    let app = spawn_app_with(|config| config.requests_per_person = 64).await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    add_module(&owner, &org, "campaigns", "Campaigns").await;
    let role_manager = define_role(
        &owner,
        &org,
        "Role manager",
        "organization",
        &[
            ("members", "write"),
            ("invitations", "write"),
            ("settings", "write"),
            ("workspaces", "read"),
            ("campaigns", "write"),
        ],
    )
    .await;
    let campaign_levels = [("campaigns", "write")];
    let campaign_manager =
        define_role(&owner, &org, "Campaign Manager", "both", &campaign_levels).await;
    let manager_email = email("manager");
    let manager = app
        .member_with_role(&org, &manager_email, OrgRole::Member)
        .await;
    let manager_id = membership_id(&app, &org, &manager_email).await;
    let given = set_roles(&owner, &org, &manager_id, "", &[&role_manager]).await;
    assert_eq!(given.status(), StatusCode::SEE_OTHER);
    let mut targets = Vec::new();
    for _ in 0..10 {
        targets.push(app.add_member(&org, OrgRole::Member).await.0);
    }
    let grants_before = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'custom_role.granted'")
        .await;

    let manager_token = manager.csrf_token().await;
    let owner_token = owner.csrf_token().await;
    let grant_path = |target: &str| format!("/orgs/{org}/members/{target}/roles");
    let grants = targets.iter().map(|target| {
        let path = grant_path(target);
        let (manager, token, role) = (&manager, &manager_token, &campaign_manager);
        async move {
            let status = manager
                .post_raw(
                    &path,
                    &[
                        ("workspace_id", ""),
                        ("role", role.as_str()),
                        ("csrf_token", token.as_str()),
                    ],
                )
                .await
                .status();
            (target.clone(), status)
        }
    });
    let mut edit_form = role_form(
        "Campaign Manager",
        "both",
        &[("campaigns", "write"), ("audit_log", "read")],
    );
    edit_form.push(("csrf_token".to_string(), owner_token.clone()));
    let edit_path = format!("/orgs/{org}/roles/{campaign_manager}");
    // The edits start a few milliseconds apart, so that some grants tend
    // to land before the first and some after; what is asserted holds
    // whatever the order.
    let edits = (1..=5u64).map(|i| {
        let (owner, path, form) = (&owner, &edit_path, &edit_form);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(4 * i)).await;
            owner.post_raw(path, &as_pairs(form)).await.status()
        }
    });
    let (grants, edits) = tokio::join!(join_all(grants), join_all(edits));

    let allowed = [
        StatusCode::SEE_OTHER,
        StatusCode::FORBIDDEN,
        StatusCode::CONFLICT,
    ];
    for (target, status) in &grants {
        assert!(allowed.contains(status), "grant to {target}: {status}");
    }
    for status in &edits {
        assert!(allowed.contains(status), "edit: {status}");
    }
    assert!(
        edits.contains(&StatusCode::SEE_OTHER),
        "the Owner's edit lands: {edits:?}"
    );
    let levels = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM custom_role_levels WHERE role_id = '{campaign_manager}' \
             AND module_key = 'audit_log' AND level = 'read'"
        ))
        .await;
    assert_eq!(levels, 1, "the role gives Audit log Read now");

    // Each answer says what happened to its holder.
    for (target, status) in &grants {
        let holds = held(&app, target, "", Some(&campaign_manager)).await;
        let want = i64::from(*status == StatusCode::SEE_OTHER);
        assert_eq!(holds, want, "{target} after {status}");
    }
    let dangling = app
        .scalar(
            "SELECT COUNT(*) FROM role_assignments \
             WHERE role_id NOT IN (SELECT id FROM custom_roles)",
        )
        .await;
    assert_eq!(dangling, 0, "every assignment names a role");
    let accepted = grants
        .iter()
        .filter(|(_, s)| *s == StatusCode::SEE_OTHER)
        .count();
    let grants_after = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'custom_role.granted'")
        .await;
    assert_eq!(
        grants_after - grants_before,
        i64::try_from(accepted).expect("a count"),
        "one audit row per grant made"
    );

    // Now the role is above the manager's levels: no grant gets through.
    let (latecomer, _) = app.add_member(&org, OrgRole::Member).await;
    let refused = set_roles(&manager, &org, &latecomer, "", &[&campaign_manager]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(held(&app, &latecomer, "", None).await, 0);
}

/// Someone who may invite only through a custom role (a Member holding
/// "Recruiter": Members and Invitations Write) invites a Viewer; the
/// invitation is accepted, because acceptance counts the same roles as
/// the send did.
#[tokio::test]
async fn an_invitation_sent_through_a_custom_role_is_accepted() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let recruiter = define_role(
        &acme.owner,
        org,
        "Recruiter",
        "organization",
        &[
            ("members", "write"),
            ("invitations", "write"),
            ("workspaces", "read"),
        ],
    )
    .await;
    let rita_email = email("rita");
    let rita = app
        .member_with_role(org, &rita_email, OrgRole::Member)
        .await;
    let rita_id = membership_id(&app, org, &rita_email).await;
    let refused = rita
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", "vera@example.test"), ("role", "viewer")],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "not yet a recruiter"
    );
    let granted = set_roles(&acme.owner, org, &rita_id, "", &[&recruiter]).await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let sent = rita
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", "vera@example.test"), ("role", "viewer")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let link = app.outbox_link("vera@example.test", "/invitations/").await;
    let joined = app
        .new_browser()
        .post_form(
            &format!("{link}/signup"),
            &[("name", "Vera Viewer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.role_of(org, "vera@example.test").await.as_deref(),
        Some("viewer")
    );
}

/// A workspace Admin without an organization role learns nothing of who
/// belongs or is invited: an address of a member, or with an invitation
/// of someone else's, is answered as one invited, and nothing changes.
#[tokio::test]
async fn a_workspace_admin_guest_learns_nothing_of_who_belongs_and_rewrites_no_invitation() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let (admin, _) = workspace_guest(&app, org, &acme.berlin, &email("ws-admin"), "admin").await;
    let member_email = email("mona");
    app.member_with_role(org, &member_email, OrgRole::Member)
        .await;
    let owners = acme
        .owner
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", "pending@example.test"), ("role", "admin")],
        )
        .await;
    assert_eq!(owners.status(), StatusCode::OK);
    let before = invitation_column(&app, "pending@example.test", "token_hash").await;

    let answer = invite_into(
        &admin,
        org,
        &acme.berlin,
        &format!("{member_email}\npending@example.test\nfresh@example.test"),
        "viewer",
        &[],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let page = admin
        .get(&location(&answer))
        .await
        .text()
        .await
        .expect("page");
    let flash = flash_on(&page).expect("a flash").to_string();
    assert!(!flash.contains("already"), "{flash}");
    assert_eq!(flash.matches("(invited)").count(), 3, "{flash}");
    assert_eq!(
        invitation_column(&app, "pending@example.test", "role").await,
        "admin",
        "the Owner's invitation is untouched"
    );
    assert_eq!(
        invitation_column(&app, "pending@example.test", "token_hash").await,
        before
    );
    assert_eq!(invitations_to(&app, &member_email).await, 0);
    assert_eq!(invitations_to(&app, "fresh@example.test").await, 1);
}

/// Custom roles of someone above the actor are not theirs to change: a
/// Member holding "Role manager" may not take a role from an Admin.
#[tokio::test]
async fn custom_roles_of_someone_above_are_not_changed() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let org = &acme.org;
    let manager = define_role(
        &acme.owner,
        org,
        "Role manager",
        "organization",
        &[
            ("members", "write"),
            ("invitations", "write"),
            ("campaigns", "read"),
        ],
    )
    .await;
    let mia_email = email("mia");
    let mia = app.member_with_role(org, &mia_email, OrgRole::Member).await;
    let mia_id = membership_id(&app, org, &mia_email).await;
    let ada_email = email("ada");
    app.member_with_role(org, &ada_email, OrgRole::Admin).await;
    let ada_id = membership_id(&app, org, &ada_email).await;
    let vic_email = email("vic");
    app.member_with_role(org, &vic_email, OrgRole::Viewer).await;
    let vic_id = membership_id(&app, org, &vic_email).await;
    for (member, roles) in [
        (&mia_id, vec![manager.as_str()]),
        (&ada_id, vec![acme.campaign_reader.as_str()]),
    ] {
        let set = set_roles(&acme.owner, org, member, "", &roles).await;
        assert_eq!(set.status(), StatusCode::SEE_OTHER);
    }
    let on_admin = set_roles(&mia, org, &ada_id, "", &[]).await;
    assert_eq!(on_admin.status(), StatusCode::FORBIDDEN);
    assert_eq!(held(&app, &ada_id, "", None).await, 1, "the Admin keeps it");
    let on_viewer = set_roles(&mia, org, &vic_id, "", &[&acme.campaign_reader]).await;
    assert_eq!(on_viewer.status(), StatusCode::SEE_OTHER);
    assert_eq!(held(&app, &vic_id, "", None).await, 1);
}

/// The outcome of a workspace invitation is a flash message, which lives
/// in the session cookie: a very long address (or very many) once made
/// the cookie too large and the answer a 500.
#[tokio::test]
async fn a_huge_address_list_is_answered_with_a_short_outcome() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let long = "x".repeat(5001);
    let many: Vec<String> = (0..40).map(|i| format!("person{i}@many.test")).collect();
    for emails in [long.clone(), many.join("\n")] {
        let response =
            invite_into(&acme.owner, &acme.org, &acme.berlin, &emails, "viewer", &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (status, page) = acme
            .owner
            .get_html(&format!(
                "/orgs/{}/workspaces/{}/members",
                acme.org, acme.berlin
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        let flash = flash_on(&page).expect("the outcome is shown");
        assert!(
            flash.contains("Invitations into Berlin as Viewer"),
            "{flash}"
        );
        assert!(flash.len() < 2500, "a short outcome: {} bytes", flash.len());
    }
    let (_, page) = acme
        .owner
        .get_html(&format!(
            "/orgs/{}/workspaces/{}/members",
            acme.org, acme.berlin
        ))
        .await;
    assert!(!page.contains(&long), "the address is not echoed whole");
    assert_eq!(
        invitations_to(&app, "person39@many.test").await,
        1,
        "all 40 invited"
    );
}
