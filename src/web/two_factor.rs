//! The person's two-factor settings: set it up (QR code, secret, a code to
//! confirm, recovery codes shown once), new recovery codes, turn it off.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{ClientOrigin, CurrentUser};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::totp;
use crate::services::two_factor::{self, TwoFactorError};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetupQuery {
    /// The organization whose requirement sent the person here.
    pub required_by: String,
}

/// What the set-up shows when two-factor is off.
pub struct Setup {
    pub qr: String,
    pub secret: String,
    pub grouped: String,
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    layout: Layout,
    errors: FieldErrors,
    /// `None` when two-factor is on.
    setup: Option<Setup>,
    /// When it was turned on.
    since: String,
    /// Organizations that require it of the person, by name.
    required_by: Vec<String>,
    /// Recovery codes to show once, right after they were made.
    codes: Vec<String>,
}

impl TwoFactorPage {
    async fn of(
        state: &AppState,
        current: &CurrentUser,
        errors: FieldErrors,
    ) -> Result<Self, AppError> {
        let setup = match current.user.two_factor_at {
            Some(_) => None,
            None => match two_factor::begin_setup(&state.db, &state.clock, &current.user).await {
                Ok(row) => {
                    let uri = totp::setup_uri(&row.secret, &current.user.email);
                    Some(Setup {
                        qr: totp::qr_data_uri(&uri)?,
                        grouped: totp::grouped(&row.secret),
                        secret: row.secret,
                    })
                }
                // Turned on since this request loaded the person (by
                // this very request, when it confirms the set-up).
                Err(TwoFactorError::AlreadyOn) => None,
                Err(TwoFactorError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
                Err(other) => return Err(AppError::Conflict(other.to_string())),
            },
        };
        let required_by = current
            .memberships
            .iter()
            .filter(|(org, _)| org.two_factor_required_at.is_some())
            .map(|(org, _)| org.name.clone())
            .collect();
        Ok(TwoFactorPage {
            layout: Layout::account(
                &current.session,
                &current.user,
                current.orgs(),
                "Two-factor authentication",
            ),
            errors,
            setup,
            since: current
                .user
                .two_factor_at
                .map(super::format::date)
                .unwrap_or_default(),
            required_by,
            codes: Vec::new(),
        })
    }
}

pub async fn show(
    state: web::Data<AppState>,
    current: CurrentUser,
    _query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    page(&TwoFactorPage::of(&state, &current, FieldErrors::default()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    pub password: String,
    pub code: String,
}

/// Confirms the set-up with a code from the app.
pub async fn confirm(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    current: CurrentUser,
    origin: ClientOrigin,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    // Only the set-up page starts a set-up: a refused code must not.
    let started = two_factor::find(state.db.accounts_write(), &current.user.id).await?;
    if current.user.two_factor_at.is_none() && started.is_none() {
        return Ok(start_first(&current));
    }
    let result = two_factor::confirm_setup(
        &state.db,
        &state.clock,
        &current.user,
        &form.password,
        &form.code,
        &origin.0,
    )
    .await;
    match result {
        Ok(codes) => {
            let mut shown = TwoFactorPage::of(&state, &current, FieldErrors::default()).await?;
            // The page was built from the person as of this request.
            shown.setup = None;
            shown.since = super::format::date(state.clock.now());
            shown.codes = codes;
            shown.layout.flash = Some(session::Flash {
                kind: "success".into(),
                message: "Two-factor authentication is on.".into(),
            });
            page(&shown)
        }
        Err(err) => refused(&state, &current, "code", err).await,
    }
}

/// A code sent before the set-up page was opened: that page starts it.
fn start_first(current: &CurrentUser) -> HttpResponse {
    session::flash(
        &current.session,
        "error",
        "Scan the QR code with your authenticator app first, then enter the code it shows.",
    );
    see_other(SETUP_PATH)
}

/// Turning off or renewing codes while two-factor is off.
fn already_off(current: &CurrentUser) -> HttpResponse {
    session::flash(
        &current.session,
        "error",
        "Two-factor authentication is off: there is nothing to turn off or renew.",
    );
    see_other(SETUP_PATH)
}

const SETUP_PATH: &str = "/account/two-factor";

async fn refused(
    state: &AppState,
    current: &CurrentUser,
    field: &'static str,
    err: TwoFactorError,
) -> Result<HttpResponse, AppError> {
    let err = match err {
        TwoFactorError::Unexpected(err) => return Err(AppError::Unexpected(err)),
        other => other,
    };
    let (status, field) = match &err {
        TwoFactorError::TooManyAttempts => (StatusCode::TOO_MANY_REQUESTS, "password"),
        TwoFactorError::WrongPassword => (StatusCode::UNPROCESSABLE_ENTITY, "password"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, field),
    };
    let mut errors = FieldErrors::default();
    errors.add(field, err.to_string());
    html(status, &TwoFactorPage::of(state, current, errors).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmPersonForm {
    pub password: String,
    pub code: String,
}

/// Turns two-factor off, with the password and a current code.
pub async fn disable(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    current: CurrentUser,
    origin: ClientOrigin,
    form: web::Form<ConfirmPersonForm>,
) -> Result<HttpResponse, AppError> {
    if current.user.two_factor_at.is_none() {
        return Ok(already_off(&current));
    }
    let result = two_factor::disable(
        &state.db,
        &state.clock,
        &current.user,
        &form.password,
        &form.code,
        &origin.0,
    )
    .await;
    match result {
        Ok(()) => {
            session::flash(
                &current.session,
                "success",
                "Two-factor authentication is off.",
            );
            Ok(see_other(SETUP_PATH))
        }
        Err(err) => refused(&state, &current, "code", err).await,
    }
}

/// Ten new recovery codes; the old ones stop working.
pub async fn renew_codes(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    current: CurrentUser,
    origin: ClientOrigin,
    form: web::Form<ConfirmPersonForm>,
) -> Result<HttpResponse, AppError> {
    if current.user.two_factor_at.is_none() {
        return Ok(already_off(&current));
    }
    let result = two_factor::renew_recovery_codes(
        &state.db,
        &state.clock,
        &current.user,
        &form.password,
        &form.code,
        &origin.0,
    )
    .await;
    match result {
        Ok(codes) => {
            let mut shown = TwoFactorPage::of(&state, &current, FieldErrors::default()).await?;
            shown.codes = codes;
            shown.layout.flash = Some(session::Flash {
                kind: "success".into(),
                message: "New recovery codes are ready; the old ones no longer work.".into(),
            });
            page(&shown)
        }
        Err(err) => refused(&state, &current, "code", err).await,
    }
}
