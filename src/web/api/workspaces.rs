//! Workspaces: list, create, get, rename, delete; the people with access,
//! their direct roles; transfer.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::{NewOwner, Role, WsRole, id, page, search, timestamp};
use crate::domain::names::{Label, LabelKind};
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::workspace as ws_entity;
use crate::services::error::ServiceError;
use crate::services::members::Direction;
use crate::services::workspaces::{self, AccessRow, ListQuery, WorkspaceSort};

/// A workspace of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
}

impl From<ws_entity::Model> for Workspace {
    fn from(w: ws_entity::Model) -> Self {
        Workspace {
            id: w.id,
            name: w.title,
            description: w.description,
            created_at: timestamp(w.created_at),
        }
    }
}

/// A workspace in the list, with its Owner and head counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceItem {
    #[serde(flatten)]
    pub workspace: Workspace,
    /// The name of the workspace's Owner.
    pub owner_name: String,
    /// People with access (inherited and direct).
    pub people: u64,
    /// People with a direct role.
    pub direct_people: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// A fragment of the name.
    #[param(max_length = 80)]
    q: Option<String>,
    /// `name` (A–Z) or `created` (newest first).
    sort: Option<String>,
    /// 1-based page of 50; at most 100.
    #[param(minimum = 1, maximum = 100)]
    page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspacePage {
    pub items: Vec<WorkspaceItem>,
    pub total: u64,
    pub page: u64,
}

#[utoipa::path(get, operation_id = "workspaces_list", path = "/workspaces", tag = "Workspaces", params(ListParams),
    responses((status = 200, body = WorkspacePage), Errors))]
/// List the workspaces the key can see.
pub async fn list(
    ctx: ApiCtx,
    params: web::Query<ListParams>,
) -> Result<web::Json<WorkspacePage>, ApiError> {
    let params = params.into_inner();
    let search = search("q", params.q.as_deref(), workspaces::MAX_TITLE_CHARS)?;
    let sort = match params.sort.as_deref() {
        None | Some("name") => WorkspaceSort::Title,
        Some("created") => WorkspaceSort::Created,
        Some(_) => return Err(ApiError::field("sort", "Sort by name or created.")),
    };
    let page = page(params.page)?;
    if let Some((workspace_id, _)) = limited_to(&ctx) {
        return only(&ctx, workspace_id, search.as_deref(), page).await;
    }
    let query = ListQuery { search, sort, page };
    let (rows, total) = workspaces::list(
        &ctx.state.db,
        ctx.org_id(),
        &ctx.acting.user_id,
        ctx.role,
        &query,
    )
    .await?;
    Ok(web::Json(WorkspacePage {
        items: rows
            .into_iter()
            .map(|row| WorkspaceItem {
                workspace: row.workspace.into(),
                owner_name: row.owner_name,
                people: row.members,
                direct_people: row.direct_members,
            })
            .collect(),
        total,
        page,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceInput {
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// The pages call a workspace's name its title.
const TITLE: &[(&str, &str)] = &[("title", "name")];

fn validate(input: &WorkspaceInput) -> Result<(Label, String), ApiError> {
    let name = Label::parse(&input.name, LabelKind::WorkspaceTitle)
        .map_err(|m| ApiError::field("name", m))?;
    let description = workspaces::parse_description(&input.description)
        .map_err(|m| ApiError::field("description", m))?;
    Ok((name, description))
}

#[utoipa::path(post, operation_id = "workspaces_create", path = "/workspaces", tag = "Workspaces", request_body = WorkspaceInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer.")),
    responses((status = 201, body = Workspace), Errors))]
/// Create a workspace.
pub async fn create(
    ctx: ApiCtx,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    super::idempotency::once(&ctx, &req, &body, async |input: WorkspaceInput| {
        let (name, description) = validate(&input)?;
        let created = workspaces::create(
            &ctx.state.db,
            &ctx.state.clock,
            &ctx.acting,
            &name,
            &description,
        )
        .await
        .map_err(|e| ApiError::renamed(e, TITLE))?;
        Ok((
            actix_web::http::StatusCode::CREATED,
            Workspace::from(created),
        ))
    })
    .await
}

/// The workspace an organization key limited to one may reach, and its
/// role there.
fn limited_to(ctx: &ApiCtx) -> Option<&(String, WorkspaceRole)> {
    ctx.acting
        .org_key
        .as_ref()
        .and_then(|key| key.workspace.as_ref())
}

/// The list as a key limited to one workspace sees it: that workspace.
async fn only(
    ctx: &ApiCtx,
    workspace_id: &str,
    search: Option<&str>,
    page: u64,
) -> Result<web::Json<WorkspacePage>, ApiError> {
    let found = visible(ctx, workspace_id).await?;
    let shown = page == 1 && search.is_none_or(|q| found.title.to_lowercase().contains(q));
    let mut items = Vec::new();
    if shown {
        let owner_name = workspaces::owner_name(&ctx.state.db, &found.org_id, &found.id)
            .await?
            .unwrap_or_default();
        let direct_people =
            workspaces::direct_member_count(&ctx.state.db, &found.org_id, &found.id).await?;
        let (_, people) =
            workspaces::access_list(&ctx.state.db, ctx.org_id(), &found.id, false, 1, None).await?;
        items.push(WorkspaceItem {
            workspace: found.into(),
            owner_name,
            people,
            direct_people,
        });
    }
    Ok(web::Json(WorkspacePage {
        total: items.len() as u64,
        items,
        page,
    }))
}

async fn visible(ctx: &ApiCtx, raw: &str) -> Result<ws_entity::Model, ApiError> {
    let workspace_id = id(raw)?;
    if let Some((only, _)) = limited_to(ctx) {
        if *only != workspace_id {
            return Err(ApiError::NotFound);
        }
        return workspaces::find(
            &ctx.state.db,
            ctx.org_id(),
            &workspace_id,
            "",
            OrgRole::Viewer,
        )
        .await?
        .map(|(found, _)| found)
        .ok_or(ApiError::NotFound);
    }
    let (found, _) = workspaces::find(
        &ctx.state.db,
        ctx.org_id(),
        &workspace_id,
        &ctx.acting.user_id,
        ctx.role,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(found)
}

#[utoipa::path(get, operation_id = "workspaces_get", path = "/workspaces/{workspace_id}", tag = "Workspaces",
    params(("workspace_id" = String, Path)),
    responses((status = 200, body = Workspace), Errors))]
/// Get one workspace.
pub async fn get(ctx: ApiCtx, path: web::Path<String>) -> Result<web::Json<Workspace>, ApiError> {
    Ok(web::Json(visible(&ctx, &path).await?.into()))
}

#[utoipa::path(patch, operation_id = "workspaces_update", path = "/workspaces/{workspace_id}", tag = "Workspaces",
    params(("workspace_id" = String, Path)), request_body = WorkspaceInput,
    responses((status = 200, body = Workspace), Errors))]
/// Rename a workspace and set its description.
pub async fn update(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<WorkspaceInput>,
) -> Result<web::Json<Workspace>, ApiError> {
    let workspace_id = id(&path)?;
    let (name, description) = validate(&body)?;
    let updated = workspaces::update_details(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &workspace_id,
        &name,
        &description,
    )
    .await
    .map_err(|e| ApiError::renamed(e, TITLE))?;
    Ok(web::Json(updated.into()))
}

#[utoipa::path(delete, operation_id = "workspaces_delete", path = "/workspaces/{workspace_id}", tag = "Workspaces",
    params(("workspace_id" = String, Path)),
    responses((status = 204, description = "Deleted, with its products."), Errors))]
/// Delete a workspace and its products (its Owner or the organization's Owner).
pub async fn delete(ctx: ApiCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let found = visible(&ctx, &path).await?;
    // The pages ask for the name to be typed; a DELETE is already explicit.
    workspaces::delete(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &found.id,
        &found.title,
    )
    .await
    .map_err(|err| match err {
        // The name is not typed here; what remains is the last workspace.
        ServiceError::Invalid(invalid) => ApiError::Conflict(invalid.message),
        other => other.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Someone with access to a workspace.
#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    /// The membership's id.
    pub member_id: String,
    pub name: String,
    pub email: String,
    pub org_role: Role,
    /// Their direct role here, if any.
    pub direct_role: Option<WsRole>,
    /// What they hold here, inherited and direct together.
    pub effective_role: Option<WsRole>,
}

impl From<AccessRow> for Person {
    fn from(row: AccessRow) -> Self {
        let effective = row.access().top_role().map(WsRole::from);
        Person {
            member_id: row.membership_id,
            name: row.name,
            email: row.email,
            org_role: row.org_role.into(),
            direct_role: row.direct_role.map(WsRole::from),
            effective_role: effective,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeopleParams {
    /// Only people with a direct role.
    direct: Option<bool>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePage {
    pub items: Vec<Person>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "workspaces_people", path = "/workspaces/{workspace_id}/people", tag = "Workspaces",
    params(("workspace_id" = String, Path), PeopleParams),
    responses((status = 200, body = PeoplePage), Errors))]
/// List the people with access to a workspace, inherited and direct.
pub async fn people(
    ctx: ApiCtx,
    path: web::Path<String>,
    params: web::Query<PeopleParams>,
) -> Result<web::Json<PeoplePage>, ApiError> {
    let found = visible(&ctx, &path).await?;
    let cursor = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(
            crate::services::members::Cursor::parse(
                raw,
                crate::services::members::MemberSort::Name,
                Direction::After,
            )
            .ok_or_else(|| ApiError::field("cursor", "Pass a next_cursor this list gave."))?,
        ),
    };
    let (rows, total) = workspaces::access_list(
        &ctx.state.db,
        ctx.org_id(),
        &found.id,
        params.direct.unwrap_or(false),
        1,
        cursor.as_ref(),
    )
    .await?;
    let next_cursor = (rows.len() as u64 == workspaces::PER_PAGE)
        .then(|| rows.last().map(|r| r.cursor(Direction::After).encode()))
        .flatten();
    Ok(web::Json(PeoplePage {
        items: rows.into_iter().map(Person::from).collect(),
        total,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectRole {
    /// `admin`, `editor` or `viewer` (the Owner is set by transfer).
    pub role: WsRole,
}

async fn person_here(
    ctx: &ApiCtx,
    workspace_id: &str,
    member_id: &str,
) -> Result<Person, ApiError> {
    workspaces::access_of(&ctx.state.db, ctx.org_id(), workspace_id, member_id)
        .await?
        .map(Person::from)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(put, operation_id = "workspaces_set_role", path = "/workspaces/{workspace_id}/people/{member_id}", tag = "Workspaces",
    params(("workspace_id" = String, Path), ("member_id" = String, Path)),
    request_body = DirectRole,
    responses((status = 200, body = Person), Errors))]
/// Give a member a direct role in the workspace (Admin, Editor or Viewer).
pub async fn set_role(
    ctx: ApiCtx,
    path: web::Path<(String, String)>,
    body: web::Json<DirectRole>,
) -> Result<web::Json<Person>, ApiError> {
    let (workspace_id, member_id) = (id(&path.0)?, id(&path.1)?);
    let role = WorkspaceRole::from(body.role);
    if role == WorkspaceRole::Owner {
        return Err(ApiError::field(
            "role",
            "A workspace changes Owner by transfer: use POST /workspaces/{id}/transfer.",
        ));
    }
    workspaces::set_direct_role(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &workspace_id,
        &member_id,
        Some(role),
    )
    .await?;
    Ok(web::Json(
        person_here(&ctx, &workspace_id, &member_id).await?,
    ))
}

#[utoipa::path(delete, operation_id = "workspaces_clear_role", path = "/workspaces/{workspace_id}/people/{member_id}", tag = "Workspaces",
    params(("workspace_id" = String, Path), ("member_id" = String, Path)),
    responses((status = 204, description = "The direct role is gone; inherited access stays."), Errors))]
/// Take a member's direct role in the workspace away; inherited access stays.
pub async fn clear_role(
    ctx: ApiCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (workspace_id, member_id) = (id(&path.0)?, id(&path.1)?);
    workspaces::set_direct_role(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &workspace_id,
        &member_id,
        None,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, operation_id = "workspaces_transfer", path = "/workspaces/{workspace_id}/transfer", tag = "Workspaces",
    params(("workspace_id" = String, Path)), request_body = NewOwner,
    responses((status = 200, body = Workspace), Errors))]
/// Make another member the workspace's Owner.
pub async fn transfer(
    ctx: ApiCtx,
    path: web::Path<String>,
    body: web::Json<NewOwner>,
) -> Result<web::Json<Workspace>, ApiError> {
    let workspace_id = id(&path)?;
    let (found, _) = workspaces::transfer(
        &ctx.state.db,
        &ctx.state.clock,
        &ctx.acting,
        &workspace_id,
        &body.email,
    )
    .await
    .map_err(|e| ApiError::renamed(e, &[("new_owner_email", "email")]))?;
    Ok(web::Json(found.into()))
}
