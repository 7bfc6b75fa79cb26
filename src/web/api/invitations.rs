//! Invitations: invite a batch (an outcome per address, as the form
//! gives), list, resend, cancel.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::{Role, WsRole, id, page, search, timestamp};
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{invitation, organization};
use crate::services::invitations::{self, IntoWorkspace, ListQuery, Outcome, Sender, State};

/// An invitation of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// Set for an invitation straight into a workspace.
    pub workspace_id: Option<String>,
    pub workspace_role: Option<WsRole>,
    /// `pending`, `expired`, `accepted` or `revoked`.
    pub state: String,
    pub invited_by: String,
    pub sent_at: String,
    pub expires_at: String,
}

impl Invitation {
    fn of(i: invitation::Model, now: i64) -> Self {
        Invitation {
            state: State::of(&i, now).as_str().to_string(),
            id: i.id,
            email: i.email,
            role: i.role.into(),
            workspace_id: i.workspace_id,
            workspace_role: i.workspace_role.map(WsRole::from),
            invited_by: i.invited_by_name,
            sent_at: timestamp(i.sent_at),
            expires_at: timestamp(i.expires_at),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `pending`, `expired`, `accepted` or `revoked`.
    state: Option<String>,
    /// A fragment of the address.
    #[param(max_length = 100)]
    q: Option<String>,
    /// 1-based page of 50; at most 100.
    #[param(minimum = 1, maximum = 100)]
    page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPage {
    pub items: Vec<Invitation>,
    pub total: u64,
    pub page: u64,
}

#[utoipa::path(get, operation_id = "invitations_list", path = "/invitations", tag = "Invitations", params(ListParams),
    responses((status = 200, body = InvitationPage), Errors))]
/// List the invitations, newest send first, by state and address.
pub async fn list(
    ctx: ApiCtx,
    params: web::Query<ListParams>,
) -> Result<web::Json<InvitationPage>, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let params = params.into_inner();
    let state = match params.state.as_deref() {
        None => None,
        Some(raw) => Some(State::parse(raw).ok_or_else(|| {
            ApiError::field("state", "Filter by pending, expired, accepted or revoked.")
        })?),
    };
    let search = search("q", params.q.as_deref(), 100)?;
    let page = page(params.page)?;
    let query = ListQuery {
        state,
        search,
        page,
        known_total: None,
    };
    let (rows, total) =
        invitations::list(&ctx.state.db, &ctx.state.clock, ctx.org_id(), &query).await?;
    let now = ctx.state.clock.now();
    Ok(web::Json(InvitationPage {
        items: rows
            .into_iter()
            .map(|row| Invitation::of(row.invitation, now))
            .collect(),
        total,
        page,
    }))
}

/// A batch of invitations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBatch {
    /// The addresses to invite (at most 100).
    pub emails: Vec<String>,
    /// Their organization role; `none` invites a workspace guest, who then
    /// needs `workspace_id`.
    pub role: Role,
    /// Invite straight into this workspace…
    pub workspace_id: Option<String>,
    /// …with this role there (not `owner`).
    pub workspace_role: Option<WsRole>,
    /// Custom roles (ids) the invitees then hold in that workspace too,
    /// each within what the inviter holds there.
    #[schema(max_items = 20)]
    pub custom_roles: Option<Vec<String>>,
}

/// What happened to one address.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResult {
    pub email: String,
    /// `invited`, `already_member`, `already_invited` or `invalid`.
    pub outcome: String,
    /// The pending invitation, for `already_invited`.
    pub invitation_id: Option<String>,
    /// Why, for `invalid`.
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResults {
    pub results: Vec<InviteResult>,
}

/// The sender of the key's invitations, as the email names them.
async fn with_sender<T>(
    ctx: &ApiCtx,
    run: impl AsyncFnOnce(&Sender<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let org = organization::Entity::find_by_id(ctx.org_id().to_string())
        .one(&ctx.state.db.read_in(ctx.acting.tenant()).await?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let name = match ctx.acting.person() {
        Some(person) => crate::entities::user::Entity::find_by_id(person.to_string())
            .one(&ctx.state.db.read_in(ctx.acting.tenant()).await?)
            .await?
            .map(|u| u.name)
            .unwrap_or_default(),
        None => ctx.key.created_by_name.clone(),
    };
    let sender = Sender {
        acting: &ctx.acting,
        name: &name,
        org_name: &org.name,
        base_url: &ctx.state.config.base_url,
        daily_limit: ctx.state.config.invitations_per_day,
    };
    run(&sender).await
}

#[utoipa::path(post, operation_id = "invitations_invite", path = "/invitations", tag = "Invitations", request_body = InviteBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retried batch with the same key returns the first answer and sends nothing twice.")),
    responses((status = 200, body = InviteResults, description = "An outcome per address."), Errors))]
/// Invite a batch of addresses with one role, into the organization or a workspace; an outcome per address.
pub async fn invite(
    ctx: ApiCtx,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    super::idempotency::once(&ctx, &req, &body, async |batch: InviteBatch| {
        let role = OrgRole::from(batch.role);
        // A workspace guest invited into a workspace needs only the right
        // to invite there (the service checks it); anyone else also the
        // organization's.
        if role != OrgRole::None || batch.workspace_id.is_none() {
            ctx.require(Permission::ManageMembers)?;
        }
        let custom_roles = batch.custom_roles.clone().unwrap_or_default();
        if custom_roles.len() > 20 {
            return Err(ApiError::field(
                "custom_roles",
                "Carry at most 20 custom roles.",
            ));
        }
        let into = match (batch.workspace_id.as_deref(), batch.workspace_role) {
            (None, None) => None,
            (Some(raw), Some(ws_role)) => {
                let ws_role = WorkspaceRole::from(ws_role);
                if ws_role == WorkspaceRole::Owner {
                    return Err(ApiError::field(
                        "workspace_role",
                        "Invite as a workspace Admin, Editor or Viewer.",
                    ));
                }
                let workspace_id = id(raw)
                    .map_err(|_| ApiError::field("workspace_id", "No such workspace here."))?;
                Some(IntoWorkspace {
                    workspace_id,
                    role: ws_role,
                    custom_roles: custom_roles.clone(),
                })
            }
            (Some(_), None) => {
                return Err(ApiError::field(
                    "workspace_role",
                    "Give the role in the workspace.",
                ));
            }
            (None, Some(_)) => {
                return Err(ApiError::field(
                    "workspace_id",
                    "Give the workspace for this role.",
                ));
            }
        };
        if role == OrgRole::None && into.is_none() {
            return Err(ApiError::field(
                "workspace_id",
                invitations::NEEDS_WORKSPACE,
            ));
        }
        if into.is_none() && !custom_roles.is_empty() {
            return Err(ApiError::field(
                "custom_roles",
                "Custom roles travel with an invitation into a workspace: give workspace_id.",
            ));
        }
        let emails: Vec<String> = batch.emails.iter().map(|e| e.trim().to_string()).collect();
        let (lines, links) = with_sender(&ctx, async |sender| {
            Ok(
                invitations::invite(&ctx.state.db, &ctx.state.clock, sender, &emails, role, into)
                    .await?,
            )
        })
        .await?;
        crate::web::invitations::log_links(&ctx.state, &links);
        let results = lines
            .into_iter()
            .map(|line| {
                let (outcome, invitation_id, message) = match line.outcome {
                    Outcome::Invited => ("invited", None, None),
                    Outcome::AlreadyMember => ("already_member", None, None),
                    Outcome::AlreadyInvited { invitation_id } => {
                        ("already_invited", Some(invitation_id), None)
                    }
                    Outcome::Invalid(message) => ("invalid", None, Some(message)),
                };
                InviteResult {
                    email: line.input,
                    outcome: outcome.to_string(),
                    invitation_id,
                    message,
                }
            })
            .collect();
        Ok((StatusCode::OK, InviteResults { results }))
    })
    .await
}

#[utoipa::path(post, operation_id = "invitations_resend", path = "/invitations/{invitation_id}/resend", tag = "Invitations",
    params(("invitation_id" = String, Path)),
    responses((status = 200, body = Invitation, description = "Sent again with a new link; the old one no longer works."), Errors))]
/// Send an invitation again with a new link (the old one stops working).
pub async fn resend(
    ctx: ApiCtx,
    path: web::Path<String>,
) -> Result<web::Json<Invitation>, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let invitation_id = id(&path)?;
    let (updated, link) = with_sender(&ctx, async |sender| {
        Ok(invitations::resend(&ctx.state.db, &ctx.state.clock, sender, &invitation_id).await?)
    })
    .await?;
    crate::web::invitations::log_links(&ctx.state, std::slice::from_ref(&link));
    Ok(web::Json(Invitation::of(updated, ctx.state.clock.now())))
}

#[utoipa::path(delete, operation_id = "invitations_cancel", path = "/invitations/{invitation_id}", tag = "Invitations",
    params(("invitation_id" = String, Path)),
    responses((status = 204, description = "Cancelled: the link no longer works."), Errors))]
/// Cancel a pending invitation: its link stops working.
pub async fn cancel(ctx: ApiCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let invitation_id = id(&path)?;
    invitations::cancel(&ctx.state.db, &ctx.state.clock, &ctx.acting, &invitation_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
