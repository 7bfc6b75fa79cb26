//! GET answers for the addresses forms post to.
//!
//! A form that comes back with its messages stays at the address it was
//! posted to, so a reload, a bookmark or the back button asks that address
//! with GET. Each such address answers with the page that holds the form
//! (303 to it), never "Page not found". Organization addresses check
//! membership first, as the page itself does.

use actix_web::{HttpRequest, HttpResponse};

use super::extract::OrgCtx;
use super::render::see_other;

/// The value of a path segment, as matched by the route.
fn segment<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// `/signout`, `/auto-join/{org_id}`: home chooses the page.
pub async fn home() -> HttpResponse {
    see_other("/")
}

/// The account page's forms (password, verification, sign out everywhere).
pub async fn account() -> HttpResponse {
    see_other("/account")
}

/// `/orgs`: the new organization form.
pub async fn new_org() -> HttpResponse {
    see_other("/orgs/new")
}

/// An invitation's accept and sign-up forms: its landing page.
pub async fn invitation(req: HttpRequest) -> HttpResponse {
    see_other(&format!("/invitations/{}", segment(&req, "token")))
}

/// Resend: the Invitations page.
pub async fn invitations(ctx: OrgCtx) -> HttpResponse {
    see_other(&format!("/orgs/{}/invitations", ctx.org.id))
}

/// The bulk actions: the Members page.
pub async fn members(ctx: OrgCtx) -> HttpResponse {
    see_other(&format!("/orgs/{}/members", ctx.org.id))
}

/// Transfer and delete a workspace: its page.
pub async fn workspace(ctx: OrgCtx, req: HttpRequest) -> HttpResponse {
    see_other(&format!(
        "/orgs/{}/workspaces/{}",
        ctx.org.id,
        segment(&req, "workspace_id")
    ))
}

/// A direct role in a workspace: the workspace's people.
pub async fn workspace_people(ctx: OrgCtx, req: HttpRequest) -> HttpResponse {
    see_other(&format!(
        "/orgs/{}/workspaces/{}/members",
        ctx.org.id,
        segment(&req, "workspace_id")
    ))
}

/// A product's owner form: the product's page.
pub async fn product(ctx: OrgCtx, req: HttpRequest) -> HttpResponse {
    see_other(&format!(
        "/orgs/{}/products/{}",
        ctx.org.id,
        segment(&req, "product_id")
    ))
}

/// A member's restriction and grants: their Product Access page.
pub async fn member_products(ctx: OrgCtx, req: HttpRequest) -> HttpResponse {
    see_other(&format!(
        "/orgs/{}/product-access/{}",
        ctx.org.id,
        segment(&req, "member_id")
    ))
}

/// Auto-join, domain checks and deleting the organization: General
/// settings.
pub async fn settings(ctx: OrgCtx) -> HttpResponse {
    see_other(&format!("/orgs/{}/settings", ctx.org.id))
}

/// Revoke a key: the API keys page.
pub async fn api_keys(ctx: OrgCtx) -> HttpResponse {
    see_other(&format!("/orgs/{}/api-keys", ctx.org.id))
}

/// A role's or module's form target: the Roles page.
pub async fn roles(ctx: OrgCtx) -> HttpResponse {
    see_other(&format!("/orgs/{}/roles", ctx.org.id))
}

/// Two-factor's forms: its page.
pub async fn two_factor() -> HttpResponse {
    see_other("/account/two-factor")
}

/// Signing a member out: the member's page.
pub async fn member(ctx: OrgCtx, req: HttpRequest) -> HttpResponse {
    see_other(&format!(
        "/orgs/{}/members/{}",
        ctx.org.id,
        segment(&req, "member_id")
    ))
}
