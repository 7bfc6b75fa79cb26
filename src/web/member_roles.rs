//! A member's Manage roles panel: the organization and each workspace the
//! viewer sees, the custom roles held there (checkboxes), and what the
//! member's roles add up to there, module by module, with the reasons.
//! Each place saves on its own: in place with htmx, as a plain form
//! otherwise.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::errors::AppError;
use super::extract::{Htmx, OrgCtx};
use super::render::{Layout, Section, page, see_other};
use super::session;
use super::state::AppState;
use crate::services::custom_roles::{self, ModuleAccess, PanelPlace};
use crate::services::error::ServiceError;

/// One place of the panel, as the templates show it.
pub struct PlaceView {
    /// The form's `workspace_id` ('' for the organization).
    pub workspace_id: String,
    /// The section's element id.
    pub anchor: String,
    pub title: String,
    pub roles: Vec<RoleChoice>,
    pub modules: Vec<ModuleRow>,
    pub editable: bool,
}

pub struct RoleChoice {
    pub id: String,
    pub name: String,
    pub held: bool,
    pub may_change: bool,
    pub refused: String,
}

pub struct ModuleRow {
    pub name: String,
    pub level: &'static str,
    pub why: String,
}

impl ModuleRow {
    fn of(m: &ModuleAccess) -> Self {
        ModuleRow {
            name: m.module.name.clone(),
            level: m.level.label(),
            why: if m.reasons.is_empty() {
                "No role gives it".to_string()
            } else {
                m.reasons.join("; ")
            },
        }
    }
}

impl PlaceView {
    fn of(place: PanelPlace) -> Self {
        let (workspace_id, title) = match &place.workspace {
            Some(ws) => (ws.id.clone(), format!("Workspace {}", ws.title)),
            None => (String::new(), "Organization-wide".to_string()),
        };
        PlaceView {
            anchor: if workspace_id.is_empty() {
                "roles-org".to_string()
            } else {
                format!("roles-{workspace_id}")
            },
            workspace_id,
            title,
            roles: place
                .roles
                .into_iter()
                .map(|r| RoleChoice {
                    id: r.id,
                    name: r.name,
                    held: r.held,
                    may_change: r.refused.is_none(),
                    refused: r.refused.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
            modules: place.modules.iter().map(ModuleRow::of).collect(),
            editable: place.editable,
        }
    }
}

#[derive(Template)]
#[template(path = "member_roles.html")]
struct PanelPage {
    layout: Layout,
    org_id: String,
    member_id: String,
    member_name: String,
    places: Vec<PlaceView>,
}

#[derive(Template)]
#[template(path = "partials/roles_place.html")]
struct PlaceFragment {
    org_id: String,
    member_id: String,
    csrf: String,
    place: PlaceView,
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, member_id) = path.into_inner();
    let (member, places) = custom_roles::panel(&state.db, &ctx.acting(), &member_id).await?;
    let name = crate::services::members::find(
        &state.db.read_in(ctx.tenant()).await?,
        &ctx.org.id,
        &member.id,
    )
    .await?
    .map(|row| row.name)
    .ok_or(AppError::NotFound)?;
    page(&PanelPage {
        layout: Layout::org(&ctx, Section::Members, &format!("Roles of {name}")),
        org_id: ctx.org.id.clone(),
        member_id: member.id,
        member_name: name,
        places: places.into_iter().map(PlaceView::of).collect(),
    })
}

pub async fn save(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (_, member_id) = path.into_inner();
    let mut workspace_id = String::new();
    let mut roles = Vec::new();
    for (key, value) in form.into_inner() {
        match key.as_str() {
            "workspace_id" => workspace_id = value,
            "role" => roles.push(value),
            _ => {}
        }
    }
    let place = (!workspace_id.is_empty()).then_some(workspace_id.as_str());
    let acting = ctx.acting();
    let outcome =
        match custom_roles::set_roles(&state.db, &state.clock, &acting, &member_id, place, &roles)
            .await
        {
            Ok(outcome) => outcome,
            Err(ServiceError::Invalid(invalid)) => {
                return Err(AppError::Unprocessable(invalid.message));
            }
            Err(other) => return Err(other.into()),
        };
    let mut changes = Vec::new();
    if !outcome.granted.is_empty() {
        changes.push(format!("granted {}", outcome.granted.join(", ")));
    }
    if !outcome.revoked.is_empty() {
        changes.push(format!("took away {}", outcome.revoked.join(", ")));
    }
    let message = if changes.is_empty() {
        "Nothing changed.".to_string()
    } else {
        format!("Saved: {}.", changes.join("; "))
    };
    if htmx.0 {
        let (_, places) = custom_roles::panel(&state.db, &acting, &member_id).await?;
        let place = places
            .into_iter()
            .find(|p| p.workspace.as_ref().map(|w| w.id.as_str()).unwrap_or("") == workspace_id)
            .ok_or(AppError::NotFound)?;
        let mut place = PlaceView::of(place);
        place.title = format!("{} — {message}", place.title);
        return page(&PlaceFragment {
            org_id: ctx.org.id.clone(),
            member_id,
            csrf: session::csrf_token(ctx.session()),
            place,
        });
    }
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&format!(
        "/orgs/{}/members/{member_id}/roles",
        ctx.org.id
    )))
}
