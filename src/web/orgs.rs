//! The home redirect, the organization switcher's targets and creating
//! another organization.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{CurrentUser, OrgCtx};
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::OrgName;
use crate::domain::role::OrgRole;
use crate::services::orgs;

/// `/`: the last organization used, else the first, else the sign-in page;
/// within it, the first page the person may see there.
pub async fn home(session: Session, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if session::auth(&session).is_none() {
        return Ok(see_other("/signin"));
    }
    let current = CurrentUser::extract(&req).await?;
    let orgs = current.orgs();
    let last = session::last_org(&session);
    let target = orgs
        .iter()
        .find(|o| Some(&o.id) == last.as_ref())
        .or_else(|| orgs.first());
    Ok(match target {
        Some(org) => see_other(&org.landing_path()),
        None => see_other("/orgs/new"),
    })
}

/// `/orgs/{org_id}`: the organization's first page the person may see.
pub async fn show(ctx: OrgCtx) -> HttpResponse {
    see_other(&orgs::landing_path(&ctx.org.id, ctx.membership.role))
}

#[derive(Template)]
#[template(path = "org_new.html")]
struct NewOrgPage {
    layout: Layout,
    org_name: String,
    /// A name the person already belongs to and was warned about: sent
    /// again, it is created anyway.
    same_name: String,
    errors: FieldErrors,
}

pub async fn new_page(current: CurrentUser) -> Result<HttpResponse, AppError> {
    let orgs = current.orgs();
    page(&NewOrgPage {
        layout: Layout::account(&current.session, &current.user, orgs, "New organization"),
        org_name: String::new(),
        same_name: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewOrgForm {
    pub name: String,
    /// The duplicate name the person confirmed.
    pub same_name: String,
}

pub async fn create(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: web::Form<NewOrgForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let mut same_name = String::new();
    match OrgName::parse(&form.name) {
        Ok(name) => {
            let typed = name.as_str().to_lowercase();
            let duplicate = current
                .orgs()
                .iter()
                .any(|o| o.name.to_lowercase() == typed);
            if duplicate && form.same_name.trim().to_lowercase() != typed {
                errors.add(
                    "name",
                    format!(
                        "You already belong to an organization named {}. Choose another \
                         name, or press Create organization again to have two.",
                        name.as_str()
                    ),
                );
                same_name = name.as_str().to_string();
            } else {
                let org = orgs::create(
                    &state.db,
                    &state.clock,
                    &current.user,
                    &name,
                    &current.audit_actor(),
                    state.config.default_seat_limit,
                )
                .await?;
                session::flash(
                    &current.session,
                    "success",
                    format!("{} is ready.", org.name),
                );
                return Ok(see_other(&orgs::landing_path(&org.id, OrgRole::Owner)));
            }
        }
        Err(message) => errors.add("name", message),
    }
    let orgs = current.orgs();
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NewOrgPage {
            layout: Layout::account(&current.session, &current.user, orgs, "New organization"),
            org_name: form.into_inner().name,
            same_name,
            errors,
        },
    )
}
