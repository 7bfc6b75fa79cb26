//! Products: the list (search, workspace filter, 50 a page), adding a
//! product, a product's page (details, owner, delete). Every page shows
//! only what the person may see; a hidden product answers 404.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::format;
use super::render::{FieldErrors, Layout, Section, html, saved, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::{Label, LabelKind};
use crate::domain::policy::{self, Action, Denied, ProductAction, Roles};
use crate::domain::product::Grant;
use crate::domain::workspace::WsPermission;
use crate::entities::{product, workspace};
use crate::services::error::ServiceError;
use crate::services::products::{self, Found, ListQuery, PER_PAGE, ProductRow, Viewer};

/// The query of a product list: `q` (name fragment), `workspace`, `page`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductsQuery {
    pub q: String,
    pub workspace: String,
    pub page: Option<u64>,
}

impl ProductsQuery {
    pub fn validate(&self) -> Result<ListQuery, AppError> {
        let search = self.q.trim().to_lowercase();
        if search.chars().count() > products::MAX_NAME_CHARS {
            return Err(AppError::bad_request(
                "The search is too long; use at most 120 characters.",
            ));
        }
        let workspace = self.workspace.trim();
        if workspace.len() > 64 {
            return Err(AppError::bad_request("Unknown workspace."));
        }
        Ok(ListQuery {
            search: (!search.is_empty()).then_some(search),
            workspace_id: (!workspace.is_empty()).then(|| workspace.to_string()),
            page: super::render::offset_page(self.page)?,
        })
    }
}

/// `?q=…&workspace=…&page=N` for a list's pager.
pub fn page_href(query: &ListQuery, page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(search) = &query.search {
        pairs.push(("q", search.clone()));
    }
    if let Some(workspace) = &query.workspace_id {
        pairs.push(("workspace", workspace.clone()));
    }
    pairs.push(("page", page.to_string()));
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

pub struct ProductView {
    pub row: ProductRow,
}

impl ProductView {
    pub fn created(&self) -> String {
        format::date(self.row.created_at)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductForm {
    pub workspace_id: String,
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    layout: Layout,
    org_id: String,
    products: Vec<ProductView>,
    total: u64,
    page: u64,
    pages: u64,
    search: String,
    workspace_filter: String,
    /// Workspaces the person sees, for the filter.
    workspaces: Vec<workspace::Model>,
    /// Workspaces where the person may add products (empty: no form).
    creatable: Vec<workspace::Model>,
    restricted: bool,
    prev_href: String,
    next_href: String,
    form: ProductForm,
    errors: FieldErrors,
}

fn viewer(ctx: &OrgCtx) -> Viewer {
    Viewer::of(&ctx.membership)
}

async fn list_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    query: ListQuery,
    form: ProductForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let viewer = viewer(ctx);
    let (rows, total) = products::list(&state.db, &viewer, &query).await?;
    let visible = products::visible_workspaces(&state.db, &viewer).await?;
    let creatable = visible
        .iter()
        .filter(|(_, access)| {
            let roles = Roles::in_workspace(access.org_role, access.direct);
            policy::allows(roles, Action::InWorkspace(WsPermission::EditProducts))
        })
        .map(|(w, _)| w.clone())
        .collect();
    let workspaces = visible.into_iter().map(|(w, _)| w).collect();
    html(
        status,
        &ProductsPage {
            layout: Layout::org(ctx, Section::Products, "Products"),
            org_id: ctx.org.id.clone(),
            products: rows.into_iter().map(|row| ProductView { row }).collect(),
            total,
            page: query.page,
            pages: super::render::offset_pages(total, PER_PAGE),
            search: query.search.clone().unwrap_or_default(),
            workspace_filter: query.workspace_id.clone().unwrap_or_default(),
            workspaces,
            creatable,
            restricted: viewer.restricted,
            prev_href: page_href(&query, query.page.saturating_sub(1).max(1)),
            next_href: page_href(&query, query.page + 1),
            form,
            errors,
        },
    )
}

/// The products of the workspaces the person can see (only those granted
/// to them when restricted).
pub async fn list(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<ProductsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.validate()?;
    list_page(
        &state,
        &ctx,
        StatusCode::OK,
        query,
        ProductForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// Validated name and description, or the form's messages.
fn validate(form: &ProductForm) -> Result<(Label, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = Label::parse(&form.name, LabelKind::ProductName)
        .map_err(|e| errors.add("name", e))
        .ok();
    let description = products::parse_description(&form.description)
        .map_err(|e| errors.add("description", e))
        .ok();
    match (name, description) {
        (Some(name), Some(description)) => Ok((name, description)),
        _ => Err(errors),
    }
}

/// "Product NAME is ready." (or saved), and the product's page.
fn product_saved(ctx: &OrgCtx, saved: product::Model, how: &str) -> (String, String) {
    (
        format!("Product {} is {how}.", saved.name),
        format!("/orgs/{}/products/{}", ctx.org.id, saved.id),
    )
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<ProductForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    // Refused before the form is read, as the page offers no form then.
    if !products::may_add_somewhere(&state.db.read_in(ctx.tenant()).await?, &viewer(&ctx)).await? {
        return Err(Denied::NoWorkspaceForProducts.into());
    }
    let errors = match validate(&form) {
        Ok((name, description)) => {
            let acting = ctx.acting();
            let created = products::create(
                &state.db,
                &state.clock,
                &acting,
                &form.workspace_id,
                &name,
                &description,
            )
            .await;
            match saved(ctx.session(), created, |p| product_saved(&ctx, p, "ready"))? {
                Ok(done) => return Ok(done),
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    list_page(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        ListQuery {
            page: 1,
            ..ListQuery::default()
        },
        form,
        errors,
    )
    .await
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    layout: Layout,
    org_id: String,
    found: Found,
    form: ProductForm,
    errors: FieldErrors,
    owner_email: String,
    owner_errors: FieldErrors,
}

impl ProductPage {
    pub fn created(&self) -> String {
        format::date(self.found.product.created_at)
    }

    pub fn updated(&self) -> String {
        format::date(self.found.product.updated_at)
    }

    /// The person's access in words.
    pub fn access_label(&self) -> &'static str {
        let rights = self.found.rights();
        match self.found.grant {
            Some(Grant::View) => "View only (granted to you)",
            Some(Grant::Edit) if rights.edit => "Edit (granted to you)",
            Some(Grant::Edit) => "View only: your role does not allow editing",
            None if rights.delete => "Edit and delete",
            None if rights.edit => "Edit",
            None => "View only",
        }
    }
}

/// Which form of the page comes back with messages.
enum PageErrors {
    None,
    Details(ProductForm, FieldErrors),
    Owner(String, FieldErrors),
}

async fn found(state: &AppState, ctx: &OrgCtx, product_id: &str) -> Result<Found, AppError> {
    products::find(&state.db, &viewer(ctx), product_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn product_page(
    ctx: &OrgCtx,
    status: StatusCode,
    found: Found,
    errors: PageErrors,
) -> Result<HttpResponse, AppError> {
    let details = ProductForm {
        workspace_id: found.product.workspace_id.clone(),
        name: found.product.name.clone(),
        description: found.product.description.clone(),
    };
    let (form, errors, owner_email, owner_errors) = match errors {
        PageErrors::None => (
            details,
            FieldErrors::default(),
            String::new(),
            FieldErrors::default(),
        ),
        PageErrors::Details(form, e) => (form, e, String::new(), FieldErrors::default()),
        PageErrors::Owner(email, e) => (details, FieldErrors::default(), email, e),
    };
    html(
        status,
        &ProductPage {
            layout: Layout::org(ctx, Section::Products, &found.product.name),
            org_id: ctx.org.id.clone(),
            found,
            form,
            errors,
            owner_email,
            owner_errors,
        },
    )
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let found = found(&state, &ctx, &path.1).await?;
    product_page(&ctx, StatusCode::OK, found, PageErrors::None)
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<ProductForm>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    policy::authorize(target.roles, Action::OnProduct(ProductAction::Edit))?;
    let form = form.into_inner();
    let errors = match validate(&form) {
        Ok((name, description)) => {
            let acting = ctx.acting();
            let updated = products::update(
                &state.db,
                &state.clock,
                &acting,
                &path.1,
                &name,
                &description,
            )
            .await;
            match saved(ctx.session(), updated, |p| product_saved(&ctx, p, "saved"))? {
                Ok(done) => return Ok(done),
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    product_page(
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        target,
        PageErrors::Details(form, errors),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnerForm {
    pub email: String,
}

/// A workspace Admin (or the organization's Admins and Owner) chooses who
/// owns the product.
pub async fn assign_owner(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<OwnerForm>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    policy::authorize(target.roles, Action::OnProduct(ProductAction::AssignOwner))?;
    if form.email.chars().count() > 320 {
        return Err(AppError::bad_request("That email address is too long."));
    }
    match products::assign_owner(&state.db, &state.clock, &ctx.acting(), &path.1, &form.email).await
    {
        Ok((product, owner)) => {
            session::flash(
                ctx.session(),
                "success",
                format!("{owner} now owns {}.", product.name),
            );
            Ok(see_other(&format!(
                "/orgs/{}/products/{}",
                ctx.org.id, product.id
            )))
        }
        Err(ServiceError::Invalid(invalid)) => {
            let errors = invalid.into();
            product_page(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                target,
                PageErrors::Owner(form.email.clone(), errors),
            )
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "product_delete.html")]
struct DeletePage {
    layout: Layout,
    org_id: String,
    found: Found,
}

/// "Delete this product?" with what goes with it.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let found = found(&state, &ctx, &path.1).await?;
    policy::authorize(found.roles, Action::OnProduct(ProductAction::Delete))?;
    html(
        StatusCode::OK,
        &DeletePage {
            layout: Layout::org(
                &ctx,
                Section::Products,
                &format!("Delete {}", found.product.name),
            ),
            org_id: ctx.org.id.clone(),
            found,
        },
    )
}

pub async fn delete(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    policy::authorize(target.roles, Action::OnProduct(ProductAction::Delete))?;
    let deleted = products::delete(&state.db, &state.clock, &ctx.acting(), &path.1).await?;
    session::flash(
        ctx.session(),
        "success",
        format!("Product {} has been deleted.", deleted.name),
    );
    Ok(see_other(&format!("/orgs/{}/products", ctx.org.id)))
}
