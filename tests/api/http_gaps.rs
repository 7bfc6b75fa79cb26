//! HTTP and mail behaviour around the pages: HEAD answers, the icon,
//! compression, Message-IDs, and a sign-up that does not tell whether an
//! address has an account.

use std::io::Read;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use roster::domain::role::OrgRole;
use roster::web::ROUTES;

use crate::helpers::{
    Browser, PASSWORD, TestApp, email, location, smtp_to, spawn_app, spawn_app_with,
};
use crate::smtp::SmtpSink;

async fn send(
    browser: &Browser,
    method: Method,
    path: &str,
    encoding: Option<&str>,
) -> reqwest::Response {
    let mut request = browser.client.request(method, browser.url(path));
    if let Some(encoding) = encoding {
        request = request.header("Accept-Encoding", encoding);
    }
    request.send().await.expect("request")
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// The headers a HEAD answer must share with the GET answer.
const SHARED: [&str; 6] = [
    "content-type",
    "cache-control",
    "etag",
    "location",
    "vary",
    "content-encoding",
];

/// GETs and HEADs `path`; checks that HEAD has GET's status and headers
/// and no body. Returns the GET status.
async fn head_like_get(browser: &Browser, path: &str, encoding: Option<&str>) -> StatusCode {
    let got = send(browser, Method::GET, path, encoding).await;
    let headed = send(browser, Method::HEAD, path, encoding).await;
    assert_eq!(headed.status(), got.status(), "HEAD {path}");
    for name in SHARED {
        assert_eq!(
            header(headed.headers(), name),
            header(got.headers(), name),
            "{name} of HEAD {path}"
        );
    }
    let status = got.status();
    assert!(
        headed.bytes().await.expect("body").is_empty(),
        "HEAD {path} has no body"
    );
    status
}

#[tokio::test]
async fn head_answers_like_get_with_no_body() {
    let app = spawn_app().await;
    let anonymous = app.new_browser();
    assert_eq!(
        head_like_get(&anonymous, "/healthz", None).await,
        StatusCode::OK
    );
    let health = send(&anonymous, Method::HEAD, "/healthz", None).await;
    assert_eq!(
        header(health.headers(), "content-length").as_deref(),
        Some("2"),
        "the length GET's body would have"
    );
    assert_eq!(
        head_like_get(&anonymous, "/readyz", None).await,
        StatusCode::OK
    );
    assert_eq!(
        head_like_get(&anonymous, "/signin", None).await,
        StatusCode::OK
    );
    assert_eq!(
        head_like_get(&anonymous, "/static/vendor/htmx/htmx.min.js", Some("br")).await,
        StatusCode::OK
    );
    assert_eq!(
        head_like_get(&anonymous, "/favicon.ico", None).await,
        StatusCode::OK
    );
    // Signed out: both send the same way to sign in.
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let members = format!("/orgs/{org}/members");
    assert_eq!(
        head_like_get(&anonymous, &members, None).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        head_like_get(&owner, &members, Some("gzip, br")).await,
        StatusCode::OK
    );
    // The address sign-out posts to: HEAD answers as GET does (home),
    // and signs nobody out.
    assert_eq!(
        head_like_get(&owner, "/signout", None).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(owner.get(&members).await.status(), StatusCode::OK);
    assert_eq!(
        head_like_get(&anonymous, "/no-such-page", None).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_page_answers_head_as_it_answers_get() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia", &owner_email, "Acme").await;
    let (member, _) = app.add_member(&org, OrgRole::Member).await;
    let (_, invitation) = app.add_invitation(&org, OrgRole::Member).await;
    let workspace = app.general_workspace(&org).await;
    let product = app.add_product(&workspace, "Widget", None).await;
    let anonymous = app.new_browser();
    for (method, pattern) in ROUTES.iter().filter(|(method, _)| *method == "get") {
        let path = pattern
            .replace("{org_id}", &org)
            .replace("{member_id}", &member)
            .replace("{workspace_id}", &workspace)
            .replace("{product_id}", &product)
            .replace("{token}", &invitation)
            .replace("{path:.*}", "css/roster.css");
        for browser in [&anonymous, &owner] {
            let status = head_like_get(browser, &path, None).await;
            assert!(!status.is_server_error(), "{method} {pattern}: {status}");
        }
    }
}

#[tokio::test]
async fn head_uses_no_link_up() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let (_, token) = app.add_invitation(&org, OrgRole::Member).await;
    let newcomer_email = email("nora");
    app.new_browser()
        .sign_up("Nora", &newcomer_email, PASSWORD, "Nora Co")
        .await;
    let verify = app.outbox_link(&newcomer_email, "/verify/").await;
    let stranger = app.new_browser();
    for path in [format!("/invitations/{token}"), verify.clone()] {
        for _ in 0..2 {
            let headed = send(&stranger, Method::HEAD, &path, None).await;
            assert_eq!(headed.status(), StatusCode::OK, "HEAD {path}");
        }
    }
    // Both links still work.
    let (status, landing) = stranger.get_html(&format!("/invitations/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(landing.contains("Acme"));
    let confirmed = stranger.post_form(&verify, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL AND name = 'Nora'"
        )
        .await,
        1
    );
    drop(owner);
}

#[tokio::test]
async fn the_icon_is_served_and_linked_from_every_page() {
    let app = spawn_app().await;
    let icon = app.browser.get("/favicon.ico").await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(
        header(icon.headers(), "content-type").as_deref(),
        Some("image/x-icon")
    );
    let caching = header(icon.headers(), "cache-control").expect("cache-control");
    assert!(
        caching.contains("public") && caching.contains("max-age=604800"),
        "{caching}"
    );
    let bytes = icon.bytes().await.expect("icon");
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");

    let (_, page) = app.browser.get_html("/signin").await;
    assert!(page.contains(r#"<link rel="icon" href="/favicon.ico""#));
    let start = page
        .find("/static/favicon.svg?v=")
        .expect("the SVG icon is linked");
    let end = page[start..].find('"').expect("end of link") + start;
    let svg = app.browser.get(&page[start..end]).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(
        header(svg.headers(), "content-type").as_deref(),
        Some("image/svg+xml")
    );
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .expect("brotli"),
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .expect("gzip"),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

fn varies_on_encoding(headers: &HeaderMap) -> bool {
    header(headers, "vary").is_some_and(|vary| {
        vary.split(',')
            .filter(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
            .count()
            == 1
    })
}

/// Fetches `path` as the client accepting `encoding` would, checks the
/// encoding and `Vary`, and returns the decoded body with the ETag.
async fn fetch_encoded(
    browser: &Browser,
    path: &str,
    encoding: &str,
) -> (Vec<u8>, Option<String>, usize) {
    let response = send(browser, Method::GET, path, Some(encoding)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        header(response.headers(), "content-encoding").as_deref(),
        Some(encoding),
        "{path} as {encoding}"
    );
    assert!(varies_on_encoding(response.headers()), "Vary of {path}");
    let etag = header(response.headers(), "etag");
    let raw = response.bytes().await.expect("body");
    (decode(encoding, &raw), etag, raw.len())
}

#[tokio::test]
async fn pages_and_assets_are_compressed_as_the_client_accepts() {
    let app = spawn_app().await;
    let (owner, org) = app.signed_up("Olivia", &email("olivia"), "Acme").await;
    let members = format!("/orgs/{org}/members");
    let (_, page) = owner.get_html(&members).await;
    let css = {
        let start = page.find("/static/css/roster.css?v=").expect("stylesheet");
        let end = page[start..].find('"').expect("end") + start;
        page[start..end].to_string()
    };
    for path in [
        members.as_str(),
        "/static/vendor/htmx/htmx.min.js",
        css.as_str(),
    ] {
        let plain = send(&owner, Method::GET, path, None).await;
        assert!(header(plain.headers(), "content-encoding").is_none());
        assert!(varies_on_encoding(plain.headers()), "Vary of plain {path}");
        let plain_etag = header(plain.headers(), "etag");
        let plain = plain.bytes().await.expect("body").to_vec();
        for encoding in ["br", "gzip"] {
            let (decoded, etag, sent) = fetch_encoded(&owner, path, encoding).await;
            assert_eq!(
                decoded, plain,
                "{path} as {encoding} decodes to the same bytes"
            );
            assert!(
                sent * 2 < plain.len(),
                "{path} as {encoding}: {sent} of {}",
                plain.len()
            );
            if path.starts_with("/static/") {
                // One weak tag for every encoding of the same file.
                let etag = etag.expect("etag");
                assert!(etag.starts_with("W/\""), "{etag}");
                assert_eq!(Some(&etag), plain_etag.as_ref());
                let revalidated = owner
                    .client
                    .get(owner.url(path))
                    .header("Accept-Encoding", encoding)
                    .header("If-None-Match", &etag)
                    .send()
                    .await
                    .expect("GET");
                assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
                assert!(varies_on_encoding(revalidated.headers()));
                assert_eq!(header(revalidated.headers(), "etag"), Some(etag));
            }
        }
        // A preference for gzip is honoured.
        let (decoded, _, _) = fetch_encoded(&owner, path, "gzip").await;
        assert_eq!(decoded, plain);
        // A browser's list takes both: it gets gzip, which costs a page a
        // fraction of brotli's time and memory.
        let browser = send(&owner, Method::GET, path, Some("gzip, deflate, br, zstd")).await;
        assert_eq!(
            header(browser.headers(), "content-encoding").as_deref(),
            Some("gzip"),
            "{path}"
        );
    }

    // Small bodies and pictures go out as they are.
    for path in ["/healthz", "/favicon.ico"] {
        let response = send(&owner, Method::GET, path, Some("br, gzip")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            header(response.headers(), "content-encoding").is_none(),
            "{path} is not compressed"
        );
        assert!(varies_on_encoding(response.headers()));
    }
    let health = send(&owner, Method::GET, "/healthz", Some("gzip")).await;
    assert_eq!(health.text().await.expect("body"), "ok");
}

async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = spawn_app_with(|config| config.smtp = Some(smtp_to(port))).await;
    (app, sink)
}

#[tokio::test]
async fn every_message_has_its_own_message_id_on_the_base_urls_host() {
    let (app, sink) = app_with_sink().await;
    let ada = email("ada");
    app.new_browser()
        .sign_up("Ada", &ada, PASSWORD, "Engines")
        .await;
    app.new_browser()
        .post_form("/password/forgot", &[("email", &ada)])
        .await;
    let messages = sink.wait_for(2).await;
    let mut ids: Vec<String> = messages
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect();
    for id in &ids {
        let inner = id
            .strip_prefix('<')
            .and_then(|id| id.strip_suffix(">"))
            .expect("<id@host>");
        let (local, host) = inner.split_once('@').expect("id@host");
        assert!(uuid::Uuid::parse_str(local).is_ok(), "{id}");
        assert_eq!(host, "127.0.0.1", "the base URL's host");
    }
    ids.dedup();
    assert_eq!(ids.len(), 2, "one id per message");
}

#[tokio::test]
async fn sign_up_answers_the_same_for_a_new_and_a_taken_address() {
    let (app, sink) = app_with_sink().await;
    let grace = email("grace");
    app.signed_up("Grace Hopper", &grace, "Navy").await;
    sink.wait_for(1).await; // Grace's own verification message
    let before = (
        app.count("users").await,
        app.count("organizations").await,
        app.count("memberships").await,
        app.count("workspaces").await,
        app.count("audit_events").await,
        app.count("account_tokens").await,
    );

    let visitor = app.new_browser();
    let fresh = email("fresh");
    let form = |address: &str| {
        vec![
            ("name".to_string(), "Someone".to_string()),
            ("email".to_string(), address.to_string()),
            ("password".to_string(), PASSWORD.to_string()),
            ("org_name".to_string(), "Some Co".to_string()),
        ]
    };
    let mut answers = Vec::new();
    for address in [&fresh, &grace] {
        let fields = form(address);
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = visitor.post_form("/signup", &borrowed).await;
        let status = response.status();
        let cookies = header(response.headers(), "set-cookie");
        let body = response.text().await.expect("body");
        answers.push((status, cookies, body.replace(address.as_str(), "ADDRESS")));
    }
    assert_eq!(answers[0].0, StatusCode::OK);
    assert!(answers[0].2.contains("Check your email"));
    assert_eq!(answers[0], answers[1], "the same answer for both");

    // The new address got its account, organization and verification
    // link, and no session.
    let (status, _) = visitor.get_html("/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "sign-up signs nobody in");
    sink.wait_to(&fresh, "/verify/").await;
    // The taken one got nothing new but a message to its owner.
    assert_eq!(app.count("users").await, before.0 + 1);
    assert_eq!(app.count("organizations").await, before.1 + 1);
    assert_eq!(app.count("memberships").await, before.2 + 1);
    assert_eq!(app.count("workspaces").await, before.3 + 1);
    let fresh_audit = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{}'",
            app.owned_org(&fresh).await
        ))
        .await;
    assert_eq!(app.count("audit_events").await, before.4 + fresh_audit);
    assert_eq!(app.count("account_tokens").await, before.5 + 1);
    let notice = sink
        .wait_to(&grace, "tried to create a Roster account")
        .await;
    assert!(notice.text.contains("Hello Grace Hopper"));
    assert!(
        notice
            .text
            .contains("Subject: Someone tried to sign up to Roster with your address")
    );
    let sign_in = format!("{}/signin", app.address);
    let reset = format!("{}/password/forgot", app.address);
    assert!(notice.text.contains(&sign_in), "a sign-in link");
    assert!(notice.text.contains(&reset), "a reset link");
    let owner = app.new_browser();
    let (status, page) = owner.get_html("/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sign in"));
    let (status, page) = owner.get_html("/password/forgot").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Forgot your password?"));
    let signed_in = owner.sign_in(&grace, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE email_normalized = '{}' AND name = 'Grace Hopper'",
            grace.to_lowercase()
        ))
        .await,
        1,
        "the account is as it was"
    );

    // Asking again soon answers the same and sends no second notice.
    let fields = form(&grace.to_uppercase());
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = visitor.post_form("/signup", &borrowed).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'sign_up_attempt'")
            .await,
        1
    );
}

#[tokio::test]
async fn before_confirming_a_new_person_signs_in_with_their_password() {
    let app = spawn_app().await;
    let ada = email("ada");
    let browser = app.new_browser();
    browser.sign_up("Ada", &ada, PASSWORD, "Engines").await;
    let signed_in = browser.sign_in(&ada, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (status, account) = browser.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("not confirmed yet"));

    // The link, followed in this signed-in browser, confirms and stays.
    let verify = app.outbox_link(&ada, "/verify/").await;
    let confirmed = browser.post_form(&verify, &[]).await;
    assert_eq!(location(&confirmed), "/account");
    let (_, account) = browser.get_html("/account").await;
    assert!(account.contains("Your email address is confirmed."));
}
