//! The organization's Settings pages. Each checks the permission its
//! section names before it reads anything.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::format;
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, Section, html, see_other};
use super::session;
use super::state::AppState;
use crate::domain::domain_proof as proof;
use crate::domain::names::OrgName;
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::entities::auto_join_domain;
use crate::services::account_links;
use crate::services::domain_proof::{self, Checked, ProofError};
use crate::services::error::ServiceError;
use crate::services::orgs::{self, OrgProfile};

fn layout_for(ctx: &OrgCtx, section: Section) -> Result<Layout, AppError> {
    if let Some(permission) = section.permission() {
        ctx.require(permission)?;
    }
    Ok(Layout::org(ctx, section, section.label()))
}

#[derive(Template)]
#[template(path = "general.html")]
struct GeneralPage {
    layout: Layout,
    org_id: String,
    name: String,
    description: String,
    can_edit: bool,
    can_delete: bool,
    current_name: String,
    errors: FieldErrors,
    delete_errors: FieldErrors,
    can_auto_join: bool,
    auto_join: AutoJoinForm,
    auto_join_errors: FieldErrors,
    domains: Vec<DomainView>,
}

/// One auto-join domain on the settings page: verified, or pending with
/// the DNS record to publish.
struct DomainView {
    id: String,
    domain: String,
    record_name: String,
    record_value: String,
    /// Empty while pending.
    verified_on: String,
    /// Why the last check did not verify it (empty otherwise).
    error: String,
}

/// Which form of the page comes back with messages.
enum Errors {
    None,
    Profile(FieldErrors),
    Delete(FieldErrors),
    AutoJoin(AutoJoinForm, FieldErrors),
    /// "Check now" did not verify this domain, for this reason.
    Check {
        domain_id: String,
        message: String,
    },
}

async fn general_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    name: String,
    description: String,
    errors: Errors,
) -> Result<HttpResponse, AppError> {
    let layout = layout_for(ctx, Section::General)?;
    let mut check_error = None;
    let (profile_errors, delete_errors, auto_join, auto_join_errors) = match errors {
        Errors::None => (
            FieldErrors::default(),
            FieldErrors::default(),
            None,
            FieldErrors::default(),
        ),
        Errors::Profile(e) => (e, FieldErrors::default(), None, FieldErrors::default()),
        Errors::Delete(e) => (FieldErrors::default(), e, None, FieldErrors::default()),
        Errors::AutoJoin(form, e) => (
            FieldErrors::default(),
            FieldErrors::default(),
            Some(form),
            e,
        ),
        Errors::Check { domain_id, message } => {
            check_error = Some((domain_id, message));
            (
                FieldErrors::default(),
                FieldErrors::default(),
                None,
                FieldErrors::default(),
            )
        }
    };
    let listed = if ctx.can(Permission::ManageAutoJoin) {
        domain_proof::list(&state.db, &ctx.org.id).await?
    } else {
        Vec::new()
    };
    let auto_join = match auto_join {
        Some(form) => form,
        None => AutoJoinForm {
            domains: listed
                .iter()
                .map(|d| d.domain.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            role: ctx.org.auto_join_role.as_str().to_string(),
        },
    };
    let domains = listed
        .into_iter()
        .map(|d| DomainView {
            record_name: proof::record_name(&d.domain),
            record_value: proof::record_value(&d.token),
            verified_on: d.verified_at.map(format::date).unwrap_or_default(),
            error: match &check_error {
                Some((id, message)) if *id == d.id => message.clone(),
                _ => String::new(),
            },
            id: d.id,
            domain: d.domain,
        })
        .collect();
    html(
        status,
        &GeneralPage {
            layout,
            org_id: ctx.org.id.clone(),
            name,
            description,
            can_edit: ctx.can(Permission::EditSettings),
            can_delete: ctx.can(Permission::DeleteOrganization),
            current_name: ctx.org.name.clone(),
            errors: profile_errors,
            delete_errors,
            can_auto_join: ctx.can(Permission::ManageAutoJoin),
            auto_join,
            auto_join_errors,
            domains,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AutoJoinForm {
    pub domains: String,
    pub role: String,
}

/// The Owner lists the email domains whose confirmed addresses may join
/// (each welcomes people once DNS proves the organization controls it), and
/// the role they get.
pub async fn update_auto_join(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<AutoJoinForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageAutoJoin)?;
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let role = match OrgRole::parse(&form.role) {
        Some(role @ (OrgRole::Member | OrgRole::Viewer)) => Some(role),
        _ => {
            errors.add("auto_join_role", "Choose Member or Viewer.");
            None
        }
    };
    let domains = account_links::parse_domains(&form.domains)
        .map_err(|e| errors.add("domains", e))
        .ok();
    if let (Some(domains), Some(role)) = (domains, role) {
        match account_links::set_auto_join(&state.db, &state.clock, &ctx.acting(), &domains, role)
            .await
        {
            Ok(listed) => {
                session::flash(ctx.session(), "success", saved_message(&listed, role));
                return Ok(see_other(&format!("/orgs/{}/settings", ctx.org.id)));
            }
            Err(ServiceError::Invalid(invalid)) => errors.add(invalid.field, invalid.message),
            Err(other) => return Err(other.into()),
        }
    }
    let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
    general_page(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        name,
        description,
        Errors::AutoJoin(form, errors),
    )
    .await
}

/// What saving the auto-join settings did, in words: verified domains
/// welcome people now, pending ones once DNS proves them.
fn saved_message(listed: &[auto_join_domain::Model], role: OrgRole) -> String {
    if listed.is_empty() {
        return "Auto-join is off.".to_string();
    }
    let (verified, pending): (Vec<_>, Vec<_>) =
        listed.iter().partition(|d| d.verified_at.is_some());
    let names = |list: &[&auto_join_domain::Model]| {
        list.iter()
            .map(|d| d.domain.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut message = String::new();
    if !verified.is_empty() {
        message.push_str(&format!(
            "People with a confirmed address at {} can now join as {}. ",
            names(&verified),
            role.label()
        ));
    }
    if !pending.is_empty() {
        message.push_str(&format!(
            "{} will welcome people as {} once you prove your organization controls it: publish \
             the DNS record shown below, then press Check now.",
            names(&pending),
            role.label()
        ));
    }
    message.trim_end().to_string()
}

/// "Check now": looks the domain's TXT record up; verified, the domain
/// starts welcoming people; otherwise the page says what was looked up and
/// what was (not) found, with 422.
pub async fn check_domain(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageAutoJoin)?;
    let domain_id = path.into_inner().1;
    let checked = domain_proof::check(
        &state.db,
        &state.clock,
        &state.dns,
        &ctx.acting(),
        &domain_id,
    )
    .await;
    let message = match checked {
        Ok(Checked::Verified(d)) => format!(
            "{} is verified. People with a confirmed address there can now join {}.",
            d.domain, ctx.org.name
        ),
        Ok(Checked::AlreadyVerified(d)) => format!("{} is already verified.", d.domain),
        Err(ProofError::NotFound) => return Err(AppError::NotFound),
        Err(ProofError::Denied(denied)) => return Err(denied.into()),
        Err(ProofError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
        Err(refused) => {
            let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
            return general_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                name,
                description,
                Errors::Check {
                    domain_id,
                    message: refused.to_string(),
                },
            )
            .await;
        }
    };
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&format!("/orgs/{}/settings", ctx.org.id)))
}

pub async fn general(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
    general_page(
        &state,
        &ctx,
        StatusCode::OK,
        name,
        description,
        Errors::None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub name: String,
    pub description: String,
}

pub async fn update_general(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::EditSettings)?;
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let name = OrgName::parse(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let description = orgs::parse_description(&form.description)
        .map_err(|e| errors.add("description", e))
        .ok();
    if let (Some(name), Some(description)) = (name, description) {
        orgs::update_profile(
            &state.db,
            &state.clock,
            &ctx.acting(),
            &OrgProfile { name, description },
        )
        .await?;
        session::flash(ctx.session(), "success", "Settings saved.");
        return Ok(see_other(&format!("/orgs/{}/settings", ctx.org.id)));
    }
    general_page(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        form.name,
        form.description,
        Errors::Profile(errors),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    pub confirm_name: String,
    pub password: String,
}

pub async fn delete_org(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    ctx: OrgCtx,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::DeleteOrganization)?;
    let mut errors = FieldErrors::default();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if form.confirm_name.trim().is_empty() {
        errors.add(
            "confirm_name",
            "Type the organization's name to confirm that it should be deleted.",
        );
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password to confirm the deletion.");
    }
    // Only a complete form spends a password check.
    let result = if errors.is_empty() {
        Some(
            orgs::delete(
                &state.db,
                &state.clock,
                &ctx.acting(),
                ctx.user(),
                &form.password,
                &form.confirm_name,
            )
            .await,
        )
    } else {
        None
    };
    match result {
        None => {}
        Some(Ok(org)) => {
            session::flash(
                ctx.session(),
                "success",
                format!("{} has been deleted.", org.name),
            );
            return Ok(see_other("/"));
        }
        Some(Err(err @ ServiceError::WrongPassword)) => errors.add("password", err.to_string()),
        Some(Err(err @ ServiceError::TooManyAttempts)) => {
            status = StatusCode::TOO_MANY_REQUESTS;
            errors.add("password", err.to_string())
        }
        Some(Err(ServiceError::Invalid(invalid))) => errors.add(invalid.field, invalid.message),
        Some(Err(other)) => return Err(other.into()),
    }
    let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
    general_page(
        &state,
        &ctx,
        status,
        name,
        description,
        Errors::Delete(errors),
    )
    .await
}
