//! The person's own account: change password, sign out everywhere.

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
use crate::domain::password::NewPassword;
use crate::entities::organization;
use crate::services::account_links;
use crate::services::accounts::{self, PasswordChangeError};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    errors: FieldErrors,
    verified: bool,
    /// Organizations the person may join by their confirmed address.
    offers: Vec<organization::Model>,
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
        })
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
