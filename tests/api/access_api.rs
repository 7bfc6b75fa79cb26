//! The access check the host product asks through `/api/v1`: a member's
//! level in every module (organization-wide or in one workspace) with the
//! roles it comes from, and batches of yes/no checks that follow role
//! changes from the very next request.

use reqwest::{Method, StatusCode};
use roster::domain::role::OrgRole;
use roster::services::api_keys::{NewKey, NewKind};
use serde_json::{Value, json};

use super::delegation::{add_module, define_role, membership_id, set_roles, workspace_guest};
use crate::helpers::{Browser, TestApp, email, spawn_app};

/// Every module Acme has: Roster's own, then its Campaigns.
const MODULES: [&str; 9] = [
    "members",
    "invitations",
    "workspaces",
    "products",
    "product_access",
    "audit_log",
    "settings",
    "api_keys",
    "campaigns",
];

/// An API answer, read whole.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Answer {
    /// Asserts a problem detail with `status`.
    fn problem(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("an API answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON ({status}): {text}"));
    Answer {
        status,
        content_type,
        body,
    }
}

async fn access(app: &TestApp, key: &str, member: &str, workspace: Option<&str>) -> Answer {
    let query = workspace
        .map(|ws| format!("?workspace_id={ws}"))
        .unwrap_or_default();
    send(app.api(
        Method::GET,
        &format!("/members/{member}/access{query}"),
        key,
    ))
    .await
}

async fn checks(app: &TestApp, key: &str, checks: &[Value]) -> Answer {
    send(
        app.api(Method::POST, "/access-checks", key)
            .header("Content-Type", "application/json")
            .body(json!({ "checks": checks }).to_string()),
    )
    .await
}

/// One check, organization-wide when `workspace` is `None`.
fn check(member: &str, module: &str, level: &str, workspace: Option<&str>) -> Value {
    let mut check = json!({ "member_id": member, "module": module, "level": level });
    if let Some(ws) = workspace {
        check["workspace_id"] = json!(ws);
    }
    check
}

/// The results of a batch that answered 200, one per check.
async fn verdicts(app: &TestApp, key: &str, batch: &[Value]) -> Vec<Value> {
    let answer = checks(app, key, batch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let results = answer.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results: {}", answer.body))
        .clone();
    assert_eq!(results.len(), batch.len(), "one result per check");
    for result in &results {
        assert!(result["allowed"].is_boolean(), "{result}");
        assert!(
            ["none", "read", "write"].contains(&result["level"].as_str().unwrap_or_default()),
            "{result}"
        );
        assert!(
            result["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "every verdict gives a reason: {result}"
        );
    }
    results
}

/// One module's entry in an access answer: its level and reasons.
fn module<'a>(answer: &'a Answer, key: &str) -> (&'a str, Vec<&'a str>) {
    let entry = answer.body["modules"]
        .as_array()
        .unwrap_or_else(|| panic!("modules: {}", answer.body))
        .iter()
        .find(|m| m["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {}", answer.body));
    let reasons = entry["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("reasons: {entry}"))
        .iter()
        .map(|r| r.as_str().expect("a reason"))
        .collect();
    (entry["level"].as_str().expect("a level"), reasons)
}

/// Acme: Berlin and Munich, its own module Campaigns, the custom role
/// Campaign Manager, a Member (Alice), a guest Admin of Berlin (Gus) and
/// an Admin organization key.
struct Acme {
    owner: Browser,
    org: String,
    berlin: String,
    munich: String,
    campaign_manager: String,
    alice: String,
    gus: String,
    key: String,
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
        "both",
        &[("campaigns", "write")],
    )
    .await;
    let (alice, _) = app.add_member(&org, OrgRole::Member).await;
    let (_, gus) = workspace_guest(app, &org, &berlin, &email("gus"), "admin").await;
    let key = app.org_key(&org, OrgRole::Admin).await;
    Acme {
        owner,
        org,
        berlin,
        munich,
        campaign_manager,
        alice,
        gus,
        key,
    }
}

#[tokio::test]
async fn a_members_access_lists_every_module_with_its_level_and_reasons() {
    let app = spawn_app().await;
    let acme = acme(&app).await;

    let answer = access(&app, &acme.key, &acme.alice, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["member_id"], acme.alice.as_str());
    assert!(answer.body["workspace_id"].is_null(), "{}", answer.body);
    let mut keys: Vec<&str> = answer.body["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| m["key"].as_str().expect("a key"))
        .collect();
    keys.sort_unstable();
    let mut want = MODULES.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "every built-in and own module, once");
    let campaigns = answer.body["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|m| m["key"] == "campaigns")
        .expect("campaigns");
    assert_eq!(campaigns["name"], "Campaigns");
    // A Member's levels, organization-wide.
    let member = ["inherited from Member"];
    for (key, level) in [
        ("members", "read"),
        ("workspaces", "read"),
        ("products", "write"),
        ("settings", "read"),
        ("api_keys", "read"),
    ] {
        assert_eq!(module(&answer, key), (level, member.to_vec()), "{key}");
    }
    for key in ["invitations", "product_access", "audit_log", "campaigns"] {
        assert_eq!(module(&answer, key), ("none", vec![]), "{key}");
    }

    // In Berlin the Member role passes Editor down.
    let answer = access(&app, &acme.key, &acme.alice, Some(&acme.berlin)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["workspace_id"], acme.berlin.as_str());
    let (level, reasons) = module(&answer, "products");
    assert_eq!(level, "write");
    assert!(reasons.contains(&"inherited from Member"), "{reasons:?}");
    assert_eq!(module(&answer, "campaigns").0, "none");

    // Gus, a guest: nothing organization-wide, Admin in Berlin.
    let answer = access(&app, &acme.key, &acme.gus, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    for key in MODULES {
        assert_eq!(module(&answer, key).0, "none", "{key}");
    }
    let answer = access(&app, &acme.key, &acme.gus, Some(&acme.berlin)).await;
    let admin_berlin = vec!["from Admin (Berlin)"];
    for key in [
        "members",
        "invitations",
        "workspaces",
        "products",
        "campaigns",
    ] {
        assert_eq!(
            module(&answer, key),
            ("write", admin_berlin.clone()),
            "{key}"
        );
    }
    assert_eq!(module(&answer, "audit_log").0, "none");
    let answer = access(&app, &acme.key, &acme.gus, Some(&acme.munich)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(module(&answer, "campaigns").0, "none", "not in Munich");

    // A custom role held organization-wide counts everywhere.
    let granted = set_roles(
        &acme.owner,
        &acme.org,
        &acme.alice,
        "",
        &[&acme.campaign_manager],
    )
    .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let answer = access(&app, &acme.key, &acme.alice, None).await;
    assert_eq!(
        module(&answer, "campaigns"),
        ("write", vec!["from Campaign Manager"])
    );
    let answer = access(&app, &acme.key, &acme.alice, Some(&acme.munich)).await;
    assert_eq!(
        module(&answer, "campaigns"),
        ("write", vec!["from Campaign Manager"])
    );

    // The Owner holds every module, the organization's own too.
    let owner = membership_id(&app, &acme.org, &owner_email(&app, &acme.org).await).await;
    let answer = access(&app, &acme.key, &owner, None).await;
    for key in MODULES {
        assert_eq!(
            module(&answer, key),
            ("write", vec!["inherited from Owner"]),
            "{key}"
        );
    }
}

async fn owner_email(app: &TestApp, org: &str) -> String {
    app.scalar_text(&format!(
        "SELECT email_normalized FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
    ))
    .await
}

#[tokio::test]
async fn an_access_question_outside_the_keys_reach_is_refused() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let stranger = membership_id(&app, &elsewhere, &owner_email(&app, &elsewhere).await).await;
    let foreign_workspace = app.general_workspace(&elsewhere).await;

    for (what, member, workspace) in [
        ("another organization's member", stranger.as_str(), None),
        ("an unknown member", "not-a-member", None),
        (
            "an unknown workspace",
            acme.alice.as_str(),
            Some("not-a-workspace"),
        ),
        (
            "another organization's workspace",
            acme.alice.as_str(),
            Some(foreign_workspace.as_str()),
        ),
    ] {
        let answer = access(&app, &acme.key, member, workspace).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            answer.body
        );
        answer.problem(StatusCode::NOT_FOUND);
    }

    // A key limited to Berlin cannot see the member list, so not this.
    let owner = app.owner_acting(&acme.org).await;
    let (_, limited) = roster::services::api_keys::create(
        &app.db,
        &app.clock,
        &owner,
        NewKey {
            name: "Berlin sync".into(),
            kind: NewKind::Organization(OrgRole::Admin),
            expires_at: app.clock.now() + 30 * 24 * 60 * 60,
            workspace_id: Some(acme.berlin.clone()),
        },
    )
    .await
    .expect("make a key");
    access(&app, &limited, &acme.alice, None)
        .await
        .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_batch_of_checks_answers_each_in_order() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (_, elsewhere) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let stranger = membership_id(&app, &elsewhere, &owner_email(&app, &elsewhere).await).await;
    let (alice, gus, berlin) = (
        acme.alice.as_str(),
        acme.gus.as_str(),
        Some(acme.berlin.as_str()),
    );

    let batch = [
        check(alice, "members", "read", None),
        check(alice, "members", "write", None),
        check(alice, "products", "write", berlin),
        check(alice, "campaigns", "read", berlin),
        check(gus, "campaigns", "write", berlin),
        check(gus, "campaigns", "read", None),
        check(gus, "audit_log", "read", berlin),
        check("not-a-member", "members", "read", None),
        check(stranger.as_str(), "members", "read", None),
        check(alice, "no_such_module", "read", None),
        check(alice, "members", "read", Some("not-a-workspace")),
    ];
    let results = verdicts(&app, &acme.key, &batch).await;
    let want = [
        (true, "read", Some("Member")),
        (false, "read", None),
        (true, "write", Some("inherited from Member")),
        (false, "none", None),
        (true, "write", Some("Admin (Berlin)")),
        (false, "none", None),
        (false, "none", None),
        (false, "none", None),
        (false, "none", None),
        (false, "none", None),
        (false, "none", None),
    ];
    for (i, (result, (allowed, level, reason))) in results.iter().zip(want).enumerate() {
        assert_eq!(result["allowed"], allowed, "check {i}: {result}");
        assert_eq!(result["level"], level, "check {i}: {result}");
        if let Some(reason) = reason {
            assert!(
                result["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains(reason)),
                "check {i}: {result}"
            );
        }
    }

    // A hundred checks is the most one batch takes.
    let hundred: Vec<Value> = (0..100)
        .map(|_| check(alice, "members", "read", None))
        .collect();
    let results = verdicts(&app, &acme.key, &hundred).await;
    assert!(results.iter().all(|r| r["allowed"] == true));

    let too_many: Vec<Value> = (0..101)
        .map(|_| check(alice, "members", "read", None))
        .collect();
    for (what, batch) in [
        ("no checks", vec![]),
        ("101 checks", too_many),
        ("level admin", vec![check(alice, "members", "admin", None)]),
        ("level none", vec![check(alice, "members", "none", None)]),
    ] {
        let answer = checks(&app, &acme.key, &batch).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            answer.body
        );
        assert_eq!(answer.content_type, "application/problem+json", "{what}");
    }
}

#[tokio::test]
async fn a_role_change_counts_from_the_very_next_check() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (alice, berlin, munich) = (
        acme.alice.as_str(),
        Some(acme.berlin.as_str()),
        Some(acme.munich.as_str()),
    );
    let batch = [
        check(alice, "campaigns", "write", berlin),
        check(alice, "campaigns", "write", None),
        check(alice, "campaigns", "write", munich),
    ];
    let before = verdicts(&app, &acme.key, &batch).await;
    assert!(before.iter().all(|r| r["allowed"] == false), "{before:?}");

    let granted = set_roles(
        &acme.owner,
        &acme.org,
        alice,
        &acme.berlin,
        &[&acme.campaign_manager],
    )
    .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let after = verdicts(&app, &acme.key, &batch).await;
    assert_eq!(after[0]["allowed"], true, "{}", after[0]);
    assert_eq!(after[0]["level"], "write");
    assert!(
        after[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Campaign Manager (Berlin)")),
        "{}",
        after[0]
    );
    assert_eq!(after[1]["allowed"], false, "not organization-wide");
    assert_eq!(after[2]["allowed"], false, "not in Munich");
    let answer = access(&app, &acme.key, alice, berlin).await;
    assert_eq!(
        module(&answer, "campaigns"),
        ("write", vec!["from Campaign Manager (Berlin)"])
    );

    let revoked = set_roles(&acme.owner, &acme.org, alice, &acme.berlin, &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let again = verdicts(&app, &acme.key, &batch).await;
    assert!(again.iter().all(|r| r["allowed"] == false), "{again:?}");
    assert_eq!(again[0]["level"], "none");
}
