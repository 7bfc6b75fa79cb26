//! Concurrent changes: no 500s, and exactly one Owner afterwards.

use futures_util::future::join_all;
use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{PASSWORD, email, spawn_app, spawn_app_with};

#[tokio::test]
async fn fifty_concurrent_role_changes() {
    // One person's fifty requests all run at once: the database's rules
    // are under test here, not the cap on one person's requests.
    let app = spawn_app_with(|config| config.requests_per_person = 64).await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let mut targets = Vec::new();
    for _ in 0..10 {
        targets.push(app.add_member(&org, OrgRole::Member).await.0);
    }
    let owner_token = owner.csrf_token().await;
    let admin_token = admin.csrf_token().await;
    let roles = ["admin", "member", "viewer"];
    let org_ref = &org;
    let requests = (0..50).map(|i| {
        let (browser, token) = if i % 2 == 0 {
            (&owner, &owner_token)
        } else {
            (&admin, &admin_token)
        };
        let target = targets[i % targets.len()].clone();
        let role = roles[i % roles.len()];
        async move {
            let status = browser
                .post_raw(
                    &format!("/orgs/{org_ref}/members/{target}/role"),
                    &[("role", role), ("csrf_token", token)],
                )
                .await
                .status();
            (target, role, status)
        }
    });
    let results = join_all(requests).await;
    for (_, _, status) in &results {
        assert!(
            *status == StatusCode::SEE_OTHER || *status == StatusCode::CONFLICT,
            "each change either applies or is refused as a conflict, got {status}"
        );
    }
    assert!(results.iter().any(|(_, _, s)| *s == StatusCode::SEE_OTHER));
    // Each member ends with a role that one of the accepted changes gave.
    for target in &targets {
        let accepted: Vec<&str> = results
            .iter()
            .filter(|(t, _, s)| t == target && *s == StatusCode::SEE_OTHER)
            .map(|(_, role, _)| *role)
            .collect();
        let final_role = app
            .scalar(&format!(
                "SELECT CAST(CASE role WHEN 'admin' THEN 1 WHEN 'member' THEN 2 WHEN 'viewer' THEN 3 ELSE 0 END AS BIGINT) FROM memberships WHERE id = '{target}'"
            ))
            .await;
        let final_role =
            ["?", "admin", "member", "viewer"][usize::try_from(final_role).unwrap_or(0)];
        assert!(
            accepted.contains(&final_role) || (accepted.is_empty() && final_role == "member"),
            "{target}: final role {final_role} not among accepted changes {accepted:?}"
        );
    }
    assert_eq!(app.owners_of(&org).await, 1);
    let changes = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed'")
        .await;
    let memberships = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}'"
        ))
        .await;
    assert_eq!(memberships, 12, "nobody was lost or duplicated");
    app.assert_counts_match(&org).await;
    assert!(changes > 0);
}

#[tokio::test]
async fn two_concurrent_transfers_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let (_, first) = app.add_member(&org, OrgRole::Admin).await;
    let (_, second) = app.add_member(&org, OrgRole::Member).await;
    let token = owner.csrf_token().await;
    let transfer = |target: String| {
        let owner = &owner;
        let token = &token;
        let org = &org;
        async move {
            owner
                .post_raw(
                    &format!("/orgs/{org}/transfer"),
                    &[
                        ("email", &target),
                        ("password", PASSWORD),
                        ("csrf_token", token),
                    ],
                )
                .await
                .status()
        }
    };
    let (a, b) = tokio::join!(transfer(first.clone()), transfer(second.clone()));
    for status in [a, b] {
        assert!(status.as_u16() < 500, "no server error: {status}");
    }
    assert_eq!(
        [a, b]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "exactly one transfer wins: {a} {b}"
    );
    assert_eq!(app.owners_of(&org).await, 1);
}

#[tokio::test]
async fn a_transfer_racing_a_demotion_keeps_one_owner() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    for _ in 0..5 {
        let (heir, heir_email) = app.add_member(&org, OrgRole::Member).await;
        let owner_token = owner.csrf_token().await;
        let admin_token = admin.csrf_token().await;
        let transfer_path = format!("/orgs/{org}/transfer");
        let transfer_form = [
            ("email", heir_email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &owner_token),
        ];
        let demote_path = format!("/orgs/{org}/members/{heir}/role");
        let demote_form = [("role", "viewer"), ("csrf_token", &admin_token)];
        let transfer = owner.post_raw(&transfer_path, &transfer_form);
        let demote = admin.post_raw(&demote_path, &demote_form);
        let (t, d) = tokio::join!(transfer, demote);
        assert!(
            t.status().as_u16() < 500 && d.status().as_u16() < 500,
            "{} {}",
            t.status(),
            d.status()
        );
        assert_eq!(app.owners_of(&org).await, 1);
        if t.status() == StatusCode::SEE_OTHER {
            // Ownership moved on; the next round starts from the new Owner.
            break;
        }
    }
}
