//! Pages behind the account emails: forgot password → reset link → new
//! password; verification link → confirmed address; joining an
//! organization that lists the verified address's domain.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::sign_in_or_ask_code;
use super::errors::AppError;
use super::extract::{ClientAddr, ClientOrigin, CurrentUser};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::password::NewPassword;
use crate::entities::account_token::Purpose;
use crate::mail::templates;
use crate::services::account_links::{self, AutoJoinError, LinkError};
use crate::services::invitations;
use crate::services::rate_limit;

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    sent: bool,
    error: &'static str,
    /// Why the typed address is not one.
    email_error: String,
}

pub async fn forgot_page(session: Session) -> Result<HttpResponse, AppError> {
    page(&ForgotPage {
        layout: Layout::public(&session, "Forgot your password?"),
        email: String::new(),
        sent: false,
        error: "",
        email_error: String::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    pub email: String,
}

/// Answers the same whether or not an account has the address.
pub async fn forgot(
    state: web::Data<AppState>,
    session: Session,
    addr: ClientAddr,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    // Only the shape of the address is judged here: that says nothing
    // about which addresses have accounts.
    if let Err(message) = crate::domain::email::EmailAddress::parse(&form.email) {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                layout: Layout::public(&session, "Forgot your password?"),
                email: form.email.trim().chars().take(254).collect(),
                sent: false,
                error: "",
                email_error: message,
            },
        );
    }
    // Counted per client address whatever the account, so the answer still
    // says nothing about which addresses have accounts.
    if !rate_limit::allow_reset_request(&state.db, addr.0.as_deref(), state.clock.now()).await? {
        return html(
            StatusCode::TOO_MANY_REQUESTS,
            &ForgotPage {
                layout: Layout::public(&session, "Forgot your password?"),
                email: form.email.trim().to_string(),
                sent: false,
                error: "Too many reset requests from your network. Wait 15 minutes and try again.",
                email_error: String::new(),
            },
        );
    }
    let sent =
        account_links::request_reset(&state.db, &state.clock, &form.email, &state.config.base_url)
            .await?;
    if let Some(link) = sent {
        state
            .mailer
            .queued(templates::RESET_KIND, &link.email, &link.link);
    }
    page(&ForgotPage {
        layout: Layout::public(&session, "Check your email"),
        email: form.email.trim().to_string(),
        sent: true,
        error: "",
        email_error: String::new(),
    })
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "link_closed.html")]
struct LinkClosedPage {
    layout: Layout,
    heading: &'static str,
    message: String,
    retry_href: &'static str,
    retry_label: &'static str,
}

fn reset_closed(session: &Session) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::GONE,
        &LinkClosedPage {
            layout: Layout::public(session, "Link expired"),
            heading: "This reset link can't be used",
            message: LinkError::Invalid.to_string(),
            retry_href: "/password/forgot",
            retry_label: "Ask for a new reset link",
        },
    )
}

pub async fn reset_page(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if account_links::valid_link(&state.db, &state.clock, &token, Purpose::ResetPassword)
        .await?
        .is_none()
    {
        return reset_closed(&session);
    }
    page(&ResetPage {
        layout: Layout::public(&session, "Choose a new password"),
        token,
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    pub new_password: String,
    pub confirm_password: String,
}

/// Sets the new password, ends every session, signs this browser in.
pub async fn reset(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    session: Session,
    origin: ClientOrigin,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let mut errors = FieldErrors::default();
    let owner = account_links::reset_owner(&state.db, &state.clock, &token).await?;
    let about: Vec<&str> = owner
        .as_ref()
        .map(|user| vec![user.name.as_str(), user.email.as_str()])
        .unwrap_or_default();
    let new = NewPassword::parse(&form.new_password, &about)
        .map_err(|e| errors.add("new_password", e))
        .ok();
    if form.new_password != form.confirm_password {
        errors.add("confirm_password", "The two new passwords don't match.");
    }
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                layout: Layout::public(&session, "Choose a new password"),
                token,
                errors,
            },
        );
    };
    let origin = origin.0;
    let address = origin.address.clone();
    match account_links::reset_password(&state.db, &state.clock, &token, new, address).await {
        Ok(user) => {
            if let Some(ask) = sign_in_or_ask_code(&state, &session, &user, &origin, "/").await? {
                session::flash(
                    &session,
                    "success",
                    "Your password is changed, and every session of your account has ended. \
                     Enter the code from your authenticator app to sign in.",
                );
                return Ok(ask);
            }
            session::flash(
                &session,
                "success",
                "Your password is changed, and every other session of your account has ended.",
            );
            Ok(see_other("/"))
        }
        Err(LinkError::Invalid) => reset_closed(&session),
        Err(LinkError::Unexpected(err)) => Err(AppError::Unexpected(err)),
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
}

fn verify_closed(session: &Session) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::GONE,
        &LinkClosedPage {
            layout: Layout::public(session, "Link expired"),
            heading: "This verification link can't be used",
            message: LinkError::Invalid.to_string(),
            retry_href: "/account",
            retry_label: "Send a new link from your account page",
        },
    )
}

/// The link opens a page with a button: no GET (or HEAD, which mail
/// scanners send) changes anything.
pub async fn verify_page(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if account_links::valid_link(&state.db, &state.clock, &token, Purpose::VerifyEmail)
        .await?
        .is_none()
    {
        return verify_closed(&session);
    }
    page(&VerifyPage {
        layout: Layout::public(&session, "Confirm your email address"),
        token,
    })
}

pub async fn verify(
    state: web::Data<AppState>,
    session: Session,
    addr: ClientAddr,
    origin: ClientOrigin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let user =
        match account_links::verify_email(&state.db, &state.clock, &token, addr.0.clone()).await {
            Ok(user) => user,
            Err(LinkError::Invalid) => return verify_closed(&session),
            Err(LinkError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
        };
    let mut message = format!("Thank you: {} is confirmed.", user.email);
    let mut landing = None;
    // The organization chosen at sign-up, joined now that the address is
    // proven.
    if let Some(org_id) = &user.join_org_id {
        match account_links::auto_join(&state.db, &state.clock, &user.id, org_id, addr.0).await {
            Ok(org) => {
                message.push_str(&format!(" You joined {}.", org.name));
                landing = Some(format!("/orgs/{}", org.id));
            }
            Err(AutoJoinError::NoSeats(refusal)) => {
                message.push_str(&format!(
                    " You could not join the organization you chose: {refusal} \
                     You can create your own organization meanwhile."
                ));
            }
            Err(AutoJoinError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
            Err(AutoJoinError::AlreadyMember) => {
                message.push_str(" You are already a member of the organization you chose.")
            }
            Err(AutoJoinError::NotVerified) => message.push_str(
                " Your address changed since you signed up, so the organization you chose \
                 was not joined; its offer is on your account page if it welcomes your address.",
            ),
            Err(AutoJoinError::NotOffered) => message.push_str(
                " The organization you chose no longer welcomes your address; \
                 you can create your own organization.",
            ),
        }
    }
    let waiting = invitations::waiting_for(&state.db, &state.clock, &user.email_normalized).await?;
    if !waiting.is_empty() {
        let list: Vec<String> = waiting
            .iter()
            .map(|(org, inviter)| format!("{org} (from {inviter})"))
            .collect();
        message.push_str(&format!(
            " You have an invitation waiting: {}. Open the link in the invitation email to join, \
             or ask for it to be sent again.",
            list.join(", ")
        ));
    }
    let next = match session::auth(&session) {
        Some(auth) if auth.user_id == user.id => landing.unwrap_or_else(|| "/account".into()),
        // Someone else is signed in in this browser: they stay.
        Some(_) => "/signin".into(),
        // The link came to the address: like a reset link, it proves the
        // person, so it signs them in (after sign-up, this is how they
        // arrive in their organization).
        None => {
            let next = landing.unwrap_or_else(|| "/".into());
            if let Some(ask) =
                sign_in_or_ask_code(&state, &session, &user, &origin.0, &next).await?
            {
                session::flash(&session, "success", message);
                return Ok(ask);
            }
            message = format!("Welcome to Roster, {}. {message}", user.name);
            next
        }
    };
    session::flash(&session, "success", message);
    Ok(see_other(&next))
}

/// Sends a new verification link to the signed-in person.
pub async fn resend_verification(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let sent = account_links::resend_verification(
        &state.db,
        &state.clock,
        &current.user,
        &state.config.base_url,
    )
    .await?;
    let message = match sent {
        Some(link) => {
            state
                .mailer
                .queued(templates::VERIFY_KIND, &link.email, &link.link);
            format!("A new verification link is on its way to {}.", link.email)
        }
        None => "Your email address is already confirmed.".to_string(),
    };
    session::flash(&current.session, "success", message);
    Ok(see_other("/account"))
}

/// Joins an organization that lists the person's verified domain.
pub async fn auto_join(
    state: web::Data<AppState>,
    current: CurrentUser,
    addr: ClientAddr,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let org_id = path.into_inner();
    match account_links::auto_join(&state.db, &state.clock, &current.user.id, &org_id, addr.0).await
    {
        Ok(org) => {
            session::flash(
                &current.session,
                "success",
                format!("You joined {}.", org.name),
            );
            Ok(see_other(&format!("/orgs/{}", org.id)))
        }
        // An organization that does not offer it looks like one that does
        // not exist.
        Err(AutoJoinError::NotOffered) => Err(AppError::NotFound),
        Err(err @ AutoJoinError::NotVerified) => Err(AppError::Forbidden(err.to_string())),
        Err(err @ AutoJoinError::AlreadyMember) => Err(AppError::Conflict(err.to_string())),
        Err(AutoJoinError::NoSeats(message)) => Err(AppError::Conflict(message)),
        Err(AutoJoinError::Unexpected(err)) => Err(AppError::Unexpected(err)),
    }
}
