//! The organization's Settings pages. Each checks the permission its
//! section names before it reads anything.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, Section, html, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::OrgName;
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::services::account_links;
use crate::services::members::MemberError;
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
}

/// Which form of the page comes back with messages.
enum Errors {
    None,
    Profile(FieldErrors),
    Delete(FieldErrors),
    AutoJoin(AutoJoinForm, FieldErrors),
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
    };
    let auto_join = match auto_join {
        Some(form) => form,
        None => AutoJoinForm {
            domains: account_links::domains_of(&state.db, &ctx.org.id)
                .await?
                .join("\n"),
            role: ctx.org.auto_join_role.as_str().to_string(),
        },
    };
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
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AutoJoinForm {
    pub domains: String,
    pub role: String,
}

/// The Owner lists the email domains whose verified owners may join, and
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
        account_links::set_auto_join(&state.db, &state.clock, &ctx.acting(), &domains, role)
            .await?;
        let message = if domains.is_empty() {
            "Auto-join is off.".to_string()
        } else {
            format!(
                "People with a confirmed address at {} can now join as {}.",
                domains.join(", "),
                role.label()
            )
        };
        session::flash(ctx.session(), "success", message);
        return Ok(see_other(&format!("/orgs/{}/settings", ctx.org.id)));
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
    match orgs::delete(
        &state.db,
        &state.clock,
        &ctx.acting(),
        ctx.user(),
        &form.password,
        &form.confirm_name,
    )
    .await
    {
        Ok(org) => {
            session::flash(
                ctx.session(),
                "success",
                format!("{} has been deleted.", org.name),
            );
            return Ok(see_other("/"));
        }
        Err(err @ MemberError::WrongPassword) => errors.add("password", err.to_string()),
        Err(err @ MemberError::TooManyAttempts) => {
            status = StatusCode::TOO_MANY_REQUESTS;
            errors.add("password", err.to_string())
        }
        Err(MemberError::Invalid(message)) => errors.add("confirm_name", message),
        Err(other) => return Err(other.into()),
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
