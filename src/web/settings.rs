//! The organization's Settings pages. Each checks the permission its
//! section names before it reads anything.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::render::{FieldErrors, Layout, Section, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::OrgName;
use crate::domain::permission::Permission;
use crate::services::members::MemberError;
use crate::services::orgs::{self, OrgProfile};

fn layout_for(ctx: &OrgCtx, section: Section) -> Result<Layout, AppError> {
    if let Some(permission) = section.permission() {
        ctx.require(permission)?;
    }
    Ok(Layout::org(ctx, section, section.label()))
}

#[derive(Template)]
#[template(path = "section.html")]
struct SectionPage {
    layout: Layout,
    heading: &'static str,
    empty: &'static str,
}

fn section(ctx: OrgCtx, section: Section, empty: &'static str) -> Result<HttpResponse, AppError> {
    let layout = layout_for(&ctx, section)?;
    page(&SectionPage {
        layout,
        heading: section.label(),
        empty,
    })
}

pub async fn workspaces(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        ctx,
        Section::Workspaces,
        "Workspaces group the organization's work; every organization starts with General.",
    )
}

pub async fn product_access(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        ctx,
        Section::ProductAccess,
        "No products yet. Once products exist, you can restrict a member to the ones they may view or edit.",
    )
}

pub async fn audit(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        ctx,
        Section::AuditLog,
        "Every change to members, roles, invitations and settings will be listed here.",
    )
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
}

fn general_page(
    ctx: &OrgCtx,
    status: StatusCode,
    name: String,
    description: String,
    errors: FieldErrors,
    delete_errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let layout = layout_for(ctx, Section::General)?;
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
            errors,
            delete_errors,
        },
    )
}

pub async fn general(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
    general_page(
        &ctx,
        StatusCode::OK,
        name,
        description,
        FieldErrors::default(),
        FieldErrors::default(),
    )
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
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        form.name,
        form.description,
        errors,
        FieldErrors::default(),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    pub confirm_name: String,
    pub password: String,
}

pub async fn delete_org(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::DeleteOrganization)?;
    let mut errors = FieldErrors::default();
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
        Err(MemberError::Invalid(message)) => errors.add("confirm_name", message),
        Err(other) => return Err(other.into()),
    }
    let (name, description) = (ctx.org.name.clone(), ctx.org.description.clone());
    general_page(
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        name,
        description,
        FieldErrors::default(),
        errors,
    )
}
