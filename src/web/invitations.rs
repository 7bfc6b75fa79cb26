//! Settings → Invitations: send to one or many addresses, list with state
//! and delivery, resend and cancel (htmx in place, or plain forms), and the
//! Mailbox page that shows an organization's invitation mail when no SMTP
//! server is configured.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{Htmx, OrgCtx};
use super::render::{FieldErrors, Layout, Section, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::domain::policy;
use crate::domain::role::OrgRole;
use crate::domain::token;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::outbox_message;
use crate::mail::{outbox, templates};
use crate::services::acting::Acting;
use crate::services::error::ServiceError;
use crate::services::invitations::{
    self, IntoWorkspace, InvitationRow, Line, ListQuery, Outcome, PER_PAGE, Sender, SentLink, State,
};
use crate::services::workspaces;

/// An invitation row with what the page shows about it.
pub struct InvitationView {
    pub row: InvitationRow,
    /// "Editor in Store 1" for an invitation into a workspace.
    pub workspace: String,
    pub state: State,
    pub can_manage: bool,
    /// The viewer may take a new link to hand over ("Copy link").
    pub can_copy: bool,
    /// Whether mail leaves through SMTP (otherwise it waits in the
    /// Mailbox).
    pub sends: bool,
    /// Shown on the Members page: the row has a checkbox for the bulk
    /// actions and its buttons come back to Members.
    pub on_members: bool,
    /// The checkbox starts ticked ("select all on this page").
    pub checked: bool,
}

impl InvitationView {
    pub(crate) fn new(
        ctx: &OrgCtx,
        state: &AppState,
        row: InvitationRow,
        titles: &[(String, String)],
    ) -> Self {
        let now = state.clock.now();
        let current = State::of(&row.invitation, now);
        let can_manage = matches!(current, State::Pending | State::Expired)
            && policy::allows(
                ctx.roles(),
                policy::Action::Invite {
                    role: row.invitation.role,
                },
            );
        let workspace = match (&row.invitation.workspace_id, row.invitation.workspace_role) {
            (Some(id), Some(role)) => {
                let title = titles
                    .iter()
                    .find(|(wid, _)| wid == id)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or("a deleted workspace");
                format!("{} in {title}", role.label())
            }
            _ => String::new(),
        };
        InvitationView {
            workspace,
            state: current,
            can_manage,
            can_copy: can_manage && ctx.can(Permission::ManageMembers),
            sends: state.mailer.sends(),
            on_members: false,
            checked: false,
            row,
        }
    }

    pub fn id(&self) -> &str {
        &self.row.invitation.id
    }

    /// The query a row's buttons carry so the answer returns to the page
    /// the row is on.
    pub fn back(&self) -> &'static str {
        if self.on_members { "?from=members" } else { "" }
    }

    pub fn sent(&self) -> String {
        templates::date_time(self.row.invitation.sent_at)
    }

    pub fn expires(&self) -> String {
        templates::date_time(self.row.invitation.expires_at)
    }

    /// Queued, sent, failing (with the last error) or kept in the mailbox.
    pub fn delivery(&self) -> String {
        match &self.row.message {
            None => "—".into(),
            Some(m) if m.sent_at.is_some() => "Sent".into(),
            Some(_) if !self.sends => "In the mailbox".into(),
            Some(outbox_message::Model {
                last_error: Some(error),
                next_attempt_at,
                ..
            }) => format!(
                "Failing: {error} (next try {})",
                templates::date_time(*next_attempt_at)
            ),
            Some(_) => "Queued".into(),
        }
    }

    pub fn delivery_failing(&self) -> bool {
        self.row
            .message
            .as_ref()
            .is_some_and(|m| m.sent_at.is_none() && m.last_error.is_some())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InvitationsQuery {
    pub state: String,
    pub q: String,
    pub page: Option<u64>,
}

impl InvitationsQuery {
    fn validate(&self) -> Result<ListQuery, AppError> {
        let state = match self.state.as_str() {
            "" => None,
            value => Some(
                State::parse(value)
                    .ok_or_else(|| AppError::bad_request("Unknown invitation state."))?,
            ),
        };
        let search = self.q.trim().to_lowercase();
        if search.chars().count() > 254 {
            return Err(AppError::bad_request(
                "The search is too long; use at most 254 characters.",
            ));
        }
        Ok(ListQuery {
            state,
            search: (!search.is_empty()).then_some(search),
            page: super::render::offset_page(self.page)?,
            known_total: None,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    pub emails: String,
    pub role: String,
    /// Optional: a workspace to invite straight into.
    pub workspace_id: String,
    pub workspace_role: String,
    /// Custom roles (ids) to hold in that workspace too; the field
    /// `custom_role` repeats.
    #[serde(skip)]
    pub custom_roles: Vec<String>,
}

impl InviteForm {
    /// The form from its fields, `custom_role` repeated.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = InviteForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "emails" => form.emails = value,
                "role" => form.role = value,
                "workspace_id" => form.workspace_id = value,
                "workspace_role" => form.workspace_role = value,
                "custom_role" => form.custom_roles.push(value),
                _ => {}
            }
        }
        form
    }

    /// Whether the form carries the custom role `id`.
    pub fn carries(&self, id: &str) -> bool {
        self.custom_roles.iter().any(|r| r == id)
    }
}

#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage {
    layout: Layout,
    csrf: String,
    org_id: String,
    roles: Vec<OrgRole>,
    workspaces: Vec<(String, String)>,
    workspace_roles: [WorkspaceRole; 3],
    /// Custom roles an invitation into a workspace may carry.
    custom_roles: Vec<(String, String)>,
    form: InviteForm,
    errors: FieldErrors,
    lines: Vec<Line>,
    invitations: Vec<InvitationView>,
    total: u64,
    page: u64,
    pages: u64,
    state_filter: String,
    search: String,
    states: [State; 4],
    prev_href: String,
    next_href: String,
    sends: bool,
    /// The person has not confirmed their address, so may not send yet.
    unconfirmed: bool,
}

impl InvitationsPage {
    pub fn invited_count(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| l.outcome == Outcome::Invited)
            .count()
    }

    pub fn refused_count(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.outcome, Outcome::Invalid(_)))
            .count()
    }
}

fn page_href(query: &ListQuery, page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(state) = query.state {
        pairs.push(("state", state.as_str().to_string()));
    }
    if let Some(search) = &query.search {
        pairs.push(("q", search.clone()));
    }
    pairs.push(("page", page.to_string()));
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

async fn render_page(
    state: &AppState,
    ctx: &OrgCtx,
    status: StatusCode,
    query: ListQuery,
    form: InviteForm,
    errors: FieldErrors,
    lines: Vec<Line>,
) -> Result<HttpResponse, AppError> {
    let (rows, total) = invitations::list(&state.db, &state.clock, &ctx.org.id, &query).await?;
    let titles = workspaces::titles(&state.db, &ctx.org.id).await?;
    let pages = super::render::offset_pages(total, PER_PAGE);
    let layout = Layout::org(ctx, Section::Invitations, "Invitations");
    html(
        status,
        &InvitationsPage {
            csrf: layout.csrf.clone(),
            layout,
            org_id: ctx.org.id.clone(),
            roles: policy::grantable_roles_by(ctx.roles()),
            form,
            errors,
            lines,
            invitations: rows
                .into_iter()
                .map(|row| InvitationView::new(ctx, state, row, &titles))
                .collect(),
            workspaces: titles,
            workspace_roles: [
                WorkspaceRole::Viewer,
                WorkspaceRole::Editor,
                WorkspaceRole::Admin,
            ],
            custom_roles: crate::services::custom_roles::choices(&state.db, &ctx.org.id, true)
                .await?,
            total,
            page: query.page,
            pages,
            state_filter: query
                .state
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            search: query.search.clone().unwrap_or_default(),
            states: State::ALL,
            prev_href: page_href(&query, query.page.saturating_sub(1).max(1)),
            next_href: page_href(&query, query.page + 1),
            sends: state.mailer.sends(),
            unconfirmed: ctx.user().email_verified_at.is_none(),
        },
    )
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<InvitationsQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let query = query.validate()?;
    let form = InviteForm {
        emails: String::new(),
        role: OrgRole::Member.as_str().to_string(),
        workspace_id: String::new(),
        workspace_role: WorkspaceRole::Editor.as_str().to_string(),
        custom_roles: Vec::new(),
    };
    render_page(
        &state,
        &ctx,
        StatusCode::OK,
        query,
        form,
        FieldErrors::default(),
        Vec::new(),
    )
    .await
}

pub(crate) fn log_links(state: &AppState, links: &[SentLink]) {
    for sent in links {
        state
            .mailer
            .queued(templates::INVITATION_KIND, &sent.email, &sent.link);
    }
}

pub(crate) fn sender<'a>(state: &'a AppState, ctx: &'a OrgCtx, acting: &'a Acting) -> Sender<'a> {
    Sender {
        acting,
        name: &ctx.user().name,
        org_name: &ctx.org.name,
        base_url: &state.config.base_url,
        daily_limit: state.config.invitations_per_day,
    }
}

pub async fn send(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let form = InviteForm::from_pairs(form.into_inner());
    let mut errors = FieldErrors::default();
    let role = OrgRole::parse(&form.role).filter(|role| {
        *role == OrgRole::None || policy::grantable_roles_by(ctx.roles()).contains(role)
    });
    let Some(role) = role else {
        return Err(AppError::bad_request("Choose one of the roles offered."));
    };
    let into = match form.workspace_id.as_str() {
        "" => None,
        workspace_id => {
            let ws_role = WorkspaceRole::parse(&form.workspace_role)
                .filter(|r| *r != WorkspaceRole::Owner)
                .ok_or_else(|| {
                    AppError::bad_request("Choose one of the workspace roles offered.")
                })?;
            Some(IntoWorkspace {
                workspace_id: workspace_id.to_string(),
                role: ws_role,
                custom_roles: form.custom_roles.clone(),
            })
        }
    };
    let carried_alone = into.is_none() && !form.custom_roles.is_empty();
    let addresses = invitations::split_addresses(&form.emails);
    let acting = ctx.acting();
    let outcome = if carried_alone {
        Err(ServiceError::invalid(
            "workspace_id",
            "Custom roles travel with an invitation into a workspace: choose the workspace.",
        ))
    } else if role == OrgRole::None && into.is_none() {
        Err(ServiceError::invalid(
            "workspace_id",
            invitations::NEEDS_WORKSPACE,
        ))
    } else {
        invitations::invite(
            &state.db,
            &state.clock,
            &sender(&state, &ctx, &acting),
            &addresses,
            role,
            into,
        )
        .await
    };
    let (status, lines, form) = match outcome {
        Ok((lines, links)) => {
            log_links(&state, &links);
            // The sent ones are done; the refused ones stay to be corrected.
            let refused: Vec<&str> = lines
                .iter()
                .filter(|l| matches!(l.outcome, Outcome::Invalid(_)))
                .map(|l| l.input.as_str())
                .collect();
            let kept = InviteForm {
                emails: refused.join("\n"),
                ..form
            };
            (StatusCode::OK, lines, kept)
        }
        Err(ServiceError::Invalid(invalid)) => {
            errors.add(invalid.field, invalid.message);
            (StatusCode::UNPROCESSABLE_ENTITY, Vec::new(), form)
        }
        Err(err @ ServiceError::Throttled(_)) => {
            errors.add("emails", err.to_string());
            (StatusCode::TOO_MANY_REQUESTS, Vec::new(), form)
        }
        Err(err @ ServiceError::Unconfirmed) => {
            errors.add("emails", err.to_string());
            (StatusCode::FORBIDDEN, Vec::new(), form)
        }
        Err(err @ ServiceError::NoSeats(_)) => {
            errors.add("emails", err.to_string());
            (StatusCode::CONFLICT, Vec::new(), form)
        }
        Err(err) => return Err(err.into()),
    };
    render_page(
        &state,
        &ctx,
        status,
        ListQuery {
            page: 1,
            ..ListQuery::default()
        },
        form,
        errors,
        lines,
    )
    .await
}

#[derive(Template)]
#[template(path = "partials/invitation_changed.html")]
struct ChangedFragment {
    org_id: String,
    csrf: String,
    i: InvitationView,
    message: String,
}

/// Which page a row's button was pressed on, so the answer returns there.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnTo {
    pub from: String,
}

impl ReturnTo {
    fn members(&self) -> bool {
        self.from == "members"
    }

    /// The list to go back to once done.
    fn list(&self, org_id: &str) -> String {
        if self.members() {
            format!("/orgs/{org_id}/members?status=pending")
        } else {
            format!("/orgs/{org_id}/invitations")
        }
    }
}

async fn answer(
    state: &AppState,
    ctx: &OrgCtx,
    htmx: Htmx,
    from: &ReturnTo,
    invitation_id: &str,
    message: String,
) -> Result<HttpResponse, AppError> {
    if htmx.0 {
        let row = invitations::find(&state.db, &ctx.org.id, invitation_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut i = InvitationView::new(
            ctx,
            state,
            row,
            &workspaces::titles(&state.db, &ctx.org.id).await?,
        );
        i.on_members = from.members();
        return page(&ChangedFragment {
            org_id: ctx.org.id.clone(),
            csrf: session::csrf_token(ctx.session()),
            i,
            message,
        });
    }
    session::flash(ctx.session(), "success", message);
    Ok(see_other(&from.list(&ctx.org.id)))
}

pub async fn resend(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    from: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let acting = ctx.acting();
    let (invitation, link) = invitations::resend(
        &state.db,
        &state.clock,
        &sender(&state, &ctx, &acting),
        &path.1,
    )
    .await?;
    log_links(&state, &[link]);
    let message = format!(
        "A new invitation is on its way to {}; the previous link no longer works.",
        invitation.email
    );
    answer(&state, &ctx, htmx, &from, &invitation.id, message).await
}

#[derive(Template)]
#[template(path = "invitation_link.html")]
struct LinkPage {
    layout: Layout,
    email: String,
    link: String,
    expires: String,
    back: String,
}

/// "Copy link": a new link for the invitation, shown once to an Owner or
/// Admin to hand over themselves; the emailed link stops working.
pub async fn copy_link(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    from: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let acting = ctx.acting();
    let (invitation, link) = invitations::fresh_link(
        &state.db,
        &state.clock,
        &acting,
        &state.config.base_url,
        &path.1,
    )
    .await?;
    let back = from.list(&ctx.org.id);
    page(&LinkPage {
        layout: Layout::org(&ctx, Section::Members, "Invitation link"),
        email: invitation.email,
        expires: templates::date_time(invitation.expires_at),
        link,
        back,
    })
}

#[derive(Template)]
#[template(path = "invitation_cancel.html")]
struct CancelPage {
    layout: Layout,
    org_id: String,
    i: InvitationView,
}

/// The confirmation step before cancelling an invitation: the list's
/// Cancel is a quiet link to this page (as Remove is for a member), so a
/// stray click cancels nothing, with or without JavaScript.
pub async fn confirm_cancel(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    from: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let row = invitations::find(&state.db, &ctx.org.id, &path.1)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut i = InvitationView::new(
        &ctx,
        &state,
        row,
        &workspaces::titles(&state.db, &ctx.org.id).await?,
    );
    i.on_members = from.members();
    if matches!(i.state, State::Pending | State::Expired) {
        let role = i.row.invitation.role;
        policy::authorize(ctx.roles(), policy::Action::Invite { role })?;
    }
    if !i.can_manage {
        return Err(AppError::Conflict(format!(
            "The invitation to {} is {}: there is nothing to cancel.",
            i.row.invitation.email,
            i.state.label().to_lowercase()
        )));
    }
    page(&CancelPage {
        layout: Layout::org(&ctx, Section::Invitations, "Cancel invitation"),
        org_id: ctx.org.id.clone(),
        i,
    })
}

pub async fn cancel(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    from: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let invitation = invitations::cancel(&state.db, &state.clock, &ctx.acting(), &path.1).await?;
    let message = format!(
        "The invitation to {} is cancelled; its link no longer works.",
        invitation.email
    );
    answer(&state, &ctx, htmx, &from, &invitation.id, message).await
}

/// A message on the Mailbox page.
pub struct MailView {
    pub message: outbox_message::Model,
    /// The invitation link, while it still works.
    pub link: Option<String>,
    /// The invitation's state as of now ("Pending", "Accepted", "Cancelled",
    /// "Expired", "Replaced by a newer email"); empty for other mail.
    pub state: &'static str,
    /// Whether the link still works.
    pub live: bool,
    /// The text, with a link that no longer works taken out.
    pub body: String,
}

impl MailView {
    pub fn created(&self) -> String {
        templates::date_time(self.message.created_at)
    }
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    layout: Layout,
    messages: Vec<MailView>,
}

/// How many messages the Mailbox page shows.
const MAILBOX_SIZE: u64 = 100;

/// The organization's invitation mail, when Roster keeps mail in the outbox
/// (no SMTP configured): Owners and Admins copy the links from here.
pub async fn mailbox(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    if state.mailer.sends() {
        return Err(AppError::NotFound);
    }
    ctx.require(Permission::ManageMembers)?;
    let prefix = format!("{}/invitations/", state.config.base_url);
    let messages = outbox::of_org(&state.db, &ctx.org.id, MAILBOX_SIZE).await?;
    let links: Vec<Option<String>> = messages
        .iter()
        .map(|message| {
            message
                .body_text
                .lines()
                .map(str::trim)
                .find(|line| line.starts_with(&prefix))
                .map(str::to_string)
        })
        .collect();
    let secrets: Vec<String> = links
        .iter()
        .flatten()
        .filter_map(|link| link.strip_prefix(&prefix))
        .map(str::to_string)
        .collect();
    let found = invitations::by_secrets(&state.db, &ctx.org.id, &secrets).await?;
    let now = state.clock.now();
    let messages = messages
        .into_iter()
        .zip(links)
        .map(|(message, link)| {
            let Some(link) = link else {
                let body = message.body_text.clone();
                return MailView {
                    message,
                    link: None,
                    state: "",
                    live: false,
                    body,
                };
            };
            let hash = token::hash(link.strip_prefix(&prefix).unwrap_or_default());
            let state = found
                .iter()
                .find(|i| i.token_hash == hash)
                .map(|i| invitations::State::of(i, now));
            let live = state == Some(invitations::State::Pending);
            let body = if live {
                message.body_text.clone()
            } else {
                message
                    .body_text
                    .replace(&link, "(this link no longer works)")
            };
            MailView {
                message,
                link: live.then_some(link),
                state: state.map_or("Replaced by a newer email", |s| s.label()),
                live,
                body,
            }
        })
        .collect();
    page(&MailboxPage {
        layout: Layout::org(&ctx, Section::Invitations, "Mailbox"),
        messages,
    })
}
