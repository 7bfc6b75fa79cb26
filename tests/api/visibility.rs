//! What a person cannot see stays unseen: refusals do not reveal hidden
//! product names, hidden workspace titles or who belongs to the
//! organization, and one person's requests cannot crowd out everyone
//! else's.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{PASSWORD, TestApp, email, location, spawn_app};

const PRODUCT_TAKEN: &str = "This workspace already has a product with this name.";
const TITLE_TAKEN: &str = "Another workspace of this organization has this title.";

/// The membership id of `address` in `org`.
async fn membership_of(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND email_normalized = '{}'",
        address.to_lowercase()
    ))
    .await
}

async fn workspace_titled(app: &TestApp, org: &str, title: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM workspaces WHERE org_id = '{org}' AND title_normalized = '{}'",
        title.to_lowercase()
    ))
    .await
}

#[tokio::test]
async fn a_restricted_member_cannot_probe_hidden_product_names() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Probe Co")
        .await;
    let general = app.general_workspace(&org).await;
    let secret = app.add_product(&general, "Secret Plan", None).await;
    app.add_product(&general, "Hidden Two", None).await;
    let shared = app.add_product(&general, "Shared", None).await;
    let mo_email = email("mo");
    let mo = app.member_with_role(&org, &mo_email, OrgRole::Member).await;
    let mo_membership = membership_of(&app, &org, &mo_email).await;
    app.set_restricted(&mo_membership, true).await;
    app.add_grant(&mo_membership, &shared, "edit").await;
    let (status, _) = mo.get_html(&format!("/orgs/{org}/products/{secret}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the product is hidden");

    // Creating a product named like the hidden one is no different from
    // creating any other name.
    let created = mo
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &general),
                ("name", "secret plan"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    // Renaming one to it neither.
    let renamed = mo
        .post_form(
            &format!("/orgs/{org}/products/{shared}"),
            &[("name", "HIDDEN TWO "), ("description", "")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    for name in ["secret plan", "hidden two"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM products WHERE name_normalized = '{name}'"
            ))
            .await,
            2
        );
    }

    // A name the member can see is still refused, as before.
    let mut again = mo
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &general),
                ("name", "Secret plan"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.expect("body").contains(PRODUCT_TAKEN));
    // And someone who sees every product gets the refusal too.
    again = owner
        .post_form(
            &format!("/orgs/{org}/products"),
            &[
                ("workspace_id", &general),
                ("name", "Secret Plan"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.expect("body").contains(PRODUCT_TAKEN));
}

#[tokio::test]
async fn a_workspace_guest_cannot_probe_hidden_workspace_titles() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Probe Co")
        .await;
    for title in ["Hidden HQ", "Store 1", "Store 2"] {
        let created = owner
            .post_form(
                &format!("/orgs/{org}/workspaces"),
                &[("title", title), ("description", "")],
            )
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
    }
    let hidden = workspace_titled(&app, &org, "Hidden HQ").await;
    let store1 = workspace_titled(&app, &org, "Store 1").await;
    let store2 = workspace_titled(&app, &org, "Store 2").await;
    let guest_email = email("guest");
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    let guest_id = app.user_id(&guest_email).await;
    app.add_workspace_role(&store1, &guest_id, "admin").await;
    app.add_workspace_role(&store2, &guest_id, "admin").await;
    let (status, _) = guest
        .get_html(&format!("/orgs/{org}/workspaces/{hidden}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the workspace is hidden");

    let renamed = guest
        .post_form(
            &format!("/orgs/{org}/workspaces/{store1}"),
            &[("title", "hidden hq"), ("description", "")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'hidden hq'"
        ))
        .await,
        2
    );

    // A title the guest sees is refused, as before.
    let refused = guest
        .post_form(
            &format!("/orgs/{org}/workspaces/{store2}"),
            &[("title", "HIDDEN HQ"), ("description", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.expect("body").contains(TITLE_TAKEN));
    // The organization's Owner sees every workspace: a new one may not
    // take a title in use.
    let refused = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Store 2"), ("description", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.expect("body").contains(TITLE_TAKEN));
}

/// Many people creating the same name at once get one product (one
/// workspace) and a refusal each for the rest, on either database.
#[tokio::test]
async fn simultaneous_creates_of_one_visible_name_yield_one() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Race Co")
        .await;
    let general = app.general_workspace(&org).await;
    let mut admins = Vec::new();
    for _ in 0..6 {
        admins.push(
            app.member_with_role(&org, &email("admin"), OrgRole::Admin)
                .await,
        );
    }
    admins.push(owner);
    let products_path = format!("/orgs/{org}/products");
    let product_fields = [
        ("workspace_id", general.as_str()),
        ("name", "Twin"),
        ("description", ""),
    ];
    let answers = futures_util::future::join_all(
        admins
            .iter()
            .map(|b| b.post_form(&products_path, &product_fields)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM products WHERE name_normalized = 'twin'")
            .await,
        1
    );

    let workspaces_path = format!("/orgs/{org}/workspaces");
    let workspace_fields = [("title", "Twin Store"), ("description", "")];
    let answers = futures_util::future::join_all(
        admins
            .iter()
            .map(|b| b.post_form(&workspaces_path, &workspace_fields)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{org}' AND title_normalized = 'twin store'"
        ))
        .await,
        1
    );
}

/// The page with the typed address taken out: two answers that differ
/// only in what was typed are the same answer.
fn without(body: &str, typed: &str) -> String {
    body.replace(typed, "TYPED")
}

#[tokio::test]
async fn a_guest_cannot_tell_members_from_strangers_by_assigning_a_product_owner() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Probe Co")
        .await;
    let general = app.general_workspace(&org).await;
    let product = app.add_product(&general, "Atlas", None).await;
    let guest_email = email("guest");
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    let guest_id = app.user_id(&guest_email).await;
    app.add_workspace_role(&general, &guest_id, "admin").await;
    // A member who sees the workspace (by inheritance) but whom the guest
    // cannot see: guests do not see the Members list.
    let (_, member_email) = app.add_member(&org, OrgRole::Member).await;
    let stranger = email("stranger");
    let path = format!("/orgs/{org}/products/{product}/owner");

    let member_answer = guest.post_form(&path, &[("email", &member_email)]).await;
    let member_status = member_answer.status();
    let member_body = member_answer.text().await.expect("body");
    let stranger_answer = guest.post_form(&path, &[("email", &stranger)]).await;
    let stranger_status = stranger_answer.status();
    let stranger_body = stranger_answer.text().await.expect("body");
    assert_eq!(member_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stranger_status, member_status);
    assert_eq!(
        without(&member_body, &member_email),
        without(&stranger_body, &stranger)
    );
    assert!(member_body.contains("Enter the email of a member who can see this product"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = '{product}' AND owner_id IS NOT NULL"
        ))
        .await,
        0
    );

    // Someone the guest sees here (a direct role in the workspace) may be
    // chosen.
    let (_, colleague_email) = app.add_member(&org, OrgRole::None).await;
    let colleague_id = app.user_id(&colleague_email).await;
    app.add_workspace_role(&general, &colleague_id, "editor")
        .await;
    let assigned = guest.post_form(&path, &[("email", &colleague_email)]).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);

    // An Admin sees the members and still assigns anyone who can see it.
    let assigned = owner.post_form(&path, &[("email", &member_email)]).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let (_, page) = owner.get_html(&location(&assigned)).await;
    assert!(page.contains(&member_email));
}

#[tokio::test]
async fn a_guest_cannot_tell_members_from_strangers_by_transferring_a_workspace() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Probe Co")
        .await;
    let created = owner
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", "Store 5"), ("description", "")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let store = workspace_titled(&app, &org, "Store 5").await;
    let guest_email = email("guest");
    let guest = app
        .member_with_role(&org, &guest_email, OrgRole::None)
        .await;
    let guest_id = app.user_id(&guest_email).await;
    // The guest owns the workspace.
    let transferred = owner
        .post_form(
            &format!("/orgs/{org}/workspaces/{store}/transfer"),
            &[("email", &guest_email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(transferred.status(), StatusCode::SEE_OTHER);
    let (_, member_email) = app.add_member(&org, OrgRole::Admin).await;
    let stranger = email("stranger");
    let path = format!("/orgs/{org}/workspaces/{store}/transfer");

    let member_answer = guest
        .post_form(&path, &[("email", &member_email), ("password", PASSWORD)])
        .await;
    let member_status = member_answer.status();
    let member_body = member_answer.text().await.expect("body");
    let stranger_answer = guest
        .post_form(&path, &[("email", &stranger), ("password", PASSWORD)])
        .await;
    let stranger_status = stranger_answer.status();
    let stranger_body = stranger_answer.text().await.expect("body");
    assert_eq!(member_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stranger_status, member_status);
    assert_eq!(
        without(&member_body, &member_email),
        without(&stranger_body, &stranger)
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT user_id FROM workspace_members WHERE workspace_id = '{store}' AND role = 'owner'"
        ))
        .await,
        guest_id,
        "the guest still owns it"
    );

    // The organization's Owner sees every member and still transfers.
    let moved = owner
        .post_form(&path, &[("email", &member_email), ("password", PASSWORD)])
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT u.email_normalized FROM workspace_members wm JOIN users u ON u.id = wm.user_id \
             WHERE wm.workspace_id = '{store}' AND wm.role = 'owner'"
        ))
        .await,
        member_email.to_lowercase()
    );
}

/// Each list a person pages through, with the query of a page deeper than
/// it serves by number.
fn deep_pages(org: &str, workspace: &str) -> Vec<String> {
    vec![
        format!("/orgs/{org}/workspaces/{workspace}/members?page=1000000"),
        format!("/orgs/{org}/members?page=101"),
        format!("/orgs/{org}/members?q=person&role=admin&page=1000000"),
        format!("/orgs/{org}/workspaces?page=101"),
        format!("/orgs/{org}/products?page=101"),
        format!("/orgs/{org}/invitations?page=101"),
        format!("/orgs/{org}/product-access?page=101"),
        format!("/orgs/{org}/access-review?page=101"),
    ]
}

#[tokio::test]
async fn a_page_too_deep_to_skip_to_is_refused_with_a_way_on() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Deep Co")
        .await;
    let general = app.general_workspace(&org).await;
    for path in deep_pages(&org, &general) {
        let (status, page) = owner.get_html(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            page.contains("That page is too far into the list to show by its number."),
            "{path}: {page}"
        );
        // The way on is the first page of the same view.
        let first = path.split('?').next().expect("a path");
        assert!(page.contains(&format!("href=\"{first}")), "{path}: {page}");
    }
    let (status, page) = owner
        .get_html(&format!(
            "/orgs/{org}/members?q=person&role=admin&page=1000000"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains(&format!(
        "href=\"/orgs/{org}/members?q=person&#38;role=admin\""
    )));
    // The deepest page served by number still answers.
    let (status, _) = owner
        .get_html(&format!(
            "/orgs/{org}/workspaces/{general}/members?page=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// The `href` of the link with `rel`, as the page escapes it.
fn link(page: &str, rel: &str) -> Option<String> {
    let end = page.find(&format!("rel=\"{rel}\""))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let href = &page[start..end];
    Some(
        href[..href.find('"')?]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

fn names_on(page: &str) -> Vec<String> {
    let mut names: Vec<String> = page
        .match_indices("Member person ")
        .map(|(i, _)| page[i..i + 17].to_string())
        .collect();
    names.dedup();
    names
}

#[tokio::test]
async fn a_workspace_s_people_page_on_by_position_however_deep() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Deep Co")
        .await;
    let general = app.general_workspace(&org).await;
    for i in 0..110 {
        let user = app
            .insert_user(&email("m"), &format!("Member person {i:03}"))
            .await;
        app.add_membership(&org, &user, OrgRole::Member).await;
    }
    let base = format!("/orgs/{org}/workspaces/{general}/members");
    let (status, first) = owner.get_html(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("111 people have access"), "{first}");
    let next = link(&first, "next").expect("a Next link");
    assert!(next.contains("after="), "{next}");
    let (status, second) = owner.get_html(&format!("{base}{next}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(second.contains("Page 2 of 3"));
    let second_names = names_on(&second);
    assert_eq!(second_names.len(), 50);
    assert!(names_on(&first).iter().all(|n| !second_names.contains(n)));
    let next = link(&second, "next").expect("a Next link");
    let (_, third) = owner.get_html(&format!("{base}{next}")).await;
    assert!(third.contains("Page 3 of 3"));
    assert_eq!(names_on(&third).len(), 10);
    assert!(link(&third, "next").is_none());
    let previous = link(&third, "prev").expect("a Previous link");
    assert!(previous.contains("before="), "{previous}");
    let (_, back) = owner.get_html(&format!("{base}{previous}")).await;
    assert_eq!(names_on(&back), second_names);
    // A page reached by position is served at any depth.
    let deep = next.replace("page=3", "page=900000");
    let (status, _) = owner.get_html(&format!("{base}{deep}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn one_person_s_running_requests_cannot_crowd_out_another_s() {
    use roster::web::in_flight::PER_PERSON;

    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Busy Co")
        .await;
    let viewer_email = email("viewer");
    let viewer = app
        .member_with_role(&org, &viewer_email, OrgRole::Viewer)
        .await;
    let viewer_id = app.user_id(&viewer_email).await;
    let list = format!("/orgs/{org}/members");
    assert_eq!(viewer.get(&list).await.status(), StatusCode::OK);
    assert_eq!(
        app.in_flight.running(&viewer_id),
        0,
        "a request frees its place"
    );

    // The viewer's places are all taken by requests still running.
    let running: Vec<_> = (0..PER_PERSON)
        .map(|_| app.in_flight.try_enter(&viewer_id).expect("a place"))
        .collect();
    let refused = viewer.get(&list).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Your other requests are still running.")
    );
    // Everyone else is served.
    let (status, page) = owner.get_html(&list).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&viewer_email));
    drop(running);
    assert_eq!(viewer.get(&list).await.status(), StatusCode::OK);
}

/// Real requests held up in the database (a write the test keeps open)
/// fill one person's places; their next request is refused while another
/// person's is served, and all of theirs complete once the write ends.
#[tokio::test]
async fn held_up_requests_fill_one_person_s_places_and_no_one_else_s() {
    use roster::web::in_flight::PER_PERSON;
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};

    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Busy Co")
        .await;
    let admin_email = email("admin");
    let admin = app
        .member_with_role(&org, &admin_email, OrgRole::Admin)
        .await;
    let admin_id = app.user_id(&admin_email).await;
    let general = app.general_workspace(&org).await;
    let products = format!("/orgs/{org}/products");
    // Both have been seen lately, so their next requests only read.
    assert_eq!(admin.get(&products).await.status(), StatusCode::OK);
    assert_eq!(owner.get(&products).await.status(), StatusCode::OK);

    let other = Database::connect(app.config.database_url.expose())
        .await
        .expect("connect");
    let hold = other.begin().await.expect("begin");
    hold.execute_unprepared(&format!(
        "UPDATE workspaces SET description = description WHERE id = '{general}'"
    ))
    .await
    .expect("hold the workspace");

    // The token is read first: only the held creates may be running.
    let token = admin.csrf_token().await;
    let names: Vec<String> = (0..PER_PERSON).map(|i| format!("Held {i}")).collect();
    let forms: Vec<[(&str, &str); 4]> = names
        .iter()
        .map(|name| {
            [
                ("workspace_id", general.as_str()),
                ("name", name.as_str()),
                ("description", ""),
                ("csrf_token", token.as_str()),
            ]
        })
        .collect();
    let creates = futures_util::future::join_all(
        forms.iter().map(|fields| admin.post_raw(&products, fields)),
    );
    let meanwhile = async {
        let mut waited = 0;
        while app.in_flight.running(&admin_id) < PER_PERSON {
            waited += 1;
            assert!(waited < 1000, "the held requests never all started");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let refused = admin.get(&products).await.status();
        let served = owner.get(&products).await.status();
        hold.commit().await.expect("let go");
        (refused, served)
    };
    let (created, (refused, served)) = futures_util::future::join(creates, meanwhile).await;
    assert_eq!(refused, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(served, StatusCode::OK);
    for answer in created {
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(app.in_flight.running(&admin_id), 0);
    assert_eq!(admin.get(&products).await.status(), StatusCode::OK);
}
