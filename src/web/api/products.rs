//! Products: list, create, get, update, delete, owner; and a member's
//! product access (restriction and grants).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::{NewOwner, id, page, search, timestamp};
use crate::domain::names::{Label, LabelKind};
use crate::domain::permission::Permission;
use crate::domain::product::Grant;
use crate::services::product_access;
use crate::services::products::{self, ListQuery, Viewer};

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: String,
    pub workspace_id: String,
    /// The owner's name; `null` for none.
    pub owner_name: Option<String>,
    /// Its owner left the organization.
    pub needs_owner: bool,
    pub created_at: String,
}

/// A product on a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductItem {
    pub id: String,
    pub name: String,
    pub workspace_id: String,
    pub workspace_name: String,
    pub owner_name: Option<String>,
    pub needs_owner: bool,
    pub created_at: String,
}

async fn viewer(ctx: &ApiCtx) -> Result<Viewer, ApiError> {
    Ok(Viewer::acting(
        &ctx.state.db.read_in(ctx.acting.tenant()).await?,
        &ctx.acting,
    )
    .await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// A fragment of the name.
    #[param(max_length = 80)]
    q: Option<String>,
    /// Only this workspace's products.
    workspace_id: Option<String>,
    /// 1-based page of 50; at most 100.
    #[param(minimum = 1, maximum = 100)]
    page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductItem>,
    pub total: u64,
    pub page: u64,
}

#[utoipa::path(get, operation_id = "products_list", path = "/products", tag = "Products", params(ListParams),
    responses((status = 200, body = ProductPage), Errors))]
/// List the products the key can see.
pub async fn list(
    ctx: ApiCtx,
    params: web::Query<ListParams>,
) -> Result<web::Json<ProductPage>, ApiError> {
    let params = params.into_inner();
    let search = search("q", params.q.as_deref(), 80)?;
    let workspace_id = match params.workspace_id.as_deref() {
        None => None,
        Some(raw) => {
            Some(id(raw).map_err(|_| ApiError::field("workspace_id", "No such workspace here."))?)
        }
    };
    let page = page(params.page)?;
    let viewer = viewer(&ctx).await?;
    let query = ListQuery {
        search,
        workspace_id,
        page,
    };
    let (rows, total) = products::list(&ctx.state.db, &viewer, &query).await?;
    Ok(web::Json(ProductPage {
        items: rows
            .into_iter()
            .map(|row| ProductItem {
                id: row.id,
                name: row.name,
                workspace_id: row.workspace_id,
                workspace_name: row.workspace_title,
                owner_name: row.owner_name,
                needs_owner: row.needs_owner,
                created_at: timestamp(row.created_at),
            })
            .collect(),
        total,
        page,
    }))
}

async fn found(ctx: &ApiCtx, product_id: &str) -> Result<Product, ApiError> {
    let viewer = viewer(ctx).await?;
    let found = products::find(&ctx.state.db, &viewer, product_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Product {
        id: found.product.id,
        name: found.product.name,
        description: found.product.description,
        workspace_id: found.product.workspace_id,
        owner_name: found.owner.map(|o| o.name),
        needs_owner: found.product.needs_owner,
        created_at: timestamp(found.product.created_at),
    })
}

#[utoipa::path(get, operation_id = "products_get", path = "/products/{product_id}", tag = "Products",
    params(("product_id" = String, Path)),
    responses((status = 200, body = Product), Errors))]
/// Get one product.
pub async fn get(ctx: ApiCtx, path: web::Path<String>) -> Result<web::Json<Product>, ApiError> {
    let product_id = id(&path)?;
    Ok(web::Json(found(&ctx, &product_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub workspace_id: String,
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

fn name_and_description(name: &str, description: &str) -> Result<(Label, String), ApiError> {
    let name =
        Label::parse(name, LabelKind::ProductName).map_err(|m| ApiError::field("name", m))?;
    let description =
        products::parse_description(description).map_err(|m| ApiError::field("description", m))?;
    Ok((name, description))
}

#[utoipa::path(post, operation_id = "products_create", path = "/products", tag = "Products", request_body = NewProduct,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer.")),
    responses((status = 201, body = Product), Errors))]
/// Create a product in a workspace.
pub async fn create(
    ctx: ApiCtx,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    super::idempotency::once(&ctx, &req, &body, async |input: NewProduct| {
        let (name, description) = name_and_description(&input.name, &input.description)?;
        let workspace_id = id(&input.workspace_id)
            .map_err(|_| ApiError::field("workspace_id", "No such workspace here."))?;
        let created = products::create(
            &ctx.state.db,
            &ctx.state.clock,
            &ctx.acting,
            &workspace_id,
            &name,
            &description,
        )
        .await?;
        Ok((StatusCode::CREATED, found(&ctx, &created.id).await?))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductChange {
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[utoipa::path(patch, operation_id = "products_update", path = "/products/{product_id}", tag = "Products",
    params(("product_id" = String, Path)), request_body = ProductChange,
    responses((status = 200, body = Product), Errors))]
/// Rename a product and set its description.
pub async fn update(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<ProductChange>,
) -> Result<web::Json<Product>, ApiError> {
    let product_id = id(&path)?;
    let (name, description) = name_and_description(&body.name, &body.description)?;
    products::update(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &product_id,
        &name,
        &description,
    )
    .await?;
    Ok(web::Json(found(&ctx, &product_id).await?))
}

#[utoipa::path(delete, operation_id = "products_delete", path = "/products/{product_id}", tag = "Products",
    params(("product_id" = String, Path)),
    responses((status = 204, description = "Deleted."), Errors))]
/// Delete a product.
pub async fn delete(ctx: ApiCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let product_id = id(&path)?;
    products::delete(&ctx.state.db, &ctx.state.clock, &ctx.acting, &product_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, operation_id = "products_set_owner", path = "/products/{product_id}/owner", tag = "Products",
    params(("product_id" = String, Path)), request_body = NewOwner,
    responses((status = 200, body = Product), Errors))]
/// Make a member the product's owner.
pub async fn set_owner(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<NewOwner>,
) -> Result<web::Json<Product>, ApiError> {
    let product_id = id(&path)?;
    products::assign_owner(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &product_id,
        &body.email,
    )
    .await
    .map_err(|e| ApiError::renamed(e, &[("owner_email", "email")]))?;
    Ok(web::Json(found(&ctx, &product_id).await?))
}

/// One product granted to a restricted member.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductGrant {
    pub product_id: String,
    pub product_name: String,
    pub workspace_name: String,
    /// `view` or `edit`.
    pub access: String,
}

/// A member's product access.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductAccess {
    pub member_id: String,
    /// Whether they see only the products granted to them (never in
    /// effect for Admins and the Owner).
    pub restricted: bool,
    /// Their grants, by product name (the first 500).
    pub grants: Vec<ProductGrant>,
    pub grants_total: u64,
}

async fn access(ctx: &ApiCtx, member_id: &str) -> Result<ProductAccess, ApiError> {
    let subject = product_access::subject(&ctx.state.db, ctx.org_id(), member_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (grants, total) =
        product_access::grants_of(&ctx.state.db, ctx.org_id(), member_id, 500).await?;
    Ok(ProductAccess {
        member_id: member_id.to_string(),
        restricted: subject.restricted(),
        grants: grants
            .into_iter()
            .map(|g| ProductGrant {
                product_id: g.product_id,
                product_name: g.name,
                workspace_name: g.workspace_title,
                access: g.access.as_str().to_string(),
            })
            .collect(),
        grants_total: total,
    })
}

#[utoipa::path(get, operation_id = "product_access_get", path = "/members/{member_id}/product-access", tag = "Product access",
    params(("member_id" = String, Path)),
    responses((status = 200, body = ProductAccess), Errors))]
/// Get a member's product access: restricted or not, and their grants.
pub async fn access_of(
    ctx: ApiCtx,
    path: web::Path<String>,
) -> Result<web::Json<ProductAccess>, ApiError> {
    ctx.require(Permission::ManageProductAccess)?;
    let member_id = id(&path)?;
    Ok(web::Json(access(&ctx, &member_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    pub restricted: bool,
}

#[utoipa::path(put, operation_id = "product_access_set_restricted", path = "/members/{member_id}/product-access", tag = "Product access",
    params(("member_id" = String, Path)), request_body = Restriction,
    responses((status = 200, body = ProductAccess), Errors))]
/// Restrict a member to the products granted to them, or lift it.
pub async fn set_restricted(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<Restriction>,
) -> Result<web::Json<ProductAccess>, ApiError> {
    let member_id = id(&path)?;
    product_access::set_restricted(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &member_id,
        body.restricted,
    )
    .await?;
    Ok(web::Json(access(&ctx, &member_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantChange {
    /// `none`, `view` or `edit`.
    pub access: String,
}

#[utoipa::path(put, operation_id = "product_access_set_grant", path = "/members/{member_id}/product-access/{product_id}", tag = "Product access",
    params(("member_id" = String, Path), ("product_id" = String, Path)), request_body = GrantChange,
    responses((status = 200, body = ProductAccess), Errors))]
/// Grant a restricted member View or Edit on one product, or take it away (none).
pub async fn set_grant(
    ctx: ApiCtx,
    path: web::Path<(String, String)>,
    body: web::Json<GrantChange>,
) -> Result<web::Json<ProductAccess>, ApiError> {
    let (member_id, product_id) = (id(&path.0)?, id(&path.1)?);
    let grant = Grant::parse(&body.access).map_err(|e| ApiError::field("access", e.to_string()))?;
    product_access::set_grant(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &member_id,
        &product_id,
        grant,
    )
    .await?;
    Ok(web::Json(access(&ctx, &member_id).await?))
}
