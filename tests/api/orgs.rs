//! Several organizations per person, the switcher, the Settings shell and
//! its access checks, and tenant isolation.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{email, location, spawn_app};

const SECTIONS: [&str; 6] = [
    "members",
    "invitations",
    "workspaces",
    "product-access",
    "settings",
    "audit",
];

#[tokio::test]
async fn a_person_creates_a_second_organization_and_switches_between_them() {
    let app = spawn_app().await;
    let (browser, first) = app.signed_up("Ada", &email("ada"), "First Co").await;

    let (status, form) = browser.get_html("/orgs/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("New organization"));

    let bad = browser.post_form("/orgs", &[("name", "  ")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("Enter an organization name.")
    );

    let created = browser.post_form("/orgs", &[("name", "Second Co")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let second = location(&created)
        .strip_prefix("/orgs/")
        .and_then(|r| r.strip_suffix("/members"))
        .expect("members page")
        .to_string();
    assert_ne!(first, second);

    let (_, page) = browser.get_html(&format!("/orgs/{second}/members")).await;
    assert!(page.contains("Second Co is ready."));
    assert!(
        page.contains(&format!("href=\"/orgs/{first}\"")),
        "switcher lists the first"
    );
    assert!(
        page.contains(&format!("href=\"/orgs/{second}\" aria-current=\"true\"")),
        "and marks the current"
    );
    assert!(page.contains("First Co") && page.contains("Second Co"));

    // The home page returns to the organization used last.
    browser.get(&format!("/orgs/{first}/members")).await;
    assert_eq!(
        location(&browser.get("/").await),
        format!("/orgs/{first}/members")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{second}'"
        ))
        .await,
        1,
        "every organization starts with a workspace"
    );
}

#[tokio::test]
async fn the_owner_sees_every_settings_section() {
    let app = spawn_app().await;
    let (browser, org) = app.signed_up("Ada", &email("ada"), "Acme").await;
    for section in SECTIONS {
        let (status, body) = browser.get_html(&format!("/orgs/{org}/{section}")).await;
        assert_eq!(status, StatusCode::OK, "{section}");
        for link in SECTIONS {
            assert!(
                body.contains(&format!("href=\"/orgs/{org}/{link}\"")),
                "{section} links {link}"
            );
        }
        assert!(
            body.contains("aria-current=\"page\""),
            "{section} marks itself"
        );
    }
}

#[tokio::test]
async fn settings_sections_check_the_role() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Ada", &email("ada"), "Acme").await;
    // (role, sections allowed)
    let expectations = [
        (
            OrgRole::Admin,
            vec![
                "members",
                "invitations",
                "workspaces",
                "product-access",
                "settings",
                "audit",
            ],
        ),
        (OrgRole::Member, vec!["members", "workspaces", "settings"]),
        (OrgRole::Viewer, vec!["members", "workspaces", "settings"]),
        (OrgRole::None, vec!["workspaces"]),
    ];
    for (role, allowed) in expectations {
        let browser = app
            .member_with_role(&org, &email(role.as_str()), role)
            .await;
        for section in SECTIONS {
            let path = format!("/orgs/{org}/{section}");
            let (status, body) = browser.get_html(&path).await;
            if allowed.contains(&section) {
                assert_eq!(status, StatusCode::OK, "{role:?} may open {section}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} may not open {section}"
                );
                assert!(body.contains("You don"), "{role:?} {section}: says why");
            }
            let (_, home) = browser.get_html(&format!("/orgs/{org}/workspaces")).await;
            assert_eq!(
                home.contains(&format!("href=\"/orgs/{org}/{section}\"")),
                allowed.contains(&section),
                "{role:?}: the sidebar shows {section} only when allowed"
            );
        }
    }
}

#[tokio::test]
async fn another_organization_is_invisible() {
    let app = spawn_app().await;
    let (_, org_a) = app.signed_up("Ada", &email("ada"), "Org A").await;
    let (outsider, org_b) = app.signed_up("Bob", &email("bob"), "Org B").await;

    for section in SECTIONS {
        let (status, body) = outsider.get_html(&format!("/orgs/{org_a}/{section}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{section}");
        assert!(!body.contains("Org A"), "{section} reveals nothing");
    }
    assert_eq!(
        outsider.get(&format!("/orgs/{org_a}")).await.status(),
        StatusCode::NOT_FOUND
    );
    // An organization that does not exist looks the same.
    let missing = uuid::Uuid::new_v4();
    assert_eq!(
        outsider
            .get(&format!("/orgs/{missing}/members"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        outsider.get("/orgs/not-a-uuid/members").await.status(),
        StatusCode::NOT_FOUND
    );

    let (_, own) = outsider.get_html(&format!("/orgs/{org_b}/members")).await;
    assert!(own.contains("Org B"));
    assert!(
        !own.contains("Org A"),
        "the switcher lists only the person's organizations"
    );
}

#[tokio::test]
async fn removed_members_lose_access_on_their_next_request() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Ada", &email("ada"), "Acme").await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;
    assert_eq!(
        viewer.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::OK
    );

    app.db
        .owner()
        .execute_unprepared(&format!(
            "DELETE FROM memberships WHERE org_id = '{org}' AND role = 'viewer'"
        ))
        .await
        .expect("remove");
    assert_eq!(
        viewer.get(&format!("/orgs/{org}/members")).await.status(),
        StatusCode::NOT_FOUND
    );
}

use sea_orm::ConnectionTrait;
