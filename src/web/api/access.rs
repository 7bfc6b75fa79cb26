//! The access check for the product around Roster: every module's level
//! for one member (organization-wide or in a workspace) with the roles it
//! comes from, and a batch of yes/no questions.

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Errors;
use super::auth::ApiCtx;
use super::problem::ApiError;
use super::types::id;
use crate::domain::module::Level;
use crate::domain::permission::Permission;
use crate::services::custom_roles::{self, Check};

/// A module level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModuleLevel {
    None,
    Read,
    Write,
}

impl From<Level> for ModuleLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::None => ModuleLevel::None,
            Level::Read => ModuleLevel::Read,
            Level::Write => ModuleLevel::Write,
        }
    }
}

/// The level asked about: at least Read, or Write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WantedLevel {
    Read,
    Write,
}

/// One module's level for the member, and the roles giving it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleAccess {
    /// What the product asks by (`members`, `campaigns`).
    pub key: String,
    pub name: String,
    pub level: ModuleLevel,
    /// Each role giving that level, e.g. `from Campaign Manager (Berlin)`,
    /// `inherited from Member`; empty for `none`.
    pub reasons: Vec<String>,
}

/// What a member holds, module by module.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberAccess {
    pub member_id: String,
    /// The workspace asked about; `null` for organization-wide.
    pub workspace_id: Option<String>,
    pub modules: Vec<ModuleAccess>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessParams {
    /// A workspace: what the member holds there, with what the
    /// organization passes down. Without it: organization-wide.
    workspace_id: Option<String>,
}

#[utoipa::path(get, operation_id = "access_of_member", path = "/members/{member_id}/access", tag = "Access",
    params(("member_id" = String, Path), AccessParams),
    responses((status = 200, body = MemberAccess), Errors))]
/// Every module's level for one member, with the roles each comes from.
pub async fn member(
    ctx: ApiCtx,
    path: web::Path<String>,
    params: web::Query<AccessParams>,
) -> Result<web::Json<MemberAccess>, ApiError> {
    ctx.require(Permission::ViewMembers)?;
    let member_id = id(&path)?;
    let workspace_id = match params.into_inner().workspace_id {
        Some(raw) => Some(
            uuid::Uuid::parse_str(&raw)
                .map_err(|_| ApiError::NotFound)?
                .to_string(),
        ),
        None => None,
    };
    let access = custom_roles::member_access(
        &ctx.state.db,
        &ctx.acting,
        &member_id,
        workspace_id.as_deref(),
    )
    .await?;
    Ok(web::Json(MemberAccess {
        member_id: access.membership.id,
        workspace_id: access.workspace.map(|w| w.id),
        modules: access
            .modules
            .into_iter()
            .map(|m| ModuleAccess {
                key: m.module.key,
                name: m.module.name,
                level: m.level.into(),
                reasons: m.reasons,
            })
            .collect(),
    }))
}

/// The most checks one request may ask.
pub const MAX_CHECKS: usize = 100;

/// One question: does this member hold at least `level` in `module`?
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessCheck {
    pub member_id: String,
    /// A module key.
    #[schema(max_length = 40)]
    pub module: String,
    pub level: WantedLevel,
    /// Ask about this workspace (with what the organization passes down);
    /// without it, organization-wide.
    pub workspace_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessChecks {
    /// 1 to 100 questions, answered in order.
    #[schema(min_items = 1, max_items = 100)]
    pub checks: Vec<AccessCheck>,
}

/// The answer to one question.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessVerdict {
    pub allowed: bool,
    /// The level held.
    pub level: ModuleLevel,
    /// The roles giving that level, or why the question has no such
    /// member, workspace or module.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessVerdicts {
    pub results: Vec<AccessVerdict>,
}

#[utoipa::path(post, operation_id = "access_check", path = "/access-checks", tag = "Access",
    request_body = AccessChecks,
    responses((status = 200, body = AccessVerdicts), Errors))]
/// Answer up to 100 questions "may this member do this here?" at once.
pub async fn check(
    ctx: ApiCtx,
    body: web::Json<AccessChecks>,
) -> Result<web::Json<AccessVerdicts>, ApiError> {
    ctx.require(Permission::ViewMembers)?;
    let body = body.into_inner();
    if body.checks.is_empty() || body.checks.len() > MAX_CHECKS {
        return Err(ApiError::field(
            "checks",
            format!(
                "Send 1 to {MAX_CHECKS} checks; this request has {}.",
                body.checks.len()
            ),
        ));
    }
    let checks: Vec<Check> = body
        .checks
        .into_iter()
        .map(|c| Check {
            member_id: c.member_id,
            module: c.module,
            level: match c.level {
                WantedLevel::Read => Level::Read,
                WantedLevel::Write => Level::Write,
            },
            workspace_id: c.workspace_id,
        })
        .collect();
    let verdicts = custom_roles::check(&ctx.state.db, &ctx.acting, &checks).await?;
    Ok(web::Json(AccessVerdicts {
        results: verdicts
            .into_iter()
            .map(|v| AccessVerdict {
                allowed: v.allowed,
                level: v.level.into(),
                reason: v.reason,
            })
            .collect(),
    }))
}
