//! The API's documents: the OpenAPI 3.1 document generated from the code
//! lists every route the API serves, and `/api` renders it as a page in
//! Roster's own layout (no outside script or style).

use reqwest::StatusCode;
use roster::web::api::API_ROUTES;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_openapi_document_lists_every_api_route() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/api/v1/openapi.json", app.address))
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in API_ROUTES {
        let operation = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not in the document"))[*method];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the document"
        );
        for status in ["401", "403", "404", "422", "429"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} does not document {status}"
            );
        }
    }
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(documented, API_ROUTES.len(), "no operation without a route");
}

#[tokio::test]
async fn the_reference_page_renders_the_document_in_roster_s_layout() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/api", app.address))
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = response.text().await.expect("body");
    assert!(page.contains("Roster API reference"), "{page}");
    for (method, path) in API_ROUTES {
        let shown = format!("{} /api/v1{path}", method.to_uppercase());
        assert!(page.contains(&shown), "{shown} is not on the page");
    }
    assert!(page.contains("application/problem+json"));
    assert!(page.contains("Idempotency-Key"));
    assert!(!page.contains("<script src=\"http"), "no outside script");
    assert!(!page.contains("<link rel=\"stylesheet\" href=\"http"));
}

#[tokio::test]
async fn every_operation_has_a_unique_id_and_a_summary() {
    let app = spawn_app().await;
    let text = reqwest::get(format!("{}/api/v1/openapi.json", app.address))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_string()),
                "{method} {path}: operationId {id} twice"
            );
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
        }
    }
}
