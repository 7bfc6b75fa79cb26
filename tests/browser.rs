//! Browser tests in real headless Chromium, driven over WebDriver by
//! fantoccini. Locally they are skipped, with the reason printed, when
//! chromedriver is not installed; CI sets `ROSTER_REQUIRE_BROWSER=1` so a
//! missing browser fails instead.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use sea_orm::ConnectionTrait;

use crate::helpers::{PASSWORD, code_at, email, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_available() -> bool {
    let present =
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
    if !present {
        if std::env::var("ROSTER_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("ROSTER_REQUIRE_BROWSER=1 but {CHROMEDRIVER} or {CHROMIUM} is missing");
        }
        eprintln!(
            "skipping browser test: {CHROMEDRIVER} and {CHROMIUM} are not installed (apt-get install chromium chromium-driver)"
        );
    }
    present
}

async fn start_driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, port }
}

async fn chromium(driver: &Driver, javascript: bool) -> Client {
    let profile = tempfile::tempdir().expect("profile dir").keep();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if !javascript {
        args.push("--blink-settings=scriptEnabled=false".into());
    }
    // Two TLS back-ends are linked into the test binary; pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver")
}

async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.expect(id);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Signs in through the sign-in form and waits to land in an organization.
async fn sign_in(client: &Client, app: &crate::helpers::TestApp, address: &str) {
    client
        .goto(&format!("{}/signin", app.address))
        .await
        .expect("sign-in page");
    fill(client, "email", address).await;
    fill(client, "password", PASSWORD).await;
    client
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("sign in");
    wait_for_path(client, |path| path.starts_with("/orgs/")).await;
}

/// Waits until the element at `css` holds `text` (an htmx swap may replace
/// an element that is already there).
async fn wait_for_text(client: &Client, css: &str, text: &str) {
    for _ in 0..100 {
        let found = client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("read the element");
        if found.as_str().is_some_and(|t| t.contains(text)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css} never said {text:?}");
}

/// Waits until the browser has navigated to a page whose path satisfies
/// `arrived`, so that elements of the page before are not mistaken for the
/// next page's.
async fn wait_for_path(client: &Client, arrived: impl Fn(&str) -> bool) {
    for _ in 0..100 {
        let url = client.current_url().await.expect("url");
        if arrived(url.path()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = client.current_url().await.expect("url");
    panic!("the browser stayed on {url}");
}

#[tokio::test]
async fn sign_up_land_on_members_and_sign_out_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let driver = start_driver().await;
    let client = chromium(&driver, true).await;

    client
        .goto(&format!("{}/signup", app.address))
        .await
        .expect("open sign-up");
    let ada = email("ada");
    fill(&client, "name", "Ada Lovelace").await;
    fill(&client, "email", &ada).await;
    fill(&client, "password", PASSWORD).await;
    fill(&client, "org_name", "Analytical Engines").await;
    client
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");

    // Sign-up answers "check your email"; the verification link (read
    // from the outbox: no SMTP here) confirms the address and signs in.
    let sent = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("check-your-email page");
    assert_eq!(sent.text().await.expect("text"), "Check your email");
    let verify = app.outbox_link(&ada, "/verify/").await;
    client
        .goto(&format!("{}{verify}", app.address))
        .await
        .expect("open the verification link");
    client
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("confirm button")
        .click()
        .await
        .expect("confirm");

    wait_for_path(&client, |path| path.ends_with("/members")).await;
    let heading = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("members page");
    assert_eq!(heading.text().await.expect("text"), "Members");
    let url = client.current_url().await.expect("url");
    assert!(url.path().ends_with("/members"), "{url}");
    let page = client.source().await.expect("source");
    assert!(page.contains("Welcome to Roster, Ada Lovelace."));
    assert!(page.contains(&ada));

    client
        .find(Locator::Css("form[action='/signout'] button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    wait_for_path(&client, |path| path == "/signin").await;
    let signed_out = client
        .wait()
        .for_element(Locator::Css(".alert-success"))
        .await
        .expect("signed-out message");
    assert_eq!(
        signed_out.text().await.expect("text"),
        "You have signed out."
    );

    client
        .goto(&format!("{}{}", app.address, url.path()))
        .await
        .expect("back to members");
    let after = client.current_url().await.expect("url");
    assert_eq!(
        after.path(),
        "/signin",
        "the members page now asks to sign in"
    );
    client.close().await.expect("close");
}

#[tokio::test]
async fn change_a_role_through_the_badge_and_remove_a_member_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (target, target_email) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let driver = start_driver().await;
    let client = chromium(&driver, true).await;

    sign_in(&client, &app, &owner_email).await;
    client
        .wait()
        .for_element(Locator::Css("table.members"))
        .await
        .expect("members table");

    // A marker that a full page load would wipe out.
    client
        .execute(
            "document.body.dataset.sameDocument = 'yes'; return null;",
            vec![],
        )
        .await
        .expect("mark the document");
    let row = format!("#member-{target}");
    client
        .find(Locator::Css(&format!("{row} a.badge-edit")))
        .await
        .expect("the member's badge")
        .click()
        .await
        .expect("open the role editor");
    let select = client
        .wait()
        .for_element(Locator::Css(&format!("{row} select[name=role]")))
        .await
        .expect("role editor in the row");
    select.select_by_value("admin").await.expect("choose Admin");
    client
        .find(Locator::Css(&format!("{row} button[type=submit]")))
        .await
        .expect("save")
        .click()
        .await
        .expect("save role");
    let badge = client
        .wait()
        .for_element(Locator::Css(&format!("{row} .badge-admin")))
        .await
        .expect("the row shows the new role");
    assert!(badge.text().await.expect("text").starts_with("Admin"));
    let announcement = client
        .find(Locator::Css("#flash-region .alert-success"))
        .await
        .expect("announcement in the live region");
    assert!(
        announcement
            .text()
            .await
            .expect("text")
            .ends_with("is now Admin.")
    );
    let same_document = client
        .execute("return document.body.dataset.sameDocument || null;", vec![])
        .await
        .expect("read the marker");
    assert_eq!(
        same_document,
        serde_json::json!("yes"),
        "only the row was swapped"
    );
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("admin")
    );

    client
        .find(Locator::Css(&format!("{row} a.danger-link")))
        .await
        .expect("remove link")
        .click()
        .await
        .expect("open the confirmation");
    let confirm = client
        .wait()
        .for_element(Locator::Css("main form button.danger"))
        .await
        .expect("confirmation");
    let page = client.source().await.expect("source");
    assert!(page.contains("will lose access to Acme"));
    confirm.click().await.expect("remove");
    let flash = client
        .wait()
        .for_element(Locator::Css("#flash-region .alert-success"))
        .await
        .expect("removed message");
    assert!(
        flash
            .text()
            .await
            .expect("text")
            .contains("has been removed from Acme.")
    );
    assert!(
        client.find(Locator::Css(&row)).await.is_err(),
        "the row is gone"
    );
    assert_eq!(app.role_of(&org, &target_email).await, None);
    client.close().await.expect("close");
}

#[tokio::test]
async fn restrict_a_member_grant_one_product_and_see_exactly_it_read_only_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let general = app.general_workspace(&org).await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    let beacon = app.add_product(&general, "Beacon", None).await;
    app.add_product(&general, "Compass", None).await;
    let (rita, rita_email) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let driver = start_driver().await;

    // The Owner opens the member's page and follows it to Product Access.
    let owner = chromium(&driver, true).await;
    sign_in(&owner, &app, &owner_email).await;
    owner
        .goto(&format!("{}/orgs/{org}/members/{rita}", app.address))
        .await
        .expect("member page");
    owner
        .find(Locator::Css(&format!(
            "a[href='/orgs/{org}/product-access/{rita}']"
        )))
        .await
        .expect("link to Product Access")
        .click()
        .await
        .expect("open Product Access");
    wait_for_path(&owner, |path| {
        path.ends_with(&format!("/product-access/{rita}"))
    })
    .await;
    owner
        .find(Locator::Css("form[action$='/restrict'] button"))
        .await
        .expect("the switch")
        .click()
        .await
        .expect("restrict");
    let row = format!("#grant-{atlas}");
    owner
        .wait()
        .for_element(Locator::Css(&row))
        .await
        .expect("the product list once restricted");
    owner
        .execute(
            "document.body.dataset.sameDocument = 'yes'; return null;",
            vec![],
        )
        .await
        .expect("mark the document");
    owner
        .find(Locator::Css(&format!("{row} select[name=access]")))
        .await
        .expect("access select")
        .select_by_value("view")
        .await
        .expect("choose View: the grant saves on change");
    wait_for_text(&owner, "#flash-region", "can now view Atlas").await;
    let same_document = owner
        .execute("return document.body.dataset.sameDocument || null;", vec![])
        .await
        .expect("read the marker");
    assert_eq!(
        same_document,
        serde_json::json!("yes"),
        "only the row was swapped"
    );
    let selected = owner
        .execute(
            &format!("return document.querySelector('{row} select').value;"),
            vec![],
        )
        .await
        .expect("read the select");
    assert_eq!(selected, serde_json::json!("view"));

    // The member, in a second browser, sees exactly that product, read-only.
    let member = chromium(&driver, true).await;
    sign_in(&member, &app, &rita_email).await;
    member
        .goto(&format!("{}/orgs/{org}/products", app.address))
        .await
        .expect("products");
    let rows = member
        .find_all(Locator::Css("table.products tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "exactly one product");
    assert!(rows[0].text().await.expect("text").contains("Atlas"));
    member
        .find(Locator::LinkText("Atlas"))
        .await
        .expect("Atlas")
        .click()
        .await
        .expect("open Atlas");
    wait_for_path(&member, |path| {
        path.ends_with(&format!("/products/{atlas}"))
    })
    .await;
    let page = member.source().await.expect("source");
    assert!(page.contains("View only (granted to you)"));
    assert!(page.contains("You can view this product but not change it."));
    assert!(
        member
            .find(Locator::Css(&format!(
                "main form[action$='/products/{atlas}'], main input[name=name]"
            )))
            .await
            .is_err(),
        "no edit controls"
    );
    assert!(!page.contains("/delete"), "no delete link");
    member
        .goto(&format!("{}/orgs/{org}/products/{beacon}", app.address))
        .await
        .expect("a hidden product");
    let hidden = member.source().await.expect("source");
    assert!(hidden.contains("doesn't exist, or you don't have access to it"));
    member.close().await.expect("close");
    owner.close().await.expect("close");
}

#[tokio::test]
async fn invite_follow_the_mailbox_link_in_a_second_browser_and_join_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let driver = start_driver().await;
    let owner = chromium(&driver, true).await;

    sign_in(&owner, &app, &owner_email).await;
    owner
        .find(Locator::LinkText("Invite member"))
        .await
        .expect("the Invite member button")
        .click()
        .await
        .expect("open Invitations");
    wait_for_path(&owner, |path| path.ends_with("/invitations")).await;
    fill(&owner, "emails", "newcomer@example.test").await;
    owner
        .find(Locator::Css("select#invite-role"))
        .await
        .expect("role")
        .select_by_value("viewer")
        .await
        .expect("choose Viewer");
    owner
        .find(Locator::Css(
            "form[action$='/invitations'] button[type=submit]",
        ))
        .await
        .expect("send")
        .click()
        .await
        .expect("send invitations");
    let results = owner
        .wait()
        .for_element(Locator::Id("results-heading"))
        .await
        .expect("results");
    assert_eq!(results.text().await.expect("text"), "Results: 1 invited");

    owner
        .find(Locator::LinkText("Open the mailbox"))
        .await
        .expect("mailbox link")
        .click()
        .await
        .expect("open the mailbox");
    wait_for_path(&owner, |path| path.ends_with("/mailbox")).await;
    let link = owner
        .find(Locator::LinkText(
            "Invitation link for newcomer@example.test",
        ))
        .await
        .expect("the invitation link")
        .attr("href")
        .await
        .expect("href")
        .expect("an address");

    // Someone else, in a browser of their own.
    let newcomer = chromium(&driver, true).await;
    newcomer.goto(&link).await.expect("open the invitation");
    let heading = newcomer
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("heading");
    assert_eq!(heading.text().await.expect("text"), "Join Acme");
    fill(&newcomer, "name", "Nora Newcomer").await;
    fill(&newcomer, "password", PASSWORD).await;
    newcomer
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("create account")
        .click()
        .await
        .expect("create account and join");
    wait_for_path(&newcomer, |path| path.starts_with(&format!("/orgs/{org}"))).await;
    let welcome = newcomer
        .wait()
        .for_element(Locator::Css(".alert-success"))
        .await
        .expect("welcome");
    assert!(
        welcome
            .text()
            .await
            .expect("text")
            .contains("You joined Acme.")
    );
    let org_nav = newcomer.source().await.expect("source");
    assert!(org_nav.contains("Nora Newcomer"));

    // The first browser sees the invitation accepted.
    owner
        .goto(&format!("{}/orgs/{org}/invitations", app.address))
        .await
        .expect("invitations");
    let state = owner
        .wait()
        .for_element(Locator::Css("table.invitations .state-accepted"))
        .await
        .expect("an accepted invitation");
    assert_eq!(state.text().await.expect("text"), "Accepted");

    newcomer.close().await.expect("close");
    owner.close().await.expect("close");
}

/// What sticks out of the page the browser shows: the document wider than
/// the window (the page scrolls sideways), or anything in `<main>` reaching
/// past its right edge (a column that sticks out past the content).
/// Visually hidden text (1 px wide boxes) does not count. Empty when the
/// page fits.
async fn sticking_out(client: &Client) -> String {
    client
        .execute(
            "const doc = document.documentElement; \
             const main = document.querySelector('main'); \
             const limit = main ? main.getBoundingClientRect().right : doc.clientWidth; \
             const out = []; \
             if (doc.scrollWidth > doc.clientWidth) out.push(`the page is ${doc.scrollWidth} px wide in a ${doc.clientWidth} px window`); \
             const hidden = e => { for (let a = e; a && a !== main; a = a.parentElement) { if (a.getBoundingClientRect().width <= 1) return true; } return false; }; \
             for (const e of (main ? main.querySelectorAll('*') : [])) { \
               const r = e.getBoundingClientRect(); \
               if (r.right > limit + 1 && !hidden(e)) out.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/ +/g, '.') : ''} reaches ${Math.round(r.right)} px, past ${Math.round(limit)}`); \
             } \
             return out.slice(0, 6).join('; ');",
            vec![],
        )
        .await
        .expect("measure the page")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The audits every page gets: axe-core, the Nu HTML checker (on a copy of
/// the page as the browser holds it) and whether it fits a desktop (1280
/// px) and a phone (375 px) window without scrolling sideways.
struct Audit {
    axe: String,
    markup: Option<crate::a11y::Markup>,
    found: Vec<String>,
}

impl Audit {
    /// Audits the page the browser shows, under `label`.
    async fn shown(&mut self, client: &Client, label: &str) {
        if let Some(markup) = &mut self.markup {
            markup.keep(client, label).await;
        }
        self.found
            .extend(crate::a11y::audit(client, &self.axe, label).await);
        for (width, height) in [(375, 812), (1280, 900)] {
            client.set_window_size(width, height).await.expect("resize");
            let out = sticking_out(client).await;
            if !out.is_empty() {
                self.found
                    .push(format!("{label}: scrolls sideways at {width} px: {out}"));
            }
        }
    }

    /// Opens `path` and audits it.
    async fn open(&mut self, client: &Client, app: &crate::helpers::TestApp, path: &str) {
        client
            .goto(&format!("{}{path}", app.address))
            .await
            .expect("open the page");
        self.shown(client, path).await;
    }
}

const LONG_ADDRESS: &str =
    "maximiliana.alexandra.featherstonehaugh-worthington@operations.example-corporation.test";
const LONG_INVITEE: &str =
    "bartholomew.fitzwilliam.montgomery-ashcroft@regional-logistics.example-corporation.test";
const LONG_WORKSPACE: &str = "Northern Hemisphere Regional Operations and Logistics Coordination";
const LONG_TOKEN: &str = "Supercalifragilistic-Observability-Platform-Integration-Gateway-Service";

#[tokio::test]
async fn every_page_passes_axe_core_in_chromium() {
    if !browser_available() {
        return;
    }
    let Some(axe) = crate::a11y::axe_source() else {
        return;
    };
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner_http, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (member, _) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    app.add_member(&org, roster::domain::role::OrgRole::Viewer)
        .await;
    owner_http
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", "ivy@example.test"), ("role", "member")],
        )
        .await;
    let campaign = owner_http
        .post_form(
            &format!("/orgs/{org}/roles/templates/campaign_manager"),
            &[],
        )
        .await;
    let campaign_role = crate::helpers::location(&campaign);
    let general = app.general_workspace(&org).await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    let orphan = app.add_product(&general, "Orphan", None).await;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE products SET needs_owner = TRUE WHERE id = '{orphan}'"
        ))
        .await
        .expect("orphan a product");
    // Long values, which must wrap inside their page rather than widen it:
    // a long name and address, a long workspace title, long product names
    // (one without spaces) and an invitation (in the Mailbox) to a long
    // address.
    let long_person = app
        .insert_user(
            LONG_ADDRESS,
            "Maximiliana Alexandra Featherstonehaugh-Worthington",
        )
        .await;
    app.add_membership(&org, &long_person, roster::domain::role::OrgRole::Member)
        .await;
    owner_http
        .post_form(
            &format!("/orgs/{org}/workspaces"),
            &[("title", LONG_WORKSPACE), ("description", "")],
        )
        .await;
    let long_workspace = app
        .scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org}' AND title = '{LONG_WORKSPACE}'"
        ))
        .await;
    app.add_product(
        &long_workspace,
        "Quarterly infrastructure capacity planning and forecasting dashboard",
        Some(&long_person.id),
    )
    .await;
    app.add_product(&general, LONG_TOKEN, None).await;
    owner_http
        .post_form(
            &format!("/orgs/{org}/invitations"),
            &[("emails", LONG_INVITEE), ("role", "viewer")],
        )
        .await;
    let long_member = app
        .scalar_text(&format!(
            "SELECT id FROM memberships WHERE user_id = '{}'",
            long_person.id
        ))
        .await;
    let long_invitation = app
        .scalar_text(&format!(
            "SELECT id FROM invitations WHERE email_normalized = '{LONG_INVITEE}'"
        ))
        .await;
    let driver = start_driver().await;
    let mut audit = Audit {
        axe,
        markup: crate::a11y::Markup::new(),
        found: Vec::new(),
    };

    // Signed out.
    let anon = chromium(&driver, true).await;
    // First, proof that the audit sees a fault: an image without a text
    // alternative and a field without a label.
    anon.goto(&format!("{}/signin", app.address))
        .await
        .expect("sign-in page");
    anon.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', \
         '<img src=\"/static/none.png\"><input type=\"text\">'); return null;",
        vec![],
    )
    .await
    .expect("break the page");
    let faults = crate::a11y::audit(&anon, &audit.axe, "broken sign-in").await;
    assert!(
        faults.iter().any(|f| f.contains("image-alt"))
            && faults.iter().any(|f| f.contains("label")),
        "the audit must catch known faults: {faults:?}"
    );
    // The layout check and the Nu checker catch theirs: a box wider than
    // the content, a list item outside a list.
    anon.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', \
         '<div class=\"too-wide\"><li>3000 px</li></div>'); \
         document.querySelector('.too-wide').style.width = '3000px'; return null;",
        vec![],
    )
    .await
    .expect("widen the page");
    let out = sticking_out(&anon).await;
    assert!(
        out.contains("div.too-wide"),
        "the layout check must catch it: {out}"
    );
    if let Some(mut broken) = crate::a11y::Markup::new() {
        broken.keep(&anon, "broken sign-in").await;
        let errors = broken.errors();
        assert!(
            errors.iter().any(|e| e.contains("“li”")),
            "the Nu checker must catch a stray list item: {errors:?}"
        );
    }
    for path in [
        "/signup",
        "/signin",
        "/password/forgot",
        "/no-such-page",
        "/api",
    ] {
        audit.open(&anon, &app, path).await;
    }

    // The Owner, page by page.
    let owner = chromium(&driver, true).await;
    sign_in(&owner, &app, &owner_email).await;
    for path in [
        format!("/orgs/{org}/members"),
        format!("/orgs/{org}/members?q=nobody-matches"),
        format!("/orgs/{org}/members?status=pending"),
        format!("/orgs/{org}/members?status=all"),
        format!("/orgs/{org}/members?select=all"),
        format!("/orgs/{org}/members/{member}"),
        format!("/orgs/{org}/members/{member}/remove"),
        format!("/orgs/{org}/invitations"),
        format!("/orgs/{org}/invitations?state=revoked"),
        format!("/orgs/{org}/invitations/{long_invitation}/cancel"),
        format!("/orgs/{org}/mailbox"),
        format!("/orgs/{org}/members/{long_member}"),
        format!("/orgs/{org}/product-access/{long_member}"),
        format!("/orgs/{org}/workspaces/{long_workspace}"),
        format!("/orgs/{org}/workspaces/{long_workspace}/members"),
        format!("/orgs/{org}/workspaces"),
        format!("/orgs/{org}/workspaces/{general}"),
        format!("/orgs/{org}/workspaces/{general}/members"),
        format!("/orgs/{org}/workspaces/{general}/move"),
        format!("/orgs/{org}/product-access"),
        format!("/orgs/{org}/product-access/{member}"),
        format!("/orgs/{org}/products"),
        format!("/orgs/{org}/products?q=nothing-matches"),
        format!("/orgs/{org}/products/{atlas}"),
        format!("/orgs/{org}/products/{orphan}"),
        format!("/orgs/{org}/products/{atlas}/delete"),
        format!("/orgs/{org}/settings"),
        format!("/orgs/{org}/roles"),
        campaign_role.clone(),
        format!("/orgs/{org}/members/{member}/roles"),
        format!("/orgs/{org}/audit"),
        format!("/orgs/{org}/audit?action=member.exploded"),
        format!("/orgs/{org}/audit?action=workspace.moved"),
        format!("/orgs/{org}/access-review"),
        format!("/orgs/{org}/access-review?days=1&inactive=1"),
        format!("/orgs/{org}/transfer"),
        format!("/orgs/{org}/leave"),
        "/account".to_string(),
        "/account/security".to_string(),
        "/orgs/new".to_string(),
    ] {
        audit.open(&owner, &app, &path).await;
    }

    // API keys: the list with a key on it, then a new key's secret, shown
    // once on the page that answers the form.
    app.org_key(&org, roster::domain::role::OrgRole::Viewer)
        .await;
    audit
        .open(&owner, &app, &format!("/orgs/{org}/api-keys"))
        .await;
    fill(&owner, "name", "Nightly HR sync").await;
    owner
        .find(Locator::Css(
            "form[action$='/api-keys'] button[type=submit]",
        ))
        .await
        .expect("make key")
        .click()
        .await
        .expect("submit");
    let secret = owner
        .wait()
        .for_element(Locator::Id("new-secret"))
        .await
        .expect("the secret")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(secret.starts_with("roster_"), "{secret}");
    audit.shown(&owner, "API keys, a new key shown once").await;

    // The results of an invitation to a long address (and a long invalid
    // one), on the page the form answers.
    owner
        .goto(&format!("{}/orgs/{org}/invitations", app.address))
        .await
        .expect("invitations");
    fill(
        &owner,
        "emails",
        &format!(
            "{}, {LONG_TOKEN}{LONG_TOKEN}",
            LONG_INVITEE.replace("bartholomew", "cornelius")
        ),
    )
    .await;
    owner
        .find(Locator::Css(
            "form[action$='/invitations'] button[type=submit]",
        ))
        .await
        .expect("send")
        .click()
        .await
        .expect("send invitations");
    owner
        .wait()
        .for_element(Locator::Id("results-heading"))
        .await
        .expect("results");
    audit.shown(&owner, "invitation results").await;

    // The bulk form's confirmation: two members ticked for removal, to
    // change nothing yet (the page only asks).
    owner
        .goto(&format!("{}/orgs/{org}/members", app.address))
        .await
        .expect("members");
    for id in [&member, &long_member] {
        owner
            .find(Locator::Css(&format!(
                "input[name=member][value='{id}'][form=bulk]"
            )))
            .await
            .expect("the member's checkbox")
            .click()
            .await
            .expect("tick the member");
    }
    owner
        .find(Locator::Css("form#bulk select[name=action]"))
        .await
        .expect("the bulk action")
        .select_by_value("remove")
        .await
        .expect("choose Remove");
    owner
        .find(Locator::XPath(
            "//form[@id='bulk']//button[contains(normalize-space(.), 'Review selected')]",
        ))
        .await
        .expect("Review selected")
        .click()
        .await
        .expect("review");
    owner
        .wait()
        .for_element(Locator::XPath(
            "//main//form//button[contains(normalize-space(.), 'Apply to 2')]",
        ))
        .await
        .expect("the bulk confirmation");
    audit.shown(&owner, "members, bulk confirmation").await;

    // After htmx swaps: the role editor open, then the row updated.
    owner
        .goto(&format!("{}/orgs/{org}/members", app.address))
        .await
        .expect("members");
    let row = format!("#member-{member}");
    owner
        .find(Locator::Css(&format!("{row} a.badge-edit")))
        .await
        .expect("badge")
        .click()
        .await
        .expect("open the editor");
    owner
        .wait()
        .for_element(Locator::Css(&format!("{row} select[name=role]")))
        .await
        .expect("editor");
    audit.shown(&owner, "members, role editor open").await;
    owner
        .find(Locator::Css(&format!("{row} button[type=submit]")))
        .await
        .expect("save")
        .click()
        .await
        .expect("save");
    owner
        .wait()
        .for_element(Locator::Css("#flash-region .alert-success"))
        .await
        .expect("announcement");
    audit.shown(&owner, "members, row updated").await;

    // Product Access while restricted, then after a grant's htmx swap.
    app.set_restricted(&member, true).await;
    owner
        .goto(&format!(
            "{}/orgs/{org}/product-access/{member}",
            app.address
        ))
        .await
        .expect("product access");
    audit.shown(&owner, "product access, restricted").await;
    let grant_row = format!("#grant-{atlas}");
    owner
        .find(Locator::Css(&format!("{grant_row} select[name=access]")))
        .await
        .expect("access select")
        .select_by_value("view")
        .await
        .expect("choose View");
    wait_for_text(&owner, "#flash-region", "can now view Atlas").await;
    audit.shown(&owner, "product access, grant saved").await;

    // The invitation link, signed out, and a dead link.
    owner
        .goto(&format!("{}/orgs/{org}/mailbox", app.address))
        .await
        .expect("mailbox");
    let link = owner
        .find(Locator::LinkText("Invitation link for ivy@example.test"))
        .await
        .expect("link")
        .attr("href")
        .await
        .expect("href")
        .expect("address");
    let path = &link[link.find("/invitations/").expect("path")..];
    audit.open(&anon, &app, path).await;
    audit.open(&anon, &app, "/invitations/not-a-token").await;

    // The other states of an invitation link, each with its own page:
    // signed in as another address, sign in first, already a member, and
    // a used link.
    audit.open(&owner, &app, path).await;
    let (_, known_token) = app
        .add_invitation(&org, roster::domain::role::OrgRole::Member)
        .await;
    let known = app
        .scalar_text(&format!(
            "SELECT email_normalized FROM invitations WHERE token_hash = '{}'",
            roster::domain::token::hash(&known_token)
        ))
        .await;
    app.insert_user(&known, "Known Person").await;
    audit
        .open(&anon, &app, &format!("/invitations/{known_token}"))
        .await;
    let (_, member_token) = app
        .add_invitation(&org, roster::domain::role::OrgRole::Member)
        .await;
    app.db
        .owner()
        .execute_unprepared(&format!(
            "UPDATE invitations SET state = 'accepted' WHERE token_hash = '{}'",
            roster::domain::token::hash(&member_token)
        ))
        .await
        .expect("use the link");
    audit
        .open(&anon, &app, &format!("/invitations/{member_token}"))
        .await;

    // Empty pages of a new organization, and a page the person may not see.
    let (_, empty_org) = app.signed_up("Eve Empty", &email("eve"), "Empty Co").await;
    let viewer_email = email("viewer");
    app.member_with_role(
        &empty_org,
        &viewer_email,
        roster::domain::role::OrgRole::Viewer,
    )
    .await;
    // A product a Viewer may only look at.
    let read_only = app
        .add_product(&app.general_workspace(&empty_org).await, "Look only", None)
        .await;
    let viewer = chromium(&driver, true).await;
    sign_in(&viewer, &app, &viewer_email).await;
    for path in [
        format!("/orgs/{empty_org}/members?q=nobody"),
        format!("/orgs/{empty_org}/workspaces?q=nothing"),
        format!("/orgs/{empty_org}/settings"),
        format!("/orgs/{empty_org}/invitations"),
        format!("/orgs/{empty_org}/products"),
        format!("/orgs/{empty_org}/products/{read_only}"),
    ] {
        audit.open(&viewer, &app, &path).await;
    }
    viewer.close().await.expect("close");

    // Two-factor: the set-up, the recovery codes shown once, the page when
    // it is on, and the sign-in step that asks for a code.
    let tess_email = email("tess");
    app.signed_up("Tess Two", &tess_email, "Tess Co").await;
    let tess = chromium(&driver, true).await;
    sign_in(&tess, &app, &tess_email).await;
    audit.open(&tess, &app, "/account/two-factor").await;
    let secret = shown_totp_secret(&tess).await;
    fill_named(&tess, "code", &code_at(&secret, app.clock.now())).await;
    fill_named(&tess, "password", PASSWORD).await;
    click(
        &tess,
        "main form[action='/account/two-factor'] button[type=submit]",
    )
    .await;
    tess.wait()
        .for_element(Locator::Id("recovery-codes"))
        .await
        .expect("the recovery codes");
    audit
        .shown(&tess, "two-factor, recovery codes shown once")
        .await;
    tess.goto(&format!("{}/account/two-factor", app.address))
        .await
        .expect("two-factor page");
    audit.shown(&tess, "/account/two-factor when on").await;
    click(&tess, "form[action='/signout'] button").await;
    wait_for_path(&tess, |path| path == "/signin").await;
    fill(&tess, "email", &tess_email).await;
    fill(&tess, "password", PASSWORD).await;
    click(&tess, "main form button[type=submit]").await;
    wait_for_path(&tess, |path| path == "/signin/two-factor").await;
    audit.shown(&tess, "/signin/two-factor").await;
    tess.close().await.expect("close");

    // A phone-sized window: axe still passes there too, and
    // screenshots of the main pages are kept for a person to look at
    // (target/screenshots, not committed).
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    for (client, width, height) in [(&owner, 1280, 900), (&owner, 375, 812)] {
        client.set_window_size(width, height).await.expect("resize");
        for (name, path) in [
            ("members", format!("/orgs/{org}/members")),
            ("member", format!("/orgs/{org}/members/{member}")),
            ("invitations", format!("/orgs/{org}/invitations")),
            ("mailbox", format!("/orgs/{org}/mailbox")),
            ("workspaces", format!("/orgs/{org}/workspaces")),
            ("workspace", format!("/orgs/{org}/workspaces/{general}")),
            ("products", format!("/orgs/{org}/products")),
            ("product", format!("/orgs/{org}/products/{atlas}")),
            (
                "product-access",
                format!("/orgs/{org}/product-access/{member}"),
            ),
            ("settings", format!("/orgs/{org}/settings")),
            ("audit", format!("/orgs/{org}/audit")),
            ("access-review", format!("/orgs/{org}/access-review")),
            ("account", "/account".to_string()),
        ] {
            client
                .goto(&format!("{}{path}", app.address))
                .await
                .expect("open the page");
            if width == 375 {
                let label = format!("{path} at 375 px");
                let faults = crate::a11y::audit(client, &audit.axe, &label).await;
                audit.found.extend(faults);
            }
            let png = client.screenshot().await.expect("screenshot");
            std::fs::write(shots.join(format!("{name}-{width}.png")), png).expect("save");
            // The page's list, which is often below the first screen.
            if let Ok(table) = client.find(Locator::Css("main table")).await {
                let png = table.screenshot().await.expect("screenshot of the list");
                std::fs::write(shots.join(format!("{name}-{width}-list.png")), png).expect("save");
            }
        }
    }

    // On the members page at desktop width, with the long values above, a
    // date and a role badge each stay on one line.
    owner.set_window_size(1280, 900).await.expect("resize");
    owner
        .goto(&format!("{}/orgs/{org}/members", app.address))
        .await
        .expect("members");
    let wrapped = owner
        .execute(
            "const lines = e => { const r = document.createRange(); r.selectNodeContents(e); \
               return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }; \
             const height = e => { const s = getComputedStyle(e); \
               return e.getBoundingClientRect().height - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom) \
                 - parseFloat(s.borderTopWidth) - parseFloat(s.borderBottomWidth) < 1.5 * parseFloat(s.lineHeight); }; \
             const out = []; \
             const dates = [...document.querySelectorAll('table.members td[data-label=\"Joined\"]')]; \
             const badges = [...document.querySelectorAll('table.members .badge')]; \
             if (!dates.length || !badges.length) out.push('no date or badge found'); \
             for (const d of dates) if (lines(d) !== 1) out.push('date ' + d.textContent.trim()); \
             for (const b of badges) if (!height(b)) out.push('badge ' + b.textContent.trim()); \
             return out.join(', ');",
            vec![],
        )
        .await
        .expect("measure dates and badges");
    assert_eq!(wrapped.as_str(), Some(""), "dates and badges must not wrap");

    anon.close().await.expect("close");
    owner.close().await.expect("close");
    let markup = audit
        .markup
        .as_ref()
        .map(|m| m.errors())
        .unwrap_or_default();
    let mut found = audit.found;
    found.extend(markup);
    assert!(
        found.is_empty(),
        "{} problems (axe-core, the Nu HTML checker, pages that scroll sideways):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Presses one key on whatever has the focus.
async fn press(client: &Client, key: &str) {
    client
        .active_element()
        .await
        .expect("focused element")
        .send_keys(key)
        .await
        .expect("press a key");
}

/// Tabs forward until `matches` (a script returning a boolean about
/// `document.activeElement`) holds; 300 presses at most.
async fn tab_to(client: &Client, matches: &str) {
    for _ in 0..300 {
        let hit = client
            .execute(
                &format!("const el = document.activeElement; return {matches};"),
                vec![],
            )
            .await
            .expect("check focus");
        if hit.as_bool() == Some(true) {
            return;
        }
        press(client, &fantoccini::key::Key::Tab.to_string()).await;
    }
    panic!("Tab never reached an element where {matches}");
}

async fn focused_is(client: &Client, matches: &str) -> bool {
    for _ in 0..40 {
        let hit = client
            .execute(
                &format!("const el = document.activeElement; return {matches};"),
                vec![],
            )
            .await
            .expect("check focus");
        if hit.as_bool() == Some(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn sign_in_and_change_a_role_by_keyboard_alone_in_chromium() {
    if !browser_available() {
        return;
    }
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (target, _) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let driver = start_driver().await;
    let client = chromium(&driver, true).await;

    client
        .goto(&format!("{}/signin", app.address))
        .await
        .expect("sign-in page");
    tab_to(&client, "el.id === 'email'").await;
    press(&client, &owner_email).await;
    press(&client, &Key::Tab.to_string()).await;
    press(&client, PASSWORD).await;
    press(&client, &Key::Enter.to_string()).await;
    wait_for_path(&client, |path| path.ends_with("/members")).await;

    // To the member's role badge; the focus ring shows where we are.
    let badge = format!("el.matches('#member-{target} a.badge-edit')");
    tab_to(&client, &badge).await;
    let ring = client
        .execute(
            "return getComputedStyle(document.activeElement).outlineStyle;",
            vec![],
        )
        .await
        .expect("outline");
    assert_ne!(ring.as_str(), Some("none"), "a visible focus ring");

    // Space opens the editor with the focus on its select; Escape closes
    // it and the focus returns to the badge.
    press(&client, " ").await;
    let select = format!("el.matches('#member-{target} select[name=role]')");
    assert!(focused_is(&client, &select).await, "Space opens the editor");
    press(&client, &Key::Escape.to_string()).await;
    assert!(
        focused_is(&client, &badge).await,
        "Escape returns to the badge"
    );
    client
        .find(Locator::Css(&format!("#member-{target} .badge-member")))
        .await
        .expect("the role unchanged");

    // Enter opens it again; choose Viewer by typing, Tab to Save, Enter.
    press(&client, &Key::Enter.to_string()).await;
    assert!(focused_is(&client, &select).await, "Enter opens the editor");
    press(&client, "v").await;
    press(&client, &Key::Tab.to_string()).await;
    press(&client, &Key::Enter.to_string()).await;
    let badge_now = client
        .wait()
        .for_element(Locator::Css(&format!("#member-{target} .badge-viewer")))
        .await
        .expect("the row shows the new role");
    assert!(badge_now.text().await.expect("text").starts_with("Viewer"));
    let announced = client
        .find(Locator::Css("#flash-region .alert-success"))
        .await
        .expect("announced");
    assert!(announced.text().await.expect("text").contains("Viewer"));
    client.close().await.expect("close");
}

#[tokio::test]
async fn invite_accept_change_a_role_and_remove_with_javascript_off_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (target, _) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let driver = start_driver().await;
    let client = chromium(&driver, false).await;
    let submit = |client: &Client, css: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .expect(css)
                .click()
                .await
                .expect("submit");
        }
    };

    client
        .goto(&format!("{}/signin", app.address))
        .await
        .expect("sign-in page");
    fill(&client, "email", &owner_email).await;
    fill(&client, "password", PASSWORD).await;
    submit(&client, "main form button[type=submit]").await;
    wait_for_path(&client, |path| path.ends_with("/members")).await;

    let no_scripts = client
        .execute("return typeof window.htmx === 'undefined';", vec![])
        .await
        .expect("check htmx");
    assert_eq!(
        no_scripts.as_bool(),
        Some(true),
        "the page's scripts are off"
    );

    // The badge is a plain link to the member's page and its role form.
    client
        .find(Locator::Css(&format!("#member-{target} a.badge-edit")))
        .await
        .expect("badge")
        .click()
        .await
        .expect("open the role page");
    wait_for_path(&client, |path| path.ends_with("/role")).await;
    client
        .find(Locator::Css("input[name=role][value=viewer]"))
        .await
        .expect("Viewer")
        .click()
        .await
        .expect("choose Viewer");
    submit(&client, "main form button[type=submit]").await;
    wait_for_path(&client, |path| path.ends_with("/members")).await;
    client
        .find(Locator::Css(&format!("#member-{target} .badge-viewer")))
        .await
        .expect("the new role after the redirect");

    // Invite, then accept in the same browser after signing out.
    client
        .goto(&format!("{}/orgs/{org}/invitations", app.address))
        .await
        .expect("invitations");
    fill(&client, "emails", "nojs@example.test").await;
    submit(&client, "form[action$='/invitations'] button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Id("results-heading"))
        .await
        .expect("results");
    client
        .goto(&format!("{}/orgs/{org}/mailbox", app.address))
        .await
        .expect("mailbox");
    let link = client
        .find(Locator::LinkText("Invitation link for nojs@example.test"))
        .await
        .expect("link")
        .attr("href")
        .await
        .expect("href")
        .expect("address");

    // A direct workspace role, by the plain form on the Members tab.
    let general = app.general_workspace(&org).await;
    let (editor, _) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    client
        .goto(&format!(
            "{}/orgs/{org}/workspaces/{general}/members",
            app.address
        ))
        .await
        .expect("workspace members");
    client
        .find(Locator::Css(&format!("#direct-{editor}")))
        .await
        .expect("the direct-role select")
        .select_by_value("admin")
        .await
        .expect("choose Admin");
    let save = client
        .find(Locator::Css(&format!(
            "#access-{editor} button[type=submit]"
        )))
        .await
        .expect("save");
    assert!(
        save.is_displayed().await.expect("displayed"),
        "without scripts, each row has its Save button"
    );
    save.click().await.expect("save the role");
    let row = client
        .wait()
        .for_element(Locator::Css(".alert-success"))
        .await
        .expect("confirmation after the redirect");
    assert!(row.text().await.expect("text").contains("direct Admin"));
    let access = client
        .find(Locator::Css(&format!("#access-{editor}")))
        .await
        .expect("row")
        .text()
        .await
        .expect("text");
    assert!(
        access.contains("Admin — given in this workspace; Editor from the organization role"),
        "{access}"
    );

    // Restrict the same member to one product, by plain forms.
    let atlas = app.add_product(&general, "Atlas", None).await;
    client
        .goto(&format!(
            "{}/orgs/{org}/product-access/{editor}",
            app.address
        ))
        .await
        .expect("product access");
    submit(&client, "form[action$='/restrict'] button").await;
    let restricted = client
        .wait()
        .for_element(Locator::Css(".alert-success"))
        .await
        .expect("restricted");
    assert!(
        restricted
            .text()
            .await
            .expect("text")
            .contains("now sees only the products granted below")
    );
    client
        .find(Locator::Css(&format!("#access-{atlas}")))
        .await
        .expect("the access select")
        .select_by_value("edit")
        .await
        .expect("choose Edit");
    let save = client
        .find(Locator::Css(&format!("#grant-{atlas} button[type=submit]")))
        .await
        .expect("save");
    assert!(
        save.is_displayed().await.expect("displayed"),
        "without scripts, each row has its Save button"
    );
    save.click().await.expect("save the grant");
    wait_for_text(&client, "#flash-region", "can now edit Atlas").await;
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT access FROM product_grants WHERE membership_id = '{editor}' AND product_id = '{atlas}'"
        ))
        .await,
        "edit"
    );

    // Remove the member through the confirmation page.
    client
        .goto(&format!(
            "{}/orgs/{org}/members/{target}/remove",
            app.address
        ))
        .await
        .expect("confirmation");
    submit(&client, "main form button[type=submit]").await;
    wait_for_path(&client, |path| path.ends_with("/members")).await;
    assert!(
        client
            .find(Locator::Css(&format!("#member-{target}")))
            .await
            .is_err(),
        "removed"
    );

    submit(&client, "form[action='/signout'] button").await;
    wait_for_path(&client, |path| path == "/signin").await;
    client.goto(&link).await.expect("the invitation");
    fill(&client, "name", "Nora No-Script").await;
    fill(&client, "password", PASSWORD).await;
    submit(&client, "main form button[type=submit]").await;
    wait_for_path(&client, |path| path.starts_with(&format!("/orgs/{org}"))).await;
    assert_eq!(
        app.role_of(&org, "nojs@example.test").await.as_deref(),
        Some("member")
    );
    client.close().await.expect("close");
}

/// Where `css`'s box starts, from the top of the page.
async fn top_of(client: &Client, css: &str) -> f64 {
    client
        .execute(
            "const e = document.querySelector(arguments[0]); \
             return e ? e.getBoundingClientRect().top + scrollY : null;",
            vec![serde_json::json!(css)],
        )
        .await
        .expect("measure")
        .as_f64()
        .unwrap_or_else(|| panic!("{css} is not on the page"))
}

#[tokio::test]
async fn inline_saves_keep_the_focus_and_the_page_still_and_selects_save_on_change_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let (target, target_email) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let general = app.general_workspace(&org).await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    app.set_restricted(&target, true).await;
    let driver = start_driver().await;
    let client = chromium(&driver, true).await;
    sign_in(&client, &app, &owner_email).await;

    // The role badge on Members: after Save the focus is on the row's badge
    // again, and the message does not push the table down.
    let row = format!("#member-{target}");
    client
        .wait()
        .for_element(Locator::Css(&format!("{row} a.badge-edit")))
        .await
        .expect("badge")
        .click()
        .await
        .expect("open the editor");
    client
        .wait()
        .for_element(Locator::Css(&format!("{row} select[name=role]")))
        .await
        .expect("editor")
        .select_by_value("viewer")
        .await
        .expect("choose Viewer");
    let table_before = top_of(&client, "table.members").await;
    client
        .find(Locator::Css(&format!("{row} button[type=submit]")))
        .await
        .expect("save")
        .click()
        .await
        .expect("save the role");
    wait_for_text(&client, "#flash-region", "is now Viewer").await;
    assert!(
        focused_is(&client, &format!("el.matches('{row} a.badge-edit')")).await,
        "the focus is back on the badge"
    );
    assert_eq!(
        top_of(&client, "table.members").await,
        table_before,
        "the message does not move the table"
    );
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );

    // A direct workspace role: choosing it saves it (no Save button with
    // scripts on) and the focus stays on the select.
    client
        .goto(&format!(
            "{}/orgs/{org}/workspaces/{general}/members",
            app.address
        ))
        .await
        .expect("workspace people");
    let direct = format!("#direct-{target}");
    let save = client
        .find(Locator::Css(&format!(
            "#access-{target} button[type=submit]"
        )))
        .await
        .expect("the Save button is there for scripts off");
    assert!(
        !save.is_displayed().await.expect("displayed"),
        "with scripts on, a change saves by itself"
    );
    let table_before = top_of(&client, "table.workspace-members").await;
    let select = client.find(Locator::Css(&direct)).await.expect("select");
    client
        .execute(
            "arguments[0].focus(); return null;",
            vec![serde_json::to_value(&select).expect("element")],
        )
        .await
        .expect("focus the select");
    select.select_by_value("admin").await.expect("choose Admin");
    wait_for_text(&client, "#flash-region", "direct Admin").await;
    assert!(
        focused_is(&client, &format!("el.matches('{direct}')")).await,
        "the focus stays on the changed select"
    );
    assert_eq!(
        top_of(&client, "table.workspace-members").await,
        table_before,
        "the message does not move the table"
    );
    client.refresh().await.expect("reload");
    let row_text = client
        .wait()
        .for_element(Locator::Css(&format!("#access-{target}")))
        .await
        .expect("row")
        .text()
        .await
        .expect("text");
    assert!(
        row_text.contains("Admin — given in this workspace"),
        "{row_text}"
    );

    // A product grant on the member's Product Access page, the same way.
    client
        .goto(&format!(
            "{}/orgs/{org}/product-access/{target}",
            app.address
        ))
        .await
        .expect("product access");
    let access = format!("#access-{atlas}");
    let select = client.find(Locator::Css(&access)).await.expect("select");
    client
        .execute(
            "arguments[0].focus(); return null;",
            vec![serde_json::to_value(&select).expect("element")],
        )
        .await
        .expect("focus the select");
    select.select_by_value("edit").await.expect("choose Edit");
    wait_for_text(&client, "#flash-region", "can now edit Atlas").await;
    assert!(
        focused_is(&client, &format!("el.matches('{access}')")).await,
        "the focus stays on the changed select"
    );
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT access FROM product_grants WHERE membership_id = '{target}' AND product_id = '{atlas}'"
        ))
        .await,
        "edit"
    );
    client.refresh().await.expect("reload");
    let selected = client
        .execute(
            "return document.querySelector(arguments[0]).value;",
            vec![serde_json::json!(access)],
        )
        .await
        .expect("read the select");
    assert_eq!(selected, serde_json::json!("edit"));

    // Stepping through the choices with the arrow keys saves once: the
    // choice the person stops on.
    let changes_sql = format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'product_access.changed' \
         AND target_id = (SELECT user_id FROM memberships WHERE id = '{target}')"
    );
    let before = app.scalar(&changes_sql).await;
    let select = client.find(Locator::Css(&access)).await.expect("select");
    client
        .execute(
            "arguments[0].focus(); return null;",
            vec![serde_json::to_value(&select).expect("element")],
        )
        .await
        .expect("focus the select");
    press(&client, "\u{E013}").await;
    press(&client, "\u{E013}").await;
    let grant_sql = format!(
        "SELECT COUNT(*) FROM product_grants WHERE membership_id = '{target}' \
         AND product_id = '{atlas}'"
    );
    for _ in 0..50 {
        if app.scalar(&grant_sql).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.scalar(&grant_sql).await, 0, "None saved");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        app.scalar(&changes_sql).await,
        before + 1,
        "one save for two key presses"
    );
    client.close().await.expect("close");
}

#[tokio::test]
async fn a_phone_shows_the_page_first_and_whole_member_rows_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    for role in [
        roster::domain::role::OrgRole::Admin,
        roster::domain::role::OrgRole::Member,
        roster::domain::role::OrgRole::Viewer,
    ] {
        app.add_member(&org, role).await;
    }
    let driver = start_driver().await;
    // Without scripts: the menu must work without them.
    let client = chromium(&driver, false).await;
    sign_in(&client, &app, &owner_email).await;
    client.set_window_size(375, 812).await.expect("resize");
    client
        .goto(&format!("{}/orgs/{org}/members", app.address))
        .await
        .expect("members");

    // The heading is on the first screen, above the settings links.
    let (heading, viewport) = (
        top_of(&client, "main h1").await,
        client
            .execute("return innerHeight;", vec![])
            .await
            .expect("height")
            .as_f64()
            .expect("a number"),
    );
    assert!(
        heading < viewport / 2.0,
        "the heading starts at {heading} px"
    );
    let link = client
        .find(Locator::Css(".sidebar-menu a[href$='/audit']"))
        .await
        .expect("the Audit log link");
    assert!(
        !link.is_displayed().await.expect("displayed"),
        "the settings links wait behind the menu"
    );

    // Every member row shows its name, role and actions within the width.
    let outside = client
        .execute(
            "const out = []; const w = document.documentElement.clientWidth; \
             const rows = document.querySelectorAll('table.members tbody tr'); \
             if (rows.length < 4) out.push('only ' + rows.length + ' rows'); \
             for (const row of rows) for (const css of ['td[data-label=\"Name\"] a', '.badge', '.actions a']) { \
               const e = row.querySelector(css); \
               if (!e && css === '.actions a' && row.textContent.includes('(you)')) continue; \
               if (!e) { out.push(row.id + ' has no ' + css); continue; } \
               const r = e.getBoundingClientRect(); \
               if (r.left < 0 || r.right > w || r.width === 0) out.push(row.id + ' ' + css + ' at ' + Math.round(r.left) + '..' + Math.round(r.right)); \
             } \
             return out.join(', ');",
            vec![],
        )
        .await
        .expect("measure rows");
    assert_eq!(outside.as_str(), Some(""), "rows fit a phone");

    // The menu opens without scripts and leads on.
    client
        .find(Locator::Css(".sidebar-menu summary"))
        .await
        .expect("the menu button")
        .click()
        .await
        .expect("open the menu");
    assert!(link.is_displayed().await.expect("displayed"));
    link.click().await.expect("follow the link");
    wait_for_path(&client, |path| path.ends_with("/audit")).await;

    // On a desktop the links are there at once, beside the page.
    client.set_window_size(1280, 900).await.expect("resize");
    let link = client
        .find(Locator::Css(".sidebar a[href$='/members']"))
        .await
        .expect("the Members link");
    assert!(link.is_displayed().await.expect("displayed"));
    client.close().await.expect("close");
}

/// Manage roles: give Campaign Manager in one workspace and see the module
/// levels and their reasons change in place (htmx), then take it away
/// with JavaScript off (a plain form); axe-core passes on the panel.
#[tokio::test]
async fn manage_roles_in_place_and_without_javascript_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner_http, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let berlin = app.add_workspace(&org, "Berlin").await;
    let (rita, _) = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let made = owner_http
        .post_form(
            &format!("/orgs/{org}/roles/templates/campaign_manager"),
            &[],
        )
        .await;
    let role_id = crate::helpers::location(&made)
        .rsplit('/')
        .next()
        .expect("the new role's id")
        .to_string();
    let panel = format!("{}/orgs/{org}/members/{rita}/roles", app.address);
    let place = format!("#roles-{berlin}");
    let driver = start_driver().await;

    let owner = chromium(&driver, true).await;
    sign_in(&owner, &app, &owner_email).await;
    owner.goto(&panel).await.expect("the panel");
    wait_for_text(&owner, &place, "No role gives it").await;
    owner
        .execute(
            "document.body.dataset.sameDocument = 'yes'; return null;",
            vec![],
        )
        .await
        .expect("mark the document");
    owner
        .find(Locator::Css(&format!(
            "{place} input[name=role][value='{role_id}']"
        )))
        .await
        .expect("the Campaign Manager checkbox in Berlin")
        .click()
        .await
        .expect("tick it");
    owner
        .find(Locator::Css(&format!("{place} button[type=submit]")))
        .await
        .expect("save")
        .click()
        .await
        .expect("save Berlin's roles");
    wait_for_text(&owner, &place, "from Campaign Manager (Berlin)").await;
    let same_document = owner
        .execute("return document.body.dataset.sameDocument || null;", vec![])
        .await
        .expect("read the marker");
    assert_eq!(
        same_document,
        serde_json::json!("yes"),
        "only the workspace's section was swapped"
    );
    let organization_wide = owner
        .execute(
            "return document.querySelector('#roles-org').textContent;",
            vec![],
        )
        .await
        .expect("the organization's section");
    assert!(
        !organization_wide
            .as_str()
            .unwrap_or_default()
            .contains("Campaign Manager (Berlin)"),
        "a role held in Berlin gives nothing organization-wide"
    );
    if let Some(axe) = crate::a11y::axe_source() {
        let faults = crate::a11y::audit(&owner, &axe, "manage roles, role given").await;
        assert!(faults.is_empty(), "axe-core: {faults:?}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM role_assignments WHERE role_id = '{role_id}' \
             AND scope_key = '{berlin}'"
        ))
        .await,
        1
    );

    // JavaScript off: the same panel is a plain form.
    let plain = chromium(&driver, false).await;
    sign_in(&plain, &app, &owner_email).await;
    plain.goto(&panel).await.expect("the panel");
    plain
        .find(Locator::Css(&format!(
            "{place} input[name=role][value='{role_id}']"
        )))
        .await
        .expect("the ticked checkbox")
        .click()
        .await
        .expect("untick it");
    plain
        .find(Locator::Css(&format!("{place} button[type=submit]")))
        .await
        .expect("save")
        .click()
        .await
        .expect("save Berlin's roles");
    wait_for_text(&plain, "#flash-region", "took away Campaign Manager").await;
    wait_for_text(&plain, &place, "No role gives it").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM role_assignments WHERE role_id = '{role_id}'"
        ))
        .await,
        0
    );
    plain.close().await.expect("close");
    owner.close().await.expect("close");
}

/// Ticks the rows of `members` on the Members page, chooses Role → Viewer
/// in the bulk form and reviews the selection: the confirmation lists each
/// of them and what changes, and Apply answers "Done" for each; both with
/// and without scripts.
async fn bulk_make_viewers(
    client: &Client,
    app: &crate::helpers::TestApp,
    org: &str,
    members: &[(String, String)],
) {
    client
        .goto(&format!("{}/orgs/{org}/members", app.address))
        .await
        .expect("members");
    for (id, _) in members {
        let tick = client
            .wait()
            .for_element(Locator::Css(&format!(
                "input[type=checkbox][name=member][value='{id}'][form=bulk]"
            )))
            .await
            .expect("the row's checkbox");
        tick.click().await.expect("tick the row");
        assert!(
            tick.prop("checked")
                .await
                .expect("checked")
                .is_some_and(|v| v == "true"),
            "the row {id} is ticked"
        );
    }
    client
        .find(Locator::Css("form#bulk select[name=action]"))
        .await
        .expect("the bulk action")
        .select_by_value("role")
        .await
        .expect("choose a role change");
    client
        .find(Locator::Css("form#bulk select[name=role]"))
        .await
        .expect("the bulk role")
        .select_by_value("viewer")
        .await
        .expect("choose Viewer");
    client
        .find(Locator::XPath(
            "//form[@id='bulk']//button[contains(normalize-space(.), 'Review selected')]",
        ))
        .await
        .expect("Review selected")
        .click()
        .await
        .expect("review the selection");
    let apply_label = format!("Apply to {}", members.len());
    let apply = client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//main//form//button[contains(normalize-space(.), '{apply_label}')]"
        )))
        .await
        .expect("the confirmation's Apply button");
    let confirmation = client
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    for (_, address) in members {
        assert!(
            confirmation.contains(address.as_str()),
            "the confirmation lists {address}: {confirmation}"
        );
    }
    assert!(
        confirmation.contains("Member → Viewer"),
        "the confirmation says what changes: {confirmation}"
    );
    apply.click().await.expect("apply");
    // The result page (its summary is not on the confirmation, whose rows
    // name the same people), one row per person, each done.
    let summary = client
        .wait()
        .for_element(Locator::Id("bulk-summary"))
        .await
        .expect("the result")
        .text()
        .await
        .expect("text");
    assert!(
        summary.contains(&format!("{} done, 0 refused", members.len())),
        "{summary}"
    );
    for (_, address) in members {
        let row = client
            .find(Locator::XPath(&format!(
                "//main//table//tr[contains(., '{address}')]"
            )))
            .await
            .expect("the person's result row");
        let text = row.text().await.expect("text");
        assert!(text.contains("Done"), "{address}: {text}");
        assert!(!text.contains("Refused"), "{address}: {text}");
    }
}

#[tokio::test]
async fn bulk_selection_with_and_without_javascript_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let mut people = Vec::new();
    for _ in 0..4 {
        people.push(
            app.add_member(&org, roster::domain::role::OrgRole::Member)
                .await,
        );
    }
    let untouched = app
        .add_member(&org, roster::domain::role::OrgRole::Member)
        .await;
    let driver = start_driver().await;

    // With JavaScript, the first two.
    let scripted = chromium(&driver, true).await;
    sign_in(&scripted, &app, &owner_email).await;
    bulk_make_viewers(&scripted, &app, &org, &people[..2]).await;
    scripted.close().await.expect("close");

    // Without JavaScript, plain forms, the other two.
    let plain = chromium(&driver, false).await;
    sign_in(&plain, &app, &owner_email).await;
    bulk_make_viewers(&plain, &app, &org, &people[2..]).await;
    plain.close().await.expect("close");

    for (_, address) in &people {
        assert_eq!(
            app.role_of(&org, address).await.as_deref(),
            Some("viewer"),
            "{address}"
        );
    }
    assert_eq!(
        app.role_of(&org, &untouched.1).await.as_deref(),
        Some("member"),
        "an unticked row is left alone"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' \
             AND action = 'member.role_changed'"
        ))
        .await,
        4,
        "one audit row per person"
    );
}

/// The secret the set-up page shows in `#totp-secret`, as typed into an
/// app (the spaces that group it dropped).
async fn shown_totp_secret(client: &Client) -> String {
    client
        .wait()
        .for_element(Locator::Id("totp-secret"))
        .await
        .expect("the secret")
        .text()
        .await
        .expect("text")
        .split_whitespace()
        .collect()
}

/// Types `value` into the field named `name` in `<main>`.
async fn fill_named(client: &Client, name: &str, value: &str) {
    let field = client
        .find(Locator::Css(&format!("main input[name='{name}']")))
        .await
        .expect(name);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

#[tokio::test]
async fn turn_on_two_factor_and_sign_in_with_a_code_in_chromium() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    app.clock.freeze();
    let ada = email("ada");
    app.signed_up("Ada Lovelace", &ada, "Acme").await;
    let driver = start_driver().await;
    let client = chromium(&driver, true).await;
    sign_in(&client, &app, &ada).await;

    // From the Account page to the set-up: a QR code the browser draws and
    // the secret to type instead.
    client
        .goto(&format!("{}/account", app.address))
        .await
        .expect("account page");
    click(&client, "main a[href='/account/two-factor']").await;
    wait_for_path(&client, |path| path == "/account/two-factor").await;
    wait_for_text(&client, "main", "Set up two-factor authentication").await;
    let mut drawn = false;
    for _ in 0..100 {
        drawn = client
            .execute(
                "const i = document.querySelector('main img[alt=\"QR code for your authenticator app\"]'); \
                 return !!i && i.complete && i.naturalWidth > 0;",
                vec![],
            )
            .await
            .expect("the QR code")
            .as_bool()
            == Some(true);
        if drawn {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(drawn, "the QR code is drawn");
    let secret = shown_totp_secret(&client).await;
    let user_id = app.user_id(&ada).await;
    assert_eq!(
        secret,
        app.scalar_text(&format!(
            "SELECT secret FROM two_factor WHERE user_id = '{user_id}'"
        ))
        .await
    );

    // The app's code and the password turn it on; the recovery codes are
    // shown.
    fill_named(&client, "code", &code_at(&secret, app.clock.now())).await;
    fill_named(&client, "password", PASSWORD).await;
    click(
        &client,
        "main form[action='/account/two-factor'] button[type=submit]",
    )
    .await;
    wait_for_text(&client, "main", "Two-factor authentication is on").await;
    let codes = client
        .execute(
            "return [...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent.trim());",
            vec![],
        )
        .await
        .expect("the recovery codes");
    let codes = codes.as_array().expect("a list");
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c.as_str().is_some_and(|c| c.len() == 11 && c.contains('-'))),
        "{codes:?}"
    );

    // Signing in again asks for a code after the password.
    click(&client, "form[action='/signout'] button").await;
    wait_for_path(&client, |path| path == "/signin").await;
    app.clock.advance(30);
    fill(&client, "email", &ada).await;
    fill(&client, "password", PASSWORD).await;
    click(&client, "main form button[type=submit]").await;
    wait_for_path(&client, |path| path == "/signin/two-factor").await;
    wait_for_text(
        &client,
        "main",
        "Enter the code from your authenticator app",
    )
    .await;
    fill_named(&client, "code", &code_at(&secret, app.clock.now())).await;
    click(
        &client,
        "main form[action='/signin/two-factor'] button[type=submit]",
    )
    .await;
    wait_for_path(&client, |path| path.starts_with("/orgs/")).await;
    let heading = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("members page");
    assert_eq!(heading.text().await.expect("text"), "Members");
    client.close().await.expect("close");
}
