//! Property-based: random and hostile bodies (overlong strings, control
//! characters, invalid UTF-8, SQL and HTML metacharacters, unknown enum
//! values, ids from this and another organization, missing, duplicate and
//! unknown fields, bodies over the limit) posted to every form route as
//! every kind of person. Whatever comes, the answer is never a 5xx nor a
//! dropped connection, markup never comes back unescaped (not in the answer,
//! not on the pages that show stored values), a body over the limit gets
//! 413, and a refused request leaves the database as it was.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use roster::startup::MAX_BODY_BYTES;
use roster::web::ROUTES;
use sea_orm::ConnectionTrait;

use super::hostile_input::FIELDS;
use crate::helpers::{Browser, Fixture, TestApp, Who, spawn_app};

/// Cases per form route. Each case is one request plus two snapshots of the
/// database; with some 50 form routes this stays within seconds.
const CASES_PER_ROUTE: u32 = 64;

/// The marker for injected markup: no page may ever contain it raw.
const MARKUP: &str = "<x-fuzz";

/// The ids a request might name: this organization's, another's, junk.
#[derive(Clone, Debug)]
struct Ids {
    org: String,
    other_org: String,
    member: String,
    other_member: String,
    workspace: String,
    other_workspace: String,
    product: String,
    other_product: String,
    invitation: String,
    other_invitation: String,
}

impl Ids {
    fn all(&self) -> Vec<String> {
        vec![
            self.org.clone(),
            self.other_org.clone(),
            self.member.clone(),
            self.other_member.clone(),
            self.workspace.clone(),
            self.other_workspace.clone(),
            self.product.clone(),
            self.other_product.clone(),
            self.invitation.clone(),
            self.other_invitation.clone(),
        ]
    }
}

/// A field as sent: its name and the raw bytes of its value.
type Field = (String, Vec<u8>);

/// One generated request.
#[derive(Clone, Debug)]
struct Case {
    who: Who,
    /// Path parameters: the first from this organization or not.
    own_ids: bool,
    /// Name and raw bytes of each field, in order (duplicates allowed).
    fields: Vec<Field>,
    /// Percent-encode the values (a browser does) or send the bytes raw.
    encode: bool,
    /// Add this session's CSRF token (without it the answer is 403).
    with_csrf: bool,
    /// Add a value that takes the body over the size limit.
    oversize: bool,
}

fn value(ids: Vec<String>) -> BoxedStrategy<Vec<u8>> {
    let words = prop::sample::select(vec![
        "",
        "owner",
        "admin",
        "member",
        "viewer",
        "none",
        "editor",
        "view",
        "edit",
        "on",
        "off",
        "true",
        "ADMIN",
        " viewer ",
        "'; DROP TABLE memberships; --",
        "\" OR 1=1 --",
        "%00",
        "../../etc/passwd",
        "a@b",
        "person@example.com",
        "-1",
        "0",
        "18446744073709551616",
        "9223372036854775807",
        "NaN",
        "\u{202e}evil",
        "🦀🦀🦀",
    ]);
    prop_oneof![
        3 => words.prop_map(|w| w.as_bytes().to_vec()),
        2 => any::<String>().prop_map(String::into_bytes),
        3 => "[a-z ]{0,12}".prop_map(|s| format!("{MARKUP} id=\"x\">{s}</x-fuzz>").into_bytes()),
        2 => prop::sample::select(vec![65, 81, 101, 201, 255, 257, 501, 1001, 2001, 5001])
            .prop_map(|n| "x".repeat(n).into_bytes()),
        1 => prop::collection::vec(prop::char::range('\u{0}', '\u{1f}'), 0..16)
            .prop_map(|c| c.into_iter().collect::<String>().into_bytes()),
        2 => prop::sample::select(ids).prop_map(String::into_bytes),
    ]
    .boxed()
}

/// A form's field and the values its page offers (options, hidden values).
type FormField = (String, Vec<String>);

fn case(ids: &Ids, form: &[FormField]) -> impl Strategy<Value = Case> {
    // Each field of the route's own form, mostly present, with a value
    // the page offers or a hostile one.
    let own: Vec<BoxedStrategy<Option<Field>>> = form
        .iter()
        .map(|(name, offered)| {
            let hostile = value(ids.all());
            let chosen = if offered.is_empty() {
                hostile
            } else {
                let offered: Vec<Vec<u8>> = offered.iter().map(|v| v.as_bytes().to_vec()).collect();
                prop_oneof![1 => prop::sample::select(offered), 1 => hostile].boxed()
            };
            let name = name.clone();
            prop::option::weighted(0.85, chosen.prop_map(move |v| (name.clone(), v))).boxed()
        })
        .collect();
    // Then a few fields of other forms, unknown ones and duplicates.
    let extra = prop::collection::vec(
        (
            prop_oneof![
                9 => prop::sample::select(FIELDS).prop_map(str::to_string),
                1 => "[a-z_\\[\\]]{1,10}",
            ],
            value(ids.all()),
        ),
        0..3,
    );
    let who = prop_oneof![
        3 => Just(Who::Owner),
        3 => Just(Who::Admin),
        2 => Just(Who::Member),
        1 => Just(Who::Viewer),
        1 => Just(Who::Guest),
        1 => Just(Who::Removed),
        1 => Just(Who::Outsider),
        1 => Just(Who::Anonymous),
    ];
    (
        who,
        prop::bool::weighted(0.8),
        own,
        extra,
        prop::option::weighted(0.1, prop::collection::vec(128u8..=255, 1..8)),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(who, own_ids, own, extra, invalid_utf8, encode, with_csrf, oversize)| {
                let mut fields: Vec<Field> = own.into_iter().flatten().collect();
                fields.extend(extra);
                if let Some(bytes) = invalid_utf8 {
                    fields.push(("name".to_string(), bytes));
                }
                Case {
                    who,
                    own_ids,
                    fields,
                    encode,
                    with_csrf,
                    oversize,
                }
            },
        )
}

/// The fields (and offered values) of every form that posts to `action`
/// on the pages as `browsers` see them.
async fn form_fields(browsers: &[&Browser], pages: &[String], action: &str) -> Vec<FormField> {
    let mut fields: Vec<FormField> = Vec::new();
    for (browser, page) in browsers
        .iter()
        .flat_map(|b| pages.iter().map(move |p| (b, p)))
    {
        let (_, html) = browser.get_html(page).await;
        let mut rest = html.as_str();
        while let Some(at) = rest.find("<form") {
            rest = &rest[at..];
            let end = rest.find("</form>").unwrap_or(rest.len());
            let form = &rest[..end];
            rest = &rest[end..];
            let tag_end = form.find('>').unwrap_or(form.len());
            if attribute(&form[..tag_end], "action").as_deref() != Some(action) {
                continue;
            }
            let mut inner = &form[tag_end..];
            // The <select> whose <option>s come next.
            let mut select: Option<String> = None;
            while let Some(start) = inner.find('<') {
                let tag_len = inner[start..].find('>').unwrap_or(inner.len() - start);
                let tag = &inner[start..start + tag_len];
                inner = &inner[start + tag_len..];
                if tag.starts_with("</select") {
                    select = None;
                }
                let name = if tag.starts_with("<option") {
                    select.clone()
                } else {
                    attribute(tag, "name")
                };
                let Some(name) = name else {
                    continue;
                };
                if tag.starts_with("<select") {
                    select = Some(name.clone());
                }
                if name == "csrf_token" {
                    continue;
                }
                let offered = attribute(tag, "value");
                match fields.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, values)) => values.extend(offered),
                    None => fields.push((name, offered.into_iter().collect())),
                }
            }
        }
    }
    fields
}

/// An attribute's value in a tag, with the entities templates write undone.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&#x2f;", "/")
            .replace("&#x2F;", "/")
            .replace("&#47;", "/")
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// Percent-encodes bytes as a form would.
fn form_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn body(case: &Case, csrf: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, value)) in case.fields.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(form_encode(name.as_bytes()).as_bytes());
        out.push(b'=');
        if case.encode {
            out.extend_from_slice(form_encode(value).as_bytes());
        } else {
            out.extend_from_slice(value);
        }
    }
    if let Some(token) = csrf {
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(format!("csrf_token={token}").as_bytes());
    }
    if case.oversize {
        out.extend_from_slice(b"&description=");
        out.resize(out.len() + MAX_BODY_BYTES, b'y');
    }
    out
}

/// What the database holds, less what a request may change without
/// changing anything (activity times, failed sign-ins, the audit row of a
/// refused invitation acceptance, which the refusal itself writes).
async fn snapshot(app: &TestApp) -> Vec<String> {
    const TABLES: &[(&str, &str)] = &[
        (
            "users",
            "id, email, name, password_hash, email_verified_at, session_epoch",
        ),
        ("user_sessions", "id, user_id"),
        (
            "organizations",
            "id, name, description, auto_join_role, two_factor_required_at, \
             two_factor_grace_days, session_idle_minutes, session_lifetime_hours",
        ),
        ("two_factor", "user_id, confirmed_at"),
        ("recovery_codes", "user_id, code_hash, used_at"),
        (
            "memberships",
            "id, org_id, user_id, role, products_restricted",
        ),
        ("member_counts", "org_id, role, members"),
        ("product_counts", "org_id, products"),
        ("workspaces", "id, org_id, title, description"),
        (
            "workspace_members",
            "id, workspace_id, org_id, user_id, role",
        ),
        (
            "invitations",
            "id, org_id, email, role, token_hash, state, expires_at, workspace_id, workspace_role",
        ),
        ("outbox", "id, kind, recipient"),
        ("account_tokens", "token_hash, purpose, used_at"),
        ("auto_join_domains", "org_id, domain"),
        (
            "products",
            "id, org_id, workspace_id, name, description, owner_id, needs_owner",
        ),
        ("product_grants", "membership_id, product_id, access"),
    ];
    let mut rows = Vec::new();
    for (table, columns) in TABLES {
        let joined = columns
            .split(", ")
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '~')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {joined} FROM {table} ORDER BY 1");
        for row in texts(app, &sql).await {
            rows.push(format!("{table}: {row}"));
        }
    }
    let audit = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action <> 'invitation.refused'")
        .await;
    rows.push(format!("audit_events: {audit}"));
    rows
}

async fn texts(app: &TestApp, sql: &str) -> Vec<String> {
    let backend = app.db.owner().get_database_backend();
    app.db
        .owner()
        .query_all_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
        .await
        .expect("snapshot query")
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("a text row"))
        .collect()
}

async fn ids(app: &TestApp, fixture: &Fixture, other: &Fixture) -> Ids {
    let first = |table: &'static str, org: String| async move {
        app.scalar_text(&format!(
            "SELECT id FROM {table} WHERE org_id = '{org}' ORDER BY id"
        ))
        .await
    };
    let member_of = |org: String| async move {
        app.scalar_text(&format!(
            "SELECT id FROM memberships WHERE org_id = '{org}' AND role = 'member'"
        ))
        .await
    };
    let workspace = first("workspaces", fixture.org_id.clone()).await;
    let other_workspace = first("workspaces", other.org_id.clone()).await;
    let product = app.add_product(&workspace, "Fuzz target", None).await;
    let other_product = app
        .add_product(&other_workspace, "Other target", None)
        .await;
    let invitation = app
        .add_invitation(&fixture.org_id, roster::domain::role::OrgRole::Viewer)
        .await
        .0;
    let other_invitation = app
        .add_invitation(&other.org_id, roster::domain::role::OrgRole::Viewer)
        .await
        .0;
    Ids {
        org: fixture.org_id.clone(),
        other_org: other.org_id.clone(),
        member: member_of(fixture.org_id.clone()).await,
        other_member: member_of(other.org_id.clone()).await,
        workspace,
        other_workspace,
        product,
        other_product,
        invitation,
        other_invitation,
    }
}

fn path(pattern: &str, ids: &Ids, own: bool) -> String {
    let pick = |mine: &str, theirs: &str| {
        if own {
            mine.to_string()
        } else {
            theirs.to_string()
        }
    };
    pattern
        // The organization always comes from the fixture's own path: a
        // foreign one is the Outsider's case.
        .replace("{org_id}", &ids.org)
        .replace("{member_id}", &pick(&ids.member, &ids.other_member))
        .replace(
            "{workspace_id}",
            &pick(&ids.workspace, &ids.other_workspace),
        )
        .replace("{product_id}", &pick(&ids.product, &ids.other_product))
        .replace(
            "{invitation_id}",
            &pick(&ids.invitation, &ids.other_invitation),
        )
        .replace("{token}", "bm90LWEtcmVhbC10b2tlbg")
}

/// Sends one case and checks what a person would notice.
async fn check(
    app: &TestApp,
    fixture: &Fixture,
    ids: &Ids,
    pattern: &str,
    case: &Case,
) -> Result<(), TestCaseError> {
    let browser = fixture.browser(case.who);
    let csrf = if case.with_csrf {
        Some(browser.csrf_token().await)
    } else {
        None
    };
    let body = body(case, csrf.as_deref());
    let before = snapshot(app).await;
    let url = browser.url(&path(pattern, ids, case.own_ids));
    let response = browser
        .client
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .map_err(|err| TestCaseError::fail(format!("the connection failed: {err}")))?;
    let status = response.status();
    let page = response.text().await.unwrap_or_default();
    prop_assert!(
        !status.is_server_error(),
        "POST {pattern} as {:?} answered {status}",
        case.who
    );
    prop_assert!(
        !page.contains(MARKUP),
        "POST {pattern} as {:?} sent markup back unescaped",
        case.who
    );
    // (Without a token the session is refused before its body is read.)
    if body.len() > MAX_BODY_BYTES && case.with_csrf {
        prop_assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "a body over the limit"
        );
        prop_assert!(page.contains("too large"), "the 413 says why: {page:.300}");
    }
    if status.is_client_error() {
        let after = snapshot(app).await;
        prop_assert!(
            before == after,
            "POST {pattern} as {:?} was refused ({status}) but changed the database:\n{}",
            case.who,
            diff(&before, &after)
        );
    }
    Ok(())
}

fn diff(before: &[String], after: &[String]) -> String {
    let gone = before.iter().filter(|r| !after.contains(r));
    let new = after.iter().filter(|r| !before.contains(r));
    gone.map(|r| format!("- {r:.200}"))
        .chain(new.map(|r| format!("+ {r:.200}")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The pages that show stored values, read as the Owner after a route's
/// cases: nothing stored may render as markup.
async fn stored_pages_are_escaped(fixture: &Fixture, ids: &Ids) -> Vec<String> {
    let org = &fixture.org_id;
    let pages = [
        format!("/orgs/{org}/members"),
        format!("/orgs/{org}/members/{}", ids.member),
        format!("/orgs/{org}/invitations"),
        format!("/orgs/{org}/mailbox"),
        format!("/orgs/{org}/workspaces"),
        format!("/orgs/{org}/workspaces/{}", ids.workspace),
        format!("/orgs/{org}/workspaces/{}/members", ids.workspace),
        format!("/orgs/{org}/products"),
        format!("/orgs/{org}/products/{}", ids.product),
        format!("/orgs/{org}/product-access/{}", ids.member),
        format!("/orgs/{org}/settings"),
        format!("/orgs/{org}/audit"),
        format!("/orgs/{org}/access-review"),
        "/account".to_string(),
    ];
    let mut problems = Vec::new();
    let owner = fixture.browser(Who::Owner);
    for page in pages {
        let (status, body) = owner.get_html(&page).await;
        if status.is_server_error() {
            problems.push(format!("GET {page}: {status}"));
        }
        if body.contains(MARKUP) {
            problems.push(format!("GET {page} shows stored markup unescaped"));
        }
    }
    problems
}

#[test]
fn random_form_bodies_never_break_a_route_nor_leave_a_trace_when_refused() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = runtime.block_on(spawn_app());
    let mut failures = Vec::new();
    // To look harder at some routes: ROSTER_FUZZ_CASES=1000
    // ROSTER_FUZZ_ROUTE=/invitations (routes whose pattern contains it).
    let cases = std::env::var("ROSTER_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES_PER_ROUTE);
    let only = std::env::var("ROSTER_FUZZ_ROUTE").unwrap_or_default();
    for (_, pattern) in ROUTES
        .iter()
        .filter(|(method, pattern)| *method == "post" && pattern.contains(only.as_str()))
    {
        // A fresh organization per route: a route's cases may change it
        // (a successful random rename, a member who leaves). Each route
        // starts past the sign-in limits' window too: the wrong passwords
        // of earlier routes' cases all come from this one address, and
        // would otherwise refuse the new fixture's sign-ins.
        app.clock
            .advance(roster::services::rate_limit::WINDOW_SECS + 1);
        let (fixture, other) =
            runtime.block_on(async { (app.fixture().await, app.fixture().await) });
        let ids = runtime.block_on(ids(&app, &fixture, &other));
        let pages: Vec<String> = ROUTES
            .iter()
            .filter(|(method, page)| {
                *method == "get" && !page.contains('*') && !page.ends_with(".csv")
            })
            .map(|(_, page)| path(page, &ids, true))
            .collect();
        let form = runtime.block_on(form_fields(
            &[fixture.browser(Who::Owner), fixture.browser(Who::Anonymous)],
            &pages,
            &path(pattern, &ids, true),
        ));
        let mut runner = TestRunner::new(RunnerConfig {
            cases,
            max_shrink_iters: 64,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        let result = runner.run(&case(&ids, &form), |case| {
            runtime.block_on(check(&app, &fixture, &ids, pattern, &case))
        });
        if let Err(err) = result {
            failures.push(format!("POST {pattern}: {err}"));
        }
        failures.extend(runtime.block_on(stored_pages_are_escaped(&fixture, &ids)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
