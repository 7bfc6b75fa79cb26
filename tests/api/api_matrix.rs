//! The API's authorization matrix: every route of [`API_ROUTES`] × every
//! kind of caller → the status it gets. A route missing from the table
//! fails the test, so a new route cannot ship without its row.
//!
//! One organization holds an Owner, an Admin, a Member, a Viewer and a
//! workspace guest, each with a personal key, and organization keys with
//! the roles Admin, Member and Viewer; another organization's Admin key
//! asks about this organization's ids. Keys that do not work (none, a
//! garbage one, an unknown one, an expired one, a revoked one) get 401 on
//! every route, with a `WWW-Authenticate` challenge.

use reqwest::{Method, StatusCode};
use roster::domain::role::OrgRole;
use roster::services::api_keys::NewKind;
use roster::web::api::API_ROUTES;
use serde_json::{Value, json};

use crate::helpers::{TestApp, email, spawn_app};

/// Who calls with a working key, in the order of a [`Row`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// An Admin organization key of another organization.
    Foreign,
    AdminKey,
    MemberKey,
    ViewerKey,
    /// Personal keys, acting as their member with the member's role now.
    Owner,
    Admin,
    Member,
    Viewer,
    /// Organization role none, with a direct Editor role in one workspace
    /// (Annex) only.
    Guest,
}

const CALLERS: [Caller; 9] = [
    Caller::Foreign,
    Caller::AdminKey,
    Caller::MemberKey,
    Caller::ViewerKey,
    Caller::Owner,
    Caller::Admin,
    Caller::Member,
    Caller::Viewer,
    Caller::Guest,
];

/// Who calls without a working key: 401 on every route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nobody {
    NoKey,
    Garbage,
    /// Well formed, but no such key.
    Unknown,
    Expired,
    Revoked,
}

/// Expected statuses in the order of [`CALLERS`]: foreign, Admin key,
/// Member key, Viewer key; the personal keys of the Owner, an Admin, a
/// Member, a Viewer, a guest.
type Row = [u16; 9];

/// Owners and Admins (and Admin keys) only; another organization's key
/// finds nothing.
const MANAGE: Row = [404, 200, 403, 403, 200, 200, 403, 403, 403];
const MANAGE_DELETE: Row = [404, 204, 403, 403, 204, 204, 403, 403, 403];

fn expected(method: &str, path: &str) -> Option<Row> {
    Some(match (method, path) {
        // Everyone with an organization role sees the members; the
        // foreign key sees its own organization's.
        ("get", "/members") => [200, 200, 200, 200, 200, 200, 200, 200, 403],
        ("get", "/members/{member_id}") => [404, 200, 200, 200, 200, 200, 200, 200, 403],
        // A fresh Member made a Viewer, removed, restricted, granted View.
        ("patch", "/members/{member_id}")
        | ("get", "/members/{member_id}/product-access")
        | ("put", "/members/{member_id}/product-access")
        | ("put", "/members/{member_id}/product-access/{product_id}") => MANAGE,
        ("delete", "/members/{member_id}") => MANAGE_DELETE,
        // The foreign key lists (and invites into) its own organization.
        ("get", "/invitations") | ("post", "/invitations") => {
            [200, 200, 403, 403, 200, 200, 403, 403, 403]
        }
        ("post", "/invitations/{invitation_id}/resend") => MANAGE,
        ("delete", "/invitations/{invitation_id}") => MANAGE_DELETE,
        // A guest lists only its own workspaces (not the cell's).
        ("get", "/workspaces") => [200; 9],
        // The foreign key creates in its own organization.
        ("post", "/workspaces") => [201, 201, 403, 403, 201, 201, 403, 403, 403],
        // The cell's fresh workspace, where the guest has no role.
        ("get", "/workspaces/{workspace_id}") | ("get", "/workspaces/{workspace_id}/people") => {
            [404, 200, 200, 200, 200, 200, 200, 200, 404]
        }
        ("patch", "/workspaces/{workspace_id}")
        | ("put", "/workspaces/{workspace_id}/people/{member_id}") => {
            [404, 200, 403, 403, 200, 200, 403, 403, 404]
        }
        ("delete", "/workspaces/{workspace_id}/people/{member_id}") => {
            [404, 204, 403, 403, 204, 204, 403, 403, 404]
        }
        // Only the workspace's Owner, here the organization's Owner (a key
        // holds no workspace role).
        ("post", "/workspaces/{workspace_id}/transfer") => {
            [404, 403, 403, 403, 200, 403, 403, 403, 404]
        }
        ("delete", "/workspaces/{workspace_id}") => [404, 403, 403, 403, 204, 403, 403, 403, 404],
        ("get", "/products") => [200; 9],
        // Into the cell's workspace: the workspace is named in the body,
        // so the foreign key and the guest (who may add products in Annex)
        // are told to choose a workspace where they may add products;
        // Viewers may add them nowhere.
        ("post", "/products") => [422, 201, 201, 403, 201, 201, 201, 403, 422],
        ("get", "/products/{product_id}") => [404, 200, 200, 200, 200, 200, 200, 200, 404],
        ("patch", "/products/{product_id}") => [404, 200, 200, 403, 200, 200, 200, 403, 404],
        ("put", "/products/{product_id}/owner") => [404, 200, 403, 403, 200, 200, 403, 403, 404],
        ("delete", "/products/{product_id}") => [404, 204, 403, 403, 204, 204, 403, 403, 404],
        // The foreign key reads its own organization's log.
        ("get", "/audit-events") => [200, 200, 403, 403, 200, 200, 403, 403, 403],
        // Whoever sees the members sees their access; the foreign key's
        // checks are about its own organization, where the cell's member
        // is none (each answer says so).
        ("get", "/members/{member_id}/access") => [404, 200, 200, 200, 200, 200, 200, 200, 403],
        ("post", "/access-checks") => [200, 200, 200, 200, 200, 200, 200, 200, 403],
        _ => return None,
    })
}

/// The organization under test and every caller's key.
struct World {
    org: String,
    owner_email: String,
    keys: Vec<(Caller, String)>,
    nobody: Vec<(Nobody, Option<String>)>,
}

impl World {
    fn key(&self, caller: Caller) -> &str {
        self.keys
            .iter()
            .find(|(c, _)| *c == caller)
            .map(|(_, k)| k.as_str())
            .expect("a key for every caller")
    }
}

/// A member (made while a Member, so they may hold a personal key) with
/// their address confirmed; returns (membership id, address, key).
async fn keyed_member(app: &TestApp, org: &str) -> (String, String, String) {
    let (id, address) = app.add_member(org, OrgRole::Member).await;
    app.confirm_email(&address).await;
    let acting = app.acting_of(org, &address).await;
    let key = app.api_key(&acting, "Script", NewKind::Personal, 30).await;
    (id, address, key)
}

async fn world(app: &TestApp) -> World {
    let owner_email = email("owner");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let owner = app.owner_acting(&org).await;

    // A key that lived one day, two days ago.
    let expired = app
        .api_key(&owner, "Old", NewKind::Organization(OrgRole::Admin), 1)
        .await;
    app.clock.advance(2 * 24 * 60 * 60);
    let revoked = app.org_key(&org, OrgRole::Member).await;
    let revoked_id = app
        .scalar_text(&format!(
            "SELECT id FROM api_keys WHERE org_id = '{org}' AND name = 'Member key'"
        ))
        .await;
    roster::services::api_keys::revoke(&app.db, &app.clock, &owner, &revoked_id)
        .await
        .expect("revoke");

    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("outsider"), "Elsewhere")
        .await;
    let foreign = app.org_key(&elsewhere, OrgRole::Admin).await;

    let owner_key = app.api_key(&owner, "Script", NewKind::Personal, 30).await;
    let (admin_id, _, admin_key) = keyed_member(app, &org).await;
    let (_, _, member_key) = keyed_member(app, &org).await;
    // The Viewer and the guest may not make personal keys: they made them
    // as Members and were demoted since.
    let (viewer_id, _, viewer_key) = keyed_member(app, &org).await;
    let (guest_id, guest_email, guest_key) = keyed_member(app, &org).await;
    for (id, role) in [(&admin_id, OrgRole::Admin), (&viewer_id, OrgRole::Viewer)] {
        roster::services::members::change_role(&app.db, &app.clock, &owner, id, role)
            .await
            .expect("a role");
    }
    use sea_orm::ConnectionTrait;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE memberships SET role = 'none' WHERE id = '{guest_id}'"
        ))
        .await
        .expect("a guest");
    let annex = app.add_workspace(&org, "Annex").await;
    app.add_workspace_role(&annex, &app.user_id(&guest_email).await, "editor")
        .await;
    app.assert_counts_match(&org).await;

    let keys = vec![
        (Caller::Foreign, foreign),
        (Caller::AdminKey, app.org_key(&org, OrgRole::Admin).await),
        (Caller::MemberKey, app.org_key(&org, OrgRole::Member).await),
        (Caller::ViewerKey, app.org_key(&org, OrgRole::Viewer).await),
        (Caller::Owner, owner_key),
        (Caller::Admin, admin_key),
        (Caller::Member, member_key),
        (Caller::Viewer, viewer_key),
        (Caller::Guest, guest_key),
    ];
    let nobody = vec![
        (Nobody::NoKey, None),
        (Nobody::Garbage, Some("roster_not-a-key".to_string())),
        (Nobody::Unknown, Some(roster::domain::api_key::generate())),
        (Nobody::Expired, Some(expired)),
        (Nobody::Revoked, Some(revoked)),
    ];
    World {
        org,
        owner_email,
        keys,
        nobody,
    }
}

/// Fresh things for one request to act on.
struct Cell {
    /// A Member with a direct Viewer role in `workspace`.
    member_id: String,
    member_email: String,
    /// A workspace of the Owner's (the guest has no role in it).
    workspace: String,
    /// A product in `workspace`, nobody's.
    product: String,
    /// A pending invitation sent ten minutes ago.
    invitation: String,
    /// A name nothing else has.
    name: String,
}

async fn cell(app: &TestApp, world: &World) -> Cell {
    let name = format!("Cell {}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (member_id, member_email) = app.add_member(&world.org, OrgRole::Member).await;
    let workspace = app.add_workspace(&world.org, &name).await;
    app.add_workspace_role(&workspace, &app.user_id(&member_email).await, "viewer")
        .await;
    let product = app
        .add_product(&workspace, &format!("{name} product"), None)
        .await;
    let (invitation, _) = app.add_invitation(&world.org, OrgRole::Member).await;
    Cell {
        member_id,
        member_email,
        workspace,
        product,
        invitation,
        name,
    }
}

/// The body a route is sent in the matrix: valid, so that only the
/// caller's rights decide the outcome.
fn body(method: &str, pattern: &str, cell: &Cell) -> Option<Value> {
    Some(match (method, pattern) {
        ("patch", "/members/{member_id}") => json!({"role": "viewer"}),
        ("put", "/members/{member_id}/product-access") => json!({"restricted": true}),
        ("put", "/members/{member_id}/product-access/{product_id}") => json!({"access": "view"}),
        ("post", "/invitations") => json!({
            "emails": [format!("{}@invitee.test", cell.name.replace(' ', "-").to_lowercase())],
            "role": "viewer",
        }),
        ("post", "/workspaces") | ("patch", "/workspaces/{workspace_id}") => {
            json!({"name": format!("{} renamed", cell.name)})
        }
        ("put", "/workspaces/{workspace_id}/people/{member_id}") => json!({"role": "editor"}),
        ("post", "/workspaces/{workspace_id}/transfer")
        | ("put", "/products/{product_id}/owner") => {
            json!({"email": cell.member_email})
        }
        ("post", "/products") => json!({
            "workspace_id": cell.workspace,
            "name": format!("{} new", cell.name),
        }),
        ("patch", "/products/{product_id}") => json!({"name": format!("{} edited", cell.name)}),
        ("post", "/access-checks") => json!({"checks": [
            {"member_id": cell.member_id, "module": "members", "level": "read"},
            {"member_id": cell.member_id, "module": "products", "level": "write",
             "workspace_id": cell.workspace},
        ]}),
        _ => return None,
    })
}

fn method_of(method: &str) -> Method {
    Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method")
}

struct Answer {
    status: StatusCode,
    content_type: String,
    challenge: Option<String>,
    text: String,
}

async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut request = match key {
        Some(key) => app.api(method_of(method), path, key),
        None => reqwest::Client::new()
            .request(method_of(method), format!("{}/api/v1{path}", app.address)),
    };
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("an API answer");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let challenge = header("www-authenticate");
    Answer {
        status: response.status(),
        content_type,
        challenge,
        text: response.text().await.expect("a body"),
    }
}

/// What is wrong with an answer beyond its status: errors are problem
/// details with their status inside, 401s challenge, successes are JSON.
fn shape_faults(answer: &Answer) -> Option<String> {
    let status = answer.status;
    if status == StatusCode::NO_CONTENT {
        return (!answer.text.is_empty()).then(|| "a 204 with a body".to_string());
    }
    if status.is_success() {
        let json = serde_json::from_str::<Value>(&answer.text).is_ok();
        return (answer.content_type != "application/json" || !json)
            .then(|| format!("not JSON: {} {}", answer.content_type, answer.text));
    }
    let problem = serde_json::from_str::<Value>(&answer.text).unwrap_or_default();
    if answer.content_type != "application/problem+json"
        || problem["status"] != status.as_u16()
        || problem["type"] != "about:blank"
        || !problem["detail"].is_string()
    {
        return Some(format!(
            "not a problem detail: {} {}",
            answer.content_type, answer.text
        ));
    }
    if status == StatusCode::UNAUTHORIZED
        && !answer
            .challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer realm=\"Roster API\""))
    {
        return Some(format!("no Bearer challenge: {:?}", answer.challenge));
    }
    None
}

async fn check_route(
    app: &TestApp,
    world: &World,
    method: &str,
    pattern: &str,
    row: Row,
) -> Vec<String> {
    let mut failures = Vec::new();
    let path_of = |cell: &Cell| {
        pattern
            .replace("{member_id}", &cell.member_id)
            .replace("{invitation_id}", &cell.invitation)
            .replace("{workspace_id}", &cell.workspace)
            .replace("{product_id}", &cell.product)
    };

    // Keys that do not work change nothing: one cell serves them all.
    let shared = cell(app, world).await;
    for (nobody, key) in &world.nobody {
        let answer = request(
            app,
            method,
            &path_of(&shared),
            key.as_deref(),
            body(method, pattern, &shared).as_ref(),
        )
        .await;
        if answer.status != StatusCode::UNAUTHORIZED {
            failures.push(format!(
                "{method} {pattern} with {nobody:?}: expected 401, got {}",
                answer.status.as_u16()
            ));
        } else if let Some(fault) = shape_faults(&answer) {
            failures.push(format!("{method} {pattern} with {nobody:?}: {fault}"));
        }
    }

    for (caller, want) in CALLERS.into_iter().zip(row) {
        let cell = cell(app, world).await;
        let answer = request(
            app,
            method,
            &path_of(&cell),
            Some(world.key(caller)),
            body(method, pattern, &cell).as_ref(),
        )
        .await;
        let got = answer.status.as_u16();
        if got != want {
            failures.push(format!(
                "{method} {pattern} as {caller:?}: expected {want}, got {got}: {}",
                answer.text
            ));
            continue;
        }
        if let Some(fault) = shape_faults(&answer) {
            failures.push(format!("{method} {pattern} as {caller:?}: {fault}"));
        }
        // What a caller may not see stays out of what it may.
        let unseen: Vec<&str> = match caller {
            Caller::Foreign => vec![
                &world.org,
                &world.owner_email,
                &cell.member_id,
                &cell.member_email,
                &cell.workspace,
                &cell.product,
                &cell.invitation,
            ],
            Caller::Guest => vec![&cell.workspace, &cell.product, &cell.member_email],
            _ => vec![],
        };
        if let Some(leak) = unseen.iter().find(|s| answer.text.contains(**s)) {
            failures.push(format!(
                "{method} {pattern} as {caller:?} shows {leak}: {}",
                answer.text
            ));
        }
    }
    failures
}

async fn check(group: impl Fn(&str) -> bool) {
    let app = spawn_app().await;
    let world = world(&app).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, pattern) in API_ROUTES {
        if !group(pattern) {
            continue;
        }
        checked += 1;
        let Some(row) = expected(method, pattern) else {
            failures.push(format!(
                "{method} {pattern} has no row in the API's authorization matrix"
            ));
            continue;
        };
        failures.extend(check_route(&app, &world, method, pattern, row).await);
    }
    assert!(checked > 0, "the group holds routes");
    assert!(
        failures.is_empty(),
        "API authorization matrix:\n{}",
        failures.join("\n")
    );
}

const GROUPS: [&str; 4] = ["/members", "/invitations", "/workspaces", "/products"];

fn in_group(path: &str, group: &str) -> bool {
    path == group || path.starts_with(&format!("{group}/"))
}

#[tokio::test]
async fn every_api_route_is_in_the_matrix() {
    let missing: Vec<_> = API_ROUTES
        .iter()
        .filter(|(method, pattern)| expected(method, pattern).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "API routes without a row in the matrix: {missing:?}"
    );
    // And every row is a route: a row left behind by a removed route (or
    // one for a method the path does not take) fails.
    let patterns: std::collections::BTreeSet<&str> =
        API_ROUTES.iter().map(|(_, pattern)| *pattern).collect();
    for method in ["get", "post", "put", "patch", "delete"] {
        for pattern in &patterns {
            if expected(method, pattern).is_some() {
                assert!(
                    API_ROUTES.contains(&(method, *pattern)),
                    "a row for {method} {pattern}, which is no route"
                );
            }
        }
    }
}

#[tokio::test]
async fn api_matrix_for_member_routes() {
    check(|p| in_group(p, "/members")).await;
}

#[tokio::test]
async fn api_matrix_for_invitation_routes() {
    check(|p| in_group(p, "/invitations")).await;
}

#[tokio::test]
async fn api_matrix_for_workspace_routes() {
    check(|p| in_group(p, "/workspaces")).await;
}

#[tokio::test]
async fn api_matrix_for_product_routes() {
    check(|p| in_group(p, "/products")).await;
}

#[tokio::test]
async fn api_matrix_for_every_other_route() {
    check(|p| !GROUPS.iter().any(|g| in_group(p, g))).await;
}

#[tokio::test]
async fn a_guest_s_key_sees_only_its_workspace() {
    let app = spawn_app().await;
    let world = world(&app).await;
    let guest = world.key(Caller::Guest);
    let general = app.general_workspace(&world.org).await;
    let annex = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{}' AND title = 'Annex'",
            world.org
        ))
        .await;
    let inside = app.add_product(&annex, "Inside", None).await;
    let outside = app.add_product(&general, "Outside", None).await;

    let listed = request(&app, "get", "/workspaces", Some(guest), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed: Value = serde_json::from_str(&listed.text).expect("JSON");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], annex.as_str());
    let products = request(&app, "get", "/products", Some(guest), None).await;
    let products: Value = serde_json::from_str(&products.text).expect("JSON");
    assert_eq!(products["total"], 1);
    assert_eq!(products["items"][0]["id"], inside.as_str());

    for (path, want) in [
        (format!("/workspaces/{annex}"), 200),
        (format!("/workspaces/{annex}/people"), 200),
        (format!("/products/{inside}"), 200),
        (format!("/workspaces/{general}"), 404),
        (format!("/workspaces/{general}/people"), 404),
        (format!("/products/{outside}"), 404),
        ("/members".to_string(), 403),
    ] {
        let answer = request(&app, "get", &path, Some(guest), None).await;
        assert_eq!(answer.status.as_u16(), want, "{path}: {}", answer.text);
    }
    // As an Editor there, the guest adds products to Annex.
    let added = request(
        &app,
        "post",
        "/products",
        Some(guest),
        Some(&json!({"workspace_id": annex, "name": "Made by the guest"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
}

#[tokio::test]
async fn keys_that_do_not_work_are_told_why() {
    let app = spawn_app().await;
    let world = world(&app).await;
    for (nobody, key) in &world.nobody {
        let answer = request(&app, "get", "/members", key.as_deref(), None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{nobody:?}");
        let problem: Value = serde_json::from_str(&answer.text).expect("JSON");
        let detail = problem["detail"].as_str().expect("a detail");
        let challenge = answer.challenge.expect("a challenge");
        let (why, invalid_token) = match nobody {
            Nobody::NoKey => ("Send an API key", false),
            Nobody::Garbage => ("not a Roster API key", true),
            Nobody::Unknown => ("No such API key", true),
            Nobody::Expired => ("has expired", true),
            Nobody::Revoked => ("was revoked", true),
        };
        assert!(detail.contains(why), "{nobody:?}: {detail}");
        assert_eq!(
            challenge.contains("error=\"invalid_token\""),
            invalid_token,
            "{nobody:?}: {challenge}"
        );
    }
    // The expiry was noticed and logged once.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{}' AND action = 'api_key.expired'",
            world.org
        ))
        .await,
        1
    );

    // A personal key stops working when its member leaves.
    let member_key = world.key(Caller::Member);
    let member_id = app
        .scalar_text(&format!(
            "SELECT m.id FROM memberships m JOIN api_keys k ON k.user_id = m.user_id \
             WHERE m.org_id = '{}' AND m.role = 'member' AND k.org_id = m.org_id",
            world.org
        ))
        .await;
    let removed = request(
        &app,
        "delete",
        &format!("/members/{member_id}"),
        Some(world.key(Caller::AdminKey)),
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let refused = request(&app, "get", "/members", Some(member_key), None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.text.contains("no longer belongs"),
        "{}",
        refused.text
    );
}
