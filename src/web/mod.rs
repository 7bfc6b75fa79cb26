//! The HTTP edge: the routes table, handlers per page, extractors, CSRF,
//! security headers, static assets and error pages. Handlers parse forms
//! into validated types and call services; they never build SQL.

pub mod access_review;
pub mod account;
pub mod account_links;
pub mod api;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod compression;
pub mod csrf;
pub mod csv;
pub mod errors;
pub mod extract;
pub mod form_pages;
pub mod format;
pub mod health;
pub mod in_flight;
pub mod invitations;
pub mod join;
pub mod member_roles;
pub mod members;
pub mod members_bulk;
pub mod nul;
pub mod orgs;
pub mod password_slot;
pub mod product_access;
pub mod products;
pub mod render;
pub mod role_help;
pub mod roles;
pub mod security;
pub mod session;
pub mod settings;
pub mod state;
pub mod two_factor;
pub mod workspaces;

use actix_web::{Route, guard, web};

/// Declares the routes once: [`ROUTES`] lists them (the authorization
/// matrix test requires a row for each) and [`routes`] registers them.
/// A `get` route answers HEAD too (see [`get`]).
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every route as (method, path pattern), in registration order.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers every route. Organization pages take the tenant from
        /// the `{org_id}` path segment only.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            register(cfg, vec![$(($path, $method().to($handler))),*]);
        }
    };
}

/// The prefix of every organization page.
const ORG_PREFIX: &str = "/orgs/{org_id}";

/// Registers `table` in order, the organization pages in one scope and,
/// within it, one scope per section (`/members`, `/products`, …).
///
/// The router tries resources in order and matches each pattern with a
/// segment (`{org_id}`) by a regular expression: registered flat, a request
/// for a page late in the table ran some hundred of them first, a tenth of
/// the products page's time. Scoped, the organization's segment is matched
/// once and a section by plain comparison. The order of the routes within
/// a section is kept; the scope follows the routes outside it, none of
/// which could match an organization page's path.
fn register(cfg: &mut web::ServiceConfig, table: Vec<(&'static str, Route)>) {
    let mut org = web::scope(ORG_PREFIX);
    // Sections in the order their first route appears.
    let mut sections: Vec<(&'static str, actix_web::Scope)> = Vec::new();
    for (path, route) in table {
        let Some(rest) = path
            .strip_prefix(ORG_PREFIX)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        else {
            cfg.route(path, route);
            continue;
        };
        let (section, inner) = match rest.get(1..).and_then(|r| r.find('/')) {
            Some(at) => rest.split_at(at + 1),
            None => (rest, ""),
        };
        if section.is_empty() || section.contains('{') {
            org = org.route(rest, route);
            continue;
        }
        match sections.iter().position(|(name, _)| *name == section) {
            Some(at) => {
                let (name, scope) = sections.remove(at);
                sections.insert(at, (name, scope.route(inner, route)));
            }
            None => sections.push((section, web::scope(section).route(inner, route))),
        }
    }
    for (_, scope) in sections {
        org = org.service(scope);
    }
    cfg.service(org);
}

/// A page or file: GET, and HEAD with the same handler (monitors and link
/// checkers ask with HEAD). The server sends a HEAD answer's status and
/// headers without its body; GET handlers change nothing, so answering
/// HEAD the same way has no effect either.
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A form's target: POST only.
fn post() -> Route {
    web::post()
}

route_table! {
    get "/" => orgs::home,
    get "/healthz" => health::healthz,
    get "/readyz" => health::readyz,
    get "/static/{path:.*}" => assets::serve,
    get "/favicon.ico" => assets::favicon,
    get "/signup" => auth::signup_page,
    post "/signup" => auth::signup,
    get "/signin" => auth::signin_page,
    post "/signin" => auth::signin,
    get "/signin/two-factor" => auth::second_factor_page,
    post "/signin/two-factor" => auth::second_factor,
    post "/signout" => auth::signout,
    get "/signout" => form_pages::home,
    get "/password/forgot" => account_links::forgot_page,
    post "/password/forgot" => account_links::forgot,
    get "/password/reset/{token}" => account_links::reset_page,
    post "/password/reset/{token}" => account_links::reset,
    get "/verify/{token}" => account_links::verify_page,
    post "/verify/{token}" => account_links::verify,
    post "/account/verify" => account_links::resend_verification,
    get "/account/verify" => form_pages::account,
    post "/auto-join/{org_id}" => account_links::auto_join,
    get "/auto-join/{org_id}" => form_pages::home,
    get "/account" => account::show,
    post "/account/password" => account::change_password,
    post "/account/name" => account::change_name,
    get "/account/name" => form_pages::account,
    post "/account/email" => account::change_email,
    get "/account/email" => form_pages::account,
    get "/account/email/{token}" => account::confirm_email_page,
    post "/account/email/{token}" => account::confirm_email,
    get "/account/password" => form_pages::account,
    post "/account/sign-out-everywhere" => account::sign_out_everywhere,
    get "/account/sign-out-everywhere" => form_pages::account,
    post "/account/sessions/end-others" => account::end_other_sessions,
    get "/account/sessions/end-others" => form_pages::account,
    post "/account/sessions/{session_id}/end" => account::end_session,
    get "/account/sessions/{session_id}/end" => form_pages::account,
    get "/account/security" => account::security_log,
    get "/account/two-factor" => two_factor::show,
    post "/account/two-factor" => two_factor::confirm,
    post "/account/two-factor/disable" => two_factor::disable,
    get "/account/two-factor/disable" => form_pages::two_factor,
    post "/account/two-factor/recovery-codes" => two_factor::renew_codes,
    get "/account/two-factor/recovery-codes" => form_pages::two_factor,
    get "/orgs/new" => orgs::new_page,
    post "/orgs" => orgs::create,
    get "/orgs" => form_pages::new_org,
    get "/orgs/{org_id}" => orgs::show,
    get "/orgs/{org_id}/members" => members::list,
    post "/orgs/{org_id}/members/bulk" => members_bulk::review_or_apply,
    get "/orgs/{org_id}/members/bulk" => form_pages::members,
    get "/orgs/{org_id}/members/{member_id}" => members::show,
    get "/orgs/{org_id}/members/{member_id}/role" => members::edit_role,
    post "/orgs/{org_id}/members/{member_id}/role" => members::change_role,
    get "/orgs/{org_id}/members/{member_id}/roles" => member_roles::show,
    post "/orgs/{org_id}/members/{member_id}/roles" => member_roles::save,
    post "/orgs/{org_id}/members/{member_id}/sign-out" => security::sign_member_out,
    get "/orgs/{org_id}/members/{member_id}/sign-out" => form_pages::member,
    get "/orgs/{org_id}/members/{member_id}/remove" => members::confirm_remove,
    post "/orgs/{org_id}/members/{member_id}/remove" => members::remove,
    get "/orgs/{org_id}/leave" => members::confirm_leave,
    post "/orgs/{org_id}/leave" => members::leave,
    get "/orgs/{org_id}/transfer" => members::transfer_form,
    post "/orgs/{org_id}/transfer" => members::transfer,
    get "/orgs/{org_id}/invitations" => invitations::list,
    post "/orgs/{org_id}/invitations" => invitations::send,
    post "/orgs/{org_id}/invitations/{invitation_id}/resend" => invitations::resend,
    get "/orgs/{org_id}/invitations/{invitation_id}/resend" => form_pages::invitations,
    get "/orgs/{org_id}/invitations/{invitation_id}/cancel" => invitations::confirm_cancel,
    post "/orgs/{org_id}/invitations/{invitation_id}/cancel" => invitations::cancel,
    post "/orgs/{org_id}/invitations/{invitation_id}/link" => invitations::copy_link,
    get "/orgs/{org_id}/invitations/{invitation_id}/link" => form_pages::invitations,
    get "/orgs/{org_id}/mailbox" => invitations::mailbox,
    get "/invitations/{token}" => join::landing,
    post "/invitations/{token}/accept" => join::accept,
    get "/invitations/{token}/accept" => form_pages::invitation,
    post "/invitations/{token}/signup" => join::signup,
    get "/invitations/{token}/signup" => form_pages::invitation,
    get "/orgs/{org_id}/workspaces" => workspaces::list,
    post "/orgs/{org_id}/workspaces" => workspaces::create,
    get "/orgs/{org_id}/workspaces/{workspace_id}" => workspaces::show,
    post "/orgs/{org_id}/workspaces/{workspace_id}" => workspaces::update,
    post "/orgs/{org_id}/workspaces/{workspace_id}/transfer" => workspaces::transfer,
    get "/orgs/{org_id}/workspaces/{workspace_id}/transfer" => form_pages::workspace,
    post "/orgs/{org_id}/workspaces/{workspace_id}/delete" => workspaces::delete,
    get "/orgs/{org_id}/workspaces/{workspace_id}/delete" => form_pages::workspace,
    get "/orgs/{org_id}/workspaces/{workspace_id}/move" => workspaces::move_form,
    post "/orgs/{org_id}/workspaces/{workspace_id}/move" => workspaces::move_workspace,
    get "/orgs/{org_id}/workspaces/{workspace_id}/members" => workspaces::members,
    post "/orgs/{org_id}/workspaces/{workspace_id}/invitations" => workspaces::invite,
    get "/orgs/{org_id}/workspaces/{workspace_id}/invitations" => form_pages::workspace_people,
    post "/orgs/{org_id}/workspaces/{workspace_id}/members/{member_id}/role" => workspaces::set_role,
    get "/orgs/{org_id}/workspaces/{workspace_id}/members/{member_id}/role" => form_pages::workspace_people,
    get "/orgs/{org_id}/products" => products::list,
    post "/orgs/{org_id}/products" => products::create,
    get "/orgs/{org_id}/products/{product_id}" => products::show,
    post "/orgs/{org_id}/products/{product_id}" => products::update,
    post "/orgs/{org_id}/products/{product_id}/owner" => products::assign_owner,
    get "/orgs/{org_id}/products/{product_id}/owner" => form_pages::product,
    get "/orgs/{org_id}/products/{product_id}/delete" => products::confirm_delete,
    post "/orgs/{org_id}/products/{product_id}/delete" => products::delete,
    get "/orgs/{org_id}/product-access" => product_access::picker,
    get "/orgs/{org_id}/product-access/{member_id}" => product_access::member,
    post "/orgs/{org_id}/product-access/{member_id}/restrict" => product_access::restrict,
    get "/orgs/{org_id}/product-access/{member_id}/restrict" => form_pages::member_products,
    post "/orgs/{org_id}/product-access/{member_id}/products/{product_id}" => product_access::set_grant,
    get "/orgs/{org_id}/product-access/{member_id}/products/{product_id}" => form_pages::member_products,
    post "/orgs/{org_id}/product-access/{member_id}/bulk" => product_access::bulk_view,
    get "/orgs/{org_id}/product-access/{member_id}/bulk" => form_pages::member_products,
    get "/orgs/{org_id}/settings" => settings::general,
    post "/orgs/{org_id}/settings" => settings::update_general,
    post "/orgs/{org_id}/settings/auto-join" => settings::update_auto_join,
    get "/orgs/{org_id}/settings/auto-join" => form_pages::settings,
    post "/orgs/{org_id}/settings/auto-join/{domain_id}/check" => settings::check_domain,
    get "/orgs/{org_id}/settings/auto-join/{domain_id}/check" => form_pages::settings,
    get "/orgs/{org_id}/settings/security" => security::show,
    post "/orgs/{org_id}/settings/security" => security::save,
    post "/orgs/{org_id}/delete" => settings::delete_org,
    get "/orgs/{org_id}/delete" => form_pages::settings,
    get "/orgs/{org_id}/audit" => audit::log,
    get "/orgs/{org_id}/audit.csv" => audit::export,
    get "/orgs/{org_id}/access-review" => access_review::review,
    get "/orgs/{org_id}/access-review.csv" => access_review::export,
    get "/orgs/{org_id}/roles" => roles::list,
    post "/orgs/{org_id}/roles" => roles::create,
    post "/orgs/{org_id}/roles/templates/{template}" => roles::from_template,
    get "/orgs/{org_id}/roles/templates/{template}" => form_pages::roles,
    get "/orgs/{org_id}/roles/{role_id}" => roles::show,
    post "/orgs/{org_id}/roles/{role_id}" => roles::update,
    post "/orgs/{org_id}/roles/{role_id}/delete" => roles::delete,
    get "/orgs/{org_id}/roles/{role_id}/delete" => form_pages::roles,
    post "/orgs/{org_id}/modules" => roles::add_module,
    get "/orgs/{org_id}/modules" => form_pages::roles,
    post "/orgs/{org_id}/modules/{module_id}/delete" => roles::remove_module,
    get "/orgs/{org_id}/modules/{module_id}/delete" => form_pages::roles,
    get "/orgs/{org_id}/api-keys" => api_keys::list,
    post "/orgs/{org_id}/api-keys" => api_keys::create,
    post "/orgs/{org_id}/api-keys/{key_id}/revoke" => api_keys::revoke,
    get "/orgs/{org_id}/api-keys/{key_id}/revoke" => form_pages::api_keys,
}
