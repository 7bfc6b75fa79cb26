//! Settings → Members: the list (search, filter, sort, pages), a member's
//! page, the inline role badge, removal, leaving and ownership transfer.
//! Each fragment route answers htmx with the fragment and a normal request
//! with the whole page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{Htmx, OrgCtx};
use super::invitations::InvitationView;
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, Section, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Denied, MemberCaps, Roles};
use crate::domain::role::OrgRole;
use crate::services::error::ServiceError;
use crate::services::invitations::{self, State};
use crate::services::members::{
    self, Cursor, Direction, MemberQuery, MemberRow, MemberSort, PER_PAGE,
};
use crate::services::seats::Seats;
use crate::services::{audit_log, member_counts, orgs, product_access, products, workspaces};

/// A member row with what the viewer may do to it.
pub struct MemberView {
    pub row: MemberRow,
    /// What the policy lets the viewer do to this member, and why not.
    pub caps: MemberCaps,
    pub is_self: bool,
    /// The viewer may restrict this member's products.
    pub can_restrict: bool,
    /// The row has a checkbox for the bulk actions.
    pub selectable: bool,
    /// The checkbox starts ticked ("select all on this page").
    pub checked: bool,
}

impl MemberView {
    fn new(ctx: &OrgCtx, row: MemberRow) -> Self {
        let is_self = row.user_id == ctx.user().id;
        let caps = row.caps(ctx.roles(), &ctx.user().id);
        let can_restrict =
            ctx.can(Permission::ManageProductAccess) && product_access::restrictable(row.role);
        MemberView {
            row,
            caps,
            is_self,
            can_restrict,
            selectable: ctx.can(Permission::ManageMembers),
            checked: false,
        }
    }

    pub fn joined(&self) -> String {
        super::format::date(self.row.joined_at)
    }

    pub fn last_active(&self) -> String {
        if self.row.last_active_at == 0 {
            "Never".into()
        } else {
            super::format::date(self.row.last_active_at)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub role: String,
    pub sort: String,
    pub page: Option<u64>,
    /// Cursor of the Next link: the page after this member.
    pub after: String,
    /// Cursor of the Previous link: the page before this member.
    pub before: String,
    /// Only people with access to this workspace.
    pub ws: String,
    /// active (members; the default), pending, expired or all.
    pub status: String,
    /// `all`: every row of the page starts ticked for the bulk actions.
    pub select: String,
    /// `on` or `off`: only people with or without two-factor sign-in.
    pub two_factor: String,
}

/// Which people the Members page lists: members, invitations waiting to
/// be accepted, invitations that expired, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Pending,
    Expired,
    All,
}

impl Status {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "active" => Some(Status::Active),
            "pending" => Some(Status::Pending),
            "expired" => Some(Status::Expired),
            "all" => Some(Status::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Expired => "expired",
            Status::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Pending => "Pending",
            Status::Expired => "Expired",
            Status::All => "All",
        }
    }

    const ALL: [Status; 4] = [
        Status::Active,
        Status::Pending,
        Status::Expired,
        Status::All,
    ];
}

/// One link of the status filter.
pub struct StatusTab {
    pub status: Status,
    pub count: u64,
    pub href: String,
    pub current: bool,
}

impl ListQuery {
    fn validate(&self) -> Result<MemberQuery, AppError> {
        let search = self.q.trim().to_lowercase();
        if search.chars().count() > members::MAX_SEARCH_CHARS {
            return Err(AppError::bad_request(
                "The search is too long; use at most 100 characters.",
            ));
        }
        let role = match self.role.as_str() {
            "" => None,
            value => Some(
                OrgRole::parse(value)
                    .ok_or_else(|| AppError::bad_request("Unknown role filter."))?,
            ),
        };
        let sort = match self.sort.as_str() {
            "" => MemberSort::Name,
            value => MemberSort::parse(value)
                .ok_or_else(|| AppError::bad_request("Unknown sort order."))?,
        };
        let page = super::render::page_number(self.page)?;
        let cursor = super::render::page_cursor(&self.after, &self.before, sort)?;
        // Without a cursor the page is found by its number, by skipping.
        if cursor.is_none() && page > super::render::MAX_OFFSET_PAGE {
            return Err(AppError::PageTooDeep);
        }
        let workspace = match self.ws.trim() {
            "" => None,
            id if id.len() <= 64 => Some(id.to_string()),
            _ => {
                return Err(AppError::bad_request(
                    "Choose one of the workspaces offered.",
                ));
            }
        };
        let two_factor = match self.two_factor.as_str() {
            "" => None,
            "on" => Some(true),
            "off" => Some(false),
            _ => return Err(AppError::bad_request("Unknown two-factor filter.")),
        };
        Ok(MemberQuery {
            search: (!search.is_empty()).then_some(search),
            role,
            workspace,
            two_factor,
            sort,
            page,
            cursor,
        })
    }
}

/// The query string for a page of the same view, so a filtered view can be
/// bookmarked and paged through.
fn page_href(query: &MemberQuery, status: Status, page: u64, cursor: Option<&Cursor>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if status != Status::Active {
        pairs.push(("status", status.as_str().to_string()));
    }
    if let Some(search) = &query.search {
        pairs.push(("q", search.clone()));
    }
    if let Some(role) = query.role {
        pairs.push(("role", role.as_str().to_string()));
    }
    if let Some(workspace) = &query.workspace {
        pairs.push(("ws", workspace.clone()));
    }
    if let Some(on) = query.two_factor {
        pairs.push(("two_factor", if on { "on" } else { "off" }.to_string()));
    }
    if query.sort != MemberSort::Name {
        pairs.push(("sort", query.sort.as_str().to_string()));
    }
    pairs.push(("page", page.to_string()));
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
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    org_id: String,
    csrf: String,
    status: Status,
    /// The status filter with its counts; empty for those who do not see
    /// invitations.
    tabs: Vec<StatusTab>,
    members: Vec<MemberView>,
    /// Invitations listed (Pending, Expired, or both under All).
    invitations: Vec<InvitationView>,
    /// Rows matching the view: members, or invitations when the view
    /// lists only invitations.
    total: u64,
    page: u64,
    pages: u64,
    search: String,
    role_filter: String,
    /// "on", "off" or "" (anyone).
    two_factor_filter: &'static str,
    sort: &'static str,
    prev_href: String,
    next_href: String,
    /// The same view with every row ticked.
    select_all_href: String,
    can_invite: bool,
    /// The viewer may act on several rows at once.
    can_bulk: bool,
    /// The roles a bulk change offers.
    bulk_roles: Vec<OrgRole>,
    /// "N of M seats", when the organization has a limit.
    seats: Option<Seats>,
    /// The policy lets them leave (the Owner transfers ownership first).
    may_leave: bool,
    filter_roles: [OrgRole; 5],
    /// The workspaces the list may be filtered by, as (id, title).
    workspaces: Vec<(String, String)>,
    /// The workspace the list is filtered by, as (id, title).
    workspace: Option<(String, String)>,
}

impl MembersPage {
    fn filtered(&self) -> bool {
        !self.search.is_empty()
            || !self.role_filter.is_empty()
            || self.workspace.is_some()
            || !self.two_factor_filter.is_empty()
    }
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let status = Status::parse(query.status.trim());
    let validated = query.validate();
    let now = state.clock.now();
    // The page, its total, the workspaces to filter by and the
    // invitations' counts, read in the session's round trip where they can
    // be (SQLite), before the person and their roles are known; nothing of
    // it is shown until the checks below pass.
    let along = match (status, &validated, OrgCtx::org_id_of(&req)) {
        (Some(Status::Active | Status::All), Ok(view), Some(org_id)) => {
            members::page_along(&state.db, &org_id, view, now)
        }
        _ => None,
    };
    let (ctx, along) = OrgCtx::with_page(&req, along).await?;
    ctx.require(Permission::ViewMembers)?;
    let status = status.ok_or_else(|| {
        AppError::bad_request("Unknown status: choose Active, Pending, Expired or All.")
    })?;
    let select_all = query.select == "all";
    let query = validated?;
    // Invitations are for those who manage members (as the Invitations
    // page is).
    let sees_invitations = ctx.can(Permission::ManageMembers);
    if status != Status::Active {
        ctx.require(Permission::ManageMembers)?;
    }
    // Else the page, its total, the workspaces to filter by and (for those
    // who see invitations) the invitations' counts, in the page's round
    // trip.
    let listed = match (status, along) {
        (Status::Active | Status::All, Some(read)) => Some(members::page_from_along(
            &read,
            &ctx.org.id,
            sees_invitations,
        )?),
        (Status::Active | Status::All, None) => Some(
            members::list_for_page(
                &state.db,
                &ctx.org.id,
                &query,
                sees_invitations.then_some(now),
            )
            .await?,
        ),
        _ => None,
    };
    let (rows, mut total, mut counts, workspaces) = match listed {
        Some(found) => (found.rows, found.total, found.waiting, found.workspaces),
        None => (
            Vec::new(),
            0,
            None,
            workspaces::titles(&state.db, &ctx.org.id).await?,
        ),
    };
    let workspace = match &query.workspace {
        None => None,
        Some(id) => Some(
            workspaces
                .iter()
                .find(|(ws, _)| ws == id)
                .cloned()
                .ok_or_else(|| AppError::bad_request("Choose one of the workspaces offered."))?,
        ),
    };
    if sees_invitations && counts.is_none() {
        counts = Some(
            invitations::waiting_counts(&state.db.read_in(ctx.tenant()).await?, &ctx.org.id, now)
                .await?,
        );
    }
    let mut invitations = Vec::new();
    let mut invitation_total = 0;
    if status != Status::Active {
        let states: &[State] = match status {
            Status::Pending => &[State::Pending],
            Status::Expired => &[State::Expired],
            _ if query.page == 1 && query.cursor.is_none() => &[State::Pending, State::Expired],
            _ => &[],
        };
        for state_filter in states {
            let (found, count) = invitations::list(
                &state.db,
                &state.clock,
                &ctx.org.id,
                &invitations::ListQuery {
                    state: Some(*state_filter),
                    search: query.search.clone(),
                    page: if status == Status::All { 1 } else { query.page },
                    // Unsearched, the counts above are the totals.
                    known_total: match (counts, &query.search, state_filter) {
                        (Some((pending, _)), None, State::Pending) => Some(pending),
                        (Some((_, expired)), None, State::Expired) => Some(expired),
                        _ => None,
                    },
                },
            )
            .await?;
            invitation_total += count;
            for row in found {
                let mut view = InvitationView::new(&ctx, &state, row, &workspaces);
                view.on_members = true;
                view.checked = select_all;
                invitations.push(view);
            }
        }
    }
    // Everyone with any access: the view's own total when it is unfiltered.
    let unfiltered = status != Status::Pending
        && status != Status::Expired
        && query.search.is_none()
        && query.role.is_none()
        && query.workspace.is_none();
    let everyone = if unfiltered && total > 0 {
        total
    } else if counts.is_some() || ctx.org.seat_limit.is_some() {
        member_counts::total(&state.db, &ctx.org.id, None).await?
    } else {
        0
    };
    let seats = match ctx.org.seat_limit {
        Some(limit) => {
            let members = everyone;
            let pending = match counts {
                Some((pending, _)) => pending,
                None => {
                    invitations::waiting_counts(
                        &state.db.read_in(ctx.tenant()).await?,
                        &ctx.org.id,
                        now,
                    )
                    .await?
                    .0
                }
            };
            Some(Seats {
                used: members + pending,
                limit: u64::try_from(limit).ok(),
            })
        }
        None => None,
    };
    let tabs = match counts {
        Some((pending, expired)) => {
            let active = everyone;
            Status::ALL
                .iter()
                .map(|&tab| StatusTab {
                    status: tab,
                    count: match tab {
                        Status::Active => active,
                        Status::Pending => pending,
                        Status::Expired => expired,
                        Status::All => active + pending + expired,
                    },
                    href: match tab {
                        Status::Active => format!("/orgs/{}/members", ctx.org.id),
                        other => format!("/orgs/{}/members?status={}", ctx.org.id, other.as_str()),
                    },
                    current: tab == status,
                })
                .collect()
        }
        None => Vec::new(),
    };
    // Next and Previous carry the position of the page's last and first
    // member; the first page needs no cursor. A view of invitations alone
    // pages by number.
    let prev_page = query.page.saturating_sub(1).max(1);
    let only_invitations = matches!(status, Status::Pending | Status::Expired);
    let prev_cursor = rows
        .first()
        .filter(|_| prev_page > 1 && !only_invitations)
        .map(|row| Cursor::of(row, query.sort, Direction::Before));
    let next_cursor = rows
        .last()
        .filter(|_| !only_invitations)
        .map(|row| Cursor::of(row, query.sort, Direction::After));
    if only_invitations {
        total = invitation_total;
    }
    let pages = total.div_ceil(PER_PAGE).max(1);
    let members = rows
        .into_iter()
        .map(|row| {
            let mut view = MemberView::new(&ctx, row);
            view.checked = select_all;
            view
        })
        .collect();
    // The same page, reached the same way, with every box ticked.
    let mut select_all_href = page_href(&query, status, query.page, query.cursor.as_ref());
    select_all_href.push_str("&select=all");
    page(&MembersPage {
        layout: Layout::org(&ctx, Section::Members, "Members"),
        org_id: ctx.org.id.clone(),
        csrf: super::session::csrf_token(ctx.session()),
        status,
        tabs,
        members,
        invitations,
        total,
        page: query.page,
        pages,
        search: query.search.clone().unwrap_or_default(),
        role_filter: query
            .role
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        two_factor_filter: match query.two_factor {
            Some(true) => "on",
            Some(false) => "off",
            None => "",
        },
        sort: query.sort.as_str(),
        prev_href: page_href(&query, status, prev_page, prev_cursor.as_ref()),
        next_href: page_href(&query, status, query.page + 1, next_cursor.as_ref()),
        select_all_href,
        can_invite: ctx.can(Permission::ManageMembers),
        can_bulk: sees_invitations,
        bulk_roles: policy::grantable_roles_by(ctx.roles()),
        seats,
        may_leave: policy::allows(Roles::in_org(ctx.role()), Action::Leave),
        filter_roles: [
            OrgRole::Owner,
            OrgRole::Admin,
            OrgRole::Member,
            OrgRole::Viewer,
            OrgRole::None,
        ],
        workspaces,
        workspace,
    })
}

#[derive(Template)]
#[template(path = "partials/member_row.html")]
struct RowFragment {
    org_id: String,
    m: MemberView,
}

#[derive(Template)]
#[template(path = "partials/member_row_edit.html")]
struct RowEditFragment {
    org_id: String,
    m: MemberView,
    roles: Vec<OrgRole>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "partials/role_changed.html")]
struct RoleChangedFragment {
    org_id: String,
    m: MemberView,
    message: String,
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    layout: Layout,
    org_id: String,
    m: MemberView,
    roles: Vec<OrgRole>,
    /// Each workspace they can reach, their effective role and why.
    workspaces: Vec<WorkspaceAccess>,
    /// Their product access, for Admins, the Owner and the member.
    products: Option<ProductAccess>,
    /// The newest changes made to them and by them, for those who may
    /// read the audit log.
    timeline: Option<Vec<super::audit::EventView>>,
}

/// How many rows of a member's timeline their page shows.
const TIMELINE_ROWS: u64 = 20;

/// The product part of the access explainer.
pub struct ProductAccess {
    /// Whether they may be restricted at all (not Admins or the Owner).
    pub restrictable: bool,
    pub restricted: bool,
    /// The first grants, by product name.
    pub grants: Vec<product_access::GrantSummary>,
    pub total_grants: u64,
    pub can_manage: bool,
}

/// How many grants the member page lists.
const GRANTS_SHOWN: u64 = 20;

/// One line of the access explainer.
pub struct WorkspaceAccess {
    pub id: String,
    pub title: String,
    pub effective: &'static str,
    pub why: String,
}

async fn member_view(
    state: &AppState,
    ctx: &OrgCtx,
    membership_id: &str,
) -> Result<MemberView, AppError> {
    let row = members::find(
        &state.db.read_in(ctx.tenant()).await?,
        &ctx.org.id,
        membership_id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(MemberView::new(ctx, row))
}

async fn member_page(
    state: &AppState,
    ctx: &OrgCtx,
    m: MemberView,
) -> Result<HttpResponse, AppError> {
    let roles = m.caps.roles.clone();
    let workspaces =
        workspaces::access_by_workspace(&state.db, &ctx.org.id, &m.row.user_id, m.row.role)
            .await?
            .into_iter()
            .map(|(w, access)| WorkspaceAccess {
                id: w.id,
                title: w.title,
                effective: access.top_role().map(|r| r.label()).unwrap_or("None"),
                why: explain(access),
            })
            .collect();
    let can_manage = ctx.can(Permission::ManageProductAccess);
    // Grants name products; only those who manage access, and the member
    // themselves, may read them.
    let products = if can_manage || m.row.membership_id == ctx.membership.id {
        let subject = product_access::subject(&state.db, &ctx.org.id, &m.row.membership_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (grants, total_grants) =
            product_access::grants_of(&state.db, &ctx.org.id, &m.row.membership_id, GRANTS_SHOWN)
                .await?;
        Some(ProductAccess {
            restrictable: product_access::restrictable(m.row.role),
            restricted: subject.restricted(),
            grants,
            total_grants,
            can_manage,
        })
    } else {
        None
    };
    let timeline = if ctx.can(Permission::ReadAuditLog) {
        let person = audit_log::Person {
            user_id: Some(m.row.user_id.clone()),
            emails: vec![m.row.email.clone(), m.row.email.to_lowercase()],
        };
        Some(
            audit_log::timeline(&state.db, &ctx.org.id, &person, TIMELINE_ROWS)
                .await?
                .into_iter()
                .map(|event| super::audit::EventView { event })
                .collect(),
        )
    } else {
        None
    };
    page(&MemberPage {
        layout: Layout::org(ctx, Section::Members, &m.row.name),
        org_id: ctx.org.id.clone(),
        m,
        roles,
        workspaces,
        products,
        timeline,
    })
}

/// Why a person has their access to a workspace.
fn explain(access: crate::domain::workspace::Access) -> String {
    let mut text = super::workspaces::access_label(access);
    if access.org_role == OrgRole::Owner {
        text.push_str("; the organization's Owner may also transfer, delete or move it");
    }
    text
}

/// A member's page, or their row for htmx (the role editor's Cancel).
pub async fn show(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewMembers)?;
    let m = member_view(&state, &ctx, &path.1).await?;
    if htmx.0 {
        return page(&RowFragment {
            org_id: ctx.org.id.clone(),
            m,
        });
    }
    member_page(&state, &ctx, m).await
}

/// The role editor: the row in edit mode for htmx, the member's page
/// (with its role form) otherwise.
pub async fn edit_role(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let m = member_view(&state, &ctx, &path.1).await?;
    if let Some(denied) = m.caps.change_refused {
        return Err(denied.into());
    }
    if htmx.0 {
        return page(&RowEditFragment {
            org_id: ctx.org.id.clone(),
            roles: m.caps.roles.clone(),
            csrf: session::csrf_token(ctx.session()),
            m,
        });
    }
    member_page(&state, &ctx, m).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    pub role: String,
}

pub async fn change_role(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    form: web::Form<RoleForm>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let role = OrgRole::parse(&form.role)
        .ok_or_else(|| AppError::bad_request("Choose one of the roles offered."))?;
    let row = members::change_role(&state.db, &state.clock, &ctx.acting(), &path.1, role).await?;
    let message = format!("{} is now {}.", row.name, row.role.label());
    // The actor may have demoted themselves: what they may do next follows
    // their new role.
    let ctx = refreshed(&state, ctx).await?;
    if htmx.0 {
        return page(&RoleChangedFragment {
            org_id: ctx.org.id.clone(),
            m: MemberView::new(&ctx, row),
            message,
        });
    }
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&orgs::landing_path(
        &ctx.org.id,
        ctx.membership.role,
    )))
}

async fn refreshed(state: &AppState, mut ctx: OrgCtx) -> Result<OrgCtx, AppError> {
    if let Some((_, membership)) =
        orgs::membership_in(&state.db, &ctx.org.id, &ctx.user().id).await?
    {
        for summary in &mut ctx.orgs {
            if summary.id == ctx.org.id {
                summary.role = membership.role;
            }
        }
        ctx.membership = membership;
    }
    Ok(ctx)
}

#[derive(Template)]
#[template(path = "member_remove.html")]
struct RemovePage {
    layout: Layout,
    org_id: String,
    org_name: String,
    m: MemberView,
    /// Products they own, which will need an owner.
    owned_products: u64,
}

pub async fn confirm_remove(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let m = member_view(&state, &ctx, &path.1).await?;
    if let Some(denied) = m.caps.remove_refused {
        return Err(denied.into());
    }
    let owned_products = products::owned_count(&state.db, &ctx.org.id, &m.row.user_id).await?;
    page(&RemovePage {
        layout: Layout::org(&ctx, Section::Members, "Remove member"),
        org_id: ctx.org.id.clone(),
        org_name: ctx.org.name.clone(),
        m,
        owned_products,
    })
}

pub async fn remove(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let acting = ctx.acting();
    if path.1 == acting.membership_id {
        return Err(Denied::RemoveSelf.into());
    }
    let row = members::remove(&state.db, &state.clock, &acting, &path.1).await?;
    session::flash(
        ctx.session(),
        "success",
        format!("{} has been removed from {}.", row.name, ctx.org.name),
    );
    Ok(see_other(&format!("/orgs/{}/members", ctx.org.id)))
}

#[derive(Template)]
#[template(path = "leave.html")]
struct LeavePage {
    layout: Layout,
    org_id: String,
    org_name: String,
    /// The policy lets them leave (the Owner transfers ownership first).
    may_leave: bool,
}

pub async fn confirm_leave(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    page(&LeavePage {
        layout: Layout::org(&ctx, Section::Members, "Leave organization"),
        org_id: ctx.org.id.clone(),
        org_name: ctx.org.name.clone(),
        may_leave: policy::allows(Roles::in_org(ctx.role()), Action::Leave),
    })
}

pub async fn leave(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    members::leave(&state.db, &state.clock, &ctx.acting()).await?;
    session::flash(
        ctx.session(),
        "success",
        format!("You have left {}.", ctx.org.name),
    );
    Ok(see_other("/"))
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    layout: Layout,
    org_id: String,
    org_name: String,
    email: String,
    errors: FieldErrors,
}

pub async fn transfer_form(ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::TransferOwnership)?;
    page(&TransferPage {
        layout: Layout::org(&ctx, Section::Members, "Transfer ownership"),
        org_id: ctx.org.id.clone(),
        org_name: ctx.org.name.clone(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransferForm {
    pub email: String,
    pub password: String,
}

pub async fn transfer(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    ctx: OrgCtx,
    form: web::Form<TransferForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::TransferOwnership)?;
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if form.email.trim().is_empty() {
        errors.add(
            "email",
            "Enter the email address of the member who will become the Owner.",
        );
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password to confirm the transfer.");
    }
    // Only a complete form spends a password check.
    let result = if errors.is_empty() {
        Some(
            members::transfer_ownership(
                &state.db,
                &state.clock,
                &ctx.acting(),
                ctx.user(),
                &form.email,
                &form.password,
            )
            .await,
        )
    } else {
        None
    };
    match result {
        None => {}
        Some(Ok(row)) => {
            session::flash(
                ctx.session(),
                "success",
                format!(
                    "{} is now the Owner of {}. You are an Admin.",
                    row.name, ctx.org.name
                ),
            );
            return Ok(see_other(&format!("/orgs/{}/members", ctx.org.id)));
        }
        Some(Err(err @ ServiceError::WrongPassword)) => errors.add("password", err.to_string()),
        Some(Err(err @ ServiceError::TooManyAttempts)) => {
            status = StatusCode::TOO_MANY_REQUESTS;
            errors.add("password", err.to_string())
        }
        Some(Err(ServiceError::Invalid(invalid))) => errors.add(invalid.field, invalid.message),
        Some(Err(ServiceError::Denied(denied))) => errors.add("email", denied.to_string()),
        Some(Err(other)) => return Err(other.into()),
    }
    html(
        status,
        &TransferPage {
            layout: Layout::org(&ctx, Section::Members, "Transfer ownership"),
            org_id: ctx.org.id.clone(),
            org_name: ctx.org.name.clone(),
            email: form.email,
            errors,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_query() {
        let query = MemberQuery {
            search: Some("ada lo".into()),
            role: Some(OrgRole::Admin),
            workspace: None,
            two_factor: None,
            sort: MemberSort::Joined,
            page: 2,
            cursor: None,
        };
        assert_eq!(
            page_href(&query, Status::Active, 3, None),
            "?q=ada+lo&role=admin&sort=joined&page=3"
        );
        assert_eq!(
            page_href(&MemberQuery::default(), Status::Active, 1, None),
            "?page=1"
        );
        let cursor = Cursor {
            direction: Direction::After,
            key: members::CursorKey::Number(1_700_000_000),
            id: "6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d".into(),
        };
        assert_eq!(
            page_href(&query, Status::Active, 3, Some(&cursor)),
            "?q=ada+lo&role=admin&sort=joined&page=3\
             &after=6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d.1700000000"
        );
    }
}
