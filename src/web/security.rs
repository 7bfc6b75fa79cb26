//! Settings → Security: the organization's sign-in policy (two-factor
//! required after a grace period, session limits) with who has two-factor
//! and who does not; and signing one member out everywhere.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::render::{FieldErrors, Layout, Section, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::services::error::ServiceError;
use crate::services::members::{self, MemberQuery};
use crate::services::security_policy::{self, SecurityForm, SecuritySettings, TwoFactorStanding};

/// The most members the page lists with their two-factor standing (those
/// without it first); the Members page's filter finds the rest.
const LISTED: usize = 50;

/// One member's two-factor standing, as the page lists it.
struct MemberStanding {
    membership_id: String,
    name: String,
    email: String,
    on: bool,
    /// "5 days left", "Blocked", or empty when nothing is required.
    standing: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: Layout,
    org_id: String,
    form: SecurityForm,
    errors: FieldErrors,
    server_idle_minutes: i64,
    server_lifetime_hours: i64,
    /// The deadline, when two-factor is required.
    deadline: String,
    members: Vec<MemberStanding>,
    without: u64,
    total: u64,
}

fn server_limits(state: &AppState) -> (i64, i64) {
    let idle = i64::try_from(state.config.idle_timeout.as_secs() / 60).unwrap_or(i64::MAX);
    let lifetime =
        i64::try_from(state.config.session_lifetime.as_secs() / 3600).unwrap_or(i64::MAX);
    (idle, lifetime)
}

async fn security_page(
    state: &AppState,
    ctx: &OrgCtx,
    form: SecurityForm,
    errors: FieldErrors,
) -> Result<SecurityPage, AppError> {
    ctx.require(Permission::EditSettings)?;
    let (server_idle_minutes, server_lifetime_hours) = server_limits(state);
    let now = state.clock.now();
    let query = |two_factor| MemberQuery {
        two_factor,
        ..MemberQuery::default()
    };
    // Those without it first: they are the ones a requirement stops.
    let (mut rows, without) = members::list(&state.db, &ctx.org.id, &query(Some(false))).await?;
    let (with, with_total) = members::list(&state.db, &ctx.org.id, &query(Some(true))).await?;
    rows.extend(with);
    let total = without + with_total;
    let members = rows
        .into_iter()
        .take(LISTED)
        .map(|row| {
            let on = row.two_factor_at.is_some();
            let standing = match security_policy::standing(&ctx.org, on, now) {
                TwoFactorStanding::Fine => String::new(),
                TwoFactorStanding::Grace { days_left, .. } => format!("{days_left} days left"),
                TwoFactorStanding::Blocked => "Blocked until it is set up".to_string(),
            };
            MemberStanding {
                membership_id: row.membership_id,
                name: row.name,
                email: row.email,
                on,
                standing,
            }
        })
        .collect();
    Ok(SecurityPage {
        layout: Layout::org(ctx, Section::Security, "Security"),
        org_id: ctx.org.id.clone(),
        form,
        errors,
        server_idle_minutes,
        server_lifetime_hours,
        deadline: security_policy::two_factor_deadline(&ctx.org)
            .map(super::format::date)
            .unwrap_or_default(),
        members,
        without,
        total,
    })
}

/// The form as the organization's settings fill it.
fn current_form(ctx: &OrgCtx) -> SecurityForm {
    let org = &ctx.org;
    SecurityForm {
        require_two_factor: org.two_factor_required_at.map(|_| "on".to_string()),
        grace_days: org.two_factor_grace_days.to_string(),
        idle_minutes: org
            .session_idle_minutes
            .map(|m| m.to_string())
            .unwrap_or_default(),
        lifetime_hours: org
            .session_lifetime_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
    }
}

pub async fn show(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    let form = current_form(&ctx);
    page(&security_page(&state, &ctx, form, FieldErrors::default()).await?)
}

pub async fn save(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<SecurityForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::EditSettings)?;
    let form = form.into_inner();
    let (idle, lifetime) = server_limits(&state);
    match SecuritySettings::parse(&form, idle, lifetime) {
        Ok(settings) => {
            security_policy::save(&state.db, &state.clock, &ctx.acting(), settings).await?;
            session::flash(ctx.session(), "success", "Security settings saved.");
            Ok(see_other(&format!(
                "/orgs/{}/settings/security",
                ctx.org.id
            )))
        }
        Err(messages) => {
            let mut errors = FieldErrors::default();
            for (field, message) in messages {
                errors.add(field, message);
            }
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &security_page(&state, &ctx, form, errors).await?,
            )
        }
    }
}

/// Ends every session of a member, in every browser and instance.
pub async fn sign_member_out(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, member_id) = path.into_inner();
    ctx.require(Permission::ManageMembers)?;
    let back = format!("/orgs/{}/members/{member_id}", ctx.org.id);
    match security_policy::sign_member_out(&state.db, &state.clock, &ctx.acting(), &member_id).await
    {
        Ok(row) => {
            session::flash(
                ctx.session(),
                "success",
                format!(
                    "{} has been signed out everywhere. Their next request asks them to sign in.",
                    row.name
                ),
            );
            Ok(see_other(&back))
        }
        Err(ServiceError::Invalid(invalid)) => Err(AppError::Unprocessable(invalid.message)),
        Err(err) => Err(err.into()),
    }
}
