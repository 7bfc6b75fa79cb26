//! Embedded static assets and the health probes.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn assets_are_served_with_etag_and_long_caching() {
    let app = spawn_app().await;
    let (_, page) = app.browser.get_html("/signin").await;
    let start = page
        .find("/static/css/roster.css?v=")
        .expect("versioned stylesheet link");
    let end = page[start..].find('"').expect("end of link") + start;
    let href = &page[start..end];

    let response = app.browser.get(href).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/css")
    );
    assert!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("max-age=31536000"))
    );
    let etag = response.headers().get("etag").cloned().expect("etag");
    assert!(response.text().await.expect("css").contains(".badge"));

    let revalidated = app
        .browser
        .client
        .get(app.browser.url(href))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    let htmx = app.browser.get("/static/vendor/htmx/htmx.min.js").await;
    assert_eq!(htmx.status(), StatusCode::OK);
    assert!(htmx.text().await.expect("js").contains("htmx"));
    assert_eq!(
        app.browser
            .get("/static/vendor/htmx/LICENSE")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.browser.get("/static/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.browser.get("/static/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn health_probes_answer() {
    let app = spawn_app().await;
    let health = app.browser.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.browser.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.expect("body"), "ready");
}
