//! The authorization matrix: every route × every kind of person → the
//! status they get. A route missing from the table fails the test, so a
//! new route cannot ship without its row.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::web::ROUTES;

use crate::helpers::{Fixture, PASSWORD, TestApp, Who, email, spawn_app};

/// Expected statuses in the order of [`Who::ALL`]: anonymous, outsider,
/// removed, guest, viewer, member, admin, owner.
type Row = [u16; 8];

const SIGNED_IN: Row = [303, 200, 200, 200, 200, 200, 200, 200];

fn expected(method: &str, path: &str) -> Option<Row> {
    Some(match (method, path) {
        ("get", "/") => [303, 303, 303, 303, 303, 303, 303, 303],
        ("get", "/healthz")
        | ("get", "/readyz")
        | ("get", "/static/{path:.*}")
        | ("get", "/favicon.ico") => [200; 8],
        ("get", "/signup") | ("get", "/signin") => [200, 303, 303, 303, 303, 303, 303, 303],
        // Empty forms: the form comes back with its messages.
        ("post", "/signup") | ("post", "/signin") => [422; 8],
        ("post", "/signout") => [303; 8],
        ("get", "/password/forgot") | ("post", "/password/forgot") => [200; 8],
        // The token here is no reset or verification link.
        ("get", "/password/reset/{token}")
        | ("post", "/password/reset/{token}")
        | ("get", "/verify/{token}")
        | ("post", "/verify/{token}") => [410; 8],
        ("post", "/account/verify") => [303; 8],
        // Everyone here has confirmed their address (so that they may send
        // invitations), but no organization lists their domain: no offer.
        ("post", "/auto-join/{org_id}") => [303, 404, 404, 404, 404, 404, 404, 404],
        ("post", "/orgs/{org_id}/settings/auto-join") => [303, 404, 404, 403, 403, 403, 403, 303],
        // The Owner may check; no DNS answers here, so the page says so.
        ("post", "/orgs/{org_id}/settings/auto-join/{domain_id}/check") => {
            [303, 404, 404, 403, 403, 403, 403, 422]
        }
        ("get", "/account") | ("get", "/orgs/new") => SIGNED_IN,
        ("post", "/account/password") | ("post", "/orgs") => {
            [303, 422, 422, 422, 422, 422, 422, 422]
        }
        ("post", "/account/sign-out-everywhere") => [303; 8],
        // Nobody has a password-checked sign-in waiting for its code.
        ("get", "/signin/two-factor") | ("post", "/signin/two-factor") => [303; 8],
        ("post", "/account/sessions/end-others") => [303; 8],
        // No session of theirs has this id.
        ("post", "/account/sessions/{session_id}/end") => [303, 404, 404, 404, 404, 404, 404, 404],
        ("get", "/account/security") | ("get", "/account/two-factor") => SIGNED_IN,
        // Nobody has opened the set-up page, and two-factor is off: each
        // is sent to the set-up page, which says so.
        ("post", "/account/two-factor")
        | ("post", "/account/two-factor/disable")
        | ("post", "/account/two-factor/recovery-codes") => [303; 8],
        ("get", "/orgs/{org_id}/settings/security") => [303, 404, 404, 403, 403, 403, 200, 200],
        ("post", "/orgs/{org_id}/settings/security")
        | ("post", "/orgs/{org_id}/members/{member_id}/sign-out") => {
            [303, 404, 404, 403, 403, 403, 303, 303]
        }
        // Each person renames themself, or asks to move to an address of
        // their own (with their password): the Account page follows.
        ("post", "/account/name") | ("post", "/account/email") => [303; 8],
        // The token here is no address-change link.
        ("get", "/account/email/{token}") | ("post", "/account/email/{token}") => [410; 8],
        ("get", "/orgs/{org_id}") => [303, 404, 404, 303, 303, 303, 303, 303],
        ("get", "/orgs/{org_id}/members") | ("get", "/orgs/{org_id}/members/{member_id}") => {
            [303, 404, 404, 403, 200, 200, 200, 200]
        }
        ("get", "/orgs/{org_id}/members/{member_id}/role")
        | ("get", "/orgs/{org_id}/members/{member_id}/remove") => {
            [303, 404, 404, 403, 403, 403, 200, 200]
        }
        ("post", "/orgs/{org_id}/members/{member_id}/role")
        | ("post", "/orgs/{org_id}/members/{member_id}/remove") => {
            [303, 404, 404, 403, 403, 403, 303, 303]
        }
        // The cell's fresh Member made a Viewer: the page of results.
        ("post", "/orgs/{org_id}/members/bulk") => [303, 404, 404, 403, 403, 403, 200, 200],
        ("get", "/orgs/{org_id}/leave") => [303, 404, 404, 200, 200, 200, 200, 200],
        ("post", "/orgs/{org_id}/leave") => [303, 404, 404, 303, 303, 303, 303, 403],
        ("get", "/orgs/{org_id}/transfer") => [303, 404, 404, 403, 403, 403, 403, 200],
        ("post", "/orgs/{org_id}/transfer") => [303, 404, 404, 403, 403, 403, 403, 303],
        ("post", "/orgs/{org_id}/invitations") => [303, 404, 404, 403, 403, 403, 200, 200],
        ("post", "/orgs/{org_id}/invitations/{invitation_id}/resend")
        | ("post", "/orgs/{org_id}/invitations/{invitation_id}/cancel") => {
            [303, 404, 404, 403, 403, 403, 303, 303]
        }
        ("get", "/orgs/{org_id}/invitations/{invitation_id}/cancel") => {
            [303, 404, 404, 403, 403, 403, 200, 200]
        }
        // A new link for the cell's fresh invitation, shown on the page.
        ("post", "/orgs/{org_id}/invitations/{invitation_id}/link") => {
            [303, 404, 404, 403, 403, 403, 200, 200]
        }
        // Without SMTP settings, as here, the Mailbox page exists.
        ("get", "/orgs/{org_id}/mailbox") => [303, 404, 404, 403, 403, 403, 200, 200],
        // A pending invitation for someone else: a sign-up form for the
        // signed out, "this is for another address" for everyone else.
        ("get", "/invitations/{token}") => [200; 8],
        ("post", "/invitations/{token}/accept") => [303, 403, 403, 403, 403, 403, 403, 403],
        // The link is the proof: whoever holds it creates that account.
        ("post", "/invitations/{token}/signup") => [303; 8],
        ("get", "/orgs/{org_id}/invitations")
        | ("get", "/orgs/{org_id}/product-access")
        | ("get", "/orgs/{org_id}/product-access/{member_id}")
        | ("get", "/orgs/{org_id}/audit")
        | ("get", "/orgs/{org_id}/audit.csv")
        | ("get", "/orgs/{org_id}/access-review")
        | ("get", "/orgs/{org_id}/access-review.csv") => [303, 404, 404, 403, 403, 403, 200, 200],
        ("post", "/orgs/{org_id}/product-access/{member_id}/restrict")
        | ("post", "/orgs/{org_id}/product-access/{member_id}/products/{product_id}")
        | ("post", "/orgs/{org_id}/product-access/{member_id}/bulk") => {
            [303, 404, 404, 403, 403, 403, 303, 303]
        }
        // Products of General: a guest without a role there sees none
        // (an empty list) and gets 404 for each; Viewers only look;
        // Members (Editors) add and edit; workspace Admins (here the
        // organization's Admins and Owner) assign owners and delete.
        ("get", "/orgs/{org_id}/products") => [303, 404, 404, 200, 200, 200, 200, 200],
        ("post", "/orgs/{org_id}/products") => [303, 404, 404, 403, 403, 303, 303, 303],
        ("get", "/orgs/{org_id}/products/{product_id}") => [303, 404, 404, 404, 200, 200, 200, 200],
        ("post", "/orgs/{org_id}/products/{product_id}") => {
            [303, 404, 404, 404, 403, 303, 303, 303]
        }
        ("post", "/orgs/{org_id}/products/{product_id}/owner")
        | ("post", "/orgs/{org_id}/products/{product_id}/delete") => {
            [303, 404, 404, 404, 403, 403, 303, 303]
        }
        ("get", "/orgs/{org_id}/products/{product_id}/delete") => {
            [303, 404, 404, 404, 403, 403, 200, 200]
        }
        // Guests see the list (of only their own workspaces).
        ("get", "/orgs/{org_id}/workspaces") => [303, 404, 404, 200, 200, 200, 200, 200],
        ("post", "/orgs/{org_id}/workspaces") => [303, 404, 404, 403, 403, 403, 303, 303],
        // The organization's General workspace: a guest without a role in
        // it does not see it.
        ("get", "/orgs/{org_id}/workspaces/{workspace_id}") => {
            [303, 404, 404, 404, 200, 200, 200, 200]
        }
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}") => {
            [303, 404, 404, 404, 403, 403, 303, 303]
        }
        // Only the workspace's Owner (here the organization's Owner).
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}/transfer") => {
            [303, 404, 404, 404, 403, 403, 403, 303]
        }
        // The Owner may, but General is the organization's only workspace
        // here, and an organization keeps one: the form comes back.
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}/delete") => {
            [303, 404, 404, 404, 403, 403, 403, 422]
        }
        ("get", "/orgs/{org_id}/workspaces/{workspace_id}/move") => {
            [303, 404, 404, 404, 403, 403, 403, 200]
        }
        // The Owner may, but has no other organization to move it to here.
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}/move") => {
            [303, 404, 404, 404, 403, 403, 403, 422]
        }
        ("get", "/orgs/{org_id}/workspaces/{workspace_id}/members") => {
            [303, 404, 404, 404, 200, 200, 200, 200]
        }
        // Give the cell's fresh Member a direct Viewer role in General.
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}/members/{member_id}/role") => {
            [303, 404, 404, 404, 403, 403, 303, 303]
        }
        ("get", "/orgs/{org_id}/settings") => [303, 404, 404, 403, 200, 200, 200, 200],
        ("post", "/orgs/{org_id}/settings") => [303, 404, 404, 403, 403, 403, 303, 303],
        ("post", "/orgs/{org_id}/delete") => [303, 404, 404, 403, 403, 403, 403, 303],
        // Personal keys from Member up; the cell's key is the Owner's
        // organization key: a Member may not see it (404), Admins revoke it.
        ("get", "/orgs/{org_id}/api-keys") => [303, 404, 404, 403, 403, 200, 200, 200],
        ("post", "/orgs/{org_id}/api-keys") => [303, 404, 404, 403, 403, 201, 201, 201],
        ("post", "/orgs/{org_id}/api-keys/{key_id}/revoke") => {
            [303, 404, 404, 403, 403, 404, 303, 303]
        }
        // Roles and modules: anyone who sees the settings reads them; the
        // Owner and Admins define roles; only the Owner adds modules.
        ("get", "/orgs/{org_id}/roles") | ("get", "/orgs/{org_id}/roles/{role_id}") => {
            [303, 404, 404, 403, 200, 200, 200, 200]
        }
        ("post", "/orgs/{org_id}/roles")
        | ("post", "/orgs/{org_id}/roles/{role_id}")
        | ("post", "/orgs/{org_id}/roles/{role_id}/delete") => {
            [303, 404, 404, 403, 403, 403, 303, 303]
        }
        // A guest reaches only people with a direct role in a workspace
        // they see, which the cell's fresh Member is not.
        ("get", "/orgs/{org_id}/members/{member_id}/roles") => {
            [303, 404, 404, 404, 200, 200, 200, 200]
        }
        ("post", "/orgs/{org_id}/members/{member_id}/roles") => {
            [303, 404, 404, 404, 403, 403, 303, 303]
        }
        // The Admin's cell made Reporting already: the Owner's form comes
        // back with the name taken.
        ("post", "/orgs/{org_id}/roles/templates/{template}") => {
            [303, 404, 404, 403, 403, 403, 303, 422]
        }
        ("post", "/orgs/{org_id}/modules")
        | ("post", "/orgs/{org_id}/modules/{module_id}/delete") => {
            [303, 404, 404, 403, 403, 403, 403, 303]
        }
        // General is hidden from the guest; Viewers and Members (Editors
        // there) do not manage its people.
        ("post", "/orgs/{org_id}/workspaces/{workspace_id}/invitations") => {
            [303, 404, 404, 404, 403, 403, 303, 303]
        }
        // The addresses forms post to answer GET (a reload of a form that
        // came back with its messages) by sending the person to the page
        // that holds the form, which then checks what the page checks.
        ("get", "/signout")
        | ("get", "/auto-join/{org_id}")
        | ("get", "/account/verify")
        | ("get", "/account/password")
        | ("get", "/account/name")
        | ("get", "/account/email")
        | ("get", "/account/sign-out-everywhere")
        | ("get", "/account/sessions/end-others")
        | ("get", "/account/sessions/{session_id}/end")
        | ("get", "/account/two-factor/disable")
        | ("get", "/account/two-factor/recovery-codes")
        | ("get", "/orgs")
        | ("get", "/invitations/{token}/accept")
        | ("get", "/invitations/{token}/signup") => [303; 8],
        ("get", "/orgs/{org_id}/invitations/{invitation_id}/resend")
        | ("get", "/orgs/{org_id}/invitations/{invitation_id}/link")
        | ("get", "/orgs/{org_id}/members/bulk")
        | ("get", "/orgs/{org_id}/members/{member_id}/sign-out")
        | ("get", "/orgs/{org_id}/workspaces/{workspace_id}/transfer")
        | ("get", "/orgs/{org_id}/workspaces/{workspace_id}/delete")
        | ("get", "/orgs/{org_id}/workspaces/{workspace_id}/members/{member_id}/role")
        | ("get", "/orgs/{org_id}/products/{product_id}/owner")
        | ("get", "/orgs/{org_id}/product-access/{member_id}/restrict")
        | ("get", "/orgs/{org_id}/product-access/{member_id}/products/{product_id}")
        | ("get", "/orgs/{org_id}/product-access/{member_id}/bulk")
        | ("get", "/orgs/{org_id}/settings/auto-join")
        | ("get", "/orgs/{org_id}/settings/auto-join/{domain_id}/check")
        | ("get", "/orgs/{org_id}/delete")
        | ("get", "/orgs/{org_id}/api-keys/{key_id}/revoke")
        | ("get", "/orgs/{org_id}/roles/templates/{template}")
        | ("get", "/orgs/{org_id}/roles/{role_id}/delete")
        | ("get", "/orgs/{org_id}/modules")
        | ("get", "/orgs/{org_id}/modules/{module_id}/delete")
        | ("get", "/orgs/{org_id}/workspaces/{workspace_id}/invitations") => {
            [303, 404, 404, 303, 303, 303, 303, 303]
        }
        _ => return None,
    })
}

/// The form a route is sent in the matrix: valid, so that only the
/// person's rights decide the outcome.
fn body(
    path: &str,
    fixture: &Fixture,
    target: &str,
    target_email: &str,
    workspace: &str,
    role_id: &str,
) -> Vec<(String, String)> {
    // An address nobody has, of its own for each cell.
    let moved = format!("moved-{target_email}");
    let pairs: Vec<(&str, &str)> = match path {
        "/orgs/{org_id}/members/bulk" => vec![
            ("action", "role"),
            ("role", "viewer"),
            ("member", target),
            ("confirm", "yes"),
        ],
        "/account/name" => vec![("name", "Matrix Person")],
        "/account/email" => vec![("email", &moved), ("password", PASSWORD)],
        // A name of its own for each cell (role names are unique).
        "/orgs/{org_id}/roles" | "/orgs/{org_id}/roles/{role_id}" => vec![
            ("name", target_email),
            ("description", ""),
            ("scope", "both"),
            ("level_members", "read"),
        ],
        "/orgs/{org_id}/modules" => vec![("name", target_email), ("description", "")],
        "/orgs/{org_id}/members/{member_id}/roles" => vec![("workspace_id", ""), ("role", role_id)],
        "/orgs/{org_id}/workspaces/{workspace_id}/invitations" => vec![
            ("emails", "ws-newcomer@matrix.test"),
            ("workspace_role", "viewer"),
        ],
        // A name of its own for each cell (names are unique per workspace).
        "/orgs/{org_id}/products" => vec![
            ("workspace_id", workspace),
            ("name", target_email),
            ("description", ""),
        ],
        "/orgs/{org_id}/products/{product_id}" => vec![("name", target_email), ("description", "")],
        "/orgs/{org_id}/products/{product_id}/owner" => vec![("email", target_email)],
        "/orgs/{org_id}/product-access/{member_id}/restrict" => vec![("restricted", "on")],
        "/orgs/{org_id}/product-access/{member_id}/products/{product_id}" => {
            vec![("access", "view")]
        }
        "/orgs/{org_id}/product-access/{member_id}/bulk" => vec![("workspace_id", workspace)],
        "/orgs/{org_id}/members/{member_id}/role" => vec![("role", "viewer")],
        "/orgs/{org_id}/transfer" => vec![("email", target_email), ("password", PASSWORD)],
        "/orgs/{org_id}/settings" => vec![("name", "Renamed Co"), ("description", "")],
        "/orgs/{org_id}/invitations" => {
            vec![("emails", "newcomer@matrix.test"), ("role", "viewer")]
        }
        "/invitations/{token}/signup" => vec![("name", "Nora Newcomer"), ("password", PASSWORD)],
        "/password/forgot" => vec![("email", target_email)],
        "/password/reset/{token}" => {
            vec![
                ("new_password", "a new long password"),
                ("confirm_password", "a new long password"),
            ]
        }
        "/orgs/{org_id}/settings/auto-join" => vec![("domains", "matrix.test"), ("role", "viewer")],
        "/orgs/{org_id}/workspaces/{workspace_id}/members/{member_id}/role" => {
            vec![("role", "viewer")]
        }
        "/orgs/{org_id}/workspaces/{workspace_id}/transfer" => {
            vec![("email", target_email), ("password", PASSWORD)]
        }
        "/orgs/{org_id}/workspaces/{workspace_id}/delete" => vec![("confirm_title", "General")],
        // A title of its own for each cell (titles are unique).
        "/orgs/{org_id}/workspaces" | "/orgs/{org_id}/workspaces/{workspace_id}" => {
            vec![("title", target_email), ("description", "")]
        }
        "/orgs/{org_id}/delete" => {
            vec![("confirm_name", &fixture.org_name), ("password", PASSWORD)]
        }
        "/orgs/{org_id}/api-keys" => vec![
            ("name", "Matrix key"),
            ("kind", "personal"),
            ("lifetime", "30"),
        ],
        _ => vec![],
    };
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn check_route(app: &TestApp, method: &str, pattern: &str, row: Row) -> Vec<String> {
    let fixture = app.fixture().await;
    // The organization's first workspace (a cell may rename it).
    let workspace = app.general_workspace(&fixture.org_id).await;
    // A pending auto-join domain of the organization.
    let domain_id = uuid::Uuid::new_v4().to_string();
    if pattern.contains("{domain_id}") {
        use sea_orm::ConnectionTrait;
        app.db
            .owner()
            .execute_unprepared(&format!(
                "INSERT INTO auto_join_domains (org_id, domain, id, token, created_at) \
                 VALUES ('{}', 'matrix.test', '{domain_id}', 'matrix-token', 0)",
                fixture.org_id
            ))
            .await
            .expect("a pending domain");
    }
    let mut failures = Vec::new();
    for (who, want) in Who::ALL.into_iter().zip(row) {
        // A fresh Member to act on in each cell.
        let (target, target_email) = app.add_member(&fixture.org_id, OrgRole::Member).await;
        // And a fresh pending invitation.
        let (invitation, token) = app.add_invitation(&fixture.org_id, OrgRole::Member).await;
        // And a fresh product in General.
        let product = app
            .add_product(&workspace, &format!("P {target_email}"), None)
            .await;

        // And a fresh organization key of the Owner's.
        let key_id = if pattern.contains("{key_id}") {
            let secret = app.org_key(&fixture.org_id, OrgRole::Viewer).await;
            app.scalar_text(&format!(
                "SELECT id FROM api_keys WHERE secret_hash = '{}'",
                roster::domain::api_key::hash(&secret)
            ))
            .await
        } else {
            String::new()
        };
        // And a fresh custom role and module of the organization's.
        let (role_id, module_id) = if pattern.contains("{role_id}")
            || pattern.contains("{module_id}")
            || pattern.ends_with("/roles")
        {
            custom_role_and_module(app, &fixture.org_id).await
        } else {
            (String::new(), String::new())
        };
        let path = pattern
            .replace("{org_id}", &fixture.org_id)
            .replace("{role_id}", &role_id)
            .replace("{module_id}", &module_id)
            .replace("{template}", "reporting")
            .replace("{key_id}", &key_id)
            .replace("{member_id}", &target)
            .replace("{invitation_id}", &invitation)
            .replace("{workspace_id}", &workspace)
            .replace("{product_id}", &product)
            .replace("{token}", &token)
            .replace("{domain_id}", &domain_id)
            .replace("{session_id}", "no-such-session")
            .replace("{path:.*}", "css/roster.css");
        let browser = fixture.browser(who);
        let response = if method == "get" {
            browser.get(&path).await
        } else {
            let fields = body(
                pattern,
                &fixture,
                &target,
                &target_email,
                &workspace,
                &role_id,
            );
            let borrowed: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            browser.post_form(&path, &borrowed).await
        };
        let got = response.status().as_u16();
        if got != want {
            failures.push(format!(
                "{method} {pattern} as {who:?}: expected {want}, got {got}"
            ));
        }
        assert!(
            response.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {pattern} as {who:?} answered 500"
        );
    }
    failures
}

/// A custom role (Members: Read, held anywhere) and a module of the
/// organization's own, made for one cell.
async fn custom_role_and_module(app: &TestApp, org_id: &str) -> (String, String) {
    use sea_orm::ConnectionTrait;
    let role_id = uuid::Uuid::new_v4().to_string();
    let module_id = uuid::Uuid::new_v4().to_string();
    let short = &module_id[..8];
    for sql in [
        format!(
            "INSERT INTO custom_roles (id, org_id, name, name_normalized, description, scope, \
             created_at, updated_at) VALUES ('{role_id}', '{org_id}', 'Role {short}', \
             'role {short}', '', 'both', 0, 0)"
        ),
        format!(
            "INSERT INTO custom_role_levels (role_id, module_key, level) \
             VALUES ('{role_id}', 'members', 'read')"
        ),
        format!(
            "INSERT INTO custom_modules (id, org_id, module_key, name, description, created_at) \
             VALUES ('{module_id}', '{org_id}', 'm_{short}', 'Module {short}', '', 0)"
        ),
    ] {
        app.db
            .owner()
            .execute_unprepared(&sql)
            .await
            .expect("a custom role and module");
    }
    (role_id, module_id)
}

async fn check(group: impl Fn(&str) -> bool) {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (method, pattern) in ROUTES {
        if !group(pattern) {
            continue;
        }
        let Some(row) = expected(method, pattern) else {
            failures.push(format!(
                "{method} {pattern} has no row in the authorization matrix"
            ));
            continue;
        };
        failures.extend(check_route(&app, method, pattern, row).await);
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_is_in_the_matrix() {
    let missing: Vec<_> = ROUTES
        .iter()
        .filter(|(method, pattern)| expected(method, pattern).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the matrix: {missing:?}"
    );
}

#[tokio::test]
async fn matrix_for_organization_member_routes() {
    check(|p| p.starts_with("/orgs/{org_id}/members")).await;
}

/// The Members page by status (`?status=`): the active list answers
/// whoever the page answers; the lists with invitations (pending, expired,
/// all), with their counts and their Resend, Cancel and Copy link buttons,
/// are for those who manage members.
#[tokio::test]
async fn matrix_for_the_members_list_by_status() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let org = &fixture.org_id;
    let (pending, _) = app.add_invitation(org, OrgRole::Member).await;
    let (expired, _) = app.add_invitation(org, OrgRole::Member).await;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE invitations SET expires_at = {} WHERE id = '{expired}'",
            app.clock.now() - 60
        ))
        .await
        .expect("expire an invitation");
    let mut failures = Vec::new();
    for (status, row) in [
        ("active", [303, 404, 404, 403, 200, 200, 200, 200]),
        // Lists with invitations are for those who see invitations (as
        // the Invitations page is).
        ("pending", [303, 404, 404, 403, 403, 403, 200, 200]),
        ("expired", [303, 404, 404, 403, 403, 403, 200, 200]),
        ("all", [303, 404, 404, 403, 403, 403, 200, 200]),
    ] {
        for (who, want) in Who::ALL.into_iter().zip(row) {
            let path = format!("/orgs/{org}/members?status={status}");
            let response = fixture.browser(who).get(&path).await;
            let got = response.status().as_u16();
            if got != want {
                failures.push(format!("get {path} as {who:?}: expected {want}, got {got}"));
            }
            if got != 200 {
                continue;
            }
            let page = response.text().await.expect("body");
            let manages = matches!(who, Who::Admin | Who::Owner);
            if manages {
                for count in ["Pending (1)", "Expired (1)"] {
                    if !page.contains(count) {
                        failures.push(format!("get {path} as {who:?}: no {count:?}"));
                    }
                }
                if !page.contains("aria-label=\"Status\"") {
                    failures.push(format!("get {path} as {who:?}: no Status nav"));
                }
            }
            for (id, listed) in [
                (&pending, matches!(status, "pending" | "all")),
                (&expired, matches!(status, "expired" | "all")),
            ] {
                let shown = page.contains(&format!("id=\"invitation-{id}\""));
                let buttons = [
                    format!("/orgs/{org}/invitations/{id}/resend"),
                    format!("/orgs/{org}/invitations/{id}/cancel"),
                    format!("/orgs/{org}/invitations/{id}/link"),
                ];
                if manages {
                    if shown != listed {
                        failures.push(format!(
                            "get {path} as {who:?}: invitation {id} shown: {shown}, expected {listed}"
                        ));
                    }
                    for button in buttons.iter().filter(|_| listed) {
                        if !page.contains(button.as_str()) {
                            failures.push(format!("get {path} as {who:?}: no {button}"));
                        }
                    }
                } else {
                    // A Viewer or Member sees no invitations (the
                    // Invitations page is not theirs), let alone buttons.
                    if shown {
                        failures.push(format!("get {path} as {who:?}: invitation {id} shown"));
                    }
                    for button in &buttons {
                        if page.contains(button.as_str()) {
                            failures.push(format!("get {path} as {who:?}: a button {button}"));
                        }
                    }
                    if page.contains("Pending (") || page.contains("Expired (") {
                        failures.push(format!("get {path} as {who:?}: invitation counts shown"));
                    }
                }
            }
        }
    }
    // Any other status is a bad request.
    for who in [Who::Viewer, Who::Member, Who::Admin, Who::Owner] {
        for bad in ["status=lost", "status=PENDING"] {
            let path = format!("/orgs/{org}/members?{bad}");
            let got = fixture.browser(who).get(&path).await.status().as_u16();
            if got != 400 {
                failures.push(format!("get {path} as {who:?}: expected 400, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the Members page by status:\n{}",
        failures.join("\n")
    );
}

/// The new routes take no id of another organization: a new link for its
/// invitation answers 404, and each bulk row naming its people or
/// invitations is "Refused: not found" while the organization's own row
/// still applies; nothing changes over there.
#[tokio::test]
async fn new_routes_refuse_ids_of_another_organization() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, other) = app.signed_up("Oscar", &email("oscar"), "Elsewhere").await;
    let (own, own_email) = app.add_member(&org, OrgRole::Member).await;
    let (foreign, foreign_email) = app.add_member(&other, OrgRole::Member).await;
    let (foreign_invitation, foreign_token) = app.add_invitation(&other, OrgRole::Member).await;
    let invitation_sql = format!(
        "SELECT state || ' ' || token_hash || ' ' || CAST(sent_at AS TEXT) || ' ' || \
         CAST(expires_at AS TEXT) FROM invitations WHERE id = '{foreign_invitation}'"
    );
    let invitation_before = app.scalar_text(&invitation_sql).await;
    assert!(invitation_before.contains(&roster::domain::token::hash(&foreign_token)));
    let audit_sql = format!("SELECT COUNT(*) FROM audit_events WHERE org_id = '{other}'");
    let audit_before = app.scalar(&audit_sql).await;
    let mail_before = app.count("outbox").await;

    let link = owner
        .post_form(
            &format!("/orgs/{org}/invitations/{foreign_invitation}/link"),
            &[],
        )
        .await;
    assert_eq!(link.status(), StatusCode::NOT_FOUND, "a new link");

    for (action, field, id) in [
        ("role", "member", &foreign),
        ("remove", "member", &foreign),
        ("resend", "invitation", &foreign_invitation),
        ("cancel", "invitation", &foreign_invitation),
    ] {
        let response = owner
            .post_form(
                &format!("/orgs/{org}/members/bulk"),
                &[
                    ("action", action),
                    ("role", "viewer"),
                    (field, id),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "bulk {action}");
        let rows = result_rows(&response.text().await.expect("body"));
        assert_eq!(rows.len(), 1, "bulk {action}: {rows:?}");
        assert!(
            rows[0].to_lowercase().contains("refused: not found"),
            "bulk {action}: {rows:?}"
        );
    }
    // With a row of the organization's own: that one applies.
    let response = owner
        .post_form(
            &format!("/orgs/{org}/members/bulk"),
            &[
                ("action", "role"),
                ("role", "viewer"),
                ("member", &foreign),
                ("member", &own),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "bulk role, mixed");
    let rows = result_rows(&response.text().await.expect("body"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        if row.contains(&own_email) {
            assert!(row.contains("Done") && !row.contains("Refused"), "{row}");
        } else {
            assert!(row.to_lowercase().contains("refused: not found"), "{row}");
            assert!(!row.contains("Done"), "{row}");
        }
    }
    assert!(rows.iter().any(|r| r.contains(&own_email)), "{rows:?}");
    assert_eq!(
        app.role_of(&org, &own_email).await.as_deref(),
        Some("viewer")
    );

    assert_eq!(
        app.role_of(&other, &foreign_email).await.as_deref(),
        Some("member")
    );
    assert_eq!(app.scalar_text(&invitation_sql).await, invitation_before);
    assert_eq!(app.scalar(&audit_sql).await, audit_before);
    assert_eq!(app.count("outbox").await, mail_before, "no mail sent");
}

/// The rows of a bulk action's result table, as text (tags dropped,
/// spaces collapsed).
fn result_rows(page: &str) -> Vec<String> {
    let Some(body) = page
        .split("<tbody>")
        .nth(1)
        .and_then(|rest| rest.split("</tbody>").next())
    else {
        return Vec::new();
    };
    body.split("</tr>")
        .filter(|row| row.contains("<tr"))
        .map(|row| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in row.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    _ if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[tokio::test]
async fn matrix_for_invitation_routes() {
    check(|p| p.starts_with("/orgs/{org_id}/invitations") || p.starts_with("/invitations")).await;
}

#[tokio::test]
async fn matrix_for_workspace_routes() {
    check(|p| p.starts_with("/orgs/{org_id}/workspaces")).await;
}

#[tokio::test]
async fn matrix_for_product_routes() {
    check(|p| p.starts_with("/orgs/{org_id}/product")).await;
}

#[tokio::test]
async fn matrix_for_other_organization_routes() {
    check(|p| {
        p.starts_with("/orgs/{org_id}")
            && !p.starts_with("/orgs/{org_id}/members")
            && !p.starts_with("/orgs/{org_id}/invitations")
            && !p.starts_with("/orgs/{org_id}/workspaces")
            && !p.starts_with("/orgs/{org_id}/product")
    })
    .await;
}

#[tokio::test]
async fn matrix_for_account_and_public_routes() {
    check(|p| !p.starts_with("/orgs/{org_id}") && !p.starts_with("/invitations")).await;
}
