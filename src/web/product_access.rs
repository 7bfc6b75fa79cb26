//! Settings → Product Access: pick a member, restrict them to the products
//! granted to them, and set None / View / Edit per product (in place by
//! htmx, or by plain form), or View on a whole workspace at once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{Htmx, OrgCtx};
use super::products::{ProductsQuery, page_href};
use super::render::{Layout, Section, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::domain::product::Grant;
use crate::entities::workspace;
use crate::services::error::ServiceError;
use crate::services::members::{self, MemberQuery, MemberRow};
use crate::services::product_access::{
    self, GrantRow, MemberAccess, NEVER_RESTRICTED, Subject, Summary,
};
use crate::services::products::PER_PAGE;

/// The picker's query: `q` (name or email fragment), `page`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PickerQuery {
    pub q: String,
    pub page: Option<u64>,
}

pub struct PickerRow {
    pub member: MemberRow,
    pub summary: Summary,
}

impl PickerRow {
    /// "All products", "Restricted: 3 products", or why it cannot be.
    pub fn status(&self) -> String {
        super::format::product_access(self.member.role, self.summary)
    }
}

#[derive(Template)]
#[template(path = "product_access.html")]
struct PickerPage {
    layout: Layout,
    org_id: String,
    rows: Vec<PickerRow>,
    total: u64,
    page: u64,
    pages: u64,
    search: String,
    prev_href: String,
    next_href: String,
}

fn picker_href(search: &str, page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !search.is_empty() {
        pairs.push(("q", search.to_string()));
    }
    pairs.push(("page", page.to_string()));
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// Members, 50 a page, each with their product access and a link to
/// manage it.
pub async fn picker(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<PickerQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageProductAccess)?;
    let search = query.q.trim().to_lowercase();
    if search.chars().count() > 100 {
        return Err(AppError::bad_request(
            "The search is too long; use at most 100 characters.",
        ));
    }
    let page_number = super::render::offset_page(query.page)?;
    let (rows, total) = members::list(
        &state.db,
        &ctx.org.id,
        &MemberQuery {
            search: (!search.is_empty()).then(|| search.clone()),
            page: page_number,
            ..MemberQuery::default()
        },
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.membership_id.clone()).collect();
    let summaries = product_access::summaries(&state.db, &ctx.org.id, &ids).await?;
    let rows = rows
        .into_iter()
        .map(|member| {
            let summary = summaries
                .iter()
                .find(|(id, _)| *id == member.membership_id)
                .map(|(_, s)| *s)
                .unwrap_or_default();
            PickerRow { member, summary }
        })
        .collect();
    html(
        StatusCode::OK,
        &PickerPage {
            layout: Layout::org(&ctx, Section::ProductAccess, "Product Access"),
            org_id: ctx.org.id.clone(),
            rows,
            total,
            page: page_number,
            pages: super::render::offset_pages(total, members::PER_PAGE),
            prev_href: picker_href(&search, page_number.saturating_sub(1).max(1)),
            next_href: picker_href(&search, page_number + 1),
            search,
        },
    )
}

/// A product's row on a member's page, with what they may do.
pub struct GrantView {
    pub row: GrantRow,
}

impl GrantView {
    pub fn selected(&self, value: &str) -> bool {
        self.row.grant.map_or("none", Grant::as_str) == value
    }

    /// What the grant amounts to, when it differs from its words.
    pub fn note(&self) -> &'static str {
        let effective = self.row.effective;
        match self.row.grant {
            Some(_) if !effective.view => "No access to this workspace",
            Some(Grant::Edit) if !effective.edit => "View only: their role does not allow editing",
            _ => "",
        }
    }
}

#[derive(Template)]
#[template(path = "product_access_member.html")]
struct MemberPage {
    layout: Layout,
    csrf: String,
    org_id: String,
    subject: Subject,
    restrictable: bool,
    restricted: bool,
    never_restricted: &'static str,
    rows: Vec<GrantView>,
    total: u64,
    page: u64,
    pages: u64,
    search: String,
    workspace_filter: String,
    workspaces: Vec<(String, String)>,
    prev_href: String,
    next_href: String,
}

async fn subject(state: &AppState, ctx: &OrgCtx, membership_id: &str) -> Result<Subject, AppError> {
    ctx.require(Permission::ManageProductAccess)?;
    product_access::subject(&state.db, &ctx.org.id, membership_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One member's access: the restriction switch and, while restricted,
/// every product with None / View / Edit.
pub async fn member(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ProductsQuery>,
) -> Result<HttpResponse, AppError> {
    let membership_id = &path.1;
    let validated = query.validate();
    // The member and their page, read in the session's round trip where
    // they can be (SQLite), before the person's roles are known; nothing
    // of it is shown until the check below passes.
    let along = match (&validated, OrgCtx::org_id_of(&req)) {
        (Ok(query), Some(org_id)) => {
            product_access::member_access_along(&state.db, &org_id, membership_id, query)
        }
        _ => None,
    };
    let (ctx, along) = OrgCtx::with_page(&req, along).await?;
    ctx.require(Permission::ManageProductAccess)?;
    let found = match along {
        Some(read) => product_access::member_access_from_along(&read)?,
        None => match validated {
            Ok(ref query) => {
                product_access::member_access(&state.db, &ctx.org.id, membership_id, query).await?
            }
            Err(err) => {
                // An unknown member is not found, whatever the query.
                subject(&state, &ctx, membership_id).await?;
                return Err(err);
            }
        },
    };
    let MemberAccess {
        subject,
        rows,
        total,
        workspaces,
    } = found.ok_or(AppError::NotFound)?;
    let query = validated?;
    let restricted = subject.restricted();
    let layout = Layout::org(
        &ctx,
        Section::ProductAccess,
        &format!("Product access of {}", subject.person.name),
    );
    html(
        StatusCode::OK,
        &MemberPage {
            csrf: layout.csrf.clone(),
            layout,
            org_id: ctx.org.id.clone(),
            restrictable: product_access::restrictable(subject.membership.role),
            restricted,
            never_restricted: NEVER_RESTRICTED,
            subject,
            rows: rows.into_iter().map(|row| GrantView { row }).collect(),
            total,
            page: query.page,
            pages: super::render::offset_pages(total, PER_PAGE),
            search: query.search.clone().unwrap_or_default(),
            workspace_filter: query.workspace_id.clone().unwrap_or_default(),
            workspaces,
            prev_href: page_href(&query, query.page.saturating_sub(1).max(1)),
            next_href: page_href(&query, query.page + 1),
        },
    )
}

fn member_href(ctx: &OrgCtx, membership_id: &str) -> String {
    format!("/orgs/{}/product-access/{membership_id}", ctx.org.id)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RestrictForm {
    /// `on` or `off`.
    pub restricted: String,
}

pub async fn restrict(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<RestrictForm>,
) -> Result<HttpResponse, AppError> {
    let on = match form.restricted.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(AppError::bad_request("Choose on or off.")),
    };
    let subject = subject(&state, &ctx, &path.1).await?;
    match product_access::set_restricted(
        &state.db,
        &state.clock,
        &ctx.acting(),
        &subject.membership.id,
        on,
    )
    .await
    {
        Ok(()) => {}
        Err(ServiceError::Invalid(invalid)) => {
            return Err(AppError::Conflict(invalid.message));
        }
        Err(err) => return Err(err.into()),
    }
    let message = if on {
        format!(
            "{} now sees only the products granted below.",
            subject.person.name
        )
    } else {
        format!("{} sees every product again.", subject.person.name)
    };
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&member_href(&ctx, &subject.membership.id)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GrantForm {
    /// `none`, `view` or `edit`.
    pub access: String,
}

#[derive(Template)]
#[template(path = "partials/product_grant_changed.html")]
struct GrantChanged {
    csrf: String,
    org_id: String,
    subject: Subject,
    r: GrantView,
    message: String,
}

pub async fn set_grant(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String, String)>,
    form: web::Form<GrantForm>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (_, membership_id, product_id) = path.into_inner();
    let grant = Grant::parse(&form.access).map_err(|err| AppError::bad_request(err.to_string()))?;
    let subject = subject(&state, &ctx, &membership_id).await?;
    product_access::set_grant(
        &state.db,
        &state.clock,
        &ctx.acting(),
        &membership_id,
        &product_id,
        grant,
    )
    .await?;
    let row = product_access::grant_row(&state.db, &subject, &product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = match grant {
        Some(g) => format!(
            "{} can now {} {}.",
            subject.person.name,
            g.as_str(),
            row.product.name
        ),
        None => format!(
            "{} no longer has access to {}.",
            subject.person.name, row.product.name
        ),
    };
    if htmx.0 {
        return page(&GrantChanged {
            csrf: session::csrf_token(ctx.session()),
            org_id: ctx.org.id.clone(),
            subject,
            r: GrantView { row },
            message,
        });
    }
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&member_href(&ctx, &membership_id)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BulkForm {
    pub workspace_id: String,
}

/// Grants View on every product of a workspace that has no grant yet.
pub async fn bulk_view(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<BulkForm>,
) -> Result<HttpResponse, AppError> {
    let subject = subject(&state, &ctx, &path.1).await?;
    let (ws, added): (workspace::Model, u64) = product_access::grant_view_on_workspace(
        &state.db,
        &state.clock,
        &ctx.acting(),
        &subject.membership.id,
        &form.workspace_id,
    )
    .await?;
    let message = match added {
        0 => format!(
            "{} already had access to every product of {}.",
            subject.person.name, ws.title
        ),
        1 => format!(
            "{} can now view 1 more product of {}.",
            subject.person.name, ws.title
        ),
        n => format!(
            "{} can now view {n} more products of {}.",
            subject.person.name, ws.title
        ),
    };
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&format!(
        "{}?{}",
        member_href(&ctx, &subject.membership.id),
        serde_urlencoded::to_string([("workspace", ws.id.as_str())]).unwrap_or_default()
    )))
}
