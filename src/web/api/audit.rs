//! Audit events: the log's filters (actor, action, member, dates), newest
//! first, by cursor.

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::timestamp;
use crate::domain::permission::Permission;
use crate::entities::audit_event;
use crate::services::audit::AuditAction;
use crate::services::audit_log::{self, Cursor, Filter};
use crate::web::audit::parse_day;

const PER_PAGE: u64 = 50;
const MAX_EMAIL_CHARS: usize = 320;

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// E.g. `member.role_changed`.
    pub action: String,
    /// Who acted: an address, or "API key 'HR sync' of Ada Owner".
    pub actor: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The client address the change came from.
    pub address: Option<String>,
    pub created_at: String,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(e: audit_event::Model) -> Self {
        AuditEvent {
            id: e.id,
            action: e.action,
            actor: e.actor_label,
            target_type: e.target_type,
            target_id: e.target_id,
            target: e.target_label,
            before: e.before_value,
            after: e.after_value,
            address: e.address,
            created_at: timestamp(e.created_at),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The email address of who acted.
    #[param(max_length = 320)]
    actor: Option<String>,
    /// An action name, e.g. `member.role_changed`.
    action: Option<String>,
    /// The email address of the member the events are about.
    #[param(max_length = 320)]
    member: Option<String>,
    /// From this day (YYYY-MM-DD, UTC), inclusive.
    from: Option<String>,
    /// To this day (YYYY-MM-DD, UTC), inclusive.
    to: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` for older events; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "audit_events_list", path = "/audit-events", tag = "Audit log", params(ListParams),
    responses((status = 200, body = AuditPage), Errors))]
/// List audit events, newest first, with the audit log's filters, by cursor.
pub async fn list(
    ctx: ApiCtx,
    params: web::Query<ListParams>,
) -> Result<web::Json<AuditPage>, ApiError> {
    ctx.require(Permission::ReadAuditLog)?;
    let params = params.into_inner();
    let mut filter = Filter::default();
    for (field, value, slot) in [
        ("actor", &params.actor, &mut filter.actor),
        ("member", &params.member, &mut filter.target),
    ] {
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        if value.chars().count() > MAX_EMAIL_CHARS || value.contains('\0') {
            return Err(ApiError::field(field, "That email address is too long."));
        }
        *slot = Some(audit_log::person(&ctx.state.db, value).await?);
    }
    if let Some(action) = params.action.as_deref().filter(|a| !a.is_empty()) {
        let action = AuditAction::parse(action).ok_or_else(|| {
            ApiError::field("action", "No such action; see the audit log's filter.")
        })?;
        filter.action = Some(action.as_str().to_string());
    }
    let day = |field: &str, value: &Option<String>| {
        parse_day(value.as_deref().unwrap_or_default()).map_err(|m| ApiError::field(field, m))
    };
    filter.from = day("from", &params.from)?;
    filter.until = day("to", &params.to)?.map(|d| d + 86_400);
    if let (Some(from), Some(until)) = (filter.from, filter.until)
        && from >= until
    {
        return Err(ApiError::field(
            "to",
            "The end date is before the start date.",
        ));
    }
    let cursor = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(
            Cursor::parse(raw)
                .ok_or_else(|| ApiError::field("cursor", "Pass a next_cursor this list gave."))?,
        ),
    };
    let mut events = audit_log::page(
        &ctx.state.db,
        ctx.org_id(),
        &filter,
        cursor.as_ref(),
        PER_PAGE + 1,
    )
    .await?;
    let more = events.len() as u64 > PER_PAGE;
    events.truncate(usize::try_from(PER_PAGE).unwrap_or(50));
    let next_cursor = more
        .then(|| events.last().map(|e| Cursor::of(e).encode()))
        .flatten();
    Ok(web::Json(AuditPage {
        items: events.into_iter().map(AuditEvent::from).collect(),
        next_cursor,
    }))
}
