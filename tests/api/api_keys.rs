//! API keys as people meet them: Settings → API keys (make, list, revoke,
//! the secret shown once), the key on `/api/v1` (a mistyped, expired,
//! revoked or rate-limited key, a personal key that follows its member, an
//! organization key that outlives its creator), keys and cookies kept
//! apart, and every change made with a key audited in its name.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use roster::domain::role::OrgRole;
use roster::entities::{api_key, audit_event};
use roster::services::api_keys::NewKind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sha2::Digest;

use crate::helpers::{Browser, PASSWORD, TestApp, email, location, spawn_app, spawn_app_with};

const DAY: i64 = 24 * 60 * 60;
const REALM: &str = "Bearer realm=\"Roster API\"";

/// The secret shown once on the page that answers the form.
fn secret_on(page: &str) -> Option<String> {
    let marker = "<input id=\"new-secret\" type=\"text\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// `^roster_[0-9A-Za-z]{46}$`
fn is_secret_shaped(secret: &str) -> bool {
    secret
        .strip_prefix("roster_")
        .is_some_and(|rest| rest.len() == 46 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Fills in the key form at Settings → API keys.
async fn make_key(browser: &Browser, org: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let response = browser
        .post_form(&format!("/orgs/{org}/api-keys"), fields)
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// Makes a key through the page, expecting it to be made; returns its
/// secret.
async fn made_key(browser: &Browser, org: &str, fields: &[(&str, &str)]) -> String {
    let (status, page) = make_key(browser, org, fields).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    secret_on(&page).expect("the secret on the page")
}

async fn key_named(app: &TestApp, name: &str) -> api_key::Model {
    api_key::Entity::find()
        .filter(api_key::Column::Name.eq(name))
        .one(app.db.owner())
        .await
        .expect("query")
        .expect("the key's row")
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .all(app.db.owner())
        .await
        .expect("query")
}

/// What a refused API request answers: its status, its challenge, its
/// content type and its problem detail.
struct Problem {
    status: StatusCode,
    challenge: Option<String>,
    content_type: String,
    body: serde_json::Value,
}

impl Problem {
    async fn of(response: Response) -> Problem {
        let status = response.status();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"));
        Problem {
            status,
            challenge,
            content_type,
            body,
        }
    }

    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    /// A 401 problem with a challenge naming the realm and, when a key was
    /// presented, `error="invalid_token"`.
    fn assert_unauthorized(&self, presented: bool) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["status"], 401);
        let challenge = self.challenge.as_deref().expect("WWW-Authenticate");
        assert!(challenge.starts_with(REALM), "{challenge}");
        assert_eq!(
            challenge.contains("error=\"invalid_token\""),
            presented,
            "{challenge}"
        );
    }
}

async fn get_members(app: &TestApp, secret: &str) -> Response {
    app.api(Method::GET, "/members", secret)
        .send()
        .await
        .expect("GET /members")
}

async fn patch_role(app: &TestApp, secret: &str, member_id: &str, role: &str) -> Response {
    app.api(Method::PATCH, &format!("/members/{member_id}"), secret)
        .header(CONTENT_TYPE, "application/json")
        .body(serde_json::json!({ "role": role }).to_string())
        .send()
        .await
        .expect("PATCH a member")
}

async fn json(response: Response) -> serde_json::Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"))
}

/// The secret with one character of its random part changed.
fn mistyped(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    let i = "roster_".len() + 10;
    chars[i] = if chars[i] == 'q' { 'r' } else { 'q' };
    chars.into_iter().collect()
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn an_owner_makes_an_organization_key_shown_once_and_kept_only_as_a_hash() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;

    let (status, page) = make_key(
        &owner,
        &org,
        &[
            ("name", "Deploy bot"),
            ("kind", "organization"),
            ("role", "admin"),
            ("lifetime", "30"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let secret = secret_on(&page).expect("the secret on the page");
    assert!(is_secret_shaped(&secret), "{secret}");
    assert!(page.contains("Your new key Deploy bot"));
    assert!(page.contains("Roster shows it only this once"));

    let (status, again) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!again.contains(&secret), "the secret is shown only once");
    assert!(!again.contains("id=\"new-secret\""));
    let last4 = &secret[secret.len() - 4..];
    assert!(
        again.contains("<th scope=\"row\">Deploy bot</th>"),
        "{again}"
    );
    assert!(again.contains(&format!("<code>…{last4}</code>")), "{again}");
    assert!(
        again.contains("<td data-label=\"Made by\">Olivia Owner</td>"),
        "the creator: {again}"
    );
    assert!(again.contains("Organization key<br><span class=\"muted\">Admin</span>"));
    assert!(again.contains("<td data-label=\"Status\">Active</td>"));

    let key = key_named(&app, "Deploy bot").await;
    assert_eq!(key.secret_hash, roster::domain::api_key::hash(&secret));
    assert_eq!(key.secret_hash, sha256_hex(&secret), "SHA-256, hex");
    assert_eq!(key.last4, last4);
    assert_eq!(key.role, Some(OrgRole::Admin));
    assert_eq!(key.created_at, app.clock.now());
    assert_eq!(key.expires_at, key.created_at + 30 * DAY);
    let stored = format!("{:?}", api_key::Entity::find().all(app.db.owner()).await);
    assert!(!stored.contains(&secret), "no column of api_keys holds it");
    let audit = format!(
        "{:?}",
        audit_event::Entity::find().all(app.db.owner()).await
    );
    assert!(!audit.contains(&secret), "the audit log never holds it");

    let created = audit_rows(&app, "api_key.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].org_id.as_deref(), Some(org.as_str()));
    assert_eq!(created[0].target_id.as_deref(), Some(key.id.as_str()));
    assert_eq!(created[0].target_label.as_deref(), Some("Deploy bot"));
    assert_eq!(
        created[0].actor_user_id.as_deref(),
        key.created_by.as_deref()
    );
}

/// A form, the field a refusal names and its message.
type Refusal<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[tokio::test]
async fn the_key_form_refuses_a_missing_name_and_a_missing_or_too_long_lifetime() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let too_far = time::OffsetDateTime::from_unix_timestamp(app.clock.now() + 400 * DAY)
        .expect("a date")
        .date()
        .to_string();
    let cases: [Refusal; 5] = [
        (
            &[("name", "  "), ("kind", "personal"), ("lifetime", "30")],
            "name",
            "Give the key a name, such as the script that will use it.",
        ),
        (
            &[("name", "Sync"), ("kind", "personal")],
            "lifetime",
            "Choose when the key expires: every key must.",
        ),
        (
            &[("name", "Sync"), ("kind", "personal"), ("lifetime", "400")],
            "lifetime",
            "Choose a lifetime of 1 to 365 days.",
        ),
        (
            &[
                ("name", "Sync"),
                ("kind", "organization"),
                ("role", "member"),
                ("lifetime", "date"),
                ("date", &too_far),
            ],
            "date",
            "A key lives at most one year: choose a date within a year from today.",
        ),
        (
            &[
                ("name", "Sync"),
                ("kind", "personal"),
                ("lifetime", "date"),
                ("date", ""),
            ],
            "date",
            "Choose when the key expires: every key must.",
        ),
    ];
    for (fields, field, message) in cases {
        let (status, page) = make_key(&owner, &org, fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(
            page.contains(&format!(
                "<p class=\"field-error\" id=\"{field}-error\">{message}</p>"
            )),
            "{fields:?}: {page}"
        );
        assert!(secret_on(&page).is_none());
    }
    assert_eq!(app.count("api_keys").await, 0);
    assert!(audit_rows(&app, "api_key.created").await.is_empty());
}

#[tokio::test]
async fn members_make_only_personal_keys_admins_never_an_owner_key_and_viewers_none() {
    let app = spawn_app().await;
    let (_owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let member = app
        .member_with_role(&org, &email("member"), OrgRole::Member)
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let viewer = app
        .member_with_role(&org, &email("viewer"), OrgRole::Viewer)
        .await;

    // A Member's form offers only a personal key; asking for an
    // organization key anyway is refused.
    let (status, page) = member.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<input type=\"hidden\" name=\"kind\" value=\"personal\">"));
    assert!(!page.contains("value=\"organization\""));
    let (status, _) = make_key(
        &member,
        &org,
        &[
            ("name", "Sneaky"),
            ("kind", "organization"),
            ("role", "viewer"),
            ("lifetime", "30"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No one makes an Owner key; the form does not even offer it.
    let (_, page) = admin.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(page.contains("<option value=\"admin\""));
    assert!(!page.contains("<option value=\"owner\""));
    let (status, _) = make_key(
        &admin,
        &org,
        &[
            ("name", "All powerful"),
            ("kind", "organization"),
            ("role", "owner"),
            ("lifetime", "30"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A Viewer has no keys at all.
    let (status, _) = viewer.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = make_key(
        &viewer,
        &org,
        &[("name", "Mine"), ("kind", "personal"), ("lifetime", "30")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert_eq!(app.count("api_keys").await, 0);
    assert!(audit_rows(&app, "api_key.created").await.is_empty());

    // The Member's own personal key is made.
    let secret = made_key(
        &member,
        &org,
        &[
            ("name", "My script"),
            ("kind", "personal"),
            ("lifetime", "90"),
        ],
    )
    .await;
    assert!(is_secret_shaped(&secret));
    let key = key_named(&app, "My script").await;
    assert_eq!(key.role, None, "a personal key has no role of its own");
}

#[tokio::test]
async fn a_key_lists_the_members_and_its_last_use_shows_on_the_page() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    let (_, ada) = app.add_member(&org, OrgRole::Member).await;
    let secret = made_key(
        &owner,
        &org,
        &[
            ("name", "Reader"),
            ("kind", "organization"),
            ("role", "viewer"),
            ("lifetime", "90"),
        ],
    )
    .await;
    let (_, before) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(
        before.contains("<td data-label=\"Last used\">Never</td>"),
        "{before}"
    );

    let response = get_members(&app, &secret).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(CONTENT_TYPE).expect("a type"),
        "application/json"
    );
    let page = json(response).await;
    let emails: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(page["total"], 2);
    assert!(emails.contains(&olivia.as_str()), "{page}");
    assert!(emails.contains(&ada.as_str()), "{page}");

    let key = key_named(&app, "Reader").await;
    let used = key.last_used_at.expect("last used");
    assert!((app.clock.now() - used).abs() <= 5, "just now");
    assert_eq!(key.last_used_address.as_deref(), Some("127.0.0.1"));
    let (_, after) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(after.contains(" from 127.0.0.1</td>"), "{after}");
    assert!(!after.contains("<td data-label=\"Last used\">Never</td>"));
}

#[tokio::test]
async fn a_mistyped_unknown_missing_or_basic_credential_is_a_401_problem() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let secret = app.org_key(&org, OrgRole::Admin).await;
    assert_eq!(get_members(&app, &secret).await.status(), StatusCode::OK);

    let typo = Problem::of(get_members(&app, &mistyped(&secret)).await).await;
    typo.assert_unauthorized(true);
    assert!(typo.detail().contains("mistyped"), "{}", typo.body);
    assert!(typo.detail().contains("checksum"), "{}", typo.body);

    // Well formed, checksum right, but never made.
    let unknown = roster::domain::api_key::generate();
    let unknown = Problem::of(get_members(&app, &unknown).await).await;
    unknown.assert_unauthorized(true);
    assert_eq!(unknown.detail(), "No such API key.");

    let url = format!("{}/api/v1/members", app.address);
    let client = reqwest::Client::new();
    let missing = Problem::of(client.get(&url).send().await.expect("GET")).await;
    missing.assert_unauthorized(false);
    assert_eq!(missing.challenge.as_deref(), Some(REALM));
    assert!(missing.detail().contains("Bearer"), "{}", missing.body);

    let basic = client
        .get(&url)
        .basic_auth("olivia", Some(secret.as_str()))
        .send()
        .await
        .expect("GET");
    let basic = Problem::of(basic).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(basic.content_type, "application/problem+json");
    assert!(
        basic
            .challenge
            .as_deref()
            .is_some_and(|c| c.starts_with(REALM)),
        "{:?}",
        basic.challenge
    );
    assert!(basic.detail().contains("Bearer"), "{}", basic.body);

    // The scheme is case-insensitive; the key itself is not.
    let lower = client
        .get(&url)
        .header(AUTHORIZATION, format!("bearer {secret}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(lower.status(), StatusCode::OK);
    let upper = Problem::of(get_members(&app, &secret.to_uppercase()).await).await;
    upper.assert_unauthorized(true);
}

/// RFC 6750 §3.1: a request with another scheme carries no Bearer key, so
/// its challenge names no error; and `error_description` is printable
/// ASCII (§3), which a client can read as a string.
#[tokio::test]
async fn another_scheme_is_challenged_without_an_error_in_plain_ascii() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/members", app.address))
        .basic_auth("olivia", Some("secret"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate")
        .to_str()
        .expect("a challenge in printable ASCII")
        .to_string();
    assert_eq!(challenge, REALM);
}

#[tokio::test]
async fn a_key_works_until_the_second_it_expires_and_its_expiry_is_audited_once() {
    let app = spawn_app().await;
    let olivia = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &olivia, "Acme").await;
    app.clock.freeze();
    let acting = app.owner_acting(&org).await;
    let secret = app
        .api_key(
            &acting,
            "Nightly",
            NewKind::Organization(OrgRole::Viewer),
            1,
        )
        .await;
    let key = key_named(&app, "Nightly").await;
    assert_eq!(key.expires_at, app.clock.now() + DAY);

    app.clock.advance(DAY - 1);
    assert_eq!(app.clock.now(), key.expires_at - 1);
    assert_eq!(get_members(&app, &secret).await.status(), StatusCode::OK);
    assert!(audit_rows(&app, "api_key.expired").await.is_empty());

    app.clock.advance(1);
    let expired = Problem::of(get_members(&app, &secret).await).await;
    expired.assert_unauthorized(true);
    assert_eq!(expired.detail(), "This API key has expired.");
    for _ in 0..2 {
        let again = Problem::of(get_members(&app, &secret).await).await;
        again.assert_unauthorized(true);
        assert_eq!(again.detail(), "This API key has expired.");
    }
    // A day later the session has ended: the Owner signs in again.
    let owner = app.new_browser();
    let signed_in = owner.sign_in(&olivia, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (status, page) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<td data-label=\"Status\">Expired</td>"),
        "{page}"
    );

    let rows = audit_rows(&app, "api_key.expired").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].target_id.as_deref(), Some(key.id.as_str()));
    assert_eq!(rows[0].target_label.as_deref(), Some("Nightly"));
    assert_eq!(rows[0].created_at, key.expires_at);
}

#[tokio::test]
async fn a_key_revoked_on_the_page_is_refused_at_its_next_request() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let secret = made_key(
        &owner,
        &org,
        &[
            ("name", "Old sync"),
            ("kind", "organization"),
            ("role", "member"),
            ("lifetime", "365"),
        ],
    )
    .await;
    assert_eq!(get_members(&app, &secret).await.status(), StatusCode::OK);
    let key = key_named(&app, "Old sync").await;

    let response = owner
        .post_form(&format!("/orgs/{org}/api-keys/{}/revoke", key.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/orgs/{org}/api-keys"));
    let (_, page) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(
        page.contains("The key Old sync was revoked: it no longer works."),
        "{page}"
    );
    assert!(page.contains("<td data-label=\"Status\">Revoked</td>"));
    assert!(!page.contains("Revoke<span class=\"visually-hidden\"> Old sync</span>"));

    let refused = Problem::of(get_members(&app, &secret).await).await;
    refused.assert_unauthorized(true);
    assert_eq!(refused.detail(), "This API key was revoked.");

    let rows = audit_rows(&app, "api_key.revoked").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id.as_deref(), Some(key.id.as_str()));
    assert_eq!(rows[0].target_label.as_deref(), Some("Old sync"));

    // Revoking it again changes nothing and writes nothing.
    let again = owner
        .post_form(&format!("/orgs/{org}/api-keys/{}/revoke", key.id), &[])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(audit_rows(&app, "api_key.revoked").await.len(), 1);
}

#[tokio::test]
async fn only_its_member_and_those_who_manage_keys_revoke_a_personal_key() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let mia = app
        .member_with_role(&org, &email("mia"), OrgRole::Member)
        .await;
    let max = app
        .member_with_role(&org, &email("max"), OrgRole::Member)
        .await;
    let admin = app
        .member_with_role(&org, &email("admin"), OrgRole::Admin)
        .await;
    let mias = made_key(
        &mia,
        &org,
        &[
            ("name", "Mia script"),
            ("kind", "personal"),
            ("lifetime", "30"),
        ],
    )
    .await;
    let maxs = made_key(
        &max,
        &org,
        &[
            ("name", "Max script"),
            ("kind", "personal"),
            ("lifetime", "30"),
        ],
    )
    .await;
    made_key(
        &owner,
        &org,
        &[
            ("name", "Org sync"),
            ("kind", "organization"),
            ("role", "viewer"),
            ("lifetime", "30"),
        ],
    )
    .await;
    let mia_key = key_named(&app, "Mia script").await;
    let max_key = key_named(&app, "Max script").await;

    // Max sees only his own key and cannot revoke Mia's.
    let (_, page) = max.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(page.contains("Max script"));
    assert!(!page.contains("Mia script"));
    assert!(!page.contains("Org sync"));
    let refused = max
        .post_form(&format!("/orgs/{org}/api-keys/{}/revoke", mia_key.id), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(get_members(&app, &mias).await.status(), StatusCode::OK);
    assert!(audit_rows(&app, "api_key.revoked").await.is_empty());

    // The Admin and the Owner see and revoke members' personal keys.
    let (_, page) = admin.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(page.contains("Personal key of Member person"), "{page}");
    let revoked = admin
        .post_form(&format!("/orgs/{org}/api-keys/{}/revoke", mia_key.id), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let revoked = owner
        .post_form(&format!("/orgs/{org}/api-keys/{}/revoke", max_key.id), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    for secret in [&mias, &maxs] {
        let refused = Problem::of(get_members(&app, secret).await).await;
        refused.assert_unauthorized(true);
        assert_eq!(refused.detail(), "This API key was revoked.");
    }
    assert_eq!(audit_rows(&app, "api_key.revoked").await.len(), 2);
}

#[tokio::test]
async fn a_personal_key_acts_with_its_member_s_role_of_the_moment() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let adam = email("adam");
    let admin = app.member_with_role(&org, &adam, OrgRole::Admin).await;
    let adam_id = app.acting_of(&org, &adam).await.membership_id;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    let secret = made_key(
        &admin,
        &org,
        &[
            ("name", "Adam script"),
            ("kind", "personal"),
            ("lifetime", "30"),
        ],
    )
    .await;

    let changed = patch_role(&app, &secret, &target, "viewer").await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(json(changed).await["role"], "viewer");
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );

    // The Owner makes Adam a Member: his key can no longer change roles.
    let demoted = owner
        .post_form(
            &format!("/orgs/{org}/members/{adam_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(demoted.status(), StatusCode::SEE_OTHER);
    let refused = Problem::of(patch_role(&app, &secret, &target, "member").await).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(get_members(&app, &secret).await.status(), StatusCode::OK);

    // Adam is removed: his key stops at once.
    let removed = owner
        .post_form(&format!("/orgs/{org}/members/{adam_id}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let gone = Problem::of(patch_role(&app, &secret, &target, "member").await).await;
    gone.assert_unauthorized(true);
    assert!(
        gone.detail()
            .contains("no longer belongs to the organization"),
        "{}",
        gone.body
    );
    Problem::of(get_members(&app, &secret).await)
        .await
        .assert_unauthorized(true);
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );
}

#[tokio::test]
async fn an_organization_key_keeps_working_after_its_creator_leaves() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let adam = email("adam");
    let admin = app.member_with_role(&org, &adam, OrgRole::Admin).await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    let secret = made_key(
        &admin,
        &org,
        &[
            ("name", "Team sync"),
            ("kind", "organization"),
            ("role", "admin"),
            ("lifetime", "90"),
        ],
    )
    .await;

    let left = admin.post_form(&format!("/orgs/{org}/leave"), &[]).await;
    assert_eq!(left.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(&org, &adam).await, None);

    assert_eq!(get_members(&app, &secret).await.status(), StatusCode::OK);
    let changed = patch_role(&app, &secret, &target, "viewer").await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );
    let rows = audit_rows(&app, "member.role_changed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_label, "API key 'Team sync' of Admin person");

    let (_, page) = owner.get_html(&format!("/orgs/{org}/api-keys")).await;
    assert!(page.contains("<th scope=\"row\">Team sync</th>"));
    assert!(page.contains("<td data-label=\"Made by\">Admin person</td>"));
    assert!(page.contains("<td data-label=\"Status\">Active</td>"));
}

#[tokio::test]
async fn a_key_never_opens_a_page() {
    let app = spawn_app().await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, ada) = app.add_member(&org, OrgRole::Member).await;
    let secret = app.org_key(&org, OrgRole::Admin).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in [
        format!("/orgs/{org}/members"),
        format!("/orgs/{org}/api-keys"),
    ] {
        let response = client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&secret)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/signin"), "{path}");
        let body = response.text().await.expect("body");
        assert!(!body.contains(&ada), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_cookie_never_opens_the_api_and_a_key_needs_no_csrf_token() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;

    // The signed-in browser itself, and its cookie replayed elsewhere.
    let from_browser = Problem::of(owner.get("/api/v1/members").await).await;
    from_browser.assert_unauthorized(false);
    let replayed = reqwest::Client::new()
        .get(format!("{}/api/v1/members", app.address))
        .header(COOKIE, owner.cookie_header())
        .send()
        .await
        .expect("GET");
    Problem::of(replayed).await.assert_unauthorized(false);
    let with_cookie = reqwest::Client::new()
        .patch(format!("{}/api/v1/members/{target}", app.address))
        .header(COOKIE, owner.cookie_header())
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"role":"viewer"}"#)
        .send()
        .await
        .expect("PATCH");
    Problem::of(with_cookie).await.assert_unauthorized(false);
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("member")
    );

    // With a key and no CSRF token, changes go through.
    let secret = app.org_key(&org, OrgRole::Admin).await;
    let changed = patch_role(&app, &secret, &target, "viewer").await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        app.role_of(&org, &target_email).await.as_deref(),
        Some("viewer")
    );
    let created = app
        .api(Method::POST, "/workspaces", &secret)
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"name":"Research"}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(json(created).await["name"], "Research");
}

#[tokio::test]
async fn a_change_made_with_a_key_is_audited_in_the_key_s_name() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (target, target_email) = app.add_member(&org, OrgRole::Member).await;
    let target_user = app.user_id(&target_email).await;
    let secret = made_key(
        &owner,
        &org,
        &[
            ("name", "HR sync"),
            ("kind", "organization"),
            ("role", "admin"),
            ("lifetime", "30"),
        ],
    )
    .await;

    let changed = patch_role(&app, &secret, &target, "admin").await;
    assert_eq!(changed.status(), StatusCode::OK);
    let rows = audit_rows(&app, "member.role_changed").await;
    assert_eq!(rows.len(), 1, "written with the change");
    let row = &rows[0];
    assert_eq!(row.actor_label, "API key 'HR sync' of Olivia Owner");
    assert_eq!(row.actor_user_id, None, "an organization key is no person");
    assert_eq!(row.org_id.as_deref(), Some(org.as_str()));
    assert_eq!(row.target_id.as_deref(), Some(target_user.as_str()));
    assert_eq!(row.before_value.as_deref(), Some("member"));
    assert_eq!(row.after_value.as_deref(), Some("admin"));
    assert_eq!(row.address.as_deref(), Some("127.0.0.1"));

    let removed = app
        .api(Method::DELETE, &format!("/members/{target}"), &secret)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let rows = audit_rows(&app, "member.removed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_label, "API key 'HR sync' of Olivia Owner");
    assert_eq!(app.role_of(&org, &target_email).await, None);
}

#[tokio::test]
async fn a_key_over_its_rate_limit_waits_for_the_next_minute_and_others_do_not() {
    let app = spawn_app_with(|c| c.api_requests_per_minute = 3).await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let owner = app.owner_acting(&org).await;
    let busy = app
        .api_key(&owner, "Busy", NewKind::Organization(OrgRole::Viewer), 30)
        .await;
    let calm = app
        .api_key(&owner, "Calm", NewKind::Organization(OrgRole::Viewer), 30)
        .await;
    app.clock.freeze();
    let now = app.clock.now();

    for i in 1..=3 {
        assert_eq!(
            get_members(&app, &busy).await.status(),
            StatusCode::OK,
            "request {i}"
        );
    }
    let limited = get_members(&app, &busy).await;
    let retry_after = limited
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        retry_after,
        60 - now.rem_euclid(60),
        "until the next minute"
    );
    let limited = Problem::of(limited).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.content_type, "application/problem+json");
    assert!(
        limited.detail().contains("3 requests a minute"),
        "{}",
        limited.body
    );

    assert_eq!(get_members(&app, &calm).await.status(), StatusCode::OK);

    app.clock.advance(60);
    assert_eq!(get_members(&app, &busy).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_key_sees_nothing_of_another_organization() {
    let app = spawn_app().await;
    let (_, acme) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (other_id, other_email) = app.add_member(&acme, OrgRole::Member).await;
    let (_, globex) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Globex")
        .await;
    let secret = app.org_key(&globex, OrgRole::Admin).await;

    let seen = Problem::of(
        app.api(Method::GET, &format!("/members/{other_id}"), &secret)
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND, "{}", seen.body);
    assert_eq!(seen.content_type, "application/problem+json");
    let changed = Problem::of(patch_role(&app, &secret, &other_id, "viewer").await).await;
    assert_eq!(changed.status, StatusCode::NOT_FOUND);
    let removed = app
        .api(Method::DELETE, &format!("/members/{other_id}"), &secret)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(removed.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.role_of(&acme, &other_email).await.as_deref(),
        Some("member")
    );

    let list = json(get_members(&app, &secret).await).await;
    assert_eq!(list["total"], 1, "{list}");
    assert!(!list.to_string().contains(&other_email));
}

/// An organization key limited to one workspace, made on the page, acts
/// there with the workspace role its role gives (Member → Editor) and
/// sees nothing else: not the other workspaces, their products, nor the
/// member list.
#[tokio::test]
async fn a_key_limited_to_one_workspace_reaches_only_that_workspace() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("owner"), "Limited Co")
        .await;
    let general = app.general_workspace(&org).await;
    let depot = app.add_workspace(&org, "Depot").await;
    let atlas = app.add_product(&general, "Atlas", None).await;
    let crate_product = app.add_product(&depot, "Crate", None).await;
    let secret = made_key(
        &owner,
        &org,
        &[
            ("name", "Depot sync"),
            ("kind", "organization"),
            ("role", "member"),
            ("workspace_id", &depot),
            ("lifetime", "30"),
        ],
    )
    .await;
    let listed = owner.get_html(&format!("/orgs/{org}/api-keys")).await.1;
    assert!(
        listed.contains("Organization key, only in Depot"),
        "{listed}"
    );
    let created = audit_rows(&app, "api_key.created").await;
    assert!(
        created.iter().any(|row| row
            .after_value
            .as_deref()
            .is_some_and(|after| after.contains("in the workspace Depot"))),
        "{created:?}"
    );

    let list = json(
        app.api(Method::GET, "/workspaces", &secret)
            .send()
            .await
            .expect("request"),
    )
    .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Depot"]);
    for (path, want) in [
        (format!("/workspaces/{depot}"), StatusCode::OK),
        (format!("/workspaces/{general}"), StatusCode::NOT_FOUND),
        (format!("/products/{crate_product}"), StatusCode::OK),
        (format!("/products/{atlas}"), StatusCode::NOT_FOUND),
        ("/members".to_string(), StatusCode::FORBIDDEN),
    ] {
        let got = app
            .api(Method::GET, &path, &secret)
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(got, want, "GET {path}");
    }
    let products = json(
        app.api(Method::GET, "/products", &secret)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(products["total"], 1, "{products}");
    // An Editor there adds products, but nowhere else.
    let add = |workspace: String, name: &'static str| {
        app.api(Method::POST, "/products", &secret)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::json!({"workspace_id": workspace, "name": name}).to_string())
            .send()
    };
    assert_eq!(
        add(depot.clone(), "Pallet")
            .await
            .expect("request")
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        add(general.clone(), "Barrel")
            .await
            .expect("request")
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM products WHERE name = 'Barrel'")
            .await,
        0
    );
    // Editors do not delete products.
    let delete = app
        .api(
            Method::DELETE,
            &format!("/products/{crate_product}"),
            &secret,
        )
        .send()
        .await
        .expect("request");
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);

    // Deleting the workspace deletes its key: the key stops at once.
    let owner_key = app.org_key(&org, OrgRole::Admin).await;
    let owner_acting = app.owner_acting(&org).await;
    roster::services::workspaces::delete(&app.db, &app.clock, &owner_acting, &depot, "Depot")
        .await
        .expect("delete the workspace");
    drop(owner_key);
    let after = app
        .api(Method::GET, "/workspaces", &secret)
        .send()
        .await
        .expect("request");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// Two instances behind a load balancer share a key's limit: the counts
/// live in the database. Instances reserve requests in leases (a twentieth
/// of the limit), so together they serve the limit and no more.
#[tokio::test]
async fn instances_share_a_key_s_rate_limit() {
    let app = spawn_app_with(|c| c.api_requests_per_minute = 40).await;
    let second = app.another_instance(|_| {}).await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let key = app.org_key(&org, OrgRole::Viewer).await;
    // Both instances read the wall clock: start well inside a minute.
    while app.clock.now().rem_euclid(60) > 40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    for i in 0..20 {
        assert_eq!(
            get_members(&app, &key).await.status(),
            StatusCode::OK,
            "first {i}"
        );
        assert_eq!(
            get_members(&second, &key).await.status(),
            StatusCode::OK,
            "second {i}"
        );
    }
    for instance in [&app, &second] {
        assert_eq!(
            get_members(instance, &key).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        app.scalar("SELECT MAX(requests) FROM api_request_counts")
            .await,
        40
    );
}

/// Requests arriving together when a minute starts share one lease: thirty
/// at once under a limit of forty are all served (each reserving a lease
/// of its own would spend the minute unserved and refuse ten of them).
#[tokio::test]
async fn requests_arriving_together_share_one_lease() {
    let app = spawn_app_with(|c| c.api_requests_per_minute = 40).await;
    let (_, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let key = app.org_key(&org, OrgRole::Viewer).await;
    app.clock.freeze();
    let answers = futures_util::future::join_all((0..30).map(|_| get_members(&app, &key))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        app.scalar("SELECT MAX(requests) FROM api_request_counts")
            .await
            <= 32,
        "leases of two, reserved one at a time"
    );
}
