//! Products and product access: what each role may do with a product,
//! restricted or not, with each grant; hidden and foreign products answer
//! 404; the Product Access page (restrict, grant in place, bulk); owners
//! who leave; products moving and going with their workspace.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;
use roster::services::product_access;

use crate::helpers::{Browser, TestApp, email, location, spawn_app, spawn_app_with};

/// The membership id of `address` in `org`.
async fn membership_of(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

async fn product_count(app: &TestApp, org: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM products WHERE org_id = '{org}'"
    ))
    .await
}

/// The products list of `org` says it has `expected` products, and the
/// count kept by triggers (which the list shows) agrees with the rows.
async fn assert_listed(app: &TestApp, owner: &Browser, org: &str, expected: i64) {
    let stored = app
        .scalar(&format!(
            "SELECT CAST(COALESCE(SUM(products), 0) AS BIGINT) FROM product_counts WHERE org_id = '{org}'"
        ))
        .await;
    assert_eq!(stored, product_count(app, org).await, "the kept count");
    let (status, page) = owner.get_html(&format!("/orgs/{org}/products")).await;
    assert_eq!(status, StatusCode::OK);
    let noun = if expected == 1 { "product" } else { "products" };
    assert!(
        page.contains(&format!("<p class=\"muted\">{expected} {noun}")),
        "{expected} {noun}: {page}"
    );
}

/// What a person should get for each action on a product of General.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    listed: bool,
    open: u16,
    edit: u16,
    delete: u16,
}

const HIDDEN: Expect = Expect {
    listed: false,
    open: 404,
    edit: 404,
    delete: 404,
};
const VIEW: Expect = Expect {
    listed: true,
    open: 200,
    edit: 403,
    delete: 403,
};
const EDIT: Expect = Expect {
    listed: true,
    open: 200,
    edit: 303,
    delete: 403,
};
const ALL: Expect = Expect {
    listed: true,
    open: 200,
    edit: 303,
    delete: 303,
};

/// The table under test: role × restricted × grant → what they may do.
/// Admins and the Owner are never restricted; a grant never adds to what
/// the role allows (a Viewer granted Edit still only views).
fn expected(role: OrgRole, restricted: bool, grant: &str) -> Expect {
    let unrestricted = match role {
        OrgRole::Viewer => VIEW,
        OrgRole::Member => EDIT,
        _ => ALL,
    };
    if !restricted || matches!(role, OrgRole::Admin | OrgRole::Owner) {
        return unrestricted;
    }
    match (grant, role) {
        ("none", _) => HIDDEN,
        ("view", _) => VIEW,
        (_, OrgRole::Viewer) => VIEW,
        _ => EDIT,
    }
}

async fn check_actions(
    app: &TestApp,
    org: &str,
    browser: &Browser,
    product: &str,
    name: &str,
    want: Expect,
    label: &str,
) -> Vec<String> {
    let mut failures = Vec::new();
    let (status, list) = browser.get_html(&format!("/orgs/{org}/products")).await;
    assert_eq!(status, StatusCode::OK, "{label}: the list");
    if list.contains(name) != want.listed {
        failures.push(format!("{label}: listed should be {}", want.listed));
    }
    let (status, page) = browser
        .get_html(&format!("/orgs/{org}/products/{product}"))
        .await;
    if status.as_u16() != want.open {
        failures.push(format!("{label}: open gave {status}, not {}", want.open));
    }
    if status == StatusCode::OK {
        let edit_form = format!("action=\"/orgs/{org}/products/{product}\"");
        let shows_form = page.contains(&edit_form);
        if shows_form != (want.edit == 303) {
            failures.push(format!("{label}: edit controls shown: {shows_form}"));
        }
        if want.edit != 303 && !page.contains("You can view this product but not change it.") {
            failures.push(format!("{label}: the read-only note is missing"));
        }
        let delete_link = format!("/orgs/{org}/products/{product}/delete");
        if page.contains(&delete_link) != (want.delete == 303) {
            failures.push(format!("{label}: delete link shown wrongly"));
        }
    }
    let renamed = format!("{name} renamed");
    let edit = browser
        .post_form(
            &format!("/orgs/{org}/products/{product}"),
            &[("name", &renamed), ("description", "new words")],
        )
        .await;
    if edit.status().as_u16() != want.edit {
        failures.push(format!(
            "{label}: edit gave {}, not {}",
            edit.status(),
            want.edit
        ));
    }
    let stored = app
        .scalar_text(&format!("SELECT name FROM products WHERE id = '{product}'"))
        .await;
    if (stored == renamed) != (want.edit == 303) {
        failures.push(format!("{label}: the stored name is {stored:?}"));
    }
    let delete = browser
        .post_form(&format!("/orgs/{org}/products/{product}/delete"), &[])
        .await;
    if delete.status().as_u16() != want.delete {
        failures.push(format!(
            "{label}: delete gave {}, not {}",
            delete.status(),
            want.delete
        ));
    }
    let left = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{product}'"
        ))
        .await;
    if (left == 0) != (want.delete == 303) {
        failures.push(format!("{label}: {left} product rows left"));
    }
    failures
}

#[tokio::test]
async fn each_role_restricted_or_not_with_each_grant_may_do_what_the_table_says() {
    let app = spawn_app().await;
    let owner_email = email("owner");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let general = app.general_workspace(&org).await;
    let owner_membership = membership_of(&app, &org, &owner_email).await;
    let mut failures = Vec::new();
    for role in [
        OrgRole::Viewer,
        OrgRole::Member,
        OrgRole::Admin,
        OrgRole::Owner,
    ] {
        for restricted in [false, true] {
            for grant in ["none", "view", "edit"] {
                let label = format!("{role:?}, restricted {restricted}, grant {grant}");
                let (browser, membership) = if role == OrgRole::Owner {
                    (None, owner_membership.clone())
                } else {
                    let address = email(role.as_str());
                    let browser = app.member_with_role(&org, &address, role).await;
                    (Some(browser), membership_of(&app, &org, &address).await)
                };
                let browser = browser.as_ref().unwrap_or(&owner);
                let name = format!("Item {}", uuid::Uuid::new_v4().simple());
                let product = app.add_product(&general, &name, None).await;
                if restricted && !product_access::restrictable(role) {
                    app.store_restricted_flag(&membership, restricted).await;
                } else {
                    app.set_restricted(&membership, restricted).await;
                }
                if grant != "none" {
                    app.add_grant(&membership, &product, grant).await;
                }
                let want = expected(role, restricted, grant);
                failures.extend(
                    check_actions(&app, &org, browser, &product, &name, want, &label).await,
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_restricted_member_sees_only_granted_products_in_lists_search_counts_and_links() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let address = email("rita");
    let rita = app.member_with_role(&org, &address, OrgRole::Member).await;
    let membership = membership_of(&app, &org, &address).await;
    let shared = app.add_product(&general, "Atlas shared", None).await;
    let hidden = app.add_product(&general, "Atlas hidden", None).await;
    for i in 0..3 {
        app.add_product(&general, &format!("Beacon {i}"), None)
            .await;
    }

    // Unrestricted: every product of General.
    let (_, list) = rita.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("5 products"), "{list}");

    app.set_restricted(&membership, true).await;
    app.add_grant(&membership, &shared, "view").await;
    let (_, list) = rita.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("1 product"), "the count is the visible one");
    assert!(list.contains("you see only the products granted to you"));
    assert!(list.contains("Atlas shared"));
    assert!(!list.contains("Atlas hidden"));
    assert!(!list.contains("Beacon"));
    let (_, search) = rita
        .get_html(&format!("/orgs/{org}/products?q=atlas"))
        .await;
    assert!(search.contains("1 product matches this view"), "{search}");
    assert!(!search.contains("Atlas hidden"));
    let (_, filtered) = rita
        .get_html(&format!("/orgs/{org}/products?workspace={general}"))
        .await;
    assert!(filtered.contains("Atlas shared") && !filtered.contains("Atlas hidden"));
    let (status, _) = rita
        .get_html(&format!("/orgs/{org}/products/{hidden}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a direct link to a hidden one"
    );
    let (_, overview) = rita
        .get_html(&format!("/orgs/{org}/workspaces/{general}"))
        .await;
    assert!(overview.contains(">1 product</a>"), "the workspace's count");
    let (_, owner_overview) = owner
        .get_html(&format!("/orgs/{org}/workspaces/{general}"))
        .await;
    assert!(owner_overview.contains(">5 products</a>"));

    // Their member page explains it, to themselves and to Admins, but not
    // to other members (grants name products).
    let (_, own_page) = rita
        .get_html(&format!("/orgs/{org}/members/{membership}"))
        .await;
    assert!(own_page.contains("Restricted to 1 product"));
    assert!(own_page.contains("Atlas shared"));
    let (_, admin_view) = owner
        .get_html(&format!("/orgs/{org}/members/{membership}"))
        .await;
    assert!(admin_view.contains("Restricted to 1 product"));
    assert!(admin_view.contains(&format!("/orgs/{org}/product-access/{membership}")));
    let viewer = app
        .member_with_role(&org, &email("vic"), OrgRole::Viewer)
        .await;
    let (_, others_view) = viewer
        .get_html(&format!("/orgs/{org}/members/{membership}"))
        .await;
    assert!(!others_view.contains("Atlas shared"));
    assert!(!others_view.contains("Product access</h2>"));
}

#[tokio::test]
async fn products_and_grants_of_another_organization_answer_404_and_change_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let (_, other_org) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let other_general = app.general_workspace(&other_org).await;
    let foreign = app.add_product(&other_general, "Foreign", None).await;
    let (member, member_email) = app.add_member(&org, OrgRole::Member).await;
    let (foreign_member, _) = app.add_member(&other_org, OrgRole::Member).await;
    let mine = app.add_product(&general, "Mine", None).await;

    for (method, path) in [
        ("get", format!("/orgs/{org}/products/{foreign}")),
        ("post", format!("/orgs/{org}/products/{foreign}")),
        ("post", format!("/orgs/{org}/products/{foreign}/owner")),
        ("get", format!("/orgs/{org}/products/{foreign}/delete")),
        ("post", format!("/orgs/{org}/products/{foreign}/delete")),
        (
            "post",
            format!("/orgs/{org}/product-access/{member}/products/{foreign}"),
        ),
        (
            "get",
            format!("/orgs/{org}/product-access/{foreign_member}"),
        ),
        (
            "post",
            format!("/orgs/{org}/product-access/{foreign_member}/restrict"),
        ),
        (
            "post",
            format!("/orgs/{org}/product-access/{foreign_member}/products/{mine}"),
        ),
        (
            "post",
            format!("/orgs/{org}/product-access/{foreign_member}/bulk"),
        ),
    ] {
        let response = if method == "get" {
            owner.get(&path).await
        } else {
            owner
                .post_form(
                    &path,
                    &[
                        ("name", "Taken over"),
                        ("description", ""),
                        ("email", &member_email),
                        ("access", "edit"),
                        ("restricted", "on"),
                        ("workspace_id", &general),
                    ],
                )
                .await
        };
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    // A hidden workspace id in the bulk form does not reach another
    // organization's products either.
    let bulk = owner
        .post_form(
            &format!("/orgs/{org}/product-access/{member}/bulk"),
            &[("workspace_id", &other_general)],
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::BAD_REQUEST);
    // Creating a product in another organization's workspace is refused.
    let planted = owner
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &other_general),
                ("name", "Planted"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(planted.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar_text(&format!("SELECT name FROM products WHERE id = '{foreign}'"))
            .await,
        "Foreign"
    );
    assert_eq!(app.count("product_grants").await, 0);
    assert_eq!(product_count(&app, &other_org).await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE id = '{foreign_member}' AND products_restricted"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn members_add_and_edit_products_with_clear_messages() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let address = email("mia");
    let mia = app.member_with_role(&org, &address, OrgRole::Member).await;
    let viewer = app
        .member_with_role(&org, &email("vera"), OrgRole::Viewer)
        .await;

    let created = mia
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &general),
                ("name", "  Compass "),
                ("description", "Finds the way"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let (status, page) = mia.get_html(&location(&created)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Compass</h1>"));
    assert!(page.contains("Product Compass is ready."));
    assert!(page.contains("Finds the way"));
    assert!(page.contains(&address), "the creator owns it");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'product.created'")
            .await,
        1
    );

    for (name, description, message) in [
        (
            "COMPASS",
            "",
            "This workspace already has a product with this name.",
        ),
        (" ", "", "Enter a name."),
        ("Long", &"d".repeat(1001)[..], "Use at most 1000 characters"),
    ] {
        let refused = mia
            .post_form(
                &format!("/orgs/{org}/products"),
                &[
                    ("workspace_id", &general),
                    ("name", name),
                    ("description", description),
                ],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(refused.text().await.expect("body").contains(message));
    }
    assert_eq!(product_count(&app, &org).await, 1, "nothing half-written");

    let (_, viewer_list) = viewer.get_html(&format!("/orgs/{org}/products")).await;
    assert!(!viewer_list.contains("New product"), "Viewers cannot add");
    let refused = viewer
        .post_form(
            &format!("/orgs/{org}/products"),
            &[("workspace_id", &general), ("name", "Nope")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A restricted member who adds a product is granted Edit on it.
    let membership = membership_of(&app, &org, &address).await;
    app.set_restricted(&membership, true).await;
    let created = mia
        .post_form(
            &format!("/orgs/{org}/products"),
            &[("workspace_id", &general), ("name", "Delta")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let (status, page) = mia.get_html(&location(&created)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Edit (granted to you)"));
    let (_, list) = mia.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("Delta") && !list.contains("Compass"));

    // The list pages by 50 with the total.
    for i in 0..55 {
        app.add_product(&general, &format!("Bulk {i:02}"), None)
            .await;
    }
    let (_, first) = viewer.get_html(&format!("/orgs/{org}/products")).await;
    assert!(first.contains("57 products"));
    assert!(first.contains("Page 1 of 2"));
    assert_eq!(first.matches("<tr id=\"product-").count(), 50);
    let (status, _) = viewer
        .get_html(&format!("/orgs/{org}/products?page=2000000"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admins_restrict_members_and_grant_products_in_place_or_by_plain_form() {
    let app = spawn_app().await;
    let (_, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let ada_email = email("ada");
    let admin = app.member_with_role(&org, &ada_email, OrgRole::Admin).await;
    let address = email("rita");
    let rita = app.member_with_role(&org, &address, OrgRole::Member).await;
    let membership = membership_of(&app, &org, &address).await;
    let other_admin = membership_of(&app, &org, &ada_email).await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    let beacon = app.add_product(&general, "Beacon", None).await;
    let store = app.add_product(&general, "Store", None).await;

    let (status, picker) = admin.get_html(&format!("/orgs/{org}/product-access")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(picker.contains(&format!("/orgs/{org}/product-access/{membership}")));
    assert!(picker.contains("All products (cannot be restricted)"));
    let (_, page) = admin
        .get_html(&format!("/orgs/{org}/product-access/{membership}"))
        .await;
    assert!(page.contains("Turn on: restrict to granted products"));

    let on = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/restrict"),
            &[("restricted", "on")],
        )
        .await;
    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get_html(&location(&on)).await;
    assert!(page.contains("now sees only the products granted below"));
    assert!(page.contains(&format!("id=\"grant-{atlas}\"")));
    let (_, list) = rita.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("No products have been shared with you yet."));

    // By htmx: only the row comes back, with an announcement.
    let token = admin.csrf_token().await;
    let response = admin
        .client
        .post(admin.url(&format!(
            "/orgs/{org}/product-access/{membership}/products/{atlas}"
        )))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&[("access", "view")])
        .send()
        .await
        .expect("grant");
    assert_eq!(response.status(), StatusCode::OK);
    let fragment = response.text().await.expect("body");
    assert!(fragment.starts_with(&format!("<tr id=\"grant-{atlas}\"")));
    assert!(fragment.contains("<option value=\"view\" selected>"));
    assert!(fragment.contains("hx-swap-oob"));
    assert!(fragment.contains("can now view Atlas"));
    assert!(!fragment.contains("<html"));
    // By plain form: back to the page.
    let plain = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/products/{beacon}"),
            &[("access", "edit")],
        )
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&plain),
        format!("/orgs/{org}/product-access/{membership}")
    );
    let bad = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/products/{store}"),
            &[("access", "owner")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let (_, list) = rita.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("2 products") && !list.contains("Store"));
    let (_, picker) = admin.get_html(&format!("/orgs/{org}/product-access")).await;
    assert!(picker.contains("Restricted: 2 products"), "{picker}");
    let (_, atlas_page) = rita
        .get_html(&format!("/orgs/{org}/products/{atlas}"))
        .await;
    assert!(atlas_page.contains("View only (granted to you)"));

    // Bulk: View on the rest of General; Beacon keeps Edit.
    let bulk = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/bulk"),
            &[("workspace_id", &general)],
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get_html(&location(&bulk)).await;
    assert!(
        page.contains("can now view 1 more product of General"),
        "{page}"
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT access FROM product_grants WHERE membership_id = '{membership}' AND product_id = '{beacon}'"
        ))
        .await,
        "edit"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{membership}'"
        ))
        .await,
        3
    );
    // Taking a grant away.
    let none = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/products/{store}"),
            &[("access", "none")],
        )
        .await;
    assert_eq!(none.status(), StatusCode::SEE_OTHER);
    let (status, _) = rita
        .get_html(&format!("/orgs/{org}/products/{store}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Admins and the Owner cannot be restricted, and the page says why.
    let (_, admin_page) = admin
        .get_html(&format!("/orgs/{org}/product-access/{other_admin}"))
        .await;
    assert!(admin_page.contains("their access cannot be restricted"));
    let refused = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{other_admin}/restrict"),
            &[("restricted", "on")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Admins and the Owner always see every product")
    );

    // Off again: every product, grants kept for next time.
    let off = admin
        .post_form(
            &format!("/orgs/{org}/product-access/{membership}/restrict"),
            &[("restricted", "off")],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let (_, list) = rita.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("3 products"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{membership}'"
        ))
        .await,
        2
    );
    for (action, rows) in [
        ("product_access.restricted", 1),
        ("product_access.unrestricted", 1),
        ("product_access.changed", 3),
        ("product_access.bulk_granted", 1),
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
            ))
            .await,
            rows,
            "{action}"
        );
    }
}

#[tokio::test]
async fn products_of_a_removed_member_need_an_owner_until_an_admin_assigns_one() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let (leaver, leaver_email) = app.add_member(&org, OrgRole::Member).await;
    let leaver_user = app.user_id(&leaver_email).await;
    let owned = app.add_product(&general, "Ember", Some(&leaver_user)).await;
    app.set_restricted(&leaver, true).await;
    app.add_grant(&leaver, &owned, "edit").await;
    let (_, heir_email) = app.add_member(&org, OrgRole::Viewer).await;

    let (_, confirm) = owner
        .get_html(&format!("/orgs/{org}/members/{leaver}/remove"))
        .await;
    assert!(confirm.contains("The one product they own will be marked “needs an owner”."));
    let removed = owner
        .post_form(&format!("/orgs/{org}/members/{leaver}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("product_grants").await, 0, "grants went too");
    let (_, list) = owner.get_html(&format!("/orgs/{org}/products")).await;
    assert!(list.contains("Needs an owner"));
    let (_, page) = owner
        .get_html(&format!("/orgs/{org}/products/{owned}"))
        .await;
    assert!(page.contains("Its owner left the organization."));

    // A Member may not assign; an address that is no member is refused.
    let member = app
        .member_with_role(&org, &email("mo"), OrgRole::Member)
        .await;
    let refused = member
        .post_form(
            &format!("/orgs/{org}/products/{owned}/owner"),
            &[("email", &heir_email)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let unknown = owner
        .post_form(
            &format!("/orgs/{org}/products/{owned}/owner"),
            &[("email", "nobody@example.test")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .expect("body")
            .contains("Enter the email of a member who can see this product")
    );
    let assigned = owner
        .post_form(
            &format!("/orgs/{org}/products/{owned}/owner"),
            &[("email", &heir_email.to_uppercase())],
        )
        .await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let (_, page) = owner.get_html(&location(&assigned)).await;
    assert!(!page.contains("Needs an owner"));
    assert!(page.contains(&heir_email));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{owned}' AND needs_owner"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'product.owner_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn products_move_with_their_workspace_and_go_when_it_is_deleted() {
    let app = spawn_app().await;
    let owner_email = email("owner");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let created = owner.post_form("/orgs", &[("name", "Target Co")]).await;
    let target = location(&created)
        .trim_start_matches("/orgs/")
        .split('/')
        .next()
        .expect("the new organization's id")
        .to_string();
    let created = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Harbor"), ("description", "")],
        )
        .await;
    let harbor = location(&created)
        .rsplit('/')
        .next()
        .expect("id")
        .to_string();
    let (stayer, stayer_email) = app.add_member(&org, OrgRole::Member).await;
    let stayer_user = app.user_id(&stayer_email).await;
    let owner_user = app.user_id(&owner_email).await;
    let kept = app
        .add_product(&harbor, "Kept owner", Some(&owner_user))
        .await;
    let orphaned = app
        .add_product(&harbor, "Owner stays behind", Some(&stayer_user))
        .await;
    app.set_restricted(&stayer, true).await;
    app.add_grant(&stayer, &kept, "view").await;
    assert_listed(&app, &owner, &org, 2).await;
    assert_listed(&app, &owner, &target, 0).await;

    let (_, preview) = owner
        .get_html(&format!("/orgs/{org}/workspaces/{harbor}/move?to={target}"))
        .await;
    assert!(preview.contains("Its 2 products move with it."));
    let moved = owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{harbor}/move"),
            &[("to", &target)],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(product_count(&app, &org).await, 0);
    assert_eq!(product_count(&app, &target).await, 2);
    assert_listed(&app, &owner, &org, 0).await;
    assert_listed(&app, &owner, &target, 2).await;
    assert_eq!(app.count("product_grants").await, 0, "grants end");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{orphaned}' AND needs_owner AND owner_id IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{kept}' AND NOT needs_owner"
        ))
        .await,
        1
    );
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/products/{kept}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "gone from the old organization"
    );
    let (status, _) = owner
        .get_html(&format!("/orgs/{target}/products/{kept}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Deleting the workspace takes its products; the page says how many.
    let (_, overview) = owner
        .get_html(&format!("/orgs/{target}/workspaces/{harbor}"))
        .await;
    assert!(overview.contains("its 2 products and the direct roles"));
    let deleted = owner
        .post_form(
            &format!("/orgs/{target}/workspaces/{harbor}/delete"),
            &[("confirm_title", "Harbor")],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(product_count(&app, &target).await, 0);
    assert_listed(&app, &owner, &target, 0).await;
}

#[tokio::test]
async fn concurrent_grants_edits_and_deletes_never_fail_with_a_server_error() {
    // One person's requests all run at once: the database's rules are
    // under test here, not the cap on one person's requests.
    let app = spawn_app_with(|config| config.requests_per_person = 64).await;
    let (owner, org) = app.signed_up("Olivia Owner", &email("owner"), "Acme").await;
    let general = app.general_workspace(&org).await;
    let (member, _) = app.add_member(&org, OrgRole::Member).await;
    app.set_restricted(&member, true).await;
    let products: Vec<String> = {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(app.add_product(&general, &format!("Race {i}"), None).await);
        }
        ids
    };
    let grant = format!(
        "/orgs/{org}/product-access/{member}/products/{}",
        products[0]
    );
    let bulk = format!("/orgs/{org}/product-access/{member}/bulk");
    let target = format!("/orgs/{org}/products/{}", products[1]);
    let delete = format!("{target}/delete");
    let token = owner.csrf_token().await;
    let names: Vec<String> = (0..10).map(|i| format!("Renamed {i}")).collect();
    let (owner, token, general) = (&owner, &token, &general);
    let requests = (0..40).map(|i| {
        let (path, fields): (&str, Vec<(&str, &str)>) = match i % 5 {
            0 => (&grant, vec![("access", "edit")]),
            1 => (&grant, vec![("access", "view")]),
            2 => (&bulk, vec![("workspace_id", general)]),
            // Edits racing deletes of the same product.
            3 => (&target, vec![("name", &names[i % 10])]),
            _ => (&delete, vec![]),
        };
        async move {
            let mut fields = fields;
            fields.push(("csrf_token", token));
            owner.post_raw(path, &fields).await.status()
        }
    });
    for status in futures_util::future::join_all(requests).await {
        assert!(
            matches!(status.as_u16(), 303 | 404 | 409),
            "unexpected {status}"
        );
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{member}'"
        ))
        .await,
        4,
        "one grant per remaining product"
    );
    assert_eq!(product_count(&app, &org).await, 4);
}

/// The `<tr>` of product `id` on a Product Access page.
fn grant_row<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<tr id=\"grant-{id}\""))
        .unwrap_or_else(|| panic!("no row for {id} in {page}"));
    let end = page[start..]
        .find("</tr>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

#[tokio::test]
async fn a_members_product_access_page_shows_their_own_grants_and_roles_in_their_own_organization()
{
    let app = spawn_app().await;
    let owner_email = email("owner");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let general = app.general_workspace(&org).await;
    let ops = app.add_workspace(&org, "Ops").await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    let beacon = app.add_product(&general, "Beacon", None).await;
    let console = app.add_product(&ops, "Console", None).await;
    let (rita, rita_email) = app.add_member(&org, OrgRole::Viewer).await;
    let (sam, _) = app.add_member(&org, OrgRole::Viewer).await;
    for (member, grants) in [
        (&rita, vec![(&atlas, "edit"), (&console, "edit")]),
        (&sam, vec![(&beacon, "view")]),
    ] {
        app.set_restricted(member, true).await;
        for (product, access) in grants {
            app.add_grant(member, product, access).await;
        }
    }
    // Rita, a Viewer, edits in Ops: her Edit is Edit there, and View in
    // effect on Atlas.
    app.add_workspace_role(&ops, &app.user_id(&rita_email).await, "editor")
        .await;

    let (status, page) = owner
        .get_html(&format!("/orgs/{org}/product-access/{rita}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("3 products"), "{page}");
    let atlas_row = grant_row(&page, &atlas);
    assert!(atlas_row.contains("<option value=\"edit\" selected>"));
    assert!(
        atlas_row.contains("View only: their role does not allow editing"),
        "{atlas_row}"
    );
    assert!(grant_row(&page, &beacon).contains("<option value=\"none\" selected>"));
    let console_row = grant_row(&page, &console);
    assert!(console_row.contains("<option value=\"edit\" selected>"));
    assert!(
        console_row.contains("Can edit") && !console_row.contains("View only"),
        "{console_row}"
    );
    let (_, page) = owner
        .get_html(&format!("/orgs/{org}/product-access/{sam}"))
        .await;
    assert!(grant_row(&page, &atlas).contains("<option value=\"none\" selected>"));
    assert!(grant_row(&page, &beacon).contains("<option value=\"view\" selected>"));
    assert!(grant_row(&page, &console).contains("<option value=\"none\" selected>"));
    // Filtered to a workspace: its products only, the filter kept.
    let (_, page) = owner
        .get_html(&format!(
            "/orgs/{org}/product-access/{rita}?workspace={ops}"
        ))
        .await;
    assert!(
        page.contains(&format!("grant-{console}")) && !page.contains(&format!("grant-{atlas}"))
    );
    assert!(page.contains("1 product"));

    // The owner is an Admin of a second organization too: its members are
    // found only under its own address, and each under its own.
    let (_, beta) = app.signed_up("Bea Beta", &email("bea"), "Beta").await;
    app.add_membership(&beta, &app.user(&owner_email).await, OrgRole::Admin)
        .await;
    let (tom, tom_email) = app.add_member(&beta, OrgRole::Member).await;
    for path in [
        format!("/orgs/{org}/product-access/{tom}"),
        format!("/orgs/{beta}/product-access/{rita}"),
        format!("/orgs/{org}/product-access/{tom}?q=a"),
    ] {
        let (status, body) = owner.get_html(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !body.contains(&tom_email) && !body.contains(&rita_email),
            "{path}"
        );
    }
    let (status, page) = owner
        .get_html(&format!("/orgs/{beta}/product-access/{tom}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&tom_email) && !page.contains("Atlas"));

    // A bad filter: 400 for a member, 404 for no member.
    let long = "a".repeat(121);
    let (status, body) = owner
        .get_html(&format!("/orgs/{org}/product-access/{rita}?q={long}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The search is too long"), "{body}");
    let (status, _) = owner
        .get_html(&format!("/orgs/{org}/product-access/{tom}?q={long}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A Viewer may not see anyone's access, their own included.
    let rita_browser = crate::helpers::signed_in(&app, &rita_email).await;
    for member in [&rita, &sam] {
        let (status, body) = rita_browser
            .get_html(&format!("/orgs/{org}/product-access/{member}"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            !body.contains("Console") && !body.contains("Beacon"),
            "{body}"
        );
    }
}
