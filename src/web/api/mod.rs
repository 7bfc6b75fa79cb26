//! The JSON API under `/api/v1`: the same services and the same policy as
//! the pages, reached with an API key instead of the session cookie.
//! Errors are problem details (RFC 9457); the OpenAPI 3.1 document at
//! `/api/v1/openapi.json` is generated from the handlers below, and `/api`
//! renders it as a reference page.

pub mod access;
pub mod audit;
pub mod auth;
pub mod idempotency;
pub mod invitations;
pub mod members;
pub mod problem;
pub mod products;
pub mod reference;
pub mod types;
pub mod workspaces;

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use problem::{ApiError, PROBLEM_JSON, Problem};

/// Declares the API's routes once: [`API_ROUTES`] lists them (the route
/// matrix test requires a row for each) and [`configure`] registers them.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every API route as (method, path under `/api/v1`).
        pub const API_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

api_routes! {
    get "/members" => members::list,
    get "/members/{member_id}" => members::get,
    patch "/members/{member_id}" => members::change_role,
    delete "/members/{member_id}" => members::remove,
    get "/members/{member_id}/product-access" => products::access_of,
    put "/members/{member_id}/product-access" => products::set_restricted,
    put "/members/{member_id}/product-access/{product_id}" => products::set_grant,
    get "/invitations" => invitations::list,
    post "/invitations" => invitations::invite,
    post "/invitations/{invitation_id}/resend" => invitations::resend,
    delete "/invitations/{invitation_id}" => invitations::cancel,
    get "/workspaces" => workspaces::list,
    post "/workspaces" => workspaces::create,
    get "/workspaces/{workspace_id}" => workspaces::get,
    patch "/workspaces/{workspace_id}" => workspaces::update,
    delete "/workspaces/{workspace_id}" => workspaces::delete,
    get "/workspaces/{workspace_id}/people" => workspaces::people,
    put "/workspaces/{workspace_id}/people/{member_id}" => workspaces::set_role,
    delete "/workspaces/{workspace_id}/people/{member_id}" => workspaces::clear_role,
    post "/workspaces/{workspace_id}/transfer" => workspaces::transfer,
    get "/products" => products::list,
    post "/products" => products::create,
    get "/products/{product_id}" => products::get,
    patch "/products/{product_id}" => products::update,
    delete "/products/{product_id}" => products::delete,
    put "/products/{product_id}/owner" => products::set_owner,
    get "/audit-events" => audit::list,
    get "/members/{member_id}/access" => access::member,
    post "/access-checks" => access::check,
}

/// Whether a path is the API's (`/api/v1/…`), which answers in JSON and
/// authenticates with keys only.
pub fn is_api_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// Registers `/api/v1` (and the reference page at `/api`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api", web::get().to(reference::show));
    cfg.service(
        web::scope("/api/v1")
            .app_data(web::JsonConfig::default().error_handler(|err, _| {
                use actix_web::error::JsonPayloadError;
                match err {
                    JsonPayloadError::OverflowKnownLength { .. }
                    | JsonPayloadError::Overflow { .. } => ApiError::BadRequest(
                        "The body is larger than Roster reads (64 KiB).".into(),
                    ),
                    JsonPayloadError::ContentType => ApiError::BadRequest(
                        "Send the body as JSON, with Content-Type: application/json.".into(),
                    ),
                    JsonPayloadError::Deserialize(err) => ApiError::field("body", err.to_string()),
                    other => ApiError::BadRequest(format!("The body was not understood: {other}")),
                }
                .into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::BadRequest(format!("The query was not understood: {err}")).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
            .route("/openapi.json", web::get().to(openapi_json))
            .configure(register)
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let known = API_ROUTES
        .iter()
        .any(|(_, path)| path_matches(path, req.path().trim_start_matches("/api/v1")));
    if known {
        return Err(ApiError::MethodNotAllowed);
    }
    Err(ApiError::NotFound)
}

/// Whether `path` fits the route `pattern` (`{name}` matches one segment).
fn path_matches(pattern: &str, path: &str) -> bool {
    let want: Vec<&str> = pattern.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    want.len() == got.len()
        && want
            .iter()
            .zip(&got)
            .all(|(w, g)| (w.starts_with('{') && !g.is_empty()) || w == g)
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}

/// The OpenAPI document, serialized once.
pub fn document_json() -> &'static str {
    static JSON: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default());
    &JSON
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster API",
        description = "Members, invitations, workspaces, products and the audit log of one \
                       organization, with the rules of the pages. Authenticate with an API key \
                       (Settings → API keys) as `Authorization: Bearer roster_…`; the key \
                       decides the organization.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1")),
    paths(
        members::list, members::get, members::change_role, members::remove,
        products::access_of, products::set_restricted, products::set_grant,
        invitations::list, invitations::invite, invitations::resend, invitations::cancel,
        workspaces::list, workspaces::create, workspaces::get, workspaces::update,
        workspaces::delete, workspaces::people, workspaces::set_role, workspaces::clear_role,
        workspaces::transfer,
        products::list, products::create, products::get, products::update, products::delete,
        products::set_owner,
        audit::list,
        access::member, access::check,
    ),
    components(schemas(Problem, members::Sort, types::Role, types::WsRole)),
    modifiers(&BearerKey),
    security(("api_key" = []))
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("roster_…")
                    .description(Some("An organization or personal API key."))
                    .build(),
            ),
        );
    }
}

/// The problem answers every operation may give, documented once.
pub struct Errors;

impl utoipa::IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            (
                "400",
                "The request was not understood (a query or body of the wrong shape).",
            ),
            (
                "401",
                "No API key, or one that is malformed, unknown, expired or revoked.",
            ),
            ("403", "The key's roles do not allow this."),
            (
                "404",
                "No such thing in this organization (or the key may not see it).",
            ),
            ("405", "The path exists but not with this method."),
            (
                "409",
                "It changed meanwhile, or is in a state that refuses this.",
            ),
            ("422", "A field was refused; `errors` names it."),
            (
                "429",
                "Too many requests for this key (see Retry-After), or a limit was reached.",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Problem",
                        ))))
                        .build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
    }
}
