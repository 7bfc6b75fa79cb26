//! The API's resources, one rule and two doors: each call through
//! `/api/v1` with a key changes what the pages would change (the rows in
//! the database) and leaves the audit row the pages would leave, naming
//! the key; each refusal is a problem detail and changes nothing.

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use roster::domain::role::OrgRole;
use roster::entities::{audit_event, membership};
use roster::services::api_keys::NewKind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, email, location, spawn_app};

/// How an organization key made by Olivia Owner signs its audit rows.
fn org_key_label(role: OrgRole) -> String {
    format!("API key '{} key' of Olivia Owner", role.label())
}

/// An API answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem detail with `status` (RFC 9457) and returns it.
    fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let problem = self.json();
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["status"], status.as_u16());
        assert!(
            problem["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{problem}"
        );
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        problem
    }

    /// Asserts a 422 whose first refused field is `field`.
    fn refused_field(&self, field: &str) -> Value {
        let problem = self.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{problem}"
        );
        problem
    }
}

async fn send(request: RequestBuilder, body: Option<&Value>) -> Answer {
    let request = match body {
        Some(body) => request
            .header("Content-Type", "application/json")
            .body(body.to_string()),
        None => request,
    };
    let response = request.send().await.expect("an API answer");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.expect("a body"),
    }
}

async fn call(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> Answer {
    send(app.api(method, path, key), body.as_ref()).await
}

async fn get(app: &TestApp, path: &str, key: &str) -> Answer {
    call(app, Method::GET, path, key, None).await
}

/// The audit rows of `org` with `action`, oldest first.
async fn audit(app: &TestApp, org: &str, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::OrgId.eq(org))
        .filter(audit_event::Column::Action.eq(action))
        .order_by_asc(audit_event::Column::CreatedAt)
        .order_by_asc(audit_event::Column::Id)
        .all(app.db.owner())
        .await
        .expect("audit rows")
}

/// The one audit row of `org` with `action`.
async fn audit_one(app: &TestApp, org: &str, action: &str) -> audit_event::Model {
    let mut rows = audit(app, org, action).await;
    assert_eq!(rows.len(), 1, "one {action} row: {rows:?}");
    rows.remove(0)
}

/// An organization of Olivia Owner's (her address confirmed), with her
/// personal key and an Admin organization key she made.
struct Org {
    id: String,
    owner_email: String,
    owner_key: String,
    admin_key: String,
}

async fn org(app: &TestApp) -> Org {
    let owner_email = email("olivia");
    let (_, id) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let owner = app.owner_acting(&id).await;
    let owner_key = app
        .api_key(&owner, "Olivia's script", NewKind::Personal, 30)
        .await;
    let admin_key = app.org_key(&id, OrgRole::Admin).await;
    Org {
        id,
        owner_email,
        owner_key,
        admin_key,
    }
}

/// A personal key of the member with `address`, named "Script".
async fn personal_key(app: &TestApp, org: &str, address: &str) -> String {
    let acting = app.acting_of(org, address).await;
    app.api_key(&acting, "Script", NewKind::Personal, 30).await
}

async fn membership_ids(app: &TestApp, org: &str) -> HashSet<String> {
    membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org))
        .all(app.db.owner())
        .await
        .expect("memberships")
        .into_iter()
        .map(|m| m.id)
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_string())
        .collect()
}

async fn owner_membership(app: &TestApp, org: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
    ))
    .await
}

// Members.

#[tokio::test]
async fn the_member_list_pages_by_cursor_without_gaps_or_overlap() {
    let app = spawn_app().await;
    let org = org(&app).await;
    for _ in 0..55 {
        app.add_member(&org.id, OrgRole::Member).await;
    }
    // Viewers may see the members: a Viewer key reads the list.
    let viewer = app.org_key(&org.id, OrgRole::Viewer).await;

    let first = get(&app, "/members", &viewer).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let first = first.json();
    assert_eq!(first["total"], 56);
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 50);
    let names: Vec<String> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["name"].as_str().expect("a name").to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "A–Z: {names:?}");
    let cursor = first["next_cursor"].as_str().expect("a next cursor");

    let second = send(
        app.api(Method::GET, "/members", &viewer)
            .query(&[("cursor", cursor)]),
        None,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second = second.json();
    assert_eq!(second["total"], 56);
    assert_eq!(second["next_cursor"], Value::Null, "the last page");
    let second_ids = ids(&second);
    assert_eq!(second_ids.len(), 6);
    let mut seen: HashSet<String> = first_ids.into_iter().collect();
    for id in &second_ids {
        assert!(seen.insert(id.clone()), "{id} on both pages");
    }
    assert_eq!(seen, membership_ids(&app, &org.id).await, "everyone once");

    // Newest first: someone who joins a minute later leads `joined`.
    app.clock.advance(60);
    let (late, _) = app.add_member(&org.id, OrgRole::Viewer).await;
    let joined = get(&app, "/members?sort=joined", &viewer).await.json();
    assert_eq!(joined["total"], 57);
    let joined_ids = ids(&joined);
    assert_eq!(joined_ids[0], late);
    let times: Vec<&str> = joined["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["joined_at"].as_str().expect("joined_at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let cursor = joined["next_cursor"].as_str().expect("a next cursor");
    let rest = send(
        app.api(Method::GET, "/members", &viewer)
            .query(&[("sort", "joined"), ("cursor", cursor)]),
        None,
    )
    .await
    .json();
    let rest_ids = ids(&rest);
    assert_eq!(rest_ids.len(), 7);
    assert_eq!(rest["next_cursor"], Value::Null);
    let all: HashSet<String> = joined_ids.into_iter().chain(rest_ids).collect();
    assert_eq!(all, membership_ids(&app, &org.id).await);

    // A cursor of the name order means nothing in the joined order.
    let name_cursor = first["next_cursor"].as_str().expect("a cursor");
    send(
        app.api(Method::GET, "/members", &viewer)
            .query(&[("sort", "joined"), ("cursor", name_cursor)]),
        None,
    )
    .await
    .refused_field("cursor");
}

#[tokio::test]
async fn the_member_list_searches_and_filters_by_role() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let grace = app.insert_user("grace@hopper.test", "Grace Hopper").await;
    let grace_id = app.add_membership(&org.id, &grace, OrgRole::Admin).await;
    app.add_member(&org.id, OrgRole::Admin).await;
    for _ in 0..3 {
        app.add_member(&org.id, OrgRole::Member).await;
    }
    let key = app.org_key(&org.id, OrgRole::Member).await;

    for q in ["hopper", "HOPPER", "grace@hop"] {
        let found = send(
            app.api(Method::GET, "/members", &key).query(&[("q", q)]),
            None,
        )
        .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.text);
        let found = found.json();
        assert_eq!(found["total"], 1, "{q}: {found}");
        assert_eq!(found["items"][0]["id"], grace_id.as_str());
        assert_eq!(found["items"][0]["email"], "grace@hopper.test");
        assert_eq!(found["items"][0]["name"], "Grace Hopper");
        assert_eq!(found["items"][0]["role"], "admin");
        assert_eq!(found["items"][0]["user_id"], grace.id.as_str());
    }
    let nobody = get(&app, "/members?q=nobody-here", &key).await.json();
    assert_eq!(nobody["total"], 0);
    assert_eq!(nobody["items"], json!([]));

    let admins = get(&app, "/members?role=admin", &key).await.json();
    assert_eq!(admins["total"], 2);
    let roles: Vec<&Value> = admins["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["role"])
        .collect();
    assert_eq!(roles, [&json!("admin"), &json!("admin")]);
    let owner = get(&app, "/members?role=owner", &key).await.json();
    assert_eq!(owner["total"], 1);
    assert_eq!(owner["items"][0]["email"], org.owner_email.as_str());
    let both = get(&app, "/members?role=admin&q=grace", &key).await.json();
    assert_eq!(ids(&both), [grace_id]);
    let none = get(&app, "/members?role=member&q=grace", &key).await.json();
    assert_eq!(none["total"], 0);

    // Refusals.
    get(&app, &format!("/members?q={}", "x".repeat(101)), &key)
        .await
        .refused_field("q");
    get(&app, "/members?role=emperor", &key)
        .await
        .problem(StatusCode::BAD_REQUEST);
    get(&app, "/members?limit=5", &key)
        .await
        .problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_member_is_read_by_id_and_other_organizations_members_are_not_found() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (member_id, address) = app.add_member(&org.id, OrgRole::Member).await;
    let user = app.user(&address).await;

    let found = get(&app, &format!("/members/{member_id}"), &org.admin_key).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let found = found.json();
    assert_eq!(found["id"], member_id.as_str());
    assert_eq!(found["user_id"], user.id.as_str());
    assert_eq!(found["email"], address.as_str());
    assert_eq!(found["name"], user.name.as_str());
    assert_eq!(found["role"], "member");
    assert!(
        found["joined_at"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with('Z')),
        "RFC 3339: {found}"
    );
    assert_eq!(found["last_active_at"], Value::Null, "never active");

    // Another organization's member, whatever the method.
    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let (theirs, their_address) = app.add_member(&elsewhere, OrgRole::Member).await;
    let path = format!("/members/{theirs}");
    get(&app, &path, &org.admin_key)
        .await
        .problem(StatusCode::NOT_FOUND);
    call(
        &app,
        Method::PATCH,
        &path,
        &org.admin_key,
        Some(json!({"role": "viewer"})),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    call(&app, Method::DELETE, &path, &org.admin_key, None)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        app.role_of(&elsewhere, &their_address).await.as_deref(),
        Some("member"),
        "untouched"
    );
    assert!(
        audit(&app, &elsewhere, "member.role_changed")
            .await
            .is_empty()
    );

    // Ids that are no id, or nobody's.
    for bad in [
        "not-a-uuid".to_string(),
        "1".to_string(),
        uuid::Uuid::new_v4().to_string(),
    ] {
        get(&app, &format!("/members/{bad}"), &org.admin_key)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn changing_a_role_changes_the_membership_and_is_audited_with_the_key() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (member_id, address) = app.add_member(&org.id, OrgRole::Member).await;
    let user = app.user(&address).await;

    let changed = call(
        &app,
        Method::PATCH,
        &format!("/members/{member_id}"),
        &org.admin_key,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["id"], member_id.as_str());
    assert_eq!(changed["role"], "viewer");
    assert_eq!(
        app.role_of(&org.id, &address).await.as_deref(),
        Some("viewer")
    );
    let row = audit_one(&app, &org.id, "member.role_changed").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.actor_user_id, None, "an organization key is nobody");
    assert_eq!(row.target_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(row.target_label.as_deref(), Some(address.as_str()));
    assert_eq!(row.before_value.as_deref(), Some("member"));
    assert_eq!(row.after_value.as_deref(), Some("viewer"));
    app.assert_counts_match(&org.id).await;

    // The same role again changes nothing and writes nothing.
    let same = call(
        &app,
        Method::PATCH,
        &format!("/members/{member_id}"),
        &org.admin_key,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(audit(&app, &org.id, "member.role_changed").await.len(), 1);

    // The Owner's personal key: the row names Olivia through her key.
    let promoted = call(
        &app,
        Method::PATCH,
        &format!("/members/{member_id}"),
        &org.owner_key,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text);
    assert_eq!(
        app.role_of(&org.id, &address).await.as_deref(),
        Some("admin")
    );
    let rows = audit(&app, &org.id, "member.role_changed").await;
    assert_eq!(rows.len(), 2);
    let owner = app.user(&org.owner_email).await;
    let by_owner = rows
        .iter()
        .find(|r| r.after_value.as_deref() == Some("admin"))
        .expect("the promotion's row");
    assert_eq!(
        by_owner.actor_label,
        "API key 'Olivia's script' of Olivia Owner"
    );
    assert_eq!(by_owner.actor_user_id.as_deref(), Some(owner.id.as_str()));
    assert_eq!(by_owner.before_value.as_deref(), Some("viewer"));
}

#[tokio::test]
async fn role_changes_the_policy_refuses_change_nothing() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (member_id, address) = app.add_member(&org.id, OrgRole::Member).await;
    let owner_id = owner_membership(&app, &org.id).await;
    let path = format!("/members/{member_id}");

    // Nobody is made the Owner here: ownership is transferred.
    for key in [&org.admin_key, &org.owner_key] {
        let refused = call(
            &app,
            Method::PATCH,
            &path,
            key,
            Some(json!({"role": "owner"})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("transferring ownership")),
            "{refused}"
        );
    }
    // An Admin key may not touch the Owner.
    call(
        &app,
        Method::PATCH,
        &format!("/members/{owner_id}"),
        &org.admin_key,
        Some(json!({"role": "admin"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert_eq!(app.owners_of(&org.id).await, 1);
    assert_eq!(
        app.role_of(&org.id, &org.owner_email).await.as_deref(),
        Some("owner")
    );
    // Members may not change roles, their own door or the organization's.
    let (_, peer) = app.add_member(&org.id, OrgRole::Member).await;
    let peer_key = personal_key(&app, &org.id, &peer).await;
    let member_key = app.org_key(&org.id, OrgRole::Member).await;
    for key in [&peer_key, &member_key] {
        call(
            &app,
            Method::PATCH,
            &path,
            key,
            Some(json!({"role": "viewer"})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    // Bodies of the wrong shape: the refusal names the body.
    for body in [
        json!({"role": "viewer", "rank": 3}),
        json!({"role": "emperor"}),
        json!({}),
    ] {
        let problem = call(&app, Method::PATCH, &path, &org.admin_key, Some(body))
            .await
            .refused_field("body");
        assert!(problem["detail"].as_str().is_some(), "{problem}");
    }
    let unknown = call(
        &app,
        Method::PATCH,
        &path,
        &org.admin_key,
        Some(json!({"role": "viewer", "rank": 3})),
    )
    .await
    .refused_field("body");
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("rank")),
        "the message names the unknown field: {unknown}"
    );
    // Not JSON at all.
    send(
        app.api(Method::PATCH, &path, &org.admin_key)
            .header("Content-Type", "text/plain")
            .body("role=viewer"),
        None,
    )
    .await
    .problem(StatusCode::BAD_REQUEST);

    assert_eq!(
        app.role_of(&org.id, &address).await.as_deref(),
        Some("member"),
        "never changed"
    );
    assert!(audit(&app, &org.id, "member.role_changed").await.is_empty());
}

#[tokio::test]
async fn removing_a_member_ends_their_membership_and_is_audited() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (member_id, address) = app.add_member(&org.id, OrgRole::Member).await;
    let user = app.user(&address).await;
    let general = app.general_workspace(&org.id).await;
    // What goes with them: a direct role, and a product they own.
    app.add_workspace_role(&general, &user.id, "admin").await;
    let product = app.add_product(&general, "Ledger", Some(&user.id)).await;

    // Members may not remove anyone.
    let (_, peer) = app.add_member(&org.id, OrgRole::Member).await;
    let peer_key = personal_key(&app, &org.id, &peer).await;
    call(
        &app,
        Method::DELETE,
        &format!("/members/{member_id}"),
        &peer_key,
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert!(app.role_of(&org.id, &address).await.is_some());

    let removed = call(
        &app,
        Method::DELETE,
        &format!("/members/{member_id}"),
        &org.admin_key,
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    assert!(removed.text.is_empty());
    assert_eq!(app.role_of(&org.id, &address).await, None);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE user_id = '{}'",
            user.id
        ))
        .await,
        0,
        "their direct roles go too"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{product}' AND needs_owner = TRUE \
             AND owner_id IS NULL"
        ))
        .await,
        1,
        "their product needs an owner"
    );
    let row = audit_one(&app, &org.id, "member.removed").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(row.before_value.as_deref(), Some("member"));
    app.assert_counts_match(&org.id).await;

    // Gone: a second DELETE finds nobody.
    call(
        &app,
        Method::DELETE,
        &format!("/members/{member_id}"),
        &org.admin_key,
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    // The Owner stays, whoever asks.
    let owner_id = owner_membership(&app, &org.id).await;
    for key in [&org.admin_key, &org.owner_key] {
        call(
            &app,
            Method::DELETE,
            &format!("/members/{owner_id}"),
            key,
            None,
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    assert_eq!(app.owners_of(&org.id).await, 1);
    assert_eq!(audit(&app, &org.id, "member.removed").await.len(), 1);
}

// Invitations.

async fn outbox_to(app: &TestApp, addresses: &[&str]) -> i64 {
    let list: Vec<String> = addresses.iter().map(|a| format!("'{a}'")).collect();
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE recipient IN ({})",
        list.join(", ")
    ))
    .await
}

async fn invitation_count(app: &TestApp, org: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM invitations WHERE org_id = '{org}'"
    ))
    .await
}

async fn key_id(app: &TestApp, org: &str, name: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM api_keys WHERE org_id = '{org}' AND name = '{name}'"
    ))
    .await
}

#[tokio::test]
async fn a_batch_of_invitations_is_sent_once_per_idempotency_key() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let admin_key_id = key_id(&app, &org.id, "Admin key").await;
    let batch = json!({
        "emails": ["ada@example.test", " grace@example.test ", "not an address"],
        "role": "member",
    });
    let post = || {
        app.api(Method::POST, "/invitations", &org.admin_key)
            .header("Idempotency-Key", "batch-1")
    };

    let sent = send(post(), Some(&batch)).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(sent.header("idempotent-replayed"), None);
    let results = sent.json();
    let outcomes: Vec<(&str, &str)> = results["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["email"].as_str().expect("email"),
                r["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("ada@example.test", "invited"),
            ("grace@example.test", "invited"),
            ("not an address", "invalid"),
        ]
    );
    assert!(results["results"][2]["message"].as_str().is_some());
    assert_eq!(results["results"][0]["message"], Value::Null);

    let addresses = ["ada@example.test", "grace@example.test"];
    assert_eq!(invitation_count(&app, &org.id).await, 2);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE org_id = '{}' AND state = 'pending' \
             AND role = 'member' AND invited_by IS NULL AND invited_by_key_id = '{admin_key_id}' \
             AND invited_by_name = 'Olivia Owner'",
            org.id
        ))
        .await,
        2,
        "sent by the key, in the name of its maker"
    );
    assert_eq!(outbox_to(&app, &addresses).await, 2);
    let rows = audit(&app, &org.id, "invitation.sent").await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
        assert_eq!(row.actor_user_id, None);
        assert_eq!(row.after_value.as_deref(), Some("member"));
    }
    let targets: HashSet<&str> = rows
        .iter()
        .filter_map(|r| r.target_label.as_deref())
        .collect();
    assert_eq!(targets, addresses.into_iter().collect());

    // The retry gets the first answer and sends nothing.
    let again = send(post(), Some(&batch)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.text, sent.text);
    assert_eq!(invitation_count(&app, &org.id).await, 2);
    assert_eq!(outbox_to(&app, &addresses).await, 2);
    assert_eq!(audit(&app, &org.id, "invitation.sent").await.len(), 2);

    // The same key with another request is refused, and sends nothing.
    let other = json!({"emails": ["alan@example.test"], "role": "member"});
    send(post(), Some(&other))
        .await
        .refused_field("Idempotency-Key");
    assert_eq!(invitation_count(&app, &org.id).await, 2);
    assert_eq!(outbox_to(&app, &["alan@example.test"]).await, 0);

    // Without the header, the same batch finds them already invited.
    let repeat = call(
        &app,
        Method::POST,
        "/invitations",
        &org.admin_key,
        Some(batch),
    )
    .await;
    assert_eq!(repeat.status, StatusCode::OK);
    let repeat = repeat.json();
    assert_eq!(repeat["results"][0]["outcome"], "already_invited");
    let ada_invitation = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE email_normalized = 'ada@example.test' \
             AND org_id = '{}'",
            org.id
        ))
        .await;
    assert_eq!(
        repeat["results"][0]["invitation_id"],
        ada_invitation.as_str()
    );
    assert_eq!(invitation_count(&app, &org.id).await, 2);
    assert_eq!(outbox_to(&app, &addresses).await, 2);
}

/// A retry that reaches another instance (behind a load balancer) gets
/// the first answer too: the answers are kept in the database.
#[tokio::test]
async fn a_retried_batch_on_another_instance_sends_nothing_twice() {
    let app = spawn_app().await;
    let second = app.another_instance(|_| {}).await;
    let org = org(&app).await;
    let batch = json!({"emails": ["lin@example.test"], "role": "viewer"});
    let first = send(
        app.api(Method::POST, "/invitations", &org.admin_key)
            .header("Idempotency-Key", "across-1"),
        Some(&batch),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let retried = send(
        second
            .api(Method::POST, "/invitations", &org.admin_key)
            .header("Idempotency-Key", "across-1"),
        Some(&batch),
    )
    .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.text, first.text);
    assert_eq!(invitation_count(&app, &org.id).await, 1);
    assert_eq!(outbox_to(&app, &["lin@example.test"]).await, 1);
}

#[tokio::test]
async fn only_keys_that_manage_members_invite() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (_, member) = app.add_member(&org.id, OrgRole::Member).await;
    let member_key = personal_key(&app, &org.id, &member).await;
    for key in [
        app.org_key(&org.id, OrgRole::Viewer).await,
        app.org_key(&org.id, OrgRole::Member).await,
        member_key,
    ] {
        call(
            &app,
            Method::POST,
            "/invitations",
            &key,
            Some(json!({"emails": ["ada@example.test"], "role": "viewer"})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    // Nobody is invited as the Owner: ownership is transferred.
    call(
        &app,
        Method::POST,
        "/invitations",
        &org.admin_key,
        Some(json!({"emails": ["ada@example.test"], "role": "owner"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A guest needs a workspace.
    call(
        &app,
        Method::POST,
        "/invitations",
        &org.admin_key,
        Some(json!({"emails": ["ada@example.test"], "role": "none"})),
    )
    .await
    .refused_field("workspace_id");
    call(
        &app,
        Method::POST,
        "/invitations",
        &org.admin_key,
        Some(json!({"emails": [], "role": "viewer"})),
    )
    .await
    .refused_field("emails");
    assert_eq!(invitation_count(&app, &org.id).await, 0);
    assert_eq!(outbox_to(&app, &["ada@example.test"]).await, 0);
    assert!(audit(&app, &org.id, "invitation.sent").await.is_empty());
}

#[tokio::test]
async fn an_invitation_a_key_sent_is_accepted_while_the_key_stands_behind_it() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let sent = call(
        &app,
        Method::POST,
        "/invitations",
        &org.admin_key,
        Some(json!({
            "emails": ["nora@example.test", "noah@example.test"],
            "role": "member",
        })),
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);

    // Nora follows the link in her message and signs up.
    let link = app.outbox_link("nora@example.test", "/invitations/").await;
    let nora = app.new_browser();
    let (status, landing) = nora.get_html(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        landing.contains("Olivia Owner invited"),
        "the key's maker is named: {landing}"
    );
    let joined = nora
        .post_form(
            &format!("{link}/signup"),
            &[("name", "Nora Newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&joined), format!("/orgs/{}", org.id));
    assert_eq!(
        app.role_of(&org.id, "nora@example.test").await.as_deref(),
        Some("member")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE org_id = '{}' \
             AND email_normalized = 'nora@example.test' AND state = 'accepted'",
            org.id
        ))
        .await,
        1
    );
    let accepted = audit_one(&app, &org.id, "invitation.accepted").await;
    assert_eq!(accepted.target_label.as_deref(), Some("nora@example.test"));
    app.assert_counts_match(&org.id).await;

    // Once the key is revoked, nobody stands behind Noah's invitation.
    let owner = app.owner_acting(&org.id).await;
    let admin_key_id = key_id(&app, &org.id, "Admin key").await;
    roster::services::api_keys::revoke(&app.db, &app.clock, &owner, &admin_key_id)
        .await
        .expect("revoke");
    let link = app.outbox_link("noah@example.test", "/invitations/").await;
    let refused = app
        .new_browser()
        .post_form(
            &format!("{link}/signup"),
            &[("name", "Noah Newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.role_of(&org.id, "noah@example.test").await, None);
    assert_eq!(audit(&app, &org.id, "invitation.refused").await.len(), 1);
}

#[tokio::test]
async fn invitations_are_listed_resent_and_cancelled() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let (kept, token) = app.add_invitation(&org.id, OrgRole::Member).await;
    let (cancelled, _) = app.add_invitation(&org.id, OrgRole::Viewer).await;
    let kept_address = app
        .scalar_text(&format!(
            "SELECT email FROM invitations WHERE id = '{kept}'"
        ))
        .await;

    let pending = get(&app, "/invitations?state=pending", &org.admin_key).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.text);
    let pending = pending.json();
    assert_eq!(pending["total"], 2);
    assert_eq!(pending["page"], 1);
    let listed: HashSet<String> = ids(&pending).into_iter().collect();
    assert_eq!(
        listed,
        [kept.clone(), cancelled.clone()].into_iter().collect()
    );
    assert!(
        pending["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["state"] == "pending")
    );

    // Resend: a new link (the old one no longer works) and a new message.
    let resent = call(
        &app,
        Method::POST,
        &format!("/invitations/{kept}/resend"),
        &org.admin_key,
        None,
    )
    .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text);
    let resent = resent.json();
    assert_eq!(resent["id"], kept.as_str());
    assert_eq!(resent["state"], "pending");
    assert_eq!(resent["role"], "member");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{kept}' AND token_hash = '{}'",
            roster::domain::token::hash(&token)
        ))
        .await,
        0,
        "a new token"
    );
    let (status, _) = app
        .new_browser()
        .get_html(&format!("/invitations/{token}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old link is dead");
    assert_eq!(outbox_to(&app, &[&kept_address]).await, 1);
    let row = audit_one(&app, &org.id, "invitation.resent").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_id.as_deref(), Some(kept.as_str()));
    // At once again: too soon.
    call(
        &app,
        Method::POST,
        &format!("/invitations/{kept}/resend"),
        &org.admin_key,
        None,
    )
    .await
    .problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(outbox_to(&app, &[&kept_address]).await, 1);

    // Cancel.
    let viewer_key = app.org_key(&org.id, OrgRole::Viewer).await;
    call(
        &app,
        Method::DELETE,
        &format!("/invitations/{cancelled}"),
        &viewer_key,
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let gone = call(
        &app,
        Method::DELETE,
        &format!("/invitations/{cancelled}"),
        &org.admin_key,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{cancelled}' AND state = 'revoked' \
             AND revoked_at IS NOT NULL"
        ))
        .await,
        1
    );
    let row = audit_one(&app, &org.id, "invitation.revoked").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.before_value.as_deref(), Some("pending"));
    assert_eq!(row.after_value.as_deref(), Some("revoked"));
    call(
        &app,
        Method::DELETE,
        &format!("/invitations/{cancelled}"),
        &org.admin_key,
        None,
    )
    .await
    .problem(StatusCode::CONFLICT);

    let pending = get(&app, "/invitations?state=pending", &org.admin_key)
        .await
        .json();
    assert_eq!(ids(&pending), std::slice::from_ref(&kept));
    let revoked = get(&app, "/invitations?state=revoked", &org.admin_key)
        .await
        .json();
    assert_eq!(ids(&revoked), std::slice::from_ref(&cancelled));
    assert_eq!(revoked["items"][0]["state"], "revoked");
    get(&app, "/invitations?state=lost", &org.admin_key)
        .await
        .refused_field("state");
    get(&app, "/invitations?page=0", &org.admin_key)
        .await
        .refused_field("page");
    // Another organization's invitation is nobody's here.
    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let (theirs, _) = app.add_invitation(&elsewhere, OrgRole::Member).await;
    for (method, path) in [
        (Method::POST, format!("/invitations/{theirs}/resend")),
        (Method::DELETE, format!("/invitations/{theirs}")),
    ] {
        call(&app, method, &path, &org.admin_key, None)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{theirs}' AND state = 'pending'"
        ))
        .await,
        1
    );
}

// Workspaces.

async fn workspace_role(app: &TestApp, workspace: &str, user_id: &str) -> Option<String> {
    let found = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{workspace}' \
             AND user_id = '{user_id}'"
        ))
        .await;
    if found == 0 {
        return None;
    }
    Some(
        app.scalar_text(&format!(
            "SELECT role FROM workspace_members WHERE workspace_id = '{workspace}' \
             AND user_id = '{user_id}'"
        ))
        .await,
    )
}

#[tokio::test]
async fn an_organization_key_creates_reads_and_renames_a_workspace() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let owner = app.user(&org.owner_email).await;

    let created = call(
        &app,
        Method::POST,
        "/workspaces",
        &org.admin_key,
        Some(json!({"name": "Warehouse", "description": "Stock"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let created = created.json();
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(created["name"], "Warehouse");
    assert_eq!(created["description"], "Stock");
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT title FROM workspaces WHERE id = '{id}' AND org_id = '{}'",
            org.id
        ))
        .await,
        "Warehouse"
    );
    // A key holds no workspace role: the organization's Owner owns it.
    assert_eq!(
        workspace_role(&app, &id, &owner.id).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{id}'"
        ))
        .await,
        1
    );
    let row = audit_one(&app, &org.id, "workspace.created").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_id.as_deref(), Some(id.as_str()));
    assert_eq!(row.target_label.as_deref(), Some("Warehouse"));

    let read = get(&app, &format!("/workspaces/{id}"), &org.admin_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), created);
    let list = get(&app, "/workspaces?q=ware", &org.admin_key).await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["owner_name"], "Olivia Owner");
    assert_eq!(list["items"][0]["direct_people"], 1);

    let renamed = call(
        &app,
        Method::PATCH,
        &format!("/workspaces/{id}"),
        &org.admin_key,
        Some(json!({"name": "Depot"})),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let renamed = renamed.json();
    assert_eq!(renamed["name"], "Depot");
    assert_eq!(renamed["description"], "", "left out, it is emptied");
    assert_eq!(
        app.scalar_text(&format!("SELECT title FROM workspaces WHERE id = '{id}'"))
            .await,
        "Depot"
    );
    let row = audit_one(&app, &org.id, "workspace.renamed").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.before_value.as_deref(), Some("Warehouse — Stock"));
    assert_eq!(row.after_value.as_deref(), Some("Depot — "));

    // Refusals write nothing.
    let workspaces = app.count("workspaces").await;
    call(
        &app,
        Method::POST,
        "/workspaces",
        &org.admin_key,
        Some(json!({"name": "   "})),
    )
    .await
    .refused_field("name");
    for key in [
        app.org_key(&org.id, OrgRole::Member).await,
        app.org_key(&org.id, OrgRole::Viewer).await,
    ] {
        call(
            &app,
            Method::POST,
            "/workspaces",
            &key,
            Some(json!({"name": "Annex"})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
        call(
            &app,
            Method::PATCH,
            &format!("/workspaces/{id}"),
            &key,
            Some(json!({"name": "Annex"})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    assert_eq!(app.count("workspaces").await, workspaces);
    assert_eq!(audit(&app, &org.id, "workspace.created").await.len(), 1);
    assert_eq!(audit(&app, &org.id, "workspace.renamed").await.len(), 1);
}

#[tokio::test]
async fn direct_roles_in_a_workspace_are_given_listed_and_taken_away() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let workspace = app.add_workspace(&org.id, "Depot").await;
    let (member_id, address) = app.add_member(&org.id, OrgRole::Viewer).await;
    let user = app.user(&address).await;

    let given = call(
        &app,
        Method::PUT,
        &format!("/workspaces/{workspace}/people/{member_id}"),
        &org.admin_key,
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.text);
    let given = given.json();
    assert_eq!(given["member_id"], member_id.as_str());
    assert_eq!(given["email"], address.as_str());
    assert_eq!(given["org_role"], "viewer");
    assert_eq!(given["direct_role"], "editor");
    assert_eq!(given["effective_role"], "editor");
    assert_eq!(
        workspace_role(&app, &workspace, &user.id).await.as_deref(),
        Some("editor")
    );
    let row = audit_one(&app, &org.id, "workspace.role_granted").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(row.before_value, None);
    assert_eq!(row.after_value.as_deref(), Some("Depot: editor"));

    let direct = get(
        &app,
        &format!("/workspaces/{workspace}/people?direct=true"),
        &org.admin_key,
    )
    .await;
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.text);
    let direct = direct.json();
    assert_eq!(direct["total"], 2, "Olivia (Owner) and the Editor");
    let held: HashSet<(String, String)> = direct["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            (
                p["email"].as_str().expect("email").to_string(),
                p["direct_role"]
                    .as_str()
                    .expect("a direct role")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            (org.owner_email.clone(), "owner".to_string()),
            (address.clone(), "editor".to_string()),
        ]
        .into_iter()
        .collect()
    );
    let everyone = get(
        &app,
        &format!("/workspaces/{workspace}/people"),
        &org.admin_key,
    )
    .await
    .json();
    assert_eq!(everyone["total"], 2);
    assert_eq!(everyone["next_cursor"], Value::Null);

    // The Owner's role moves only by transfer; Members manage no roles.
    call(
        &app,
        Method::PUT,
        &format!("/workspaces/{workspace}/people/{member_id}"),
        &org.admin_key,
        Some(json!({"role": "owner"})),
    )
    .await
    .refused_field("role");
    let member_key = app.org_key(&org.id, OrgRole::Member).await;
    call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{workspace}/people/{member_id}"),
        &member_key,
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        workspace_role(&app, &workspace, &user.id).await.as_deref(),
        Some("editor")
    );

    let cleared = call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{workspace}/people/{member_id}"),
        &org.admin_key,
        None,
    )
    .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT, "{}", cleared.text);
    assert_eq!(workspace_role(&app, &workspace, &user.id).await, None);
    let row = audit_one(&app, &org.id, "workspace.role_revoked").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.before_value.as_deref(), Some("Depot: editor"));
    assert_eq!(row.after_value, None);
    // Their inherited access stays.
    let person = get(
        &app,
        &format!("/workspaces/{workspace}/people"),
        &org.admin_key,
    )
    .await
    .json();
    let them = person["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["member_id"] == member_id.as_str())
        .cloned()
        .expect("still listed");
    assert_eq!(them["direct_role"], Value::Null);
    assert_eq!(them["effective_role"], "viewer");
}

#[tokio::test]
async fn only_an_owner_level_key_transfers_or_deletes_a_workspace() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let owner = app.user(&org.owner_email).await;
    let workspace = app.add_workspace(&org.id, "Depot").await;
    let (_, admin) = app.add_member(&org.id, OrgRole::Admin).await;
    let admin_user = app.user(&admin).await;
    let admin_personal = personal_key(&app, &org.id, &admin).await;

    // Admins, by either door, neither transfer nor delete.
    for key in [&org.admin_key, &admin_personal] {
        call(
            &app,
            Method::POST,
            &format!("/workspaces/{workspace}/transfer"),
            key,
            Some(json!({"email": admin})),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
        call(
            &app,
            Method::DELETE,
            &format!("/workspaces/{workspace}"),
            key,
            None,
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    assert_eq!(
        workspace_role(&app, &workspace, &owner.id).await.as_deref(),
        Some("owner")
    );
    assert!(
        audit(&app, &org.id, "workspace.ownership_transferred")
            .await
            .is_empty()
    );

    let moved = call(
        &app,
        Method::POST,
        &format!("/workspaces/{workspace}/transfer"),
        &org.owner_key,
        Some(json!({"email": admin})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json()["id"], workspace.as_str());
    assert_eq!(
        workspace_role(&app, &workspace, &admin_user.id)
            .await
            .as_deref(),
        Some("owner")
    );
    assert_eq!(
        workspace_role(&app, &workspace, &owner.id).await.as_deref(),
        Some("admin"),
        "the previous Owner keeps a direct Admin role"
    );
    let row = audit_one(&app, &org.id, "workspace.ownership_transferred").await;
    assert_eq!(row.actor_label, "API key 'Olivia's script' of Olivia Owner");
    assert_eq!(row.before_value.as_deref(), Some(org.owner_email.as_str()));
    assert_eq!(row.after_value.as_deref(), Some(admin.as_str()));

    // The workspace's new Owner, through their own key, may delete it.
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{workspace}"),
        &admin_personal,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE id = '{workspace}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = '{workspace}'"
        ))
        .await,
        0
    );
    let row = audit_one(&app, &org.id, "workspace.deleted").await;
    assert_eq!(row.target_label.as_deref(), Some("Depot"));
    get(&app, &format!("/workspaces/{workspace}"), &org.owner_key)
        .await
        .problem(StatusCode::NOT_FOUND);

    // The Owner's key deletes another one.
    let spare = app.add_workspace(&org.id, "Spare").await;
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{spare}"),
        &org.owner_key,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(audit(&app, &org.id, "workspace.deleted").await.len(), 2);
}

// Products.

async fn product_owner(app: &TestApp, product: &str) -> Option<String> {
    let owned = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{product}' AND owner_id IS NOT NULL"
        ))
        .await;
    if owned == 0 {
        return None;
    }
    Some(
        app.scalar_text(&format!(
            "SELECT owner_id FROM products WHERE id = '{product}'"
        ))
        .await,
    )
}

#[tokio::test]
async fn a_member_key_creates_and_edits_products_and_admins_assign_and_delete() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let (_, member) = app.add_member(&org.id, OrgRole::Member).await;
    let member_user = app.user(&member).await;
    let member_key = personal_key(&app, &org.id, &member).await;
    let (_, admin) = app.add_member(&org.id, OrgRole::Admin).await;
    let admin_user = app.user(&admin).await;

    let created = call(
        &app,
        Method::POST,
        "/products",
        &member_key,
        Some(json!({"workspace_id": general, "name": "Atlas", "description": "Maps"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let created = created.json();
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(created["name"], "Atlas");
    assert_eq!(created["description"], "Maps");
    assert_eq!(created["workspace_id"], general.as_str());
    assert_eq!(created["owner_name"], member_user.name.as_str());
    assert_eq!(created["needs_owner"], false);
    assert_eq!(
        product_owner(&app, &id).await.as_deref(),
        Some(member_user.id.as_str())
    );
    let row = audit_one(&app, &org.id, "product.created").await;
    assert_eq!(
        row.actor_label,
        format!("API key 'Script' of {}", member_user.name)
    );
    assert_eq!(row.actor_user_id.as_deref(), Some(member_user.id.as_str()));
    assert_eq!(row.after_value.as_deref(), Some("Atlas in General"));

    let list = send(
        app.api(Method::GET, "/products", &org.admin_key)
            .query(&[("workspace_id", general.as_str())]),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let list = list.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["workspace_name"], "General");
    let read = get(&app, &format!("/products/{id}"), &member_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), created);

    let edited = call(
        &app,
        Method::PATCH,
        &format!("/products/{id}"),
        &member_key,
        Some(json!({"name": "Atlas 2", "description": "More maps"})),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.json()["name"], "Atlas 2");
    assert_eq!(
        app.scalar_text(&format!("SELECT name FROM products WHERE id = '{id}'"))
            .await,
        "Atlas 2"
    );
    let row = audit_one(&app, &org.id, "product.updated").await;
    assert_eq!(row.before_value.as_deref(), Some("Atlas"));
    assert_eq!(row.after_value.as_deref(), Some("Atlas 2"));

    // Choosing the owner and deleting are for workspace Admins.
    call(
        &app,
        Method::PUT,
        &format!("/products/{id}/owner"),
        &member_key,
        Some(json!({"email": admin})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    call(
        &app,
        Method::DELETE,
        &format!("/products/{id}"),
        &member_key,
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        product_owner(&app, &id).await.as_deref(),
        Some(member_user.id.as_str())
    );

    let owned = call(
        &app,
        Method::PUT,
        &format!("/products/{id}/owner"),
        &org.admin_key,
        Some(json!({"email": admin.to_uppercase()})),
    )
    .await;
    assert_eq!(owned.status, StatusCode::OK, "{}", owned.text);
    assert_eq!(owned.json()["owner_name"], admin_user.name.as_str());
    assert_eq!(
        product_owner(&app, &id).await.as_deref(),
        Some(admin_user.id.as_str())
    );
    let row = audit_one(&app, &org.id, "product.owner_changed").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.before_value.as_deref(), Some(member_user.name.as_str()));
    assert_eq!(row.after_value.as_deref(), Some(admin_user.name.as_str()));

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/products/{id}"),
        &org.admin_key,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM products WHERE id = '{id}'"))
            .await,
        0
    );
    let row = audit_one(&app, &org.id, "product.deleted").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_label.as_deref(), Some("Atlas 2"));
    get(&app, &format!("/products/{id}"), &member_key)
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn product_refusals_name_their_field_or_say_why() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let viewer_key = app.org_key(&org.id, OrgRole::Viewer).await;
    let existing = app.add_product(&general, "Atlas", None).await;

    for (body, field) in [
        (json!({"workspace_id": general, "name": ""}), "name"),
        (json!({"workspace_id": general, "name": "atlas"}), "name"),
        (
            json!({"workspace_id": "nope", "name": "Globe"}),
            "workspace_id",
        ),
        (
            json!({"workspace_id": uuid::Uuid::new_v4().to_string(), "name": "Globe"}),
            "workspace_id",
        ),
        (
            json!({"workspace_id": general, "name": "Globe", "colour": "red"}),
            "body",
        ),
    ] {
        call(&app, Method::POST, "/products", &org.admin_key, Some(body))
            .await
            .refused_field(field);
    }
    // Viewers add nothing anywhere, and edit nothing.
    call(
        &app,
        Method::POST,
        "/products",
        &viewer_key,
        Some(json!({"workspace_id": general, "name": "Globe"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    call(
        &app,
        Method::PATCH,
        &format!("/products/{existing}"),
        &viewer_key,
        Some(json!({"name": "Globe"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE org_id = '{}'",
            org.id
        ))
        .await,
        1
    );
    assert!(audit(&app, &org.id, "product.created").await.is_empty());
    assert!(audit(&app, &org.id, "product.updated").await.is_empty());
}

#[tokio::test]
async fn product_access_is_restricted_and_granted_and_the_member_s_key_obeys_it() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let (member_id, member) = app.add_member(&org.id, OrgRole::Member).await;
    let member_user = app.user(&member).await;
    let member_key = personal_key(&app, &org.id, &member).await;
    let granted = app.add_product(&general, "Atlas", None).await;
    let hidden = app.add_product(&general, "Globe", None).await;
    let path = format!("/members/{member_id}/product-access");

    let before = get(&app, &path, &org.admin_key).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(
        before.json(),
        json!({"member_id": member_id, "restricted": false, "grants": [], "grants_total": 0})
    );

    let restricted = call(
        &app,
        Method::PUT,
        &path,
        &org.admin_key,
        Some(json!({"restricted": true})),
    )
    .await;
    assert_eq!(restricted.status, StatusCode::OK, "{}", restricted.text);
    assert_eq!(restricted.json()["restricted"], true);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE id = '{member_id}' \
             AND products_restricted = TRUE"
        ))
        .await,
        1
    );
    let row = audit_one(&app, &org.id, "product_access.restricted").await;
    assert_eq!(row.actor_label, org_key_label(OrgRole::Admin));
    assert_eq!(row.target_id.as_deref(), Some(member_user.id.as_str()));
    assert_eq!(row.before_value.as_deref(), Some("all products"));
    assert_eq!(row.after_value.as_deref(), Some("restricted"));

    let grant = call(
        &app,
        Method::PUT,
        &format!("{path}/{granted}"),
        &org.admin_key,
        Some(json!({"access": "view"})),
    )
    .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    let expected = json!({
        "member_id": member_id,
        "restricted": true,
        "grants": [{
            "product_id": granted,
            "product_name": "Atlas",
            "workspace_name": "General",
            "access": "view",
        }],
        "grants_total": 1,
    });
    assert_eq!(grant.json(), expected);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{member_id}' \
             AND product_id = '{granted}' AND access = 'view'"
        ))
        .await,
        1
    );
    let row = audit_one(&app, &org.id, "product_access.changed").await;
    assert_eq!(row.before_value.as_deref(), Some("Atlas: none"));
    assert_eq!(row.after_value.as_deref(), Some("Atlas: view"));
    assert_eq!(get(&app, &path, &org.admin_key).await.json(), expected);

    // The member's own key now sees only Atlas, and may only look at it.
    let theirs = get(&app, "/products", &member_key).await.json();
    assert_eq!(ids(&theirs), std::slice::from_ref(&granted));
    get(&app, &format!("/products/{hidden}"), &member_key)
        .await
        .problem(StatusCode::NOT_FOUND);
    call(
        &app,
        Method::PATCH,
        &format!("/products/{granted}"),
        &member_key,
        Some(json!({"name": "Atlas 2"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    // Refusals: Members manage nobody's access; Admins are never
    // restricted; grants are none, view or edit.
    let member_org_key = app.org_key(&org.id, OrgRole::Member).await;
    get(&app, &path, &member_org_key)
        .await
        .problem(StatusCode::FORBIDDEN);
    call(
        &app,
        Method::PUT,
        &path,
        &member_key,
        Some(json!({"restricted": false})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let (admin_id, _) = app.add_member(&org.id, OrgRole::Admin).await;
    call(
        &app,
        Method::PUT,
        &format!("/members/{admin_id}/product-access"),
        &org.admin_key,
        Some(json!({"restricted": true})),
    )
    .await
    .refused_field("restricted");
    call(
        &app,
        Method::PUT,
        &format!("{path}/{hidden}"),
        &org.admin_key,
        Some(json!({"access": "all"})),
    )
    .await
    .refused_field("access");
    call(
        &app,
        Method::PUT,
        &format!("{path}/{}", uuid::Uuid::new_v4()),
        &org.admin_key,
        Some(json!({"access": "view"})),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{member_id}'"
        ))
        .await,
        1
    );
    assert_eq!(
        audit(&app, &org.id, "product_access.changed").await.len(),
        1
    );
}

// The audit log.

#[tokio::test]
async fn audit_events_are_filtered_by_action_and_paged_by_cursor() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let owner = app.user(&org.owner_email).await;
    for n in 0..55 {
        app.add_product(&general, &format!("Product {n:02}"), Some(&owner.id))
            .await;
    }
    // Another action in between, which the filter leaves out.
    app.add_workspace(&org.id, "Depot").await;
    let in_db = audit(&app, &org.id, "product.created").await;
    assert_eq!(in_db.len(), 55);

    let first = get(&app, "/audit-events?action=product.created", &org.admin_key).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let first = first.json();
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 50);
    let cursor = first["next_cursor"].as_str().expect("a next cursor");
    let second = send(
        app.api(Method::GET, "/audit-events", &org.admin_key)
            .query(&[("action", "product.created"), ("cursor", cursor)]),
        None,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second = second.json();
    assert_eq!(second["next_cursor"], Value::Null);
    let second_ids = ids(&second);
    assert_eq!(second_ids.len(), 5);

    let items: Vec<&Value> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .chain(second["items"].as_array().expect("items"))
        .collect();
    assert!(items.iter().all(|e| e["action"] == "product.created"));
    assert!(items.iter().all(|e| e["actor"] == org.owner_email.as_str()));
    let times: Vec<&str> = items
        .iter()
        .map(|e| e["created_at"].as_str().expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let seen: HashSet<String> = first_ids.iter().chain(&second_ids).cloned().collect();
    assert_eq!(seen.len(), 55, "no event twice");
    assert_eq!(seen, in_db.into_iter().map(|e| e.id).collect());

    // The other action is under its own name, through the Owner's key.
    let created = get(
        &app,
        "/audit-events?action=workspace.created",
        &org.owner_key,
    )
    .await
    .json();
    let targets: Vec<&Value> = created["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| &e["target"])
        .collect();
    assert_eq!(targets, [&json!("Depot")]);
    assert_eq!(created["next_cursor"], Value::Null);

    // Refusals.
    get(
        &app,
        "/audit-events?action=product.exploded",
        &org.admin_key,
    )
    .await
    .refused_field("action");
    get(&app, "/audit-events?cursor=nonsense", &org.admin_key)
        .await
        .refused_field("cursor");
    get(&app, "/audit-events?from=2026-13-01", &org.admin_key)
        .await
        .refused_field("from");
    let (_, member) = app.add_member(&org.id, OrgRole::Member).await;
    for key in [
        personal_key(&app, &org.id, &member).await,
        app.org_key(&org.id, OrgRole::Member).await,
        app.org_key(&org.id, OrgRole::Viewer).await,
    ] {
        get(&app, "/audit-events", &key)
            .await
            .problem(StatusCode::FORBIDDEN);
    }
}

/// A refusal names the field as the request carried it (`errors[].field`
/// is "the field's name, as the request carried it"), and a DELETE the
/// state refuses answers 409, as the API's errors say.
#[tokio::test]
async fn refusals_name_the_fields_the_api_takes() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let product = app.add_product(&general, "Atlas", None).await;

    call(
        &app,
        Method::POST,
        "/workspaces",
        &org.admin_key,
        Some(json!({"name": "general"})),
    )
    .await
    .refused_field("name");
    let depot = app.add_workspace(&org.id, "Depot").await;
    call(
        &app,
        Method::PATCH,
        &format!("/workspaces/{depot}"),
        &org.admin_key,
        Some(json!({"name": "General"})),
    )
    .await
    .refused_field("name");
    call(
        &app,
        Method::POST,
        &format!("/workspaces/{depot}/transfer"),
        &org.owner_key,
        Some(json!({"email": "nobody@example.test"})),
    )
    .await
    .refused_field("email");
    call(
        &app,
        Method::PUT,
        &format!("/products/{product}/owner"),
        &org.admin_key,
        Some(json!({"email": "nobody@example.test"})),
    )
    .await
    .refused_field("email");
    // The last workspace stays: its DELETE has no field to blame.
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{depot}"),
        &org.owner_key,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{general}"),
        &org.owner_key,
        None,
    )
    .await
    .problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_last_workspace_and_taken_names_are_refused_without_a_change() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let general = app.general_workspace(&org.id).await;
    let product = app.add_product(&general, "Atlas", None).await;
    let workspaces = app.count("workspaces").await;

    // Whatever field the problem names (see the test above), the
    // refusals are 422s and nothing changes.
    for (method, path, key, body) in [
        (
            Method::POST,
            "/workspaces".to_string(),
            &org.admin_key,
            json!({"name": "general"}),
        ),
        (
            Method::POST,
            format!("/workspaces/{general}/transfer"),
            &org.owner_key,
            json!({"email": "nobody@example.test"}),
        ),
        (
            Method::PUT,
            format!("/products/{product}/owner"),
            &org.admin_key,
            json!({"email": "nobody@example.test"}),
        ),
    ] {
        let refused = call(&app, method, &path, key, Some(body)).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let refused = call(
        &app,
        Method::DELETE,
        &format!("/workspaces/{general}"),
        &org.owner_key,
        None,
    )
    .await;
    assert!(
        refused.status.is_client_error(),
        "the last workspace stays: {}",
        refused.text
    );
    assert_eq!(app.count("workspaces").await, workspaces);
    assert_eq!(product_owner(&app, &product).await, None);
    assert!(audit(&app, &org.id, "workspace.created").await.is_empty());
    assert!(audit(&app, &org.id, "workspace.deleted").await.is_empty());
    assert!(
        audit(&app, &org.id, "workspace.ownership_transferred")
            .await
            .is_empty()
    );
    assert!(
        audit(&app, &org.id, "product.owner_changed")
            .await
            .is_empty()
    );
}
