//! The person's own account: their name and email address, change
//! password, sign out everywhere.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{ClientAddr, CurrentUser};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::email::EmailAddress;
use crate::domain::names::PersonName;
use crate::domain::password::NewPassword;
use crate::entities::organization;
use crate::mail::templates;
use crate::services::account_links;
use crate::services::accounts::{self, PasswordChangeError};
use crate::services::profile::{self, EmailChangeError};

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
}

impl AccountPage {
    async fn of(
        state: &AppState,
        current: &CurrentUser,
        errors: FieldErrors,
    ) -> Result<Self, AppError> {
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
        })
    }
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
                super::auth::begin_session(&state, &current.session, &current.user.id, epoch)
                    .await?;
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
) -> Result<HttpResponse, AppError> {
    accounts::sign_out_everywhere(&state.db, &current.user.id).await?;
    current.session.purge();
    Ok(see_other("/signin?signed_out=1"))
}
