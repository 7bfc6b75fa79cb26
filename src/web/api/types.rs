//! What the API's bodies are made of: roles as lower-case names, times as
//! RFC 3339 strings, and validated ids.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::problem::ApiError;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::web::render::MAX_OFFSET_PAGE;

/// An organization role. `none` is a workspace guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
    None,
}

impl From<OrgRole> for Role {
    fn from(role: OrgRole) -> Self {
        match role {
            OrgRole::Owner => Role::Owner,
            OrgRole::Admin => Role::Admin,
            OrgRole::Member => Role::Member,
            OrgRole::Viewer => Role::Viewer,
            OrgRole::None => Role::None,
        }
    }
}

impl From<Role> for OrgRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => OrgRole::Owner,
            Role::Admin => OrgRole::Admin,
            Role::Member => OrgRole::Member,
            Role::Viewer => OrgRole::Viewer,
            Role::None => OrgRole::None,
        }
    }
}

/// A workspace role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WsRole {
    Owner,
    Admin,
    Editor,
    Viewer,
}

impl From<WorkspaceRole> for WsRole {
    fn from(role: WorkspaceRole) -> Self {
        match role {
            WorkspaceRole::Owner => WsRole::Owner,
            WorkspaceRole::Admin => WsRole::Admin,
            WorkspaceRole::Editor => WsRole::Editor,
            WorkspaceRole::Viewer => WsRole::Viewer,
        }
    }
}

impl From<WsRole> for WorkspaceRole {
    fn from(role: WsRole) -> Self {
        match role {
            WsRole::Owner => WorkspaceRole::Owner,
            WsRole::Admin => WorkspaceRole::Admin,
            WsRole::Editor => WorkspaceRole::Editor,
            WsRole::Viewer => WorkspaceRole::Viewer,
        }
    }
}

/// Unix seconds as RFC 3339 (`2026-12-04T20:13:46Z`).
pub fn timestamp(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An RFC 3339 time as Unix seconds; `field` names it in the refusal.
pub fn parse_timestamp(field: &str, value: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| ApiError::field(field, "Give a time as RFC 3339, e.g. 2026-12-04T20:13:46Z."))
}

/// An id from a path: a UUID, or nothing this organization has (404).
pub fn id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound)
}

/// A search fragment from a query: trimmed and lower-cased, `None` when
/// blank; refused past `max` characters or with a NUL.
pub fn search(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    let fragment = raw
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    if fragment
        .as_ref()
        .is_some_and(|q| q.chars().count() > max || q.contains('\0'))
    {
        return Err(ApiError::field(
            field,
            format!("Search with at most {max} characters."),
        ));
    }
    Ok(fragment)
}

/// A 1-based page number of a list served by number (at most 100).
pub fn page(raw: Option<u64>) -> Result<u64, ApiError> {
    let page = raw.unwrap_or(1);
    if page == 0 || page > MAX_OFFSET_PAGE {
        return Err(ApiError::field(
            "page",
            format!("Ask for a page from 1 to {MAX_OFFSET_PAGE}."),
        ));
    }
    Ok(page)
}

/// Who becomes the owner (of a workspace or a product).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    /// The email address of the member who becomes the owner.
    pub email: String,
}
