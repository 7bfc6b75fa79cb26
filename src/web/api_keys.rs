//! Settings → API keys: make organization and personal keys (the secret is
//! shown once, on the page that answers the form), list them, revoke them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::format;
use super::render::{FieldErrors, Layout, Section, html, see_other};
use super::session;
use super::state::AppState;
use crate::domain::api_key::{self, LIFETIME_CHOICES};
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, GRANTABLE};
use crate::domain::role::OrgRole;
use crate::entities::api_key::KeyKind;
use crate::services::api_keys::{self, KeyRow, NewKey, NewKind};
use crate::services::error::ServiceError;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    /// `personal` or `organization`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub role: String,
    /// Days (`30`, `90`, `365`) or `date`.
    #[serde(default)]
    pub lifetime: String,
    /// YYYY-MM-DD, with `lifetime=date`.
    #[serde(default)]
    pub date: String,
    /// Limits an organization key to one workspace; empty for all.
    #[serde(default)]
    pub workspace_id: String,
}

pub struct KeyView {
    pub id: String,
    pub name: String,
    /// "Organization key" or "Personal key of Ada".
    pub kind: String,
    /// The role it acts with.
    pub role: String,
    pub last4: String,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    /// Active, Expired or Revoked.
    pub state: &'static str,
    pub can_revoke: bool,
}

impl KeyView {
    fn new(row: KeyRow, now: i64, me: &str, manages: bool) -> Self {
        let live = row.is_live(now);
        let key = row.key;
        let (kind, role) = match key.kind {
            KeyKind::Organization => (
                match &row.workspace_title {
                    Some(title) => format!("Organization key, only in {title}"),
                    None => "Organization key".to_string(),
                },
                key.role.map(|r| r.label()).unwrap_or_default().to_string(),
            ),
            KeyKind::Personal => (
                format!(
                    "Personal key of {}",
                    row.member_name.as_deref().unwrap_or("a former member")
                ),
                "Their current role".to_string(),
            ),
        };
        let state = if key.revoked_at.is_some() {
            "Revoked"
        } else if live {
            "Active"
        } else {
            "Expired"
        };
        let last_used = match (key.last_used_at, key.last_used_address.as_deref()) {
            (Some(at), Some(address)) => format!("{} from {address}", format::date_time(at)),
            (Some(at), None) => format::date_time(at),
            (None, _) => "Never".to_string(),
        };
        let own = key.user_id.as_deref() == Some(me);
        KeyView {
            id: key.id,
            name: key.name,
            kind,
            role,
            last4: key.last4,
            created_by: key.created_by_name,
            created: format::date_time(key.created_at),
            expires: format::date_time(key.expires_at),
            last_used,
            state,
            can_revoke: key.revoked_at.is_none() && (own || manages),
        }
    }
}

/// A key just made: its secret, shown this once.
pub struct Created {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage {
    layout: Layout,
    org_id: String,
    keys: Vec<KeyView>,
    can_org_keys: bool,
    roles: Vec<OrgRole>,
    /// Every workspace, as (id, title), for limiting an organization key.
    workspaces: Vec<(String, String)>,
    lifetimes: [i64; 3],
    form: KeyForm,
    errors: FieldErrors,
    created: Option<Created>,
}

async fn render(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    form: KeyForm,
    errors: FieldErrors,
    created: Option<Created>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::UsePersonalKeys)?;
    let acting = ctx.acting();
    let rows = api_keys::list(&state.db, &state.clock, &acting).await?;
    let now = state.clock.now();
    let manages = ctx.can(Permission::ManageApiKeys);
    let roles = GRANTABLE
        .into_iter()
        .filter(|role| policy::allows(ctx.roles(), Action::CreateApiKey { role: *role }))
        .collect();
    html(
        status,
        &KeysPage {
            layout: Layout::org(ctx, Section::ApiKeys, "API keys"),
            org_id: ctx.org.id.clone(),
            keys: rows
                .into_iter()
                .map(|row| KeyView::new(row, now, &ctx.user().id, manages))
                .collect(),
            can_org_keys: manages,
            roles,
            workspaces: crate::services::workspaces::titles(&state.db, &ctx.org.id).await?,
            lifetimes: LIFETIME_CHOICES,
            form,
            errors,
            created,
        },
    )
}

pub async fn list(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    let form = KeyForm {
        kind: "personal".into(),
        role: OrgRole::Member.as_str().into(),
        lifetime: "90".into(),
        ..KeyForm::default()
    };
    render(
        &state,
        &ctx,
        StatusCode::OK,
        form,
        FieldErrors::default(),
        None,
    )
    .await
}

/// The form as a key to make, or the messages for its fields.
fn validate(form: &KeyForm, now: i64) -> Result<NewKey, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = api_key::parse_name(&form.name)
        .map_err(|m| errors.add("name", m))
        .ok();
    let kind = match form.kind.as_str() {
        "personal" => Some(NewKind::Personal),
        "organization" => match OrgRole::parse(&form.role) {
            Some(role) => Some(NewKind::Organization(role)),
            None => {
                errors.add("role", "Choose one of the roles offered.");
                None
            }
        },
        _ => {
            errors.add("kind", "Choose a personal or an organization key.");
            None
        }
    };
    let expires = match form.lifetime.as_str() {
        "date" => match super::audit::parse_day(&form.date) {
            Ok(day) => api_key::expiry(now, None, day),
            Err(message) => Err(message.to_string()),
        },
        days => match days.parse::<i64>() {
            Ok(days) => api_key::expiry(now, Some(days), None),
            Err(_) => api_key::expiry(now, None, None),
        },
    }
    .map_err(|m| {
        errors.add(
            if form.lifetime == "date" {
                "date"
            } else {
                "lifetime"
            },
            m,
        )
    })
    .ok();
    match (name, kind, expires) {
        (Some(name), Some(kind), Some(expires_at)) if errors.is_empty() => Ok(NewKey {
            name,
            kind,
            expires_at,
            workspace_id: match (kind, form.workspace_id.trim()) {
                (NewKind::Organization(_), id) if !id.is_empty() => Some(id.to_string()),
                _ => None,
            },
        }),
        _ => Err(errors),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::UsePersonalKeys)?;
    let form = form.into_inner();
    let new = match validate(&form, state.clock.now()) {
        Ok(new) => new,
        Err(errors) => {
            return render(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await;
        }
    };
    match api_keys::create(&state.db, &state.clock, &ctx.acting(), new).await {
        Ok((key, secret)) => {
            let fresh = KeyForm {
                kind: form.kind,
                role: form.role,
                lifetime: form.lifetime,
                workspace_id: form.workspace_id,
                ..KeyForm::default()
            };
            let created = Created {
                name: key.name,
                secret,
            };
            render(
                &state,
                &ctx,
                StatusCode::CREATED,
                fresh,
                FieldErrors::default(),
                Some(created),
            )
            .await
        }
        Err(ServiceError::Invalid(invalid)) => {
            let errors = FieldErrors::from(invalid);
            render(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn revoke(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::UsePersonalKeys)?;
    let key = api_keys::revoke(&state.db, &state.clock, &ctx.acting(), &path.1).await?;
    session::flash(
        ctx.session(),
        "success",
        format!("The key {} was revoked: it no longer works.", key.name),
    );
    Ok(see_other(&format!("/orgs/{}/api-keys", ctx.org.id)))
}
