//! The person's own account: their name and email address, change
//! password, sign out everywhere.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{ClientAddr, ClientOrigin, CurrentUser};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::email::EmailAddress;
use crate::domain::names::PersonName;
use crate::domain::password::NewPassword;
use crate::domain::user_agent;
use crate::entities::{organization, user};
use crate::mail::templates;
use crate::services::account_links;
use crate::services::accounts::{self, PasswordChangeError};
use crate::services::audit::AuditAction;
use crate::services::profile::{self, EmailChangeError};
use crate::services::security_policy::{self, SessionLimits};
use crate::services::{security_log, sessions};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    errors: FieldErrors,
    verified: bool,
    /// Organizations the person may join by their confirmed address.
    offers: Vec<organization::Model>,
    /// The name field's value.
    name: String,
    /// The new-address field's value.
    new_email: String,
    /// When two-factor sign-in was turned on.
    two_factor_since: Option<String>,
    /// Where the person is signed in, this session first.
    sessions: Vec<SessionView>,
    /// The limits their sessions are held to, in words.
    limits: Vec<String>,
}

/// One session as the Account page lists it.
pub struct SessionView {
    pub id: String,
    pub browser: String,
    pub address: String,
    pub signed_in: String,
    pub last_active: String,
    pub current: bool,
}

/// "after 10 minutes without activity (set by Acme)".
fn limit_words(limits: &SessionLimits) -> Vec<String> {
    let by = |org: &Option<String>| match org {
        Some(org) => format!(", set by {org}"),
        None => String::new(),
    };
    vec![
        format!(
            "You are signed out after {} without activity{}.",
            duration_words(limits.idle_secs),
            by(&limits.idle_by)
        ),
        format!(
            "Every session ends {} after signing in{}.",
            duration_words(limits.lifetime_secs),
            by(&limits.lifetime_by)
        ),
    ]
}

fn duration_words(secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else {
        plural(secs / 60, "minute")
    }
}

impl AccountPage {
    async fn of(
        state: &AppState,
        current: &CurrentUser,
        errors: FieldErrors,
    ) -> Result<Self, AppError> {
        let limits = security_policy::session_limits(
            current.memberships.iter().map(|(org, _)| org),
            i64::try_from(state.config.idle_timeout.as_secs()).unwrap_or(i64::MAX),
            i64::try_from(state.config.session_lifetime.as_secs()).unwrap_or(i64::MAX),
        );
        Ok(AccountPage {
            layout: Layout::account(
                &current.session,
                &current.user,
                current.orgs(),
                "Your account",
            ),
            errors,
            verified: current.user.email_verified_at.is_some(),
            offers: account_links::auto_join_offers(&state.db, &current.user).await?,
            name: current.user.name.clone(),
            new_email: String::new(),
            two_factor_since: current.user.two_factor_at.map(super::format::date),
            sessions: session_views(state, current, &limits).await?,
            limits: limit_words(&limits),
        })
    }
}

/// The person's sessions that still work (one past its limits ends at
/// its next request), this one first.
async fn session_views(
    state: &AppState,
    current: &CurrentUser,
    limits: &SessionLimits,
) -> Result<Vec<SessionView>, AppError> {
    let this = session::auth(&current.session).map(|a| a.session_id);
    let now = state.clock.now();
    let mut views: Vec<SessionView> = sessions::list(&state.db, &current.user.id)
        .await?
        .into_iter()
        .filter(|s| {
            this.as_deref() == Some(s.id.as_str())
                || (now - s.last_seen_at <= limits.idle_secs
                    && now - s.created_at <= limits.lifetime_secs)
        })
        .map(|s| SessionView {
            current: this.as_deref() == Some(s.id.as_str()),
            browser: s
                .user_agent
                .as_deref()
                .map_or_else(|| "Unknown browser".to_string(), user_agent::describe),
            address: s.address.unwrap_or_else(|| "unknown".to_string()),
            signed_in: super::format::date_time(s.created_at),
            last_active: super::format::date_time(s.last_seen_at),
            id: s.id,
        })
        .collect();
    views.sort_by_key(|v| !v.current);
    Ok(views)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameForm {
    pub name: String,
}

/// Changes the person's display name.
pub async fn change_name(
    state: web::Data<AppState>,
    current: CurrentUser,
    addr: ClientAddr,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    match PersonName::parse(&form.name) {
        Ok(name) => {
            profile::change_name(&state.db, &state.clock, &current.user, &name, addr.0).await?;
            session::flash(
                &current.session,
                "success",
                format!("Your name is now {}.", name.as_str()),
            );
            Ok(see_other("/account"))
        }
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("name", message);
            let mut account = AccountPage::of(&state, &current, errors).await?;
            account.name = form.name.clone();
            html(StatusCode::UNPROCESSABLE_ENTITY, &account)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    pub email: String,
    pub password: String,
}

/// Asks for a change of address: a link goes to the new one.
pub async fn change_email(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    current: CurrentUser,
    addr: ClientAddr,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    match EmailAddress::parse(&form.email) {
        Err(message) => errors.add("email", message),
        Ok(new) => match profile::request_email_change(
            &state.db,
            &state.clock,
            &current.user,
            &new,
            &form.password,
            &state.config.base_url,
            addr.0,
        )
        .await
        {
            Ok(requested) => {
                state.mailer.queued(
                    templates::EMAIL_CHANGE_KIND,
                    &requested.new_email,
                    &requested.link,
                );
                session::flash(
                    &current.session,
                    "success",
                    format!(
                        "We sent a confirmation link to {}. Your address changes when you open \
                         it; until then you sign in with {}.",
                        requested.new_email, current.user.email
                    ),
                );
                return Ok(see_other("/account"));
            }
            Err(err @ (EmailChangeError::WrongPassword | EmailChangeError::TooManyAttempts)) => {
                if matches!(err, EmailChangeError::TooManyAttempts) {
                    status = StatusCode::TOO_MANY_REQUESTS;
                }
                errors.add("password", err.to_string());
            }
            Err(err @ (EmailChangeError::Same | EmailChangeError::Taken)) => {
                errors.add("email", err.to_string())
            }
            Err(err @ EmailChangeError::TooManyRequests) => {
                status = StatusCode::TOO_MANY_REQUESTS;
                errors.add("email", err.to_string())
            }
            Err(EmailChangeError::Invalid) => errors.add("email", "Try again."),
            Err(EmailChangeError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
        },
    }
    let mut account = AccountPage::of(&state, &current, errors).await?;
    account.new_email = form.email.clone();
    html(status, &account)
}

#[derive(Template)]
#[template(path = "email_confirm.html")]
struct ConfirmEmailPage {
    layout: Layout,
    token: String,
    new_email: String,
}

#[derive(Template)]
#[template(path = "link_closed.html")]
struct EmailLinkClosed {
    layout: Layout,
    heading: &'static str,
    message: String,
    retry_href: &'static str,
    retry_label: &'static str,
}

/// The link in the message to the new address: a page with one button,
/// so a mail scanner opening the link changes nothing.
pub async fn confirm_email_page(
    state: web::Data<AppState>,
    session: actix_session::Session,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match profile::pending_change(&state.db, &state.clock, &path).await? {
        Some(change) => page(&ConfirmEmailPage {
            layout: Layout::public(&session, "Confirm your new address"),
            token: path.into_inner(),
            new_email: change.new_email,
        }),
        None => email_link_closed(&session, StatusCode::GONE, EmailChangeError::Invalid),
    }
}

fn email_link_closed(
    session: &actix_session::Session,
    status: StatusCode,
    err: EmailChangeError,
) -> Result<HttpResponse, AppError> {
    html(
        status,
        &EmailLinkClosed {
            layout: Layout::public(session, "Email change"),
            heading: "The address was not changed",
            message: err.to_string(),
            retry_href: "/account",
            retry_label: "Go to your account",
        },
    )
}

/// Makes the new address the account's.
pub async fn confirm_email(
    state: web::Data<AppState>,
    session: actix_session::Session,
    addr: ClientAddr,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match profile::confirm_email_change(&state.db, &state.clock, &path, addr.0).await {
        Ok(user) => {
            session::flash(
                &session,
                "success",
                format!("Your email address is now {}.", user.email),
            );
            let signed_in = session::auth(&session).is_some_and(|auth| auth.user_id == user.id);
            Ok(see_other(if signed_in { "/account" } else { "/signin" }))
        }
        Err(err @ EmailChangeError::Taken) => {
            email_link_closed(&session, StatusCode::CONFLICT, err)
        }
        Err(EmailChangeError::Unexpected(err)) => Err(AppError::Unexpected(err)),
        Err(err) => email_link_closed(&session, StatusCode::GONE, err),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    page(&AccountPage::of(&state, &current, FieldErrors::default()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    current: CurrentUser,
    addr: ClientAddr,
    origin: ClientOrigin,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let new = NewPassword::parse(
        &form.new_password,
        &[&current.user.name, &current.user.email],
    )
    .map_err(|e| errors.add("new_password", e))
    .ok();
    if form.new_password != form.confirm_password {
        errors.add("confirm_password", "The two new passwords don't match.");
    }
    if let (Some(new), true) = (new, errors.is_empty()) {
        match accounts::change_password(
            &state.db,
            &state.clock,
            &current.user,
            &form.current_password,
            new,
            addr.0.as_deref(),
        )
        .await
        {
            Ok(epoch) => {
                // This browser stays signed in; every other session ends.
                let user = user::Model {
                    session_epoch: epoch,
                    ..current.user.clone()
                };
                let origin = origin.0;
                super::auth::begin_session(&state, &current.session, &user, &origin).await?;
                session::flash(
                    &current.session,
                    "success",
                    "Your password has been changed. Other sessions have been signed out.",
                );
                return Ok(see_other("/account"));
            }
            Err(err @ PasswordChangeError::WrongPassword) => {
                errors.add("current_password", err.to_string())
            }
            Err(err @ PasswordChangeError::TooManyAttempts) => {
                status = StatusCode::TOO_MANY_REQUESTS;
                errors.add("current_password", err.to_string())
            }
            Err(PasswordChangeError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
        }
    }
    html(status, &AccountPage::of(&state, &current, errors).await?)
}

pub async fn sign_out_everywhere(
    state: web::Data<AppState>,
    current: CurrentUser,
    origin: ClientOrigin,
) -> Result<HttpResponse, AppError> {
    sessions::end_all(&state.db, &current.user, &origin.0, state.clock.now()).await?;
    current.session.purge();
    Ok(see_other("/signin?signed_out=1"))
}

/// Ends one of the person's other sessions (a browser left signed in).
pub async fn end_session(
    state: web::Data<AppState>,
    current: CurrentUser,
    origin: ClientOrigin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let now = state.clock.now();
    let ended = sessions::end_one(&state.db, &current.user, &session_id, &origin.0, now).await?;
    if !ended {
        return Err(AppError::NotFound);
    }
    let this_one = session::auth(&current.session).is_some_and(|a| a.session_id == session_id);
    if this_one {
        current.session.purge();
        return Ok(see_other("/signin?signed_out=1"));
    }
    session::flash(&current.session, "success", "That session has ended.");
    Ok(see_other("/account"))
}

/// Ends every session of the person but this one.
pub async fn end_other_sessions(
    state: web::Data<AppState>,
    current: CurrentUser,
    origin: ClientOrigin,
) -> Result<HttpResponse, AppError> {
    let keep = session::auth(&current.session)
        .map(|a| a.session_id)
        .unwrap_or_default();
    let now = state.clock.now();
    sessions::end_others(&state.db, &current.user, &keep, &origin.0, now).await?;
    session::flash(
        &current.session,
        "success",
        "Every other session has ended.",
    );
    Ok(see_other("/account"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    pub page: Option<u64>,
}

/// One row of the security log as the page shows it.
pub struct LogRow {
    pub when: String,
    pub what: &'static str,
    pub detail: String,
    pub by: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "security_log.html")]
struct SecurityLogPage {
    layout: Layout,
    rows: Vec<LogRow>,
    page: u64,
    more: bool,
}

/// The person's own security log, newest first.
pub async fn security_log(
    state: web::Data<AppState>,
    current: CurrentUser,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, AppError> {
    let page_number = super::render::offset_page(query.page)?;
    let (rows, more) = security_log::page(&state.db, &current.user.id, page_number).await?;
    let rows = rows
        .into_iter()
        .map(|row| LogRow {
            when: super::format::date_time(row.created_at),
            what: AuditAction::parse(&row.action).map_or("Account change", AuditAction::label),
            detail: row.after_value.unwrap_or_default(),
            by: if row.actor_user_id.as_deref() == Some(current.user.id.as_str()) {
                String::new()
            } else {
                row.actor_label
            },
            address: row.address.unwrap_or_default(),
        })
        .collect();
    page(&SecurityLogPage {
        layout: Layout::account(
            &current.session,
            &current.user,
            current.orgs(),
            "Your security log",
        ),
        rows,
        page: page_number,
        more,
    })
}
