//! Members: list (cursor pages, search, role filter, sort), get, change
//! role, remove.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::{Role, id, search, timestamp};
use crate::domain::permission::Permission;
use crate::services::members::{
    self, Cursor, Direction, MAX_SEARCH_CHARS, MemberQuery, MemberRow, MemberSort,
};

/// A member of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    /// The membership's id (what the other member operations take).
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: String,
    /// `null` when they have not used Roster here yet.
    pub last_active_at: Option<String>,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            id: row.membership_id,
            user_id: row.user_id,
            name: row.name,
            email: row.email,
            role: row.role.into(),
            joined_at: timestamp(row.joined_at),
            last_active_at: (row.last_active_at > 0).then(|| timestamp(row.last_active_at)),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Name,
    Joined,
    LastActive,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// A fragment of a name or email address.
    #[param(max_length = 100)]
    q: Option<String>,
    role: Option<Role>,
    /// `name` (A–Z), `joined` or `last_active` (newest first).
    sort: Option<Sort>,
    /// `next_cursor` of the previous page, with the same `sort`.
    cursor: Option<String>,
}

/// One page of members (50 at most).
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<Member>,
    /// Members matching the query, on every page.
    pub total: u64,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "members_list", path = "/members", tag = "Members", params(ListParams),
    responses((status = 200, body = MemberPage), Errors))]
/// List the members, 50 at a time, by cursor: search, filter by role, sort.
pub async fn list(
    ctx: ApiCtx,
    params: web::Query<ListParams>,
) -> Result<web::Json<MemberPage>, ApiError> {
    ctx.require(Permission::ViewMembers)?;
    let params = params.into_inner();
    let sort = match params.sort.unwrap_or_default() {
        Sort::Name => MemberSort::Name,
        Sort::Joined => MemberSort::Joined,
        Sort::LastActive => MemberSort::LastActive,
    };
    let search = search("q", params.q.as_deref(), MAX_SEARCH_CHARS)?;
    let cursor = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(Cursor::parse(raw, sort, Direction::After).ok_or_else(|| {
            ApiError::field(
                "cursor",
                "Pass a next_cursor this list gave, with the same sort.",
            )
        })?),
    };
    let query = MemberQuery {
        search,
        role: params.role.map(Into::into),
        sort,
        workspace: None,
        two_factor: None,
        page: 1,
        cursor,
    };
    let (rows, total) = members::list(&ctx.state.db, ctx.org_id(), &query).await?;
    let next_cursor = (rows.len() as u64 == members::PER_PAGE)
        .then(|| {
            rows.last()
                .map(|r| Cursor::of(r, sort, Direction::After).encode())
        })
        .flatten();
    Ok(web::Json(MemberPage {
        items: rows.into_iter().map(Member::from).collect(),
        total,
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "members_get", path = "/members/{member_id}", tag = "Members",
    params(("member_id" = String, Path)),
    responses((status = 200, body = Member), Errors))]
/// Get one member.
pub async fn get(ctx: ApiCtx, path: web::Path<String>) -> Result<web::Json<Member>, ApiError> {
    ctx.require(Permission::ViewMembers)?;
    let member_id = id(&path)?;
    let row = members::find(
        &ctx.state.db.read_in(ctx.acting.tenant()).await?,
        ctx.org_id(),
        &member_id,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(web::Json(row.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// The new organization role: never `owner` (ownership is transferred
    /// in the browser, with the Owner's password).
    pub role: Role,
}

#[utoipa::path(patch, operation_id = "members_change_role", path = "/members/{member_id}", tag = "Members",
    params(("member_id" = String, Path)), request_body = RoleChange,
    responses((status = 200, body = Member), Errors))]
/// Change a member's organization role (the role ceiling applies; never to Owner).
pub async fn change_role(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<RoleChange>,
) -> Result<web::Json<Member>, ApiError> {
    let member_id = id(&path)?;
    let row = members::change_role(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &member_id,
        body.role.into(),
    )
    .await?;
    Ok(web::Json(row.into()))
}

#[utoipa::path(delete, operation_id = "members_remove", path = "/members/{member_id}", tag = "Members",
    params(("member_id" = String, Path)),
    responses((status = 204, description = "Removed."), Errors))]
/// Remove a member from the organization (their products then need an owner).
pub async fn remove(ctx: ApiCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let member_id = id(&path)?;
    members::remove(&ctx.state.db, &ctx.state.clock, &ctx.acting, &member_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
