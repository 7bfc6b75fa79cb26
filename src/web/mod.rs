//! The HTTP edge: the routes table, handlers per page, extractors, CSRF,
//! security headers, static assets and error pages. Handlers parse forms
//! into validated types and call services; they never build SQL.

pub mod account;
pub mod assets;
pub mod auth;
pub mod csrf;
pub mod errors;
pub mod extract;
pub mod format;
pub mod health;
pub mod orgs;
pub mod render;
pub mod session;
pub mod settings;
pub mod state;

use actix_web::web;

/// Every route, top to bottom. Organization pages take the tenant from the
/// `{org_id}` path segment only.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(orgs::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/signup", web::get().to(auth::signup_page))
        .route("/signup", web::post().to(auth::signup))
        .route("/signin", web::get().to(auth::signin_page))
        .route("/signin", web::post().to(auth::signin))
        .route("/signout", web::post().to(auth::signout))
        .route("/account", web::get().to(account::show))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(
            "/account/sign-out-everywhere",
            web::post().to(account::sign_out_everywhere),
        )
        .route("/orgs/new", web::get().to(orgs::new_page))
        .route("/orgs", web::post().to(orgs::create))
        .route("/orgs/{org_id}", web::get().to(orgs::show))
        .route("/orgs/{org_id}/members", web::get().to(settings::members))
        .route(
            "/orgs/{org_id}/invitations",
            web::get().to(settings::invitations),
        )
        .route(
            "/orgs/{org_id}/workspaces",
            web::get().to(settings::workspaces),
        )
        .route(
            "/orgs/{org_id}/product-access",
            web::get().to(settings::product_access),
        )
        .route("/orgs/{org_id}/settings", web::get().to(settings::general))
        .route("/orgs/{org_id}/audit", web::get().to(settings::audit));
}
