//! Settings → Workspaces: the list (search, sort, 25 a page), creating a
//! workspace, and a workspace's Overview (details, owner, your access).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{Htmx, OrgCtx};
use super::format;
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, Section, html, page, saved, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::{Label, LabelKind};
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Denied, DirectRoleCaps, Roles, WorkspaceCaps};
use crate::domain::role::OrgRole;
use crate::domain::workspace::{Access, WorkspaceRole, WsPermission};
use crate::entities::workspace;
use crate::services::error::ServiceError;
use crate::services::members::{Cursor, Direction, MemberSort};
use crate::services::products;
use crate::services::workspaces::{
    self, AccessRow, ListQuery, PER_PAGE, WorkspaceRow, WorkspaceSort,
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WorkspacesQuery {
    pub q: String,
    pub sort: String,
    pub page: Option<u64>,
}

impl WorkspacesQuery {
    fn validate(&self) -> Result<ListQuery, AppError> {
        let search = self.q.trim().to_lowercase();
        if search.chars().count() > workspaces::MAX_TITLE_CHARS {
            return Err(AppError::bad_request(
                "The search is too long; use at most 80 characters.",
            ));
        }
        let sort = match self.sort.as_str() {
            "" => WorkspaceSort::Title,
            value => WorkspaceSort::parse(value)
                .ok_or_else(|| AppError::bad_request("Unknown sort order."))?,
        };
        Ok(ListQuery {
            search: (!search.is_empty()).then_some(search),
            sort,
            page: super::render::offset_page(self.page)?,
        })
    }
}

pub struct WorkspaceView {
    pub row: WorkspaceRow,
}

impl WorkspaceView {
    pub fn created(&self) -> String {
        format::date(self.row.workspace.created_at)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WorkspaceForm {
    pub title: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct WorkspacesPage {
    layout: Layout,
    org_id: String,
    workspaces: Vec<WorkspaceView>,
    total: u64,
    page: u64,
    pages: u64,
    search: String,
    sort: &'static str,
    prev_href: String,
    next_href: String,
    can_create: bool,
    form: WorkspaceForm,
    errors: FieldErrors,
}

fn page_href(query: &ListQuery, page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(search) = &query.search {
        pairs.push(("q", search.clone()));
    }
    if query.sort != WorkspaceSort::Title {
        pairs.push(("sort", query.sort.as_str().to_string()));
    }
    pairs.push(("page", page.to_string()));
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

async fn list_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    query: ListQuery,
    form: WorkspaceForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (rows, total) =
        workspaces::list(&state.db, &ctx.org.id, &ctx.user().id, ctx.role(), &query).await?;
    html(
        status,
        &WorkspacesPage {
            layout: Layout::org(ctx, Section::Workspaces, "Workspaces"),
            org_id: ctx.org.id.clone(),
            workspaces: rows.into_iter().map(|row| WorkspaceView { row }).collect(),
            total,
            page: query.page,
            pages: super::render::offset_pages(total, PER_PAGE),
            search: query.search.clone().unwrap_or_default(),
            sort: query.sort.as_str(),
            prev_href: page_href(&query, query.page.saturating_sub(1).max(1)),
            next_href: page_href(&query, query.page + 1),
            can_create: ctx.can(Permission::CreateWorkspaces),
            form,
            errors,
        },
    )
}

/// Organization members see every workspace; workspace guests only theirs.
pub async fn list(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<WorkspacesQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.validate()?;
    list_page(
        &state,
        &ctx,
        StatusCode::OK,
        query,
        WorkspaceForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// The form's message when the service refused the title (taken).
/// "Workspace TITLE is ready." (or saved), and the workspace's page.
fn workspace_saved(ctx: &OrgCtx, saved: workspace::Model, how: &str) -> (String, String) {
    (
        format!("Workspace {} is {how}.", saved.title),
        format!("/orgs/{}/workspaces/{}", ctx.org.id, saved.id),
    )
}

/// Validated title and description, or the form's messages.
fn validate(form: &WorkspaceForm) -> Result<(Label, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let title = Label::parse(&form.title, LabelKind::WorkspaceTitle)
        .map_err(|e| errors.add("title", e))
        .ok();
    let description = workspaces::parse_description(&form.description)
        .map_err(|e| errors.add("description", e))
        .ok();
    match (title, description) {
        (Some(title), Some(description)) => Ok((title, description)),
        _ => Err(errors),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<WorkspaceForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::CreateWorkspaces)?;
    let form = form.into_inner();
    let errors = match validate(&form) {
        Ok((title, description)) => {
            let acting = ctx.acting();
            let created =
                workspaces::create(&state.db, &state.clock, &acting, &title, &description).await;
            match saved(ctx.session(), created, |w| {
                workspace_saved(&ctx, w, "ready")
            })? {
                Ok(done) => return Ok(done),
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    list_page(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        ListQuery {
            page: 1,
            ..ListQuery::default()
        },
        form,
        errors,
    )
    .await
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    layout: Layout,
    org_id: String,
    workspace: workspace::Model,
    owner_name: String,
    access: Access,
    can_edit: bool,
    can_own: bool,
    direct_members: u64,
    /// Products of the workspace the viewer sees.
    products: u64,
    /// Every product of the workspace (deleting takes them all).
    all_products: u64,
    form: WorkspaceForm,
    errors: FieldErrors,
    transfer_email: String,
    transfer_errors: FieldErrors,
    delete_errors: FieldErrors,
}

/// Which form of the Overview comes back with messages.
enum OverviewErrors {
    None,
    Details(WorkspaceForm, FieldErrors),
    Transfer(String, FieldErrors),
    Delete(FieldErrors),
}

impl WorkspacePage {
    pub fn created(&self) -> String {
        format::date(self.workspace.created_at)
    }

    /// "Admin — from the organization role", and the like.
    pub fn access_label(&self) -> String {
        access_label(self.access)
    }
}

/// How a person has access to a workspace, in words: the role that
/// counts first, then where it comes from ("Owner — given in this
/// workspace; Admin from the organization role").
pub fn access_label(access: Access) -> String {
    const INHERITED: &str = "from the organization role";
    const DIRECT: &str = "given in this workspace";
    match (access.inherited, access.direct) {
        (None, None) => "No access".into(),
        (Some(inherited), None) => format!("{} — {INHERITED}", inherited.label()),
        (None, Some(direct)) => format!("{} — {DIRECT}", direct.label()),
        (Some(inherited), Some(direct)) if direct >= inherited => format!(
            "{} — {DIRECT}; {} {INHERITED}",
            direct.label(),
            inherited.label()
        ),
        (Some(inherited), Some(direct)) => format!(
            "{} — {INHERITED}; {} {DIRECT}",
            inherited.label(),
            direct.label()
        ),
    }
}

async fn workspace_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    found: (workspace::Model, Roles),
    errors: OverviewErrors,
) -> Result<HttpResponse, AppError> {
    let (workspace, roles) = found;
    let caps = WorkspaceCaps::of(roles);
    let access = roles.workspace();
    let owner_name = workspaces::owner_name(&state.db, &workspace.org_id, &workspace.id)
        .await?
        .unwrap_or_default();
    let direct_members =
        workspaces::direct_member_count(&state.db, &workspace.org_id, &workspace.id).await?;
    let viewer = products::Viewer::of(&ctx.membership);
    let products = products::count_in_workspace(&state.db, &viewer, &workspace.id).await?;
    let all_products = if caps.own {
        products::workspace_total(&state.db, &workspace.org_id, &workspace.id).await?
    } else {
        products
    };
    let details = WorkspaceForm {
        title: workspace.title.clone(),
        description: workspace.description.clone(),
    };
    let (form, errors, transfer_email, transfer_errors, delete_errors) = match errors {
        OverviewErrors::None => (
            details,
            FieldErrors::default(),
            String::new(),
            FieldErrors::default(),
            FieldErrors::default(),
        ),
        OverviewErrors::Details(form, e) => (
            form,
            e,
            String::new(),
            FieldErrors::default(),
            FieldErrors::default(),
        ),
        OverviewErrors::Transfer(email, e) => (
            details,
            FieldErrors::default(),
            email,
            e,
            FieldErrors::default(),
        ),
        OverviewErrors::Delete(e) => (
            details,
            FieldErrors::default(),
            String::new(),
            FieldErrors::default(),
            e,
        ),
    };
    html(
        status,
        &WorkspacePage {
            layout: Layout::org(ctx, Section::Workspaces, &workspace.title),
            org_id: ctx.org.id.clone(),
            owner_name,
            can_edit: caps.edit_details,
            can_own: caps.own,
            direct_members,
            products,
            all_products,
            access,
            workspace,
            form,
            errors,
            transfer_email,
            transfer_errors,
            delete_errors,
        },
    )
}

async fn found(
    state: &AppState,
    ctx: &OrgCtx,
    workspace_id: &str,
) -> Result<(workspace::Model, Roles), AppError> {
    let acting = ctx.acting();
    let (found, roles) = acting
        .in_workspace(&state.db.read_in(ctx.tenant()).await?, workspace_id)
        .await?;
    if policy::allows(roles, Action::InWorkspace(WsPermission::View)) {
        Ok((found, roles))
    } else {
        Err(AppError::NotFound)
    }
}

/// Addresses a workspace invitation's outcome names, and the characters
/// of each it shows.
const FLASHED_LINES: usize = 10;
const FLASHED_CHARS: usize = 80;

/// `text` cut to `max` characters, with an ellipsis when cut.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Invites people into the workspace as workspace guests, with a
/// workspace role and any custom roles to hold there: a workspace Admin
/// does so without any organization-level power.
pub async fn invite(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (_, workspace_id) = path.into_inner();
    let (workspace, _) = found(&state, &ctx, &workspace_id).await?;
    let mut emails = String::new();
    let mut ws_role = String::new();
    let mut custom_roles = Vec::new();
    for (key, value) in form.into_inner() {
        match key.as_str() {
            "emails" => emails = value,
            "workspace_role" => ws_role = value,
            "role" => custom_roles.push(value),
            _ => {}
        }
    }
    let role = WorkspaceRole::parse(&ws_role)
        .filter(|r| *r != WorkspaceRole::Owner)
        .ok_or_else(|| AppError::bad_request("Choose one of the workspace roles offered."))?;
    let addresses = crate::services::invitations::split_addresses(&emails);
    let acting = ctx.acting();
    let sender = super::invitations::sender(&state, &ctx, &acting);
    let into = crate::services::invitations::IntoWorkspace {
        workspace_id: workspace.id.clone(),
        role,
        custom_roles,
    };
    let result = crate::services::invitations::invite(
        &state.db,
        &state.clock,
        &sender,
        &addresses,
        OrgRole::None,
        Some(into),
    )
    .await;
    let (lines, links) = match result {
        Ok(done) => done,
        Err(crate::services::error::ServiceError::Invalid(invalid)) => {
            return Err(AppError::Unprocessable(invalid.message));
        }
        Err(other) => return Err(other.into()),
    };
    super::invitations::log_links(&state, &links);
    // The outcome goes into the session cookie as a flash message, which
    // must stay well under a cookie's 4 KB: each address is cut short and
    // at most a few are named.
    let mut summary: Vec<String> = lines
        .iter()
        .take(FLASHED_LINES)
        .map(|line| {
            let what = match &line.outcome {
                crate::services::invitations::Outcome::Invited => "invited".to_string(),
                crate::services::invitations::Outcome::AlreadyMember => {
                    "already a member".to_string()
                }
                crate::services::invitations::Outcome::AlreadyInvited { .. } => {
                    "already invited".to_string()
                }
                crate::services::invitations::Outcome::Invalid(message) => {
                    shortened(message, FLASHED_CHARS)
                }
            };
            format!("{} ({what})", shortened(&line.input, FLASHED_CHARS))
        })
        .collect();
    if lines.len() > FLASHED_LINES {
        summary.push(format!("and {} more", lines.len() - FLASHED_LINES));
    }
    session::flash(
        ctx.session(),
        "success",
        format!(
            "Invitations into {} as {}: {}.",
            workspace.title,
            role.label(),
            summary.join(", ")
        ),
    );
    Ok(see_other(&format!(
        "/orgs/{}/workspaces/{}/members",
        ctx.org.id, workspace.id
    )))
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let found = found(&state, &ctx, &path.1).await?;
    workspace_page(&state, &ctx, StatusCode::OK, found, OverviewErrors::None).await
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<WorkspaceForm>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    policy::authorize(target.1, Action::InWorkspace(WsPermission::EditDetails))?;
    let form = form.into_inner();
    let errors = match validate(&form) {
        Ok((title, description)) => {
            let acting = ctx.acting();
            let updated = workspaces::update_details(
                &state.db,
                &state.clock,
                &acting,
                &path.1,
                &title,
                &description,
            )
            .await;
            match saved(ctx.session(), updated, |w| {
                workspace_saved(&ctx, w, "saved")
            })? {
                Ok(done) => return Ok(done),
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    workspace_page(
        &state,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        target,
        OverviewErrors::Details(form, errors),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransferForm {
    pub email: String,
    /// The actor's password, asked as for the organization's transfer.
    pub password: String,
}

/// The workspace's Owner (or the organization's) hands it to another member.
pub async fn transfer(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    _slot: PasswordSlot,
    form: web::Form<TransferForm>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    let acting = ctx.acting();
    let checked = acting
        .recheck_password(&state.db, &state.clock, ctx.user(), &form.password)
        .await;
    let outcome = match checked {
        Ok(()) => {
            workspaces::transfer(&state.db, &state.clock, &acting, &path.1, &form.email).await
        }
        Err(ServiceError::WrongPassword) => Err(ServiceError::invalid(
            "password",
            ServiceError::WrongPassword.to_string(),
        )),
        Err(err) => Err(err),
    };
    match outcome {
        Ok((workspace, new_owner)) => {
            session::flash(
                ctx.session(),
                "success",
                format!("{new_owner} now owns {}.", workspace.title),
            );
            Ok(see_other(&format!(
                "/orgs/{}/workspaces/{}",
                ctx.org.id, workspace.id
            )))
        }
        Err(ServiceError::Invalid(invalid)) => {
            let errors = invalid.into();
            workspace_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                target,
                OverviewErrors::Transfer(form.email.clone(), errors),
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    pub confirm_title: String,
}

/// Deletes the workspace once its title is typed to confirm.
pub async fn delete(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    match workspaces::delete(
        &state.db,
        &state.clock,
        &ctx.acting(),
        &path.1,
        &form.confirm_title,
    )
    .await
    {
        Ok(workspace) => {
            session::flash(
                ctx.session(),
                "success",
                format!("Workspace {} has been deleted.", workspace.title),
            );
            Ok(see_other(&format!("/orgs/{}/workspaces", ctx.org.id)))
        }
        Err(ServiceError::Invalid(invalid)) => {
            let errors = invalid.into();
            workspace_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                target,
                OverviewErrors::Delete(errors),
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

/// A row of a workspace's Members tab with what the viewer may do to it.
pub struct AccessView {
    pub row: AccessRow,
    /// Roles the viewer may give (empty: no controls).
    pub roles: Vec<WorkspaceRole>,
    pub can_revoke: bool,
}

impl AccessView {
    fn new(viewer: Roles, row: AccessRow) -> Self {
        let caps = DirectRoleCaps::of(viewer, row.direct_role);
        AccessView {
            row,
            roles: caps.roles,
            can_revoke: caps.revoke,
        }
    }

    pub fn access_label(&self) -> String {
        access_label(self.row.access())
    }

    pub fn selected(&self, role: &WorkspaceRole) -> bool {
        self.row.direct_role == Some(*role)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u64>,
    /// Cursor of the Next link: the page after this person.
    pub after: String,
    /// Cursor of the Previous link: the page before this person.
    pub before: String,
}

impl PageQuery {
    /// The page number and, for a page reached by Next or Previous, the
    /// person it starts beside. Without one, the page is found by skipping
    /// rows, so its number stays shallow.
    fn validate(&self) -> Result<(u64, Option<Cursor>), AppError> {
        let cursor = super::render::page_cursor(&self.after, &self.before, MemberSort::Name)?;
        let page = match cursor {
            Some(_) => super::render::page_number(self.page)?,
            None => super::render::offset_page(self.page)?,
        };
        Ok((page, cursor))
    }
}

/// A link to a page of the workspace's people.
fn people_href(page: u64, cursor: Option<&Cursor>) -> String {
    let mut pairs = vec![("page", page.to_string())];
    if let Some(cursor) = cursor {
        let name = match cursor.direction {
            Direction::After => "after",
            Direction::Before => "before",
        };
        pairs.push((name, cursor.encode()));
    }
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

#[derive(Template)]
#[template(path = "workspace_members.html")]
struct MembersTab {
    layout: Layout,
    csrf: String,
    org_id: String,
    workspace: workspace::Model,
    people: Vec<AccessView>,
    total: u64,
    page: u64,
    pages: u64,
    prev_href: String,
    next_href: String,
    only_direct: bool,
    /// The viewer manages direct roles here: the role table is shown.
    manages: bool,
    /// The workspace roles the viewer may invite with (empty: no form).
    invite_roles: Vec<WorkspaceRole>,
    /// Custom roles an invitation into the workspace may carry.
    custom_roles: Vec<(String, String)>,
}

/// Everyone with access to the workspace and how; a workspace guest sees
/// only the people with a direct role (not the organization's members).
pub async fn members(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let (workspace, roles) = found(&state, &ctx, &path.1).await?;
    let only_direct = ctx.role() == OrgRole::None;
    let (page, cursor) = query.validate()?;
    let (rows, total) = workspaces::access_list(
        &state.db,
        &ctx.org.id,
        &workspace.id,
        only_direct,
        page,
        cursor.as_ref(),
    )
    .await?;
    // Next and Previous carry the position of the page's last and first
    // person; the first page needs none.
    let prev_page = page.saturating_sub(1).max(1);
    let prev_href = people_href(
        prev_page,
        rows.first()
            .filter(|_| prev_page > 1)
            .map(|row| row.cursor(Direction::Before))
            .as_ref(),
    );
    let next_href = people_href(
        page + 1,
        rows.last().map(|row| row.cursor(Direction::After)).as_ref(),
    );
    let layout = Layout::org(&ctx, Section::Workspaces, &workspace.title);
    html(
        StatusCode::OK,
        &MembersTab {
            csrf: layout.csrf.clone(),
            layout,
            org_id: ctx.org.id.clone(),
            manages: WorkspaceCaps::of(roles).manage_members,
            invite_roles: policy::grantable_workspace_roles(roles),
            custom_roles: crate::services::custom_roles::choices(&state.db, &ctx.org.id, true)
                .await?,
            people: rows
                .into_iter()
                .map(|row| AccessView::new(roles, row))
                .collect(),
            workspace,
            total,
            page,
            pages: total.div_ceil(workspaces::ACCESS_PER_PAGE).max(1),
            prev_href,
            next_href,
            only_direct,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DirectRoleForm {
    /// `viewer`, `editor`, `admin`, or `none` to take the direct role away.
    pub role: String,
}

#[derive(Template)]
#[template(path = "partials/workspace_access_changed.html")]
struct AccessChanged {
    csrf: String,
    org_id: String,
    workspace: workspace::Model,
    p: AccessView,
    message: String,
}

pub async fn set_role(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String, String)>,
    form: web::Form<DirectRoleForm>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (_, workspace_id, membership_id) = path.into_inner();
    let new_role = match form.role.as_str() {
        "none" => None,
        value => Some(
            WorkspaceRole::parse(value)
                .ok_or_else(|| AppError::bad_request("Choose one of the roles offered."))?,
        ),
    };
    let (workspace, _) = found(&state, &ctx, &workspace_id).await?;
    workspaces::set_direct_role(
        &state.db,
        &state.clock,
        &ctx.acting(),
        &workspace_id,
        &membership_id,
        new_role,
    )
    .await?;
    let row = workspaces::access_of(&state.db, &ctx.org.id, &workspace_id, &membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = match new_role {
        Some(role) => format!(
            "{} is now a direct {} of {}.",
            row.name,
            role.label(),
            workspace.title
        ),
        None => format!(
            "{} no longer has a direct role in {}.",
            row.name, workspace.title
        ),
    };
    // What the viewer may do next, as of now: someone who took away their
    // own only access goes back to their workspaces.
    let now_seen = workspaces::find(
        &state.db,
        &ctx.org.id,
        &workspace_id,
        &ctx.user().id,
        ctx.role(),
    )
    .await?;
    let Some((_, roles)) = now_seen else {
        session::flash(ctx.session(), "success", message);
        let list = format!("/orgs/{}/workspaces", ctx.org.id);
        if htmx.0 {
            return Ok(HttpResponse::Ok()
                .insert_header(("HX-Redirect", list))
                .finish());
        }
        return Ok(see_other(&list));
    };
    if htmx.0 {
        return page(&AccessChanged {
            csrf: session::csrf_token(ctx.session()),
            org_id: ctx.org.id.clone(),
            workspace,
            p: AccessView::new(roles, row),
            message,
        });
    }
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&format!(
        "/orgs/{}/workspaces/{}/members",
        ctx.org.id, workspace_id
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveQuery {
    /// The organization to move to, once chosen.
    pub to: String,
}

#[derive(Template)]
#[template(path = "workspace_move.html")]
struct MovePage {
    layout: Layout,
    org_id: String,
    workspace: workspace::Model,
    /// Organizations where the person is an Admin or the Owner.
    targets: Vec<crate::services::orgs::OrgSummary>,
    chosen: Option<crate::services::orgs::OrgSummary>,
    losing: Vec<workspaces::Losing>,
    /// Products that move along.
    products: u64,
    error: String,
}

async fn move_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    (workspace, roles): (workspace::Model, Roles),
    to: &str,
    error: String,
) -> Result<HttpResponse, AppError> {
    let targets: Vec<_> = ctx
        .orgs
        .iter()
        .filter(|o| {
            let move_there = Action::MoveWorkspace {
                destination: Some(o.role),
            };
            o.id != ctx.org.id && policy::allows(roles, move_there)
        })
        .cloned()
        .collect();
    let chosen = targets.iter().find(|o| o.id == to).cloned();
    let losing = match &chosen {
        Some(target) => {
            workspaces::losing_access(&state.db, &workspace.org_id, &workspace.id, &target.id)
                .await?
        }
        None => Vec::new(),
    };
    let products = products::workspace_total(&state.db, &workspace.org_id, &workspace.id).await?;
    html(
        status,
        &MovePage {
            layout: Layout::org(
                ctx,
                Section::Workspaces,
                &format!("Move {}", workspace.title),
            ),
            org_id: ctx.org.id.clone(),
            workspace,
            targets,
            chosen,
            losing,
            products,
            error,
        },
    )
}

/// Choose where to move the workspace, then see who would lose access.
pub async fn move_form(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    query: web::Query<MoveQuery>,
) -> Result<HttpResponse, AppError> {
    let (workspace, roles) = found(&state, &ctx, &path.1).await?;
    policy::authorize(roles, Action::InWorkspace(WsPermission::OwnWorkspace))?;
    move_page(
        &state,
        &ctx,
        StatusCode::OK,
        (workspace, roles),
        &query.to,
        String::new(),
    )
    .await
}

pub async fn move_workspace(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<MoveQuery>,
) -> Result<HttpResponse, AppError> {
    let target = found(&state, &ctx, &path.1).await?;
    match workspaces::move_to(&state.db, &state.clock, &ctx.acting(), &path.1, &form.to).await {
        Ok((moved, lost)) => {
            let message = match lost {
                0 => format!("{} has moved.", moved.title),
                1 => format!("{} has moved; one person lost access.", moved.title),
                n => format!("{} has moved; {n} people lost access.", moved.title),
            };
            session::flash(ctx.session(), "success", message);
            Ok(see_other(&format!(
                "/orgs/{}/workspaces/{}",
                form.to, moved.id
            )))
        }
        Err(ServiceError::Invalid(invalid)) => {
            move_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                target,
                &form.to,
                invalid.message,
            )
            .await
        }
        Err(ServiceError::Denied(denied @ Denied::NotAdminOfDestination)) => {
            move_page(
                &state,
                &ctx,
                StatusCode::FORBIDDEN,
                target,
                &form.to,
                denied.to_string(),
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}
