//! Settings → Roles: the built-in roles' module levels, the
//! organization's custom roles (define from scratch or from a template,
//! edit, delete) and its own modules (the Owner adds and removes them).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::render::{FieldErrors, Layout, Section, html, see_other};
use super::session;
use super::state::AppState;
use crate::domain::module::{self, Level, Levels, RoleScope};
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::services::custom_roles::{self, ModuleInfo, ModuleInput, RoleDef, RoleInput};
use crate::services::error::ServiceError;

/// A role's form as sent: name, description, scope and one
/// `level_<module key>` field per module.
#[derive(Clone, Debug, Default)]
pub struct RoleForm {
    pub name: String,
    pub description: String,
    pub scope: String,
    /// (module key, level value) as sent.
    pub levels: Vec<(String, String)>,
}

impl RoleForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = RoleForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "description" => form.description = value,
                "scope" => form.scope = value,
                other => {
                    if let Some(module) = other.strip_prefix("level_") {
                        form.levels.push((module.to_string(), value));
                    }
                }
            }
        }
        form
    }

    fn of(def: &RoleDef, modules: &[ModuleInfo]) -> Self {
        RoleForm {
            name: def.role.name.clone(),
            description: def.role.description.clone(),
            scope: def.role.scope.as_str().to_string(),
            levels: modules
                .iter()
                .map(|m| (m.key.clone(), def.levels.get(&m.key).as_str().to_string()))
                .collect(),
        }
    }

    /// The level the form gives `module` ("none" when absent).
    pub fn level(&self, module: &str) -> &str {
        self.levels
            .iter()
            .find(|(k, _)| k == module)
            .map(|(_, v)| v.as_str())
            .unwrap_or("none")
    }

    fn input(&self) -> Result<RoleInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let scope = RoleScope::parse(&self.scope);
        if scope.is_none() {
            errors.add("scope", "Choose where the role may be held.");
        }
        let mut levels = Vec::new();
        for (module, value) in &self.levels {
            match Level::parse(value) {
                Some(level) => levels.push((module.clone(), level)),
                None => errors.add("levels", "Choose None, Read or Write for every module."),
            }
        }
        match scope {
            Some(scope) if errors.is_empty() => Ok(RoleInput {
                name: self.name.clone(),
                description: self.description.clone(),
                scope,
                levels,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ModuleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub description: String,
}

/// One module's row in the built-in roles' table: its level in each
/// built-in role, in the order of [`BUILTIN_COLUMNS`].
pub struct BuiltinRow {
    pub module: String,
    pub levels: Vec<Level>,
}

/// The built-in roles, as the table's columns.
pub const BUILTIN_COLUMNS: [&str; 7] = [
    "Owner",
    "Admin",
    "Member",
    "Viewer",
    "Workspace Admin",
    "Workspace Editor",
    "Workspace Viewer",
];

/// One custom role's row.
pub struct CustomRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub scope: &'static str,
    pub levels: String,
    pub holders: u64,
}

/// Describes levels with module names, for people.
pub fn levels_text(levels: &Levels, modules: &[ModuleInfo]) -> String {
    let parts: Vec<String> = modules
        .iter()
        .filter(|m| levels.get(&m.key) > Level::None)
        .map(|m| format!("{}: {}", m.name, levels.get(&m.key).label()))
        .collect();
    if parts.is_empty() {
        "No modules".into()
    } else {
        parts.join(", ")
    }
}

fn builtin_rows(modules: &[ModuleInfo]) -> Vec<BuiltinRow> {
    let roles: Vec<Levels> = OrgRole::BADGES
        .into_iter()
        .map(module::org_role_levels)
        .chain(
            [
                WorkspaceRole::Admin,
                WorkspaceRole::Editor,
                WorkspaceRole::Viewer,
            ]
            .into_iter()
            .map(module::workspace_role_levels),
        )
        .collect();
    modules
        .iter()
        .map(|m| BuiltinRow {
            module: m.name.clone(),
            levels: roles.iter().map(|r| r.get(&m.key)).collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    layout: Layout,
    org_id: String,
    modules: Vec<ModuleInfo>,
    builtin: Vec<BuiltinRow>,
    builtin_columns: [&'static str; 7],
    custom: Vec<CustomRow>,
    templates: &'static [module::Template],
    scopes: [RoleScope; 3],
    levels: [Level; 3],
    can_define: bool,
    can_modules: bool,
    form: RoleForm,
    module_form: ModuleForm,
    errors: FieldErrors,
}

async fn render_list(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    form: RoleForm,
    module_form: ModuleForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewSettings)?;
    let acting = ctx.acting();
    let modules = custom_roles::list_modules(&state.db, &acting).await?;
    let defs = custom_roles::list_roles(&state.db, &acting).await?;
    let custom = defs
        .iter()
        .map(|d| CustomRow {
            id: d.role.id.clone(),
            name: d.role.name.clone(),
            description: d.role.description.clone(),
            scope: d.role.scope.label(),
            levels: levels_text(&d.levels, &modules),
            holders: d.holders,
        })
        .collect();
    html(
        status,
        &RolesPage {
            layout: Layout::org(ctx, Section::Roles, "Roles"),
            org_id: ctx.org.id.clone(),
            builtin: builtin_rows(&modules),
            builtin_columns: BUILTIN_COLUMNS,
            modules,
            custom,
            templates: &module::TEMPLATES,
            scopes: RoleScope::ALL,
            levels: Level::ALL,
            can_define: ctx.can(Permission::ManageRoles),
            can_modules: ctx.can(Permission::ManageModules),
            form,
            module_form,
            errors,
        },
    )
}

pub async fn list(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    let form = RoleForm {
        scope: RoleScope::Workspace.as_str().into(),
        ..RoleForm::default()
    };
    render_list(
        &state,
        &ctx,
        StatusCode::OK,
        form,
        ModuleForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// A service's answer to a form: 422 with its message on the form, other
/// errors as pages.
fn field_errors(err: ServiceError) -> Result<FieldErrors, AppError> {
    match err {
        ServiceError::Invalid(invalid) => Ok(invalid.into()),
        other => Err(other.into()),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageRoles)?;
    let form = RoleForm::from_pairs(form.into_inner());
    let errors = match form.input() {
        Ok(input) => {
            match custom_roles::create_role(&state.db, &state.clock, &ctx.acting(), &input).await {
                Ok(created) => {
                    session::flash(
                        ctx.session(),
                        "success",
                        format!("Created the role {}.", created.name),
                    );
                    return Ok(see_other(&format!(
                        "/orgs/{}/roles/{}",
                        ctx.org.id, created.id
                    )));
                }
                Err(err) => field_errors(err)?,
            }
        }
        Err(errors) => errors,
    };
    render_list(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        form,
        ModuleForm::default(),
        errors,
    )
    .await
}

pub async fn from_template(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageRoles)?;
    let (_, template) = path.into_inner();
    if module::template(&template).is_none() {
        return Err(AppError::NotFound);
    }
    match custom_roles::create_from_template(&state.db, &state.clock, &ctx.acting(), &template)
        .await
    {
        Ok((created, left_out)) => {
            let message = if left_out.is_empty() {
                format!(
                    "Created the role {} from its template; edit it below.",
                    created.name
                )
            } else {
                format!(
                    "Created the role {} without the modules {} (only the Owner adds modules).",
                    created.name,
                    left_out.join(", ")
                )
            };
            session::flash(ctx.session(), "success", message);
            Ok(see_other(&format!(
                "/orgs/{}/roles/{}",
                ctx.org.id, created.id
            )))
        }
        Err(err) => {
            let errors = field_errors(err)?;
            render_list(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                RoleForm::default(),
                ModuleForm::default(),
                errors,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "role_edit.html")]
struct RolePage {
    layout: Layout,
    org_id: String,
    role_id: String,
    holders: u64,
    modules: Vec<ModuleInfo>,
    scopes: [RoleScope; 3],
    levels: [Level; 3],
    can_define: bool,
    form: RoleForm,
    errors: FieldErrors,
}

async fn render_role(
    state: &AppState,
    ctx: &OrgCtx,
    role_id: &str,
    status: StatusCode,
    form: Option<RoleForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let acting = ctx.acting();
    let def = custom_roles::get_role(&state.db, &acting, role_id).await?;
    let modules = custom_roles::list_modules(&state.db, &acting).await?;
    let title = format!("Role {}", def.role.name);
    html(
        status,
        &RolePage {
            layout: Layout::org(ctx, Section::Roles, &title),
            org_id: ctx.org.id.clone(),
            role_id: def.role.id.clone(),
            holders: def.holders,
            form: form.unwrap_or_else(|| RoleForm::of(&def, &modules)),
            modules,
            scopes: RoleScope::ALL,
            levels: Level::ALL,
            can_define: ctx.can(Permission::ManageRoles),
            errors,
        },
    )
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, role_id) = path.into_inner();
    render_role(
        &state,
        &ctx,
        &role_id,
        StatusCode::OK,
        None,
        FieldErrors::default(),
    )
    .await
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageRoles)?;
    let (_, role_id) = path.into_inner();
    let form = RoleForm::from_pairs(form.into_inner());
    let errors = match form.input() {
        Ok(input) => {
            match custom_roles::update_role(
                &state.db,
                &state.clock,
                &ctx.acting(),
                &role_id,
                &input,
            )
            .await
            {
                Ok(updated) => {
                    session::flash(
                        ctx.session(),
                        "success",
                        format!(
                            "Saved the role {}. Those who hold it have the new levels from their \
                             next request.",
                            updated.name
                        ),
                    );
                    return Ok(see_other(&format!("/orgs/{}/roles", ctx.org.id)));
                }
                Err(err) => field_errors(err)?,
            }
        }
        Err(errors) => errors,
    };
    render_role(
        &state,
        &ctx,
        &role_id,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(form),
        errors,
    )
    .await
}

pub async fn delete(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageRoles)?;
    let (_, role_id) = path.into_inner();
    let deleted =
        custom_roles::delete_role(&state.db, &state.clock, &ctx.acting(), &role_id).await?;
    session::flash(
        ctx.session(),
        "success",
        format!(
            "Deleted the role {}; nobody holds it any more.",
            deleted.name
        ),
    );
    Ok(see_other(&format!("/orgs/{}/roles", ctx.org.id)))
}

pub async fn add_module(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<ModuleForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageModules)?;
    let form = form.into_inner();
    let input = ModuleInput {
        name: form.name.clone(),
        key: form.key.clone(),
        description: form.description.clone(),
    };
    match custom_roles::add_module(&state.db, &state.clock, &ctx.acting(), &input).await {
        Ok(added) => {
            session::flash(
                ctx.session(),
                "success",
                format!(
                    "Added the module {} (key {}).",
                    added.name, added.module_key
                ),
            );
            Ok(see_other(&format!("/orgs/{}/roles", ctx.org.id)))
        }
        Err(err) => {
            let errors = field_errors(err)?;
            let errors =
                errors
                    .all()
                    .iter()
                    .fold(FieldErrors::default(), |mut all, (field, message)| {
                        all.add(module_field(field), message.clone());
                        all
                    });
            render_list(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                RoleForm {
                    scope: RoleScope::Workspace.as_str().into(),
                    ..RoleForm::default()
                },
                form,
                errors,
            )
            .await
        }
    }
}

/// The module form's fields carry a prefix, so that its messages do not
/// land on the role form's fields of the same name.
fn module_field(field: &str) -> &'static str {
    match field {
        "name" => "module_name",
        "key" => "module_key",
        _ => "module_description",
    }
}

pub async fn remove_module(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageModules)?;
    let (_, module_id) = path.into_inner();
    let removed =
        custom_roles::remove_module(&state.db, &state.clock, &ctx.acting(), &module_id).await?;
    session::flash(
        ctx.session(),
        "success",
        format!(
            "Removed the module {}; no role gives a level in it any more.",
            removed.name
        ),
    );
    Ok(see_other(&format!("/orgs/{}/roles", ctx.org.id)))
}
