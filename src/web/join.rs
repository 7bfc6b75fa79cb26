//! The invitation link: `/invitations/{token}` explains what the link can
//! do for whoever opens it — sign up, sign in and join, switch accounts —
//! or why it no longer works; the POST routes accept it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::begin_session;
use super::errors::AppError;
use super::extract::{ClientAddr, ClientOrigin, CurrentUser};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, see_other};
use super::session;
use super::state::AppState;
use crate::domain::names::PersonName;
use crate::domain::password::{self, NewPassword};
use crate::services::invitations::{self, AcceptError, Invited, Joiner, State};
use crate::services::{accounts, blocking};

/// What the link's page shows.
pub enum View {
    /// No account with the address yet: the sign-up form.
    SignUp,
    /// An account exists: sign in first.
    SignIn,
    /// Signed in with the invited address: one click to join.
    Join,
    /// Signed in with another address.
    OtherAccount {
        signed_in_as: String,
    },
    AlreadyMember,
    /// Expired, revoked, used, or refused at acceptance: why, and whom to
    /// ask.
    Closed {
        reason: String,
    },
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    layout: Layout,
    token: String,
    org_name: String,
    org_id: String,
    email: String,
    role: &'static str,
    inviter: String,
    view: View,
    person_name: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "join_invalid.html")]
struct InvalidPage {
    layout: Layout,
}

fn closed_reason(invited: &Invited) -> String {
    let inviter = &invited.invitation.invited_by_name;
    let org = &invited.org.name;
    match invited.state {
        State::Expired => format!(
            "This invitation to {org} expired. Invitations work for seven days; ask {inviter} \
             to resend it."
        ),
        State::Revoked => format!(
            "This invitation to {org} was cancelled. If you still expect to join, ask {inviter}."
        ),
        State::Accepted => format!(
            "This invitation to {org} has already been used. Sign in to reach {org}, or ask \
             {inviter} for a new invitation."
        ),
        State::Pending => String::new(),
    }
}

fn render(
    session: &Session,
    status: StatusCode,
    token: &str,
    invited: &Invited,
    view: View,
    name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    html(
        status,
        &JoinPage {
            layout: Layout::public(session, &format!("Join {}", invited.org.name)),
            token: token.to_string(),
            org_name: invited.org.name.clone(),
            org_id: invited.org.id.clone(),
            email: invited.invitation.email.clone(),
            role: invited.invitation.role.label(),
            inviter: invited.invitation.invited_by_name.clone(),
            view,
            person_name: name,
            errors,
        },
    )
}

async fn find(
    state: &AppState,
    session: &Session,
    token: &str,
) -> Result<Result<Invited, HttpResponse>, AppError> {
    match invitations::by_token(&state.db, &state.clock, token).await? {
        Some(invited) => Ok(Ok(invited)),
        None => Ok(Err(html(
            StatusCode::NOT_FOUND,
            &InvalidPage {
                layout: Layout::public(session, "Invitation not found"),
            },
        )?)),
    }
}

pub async fn landing(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let invited = match find(&state, &session, &token).await? {
        Ok(invited) => invited,
        Err(response) => return Ok(response),
    };
    if invited.state != State::Pending {
        let reason = closed_reason(&invited);
        return render(
            &session,
            StatusCode::GONE,
            &token,
            &invited,
            View::Closed { reason },
            String::new(),
            FieldErrors::default(),
        );
    }
    let view = if session::auth(&session).is_some() {
        match CurrentUser::extract(&req).await {
            Ok(current) => {
                if current.user.email_normalized != invited.invitation.email_normalized {
                    View::OtherAccount {
                        signed_in_as: current.user.email.clone(),
                    }
                } else if current.memberships.iter().any(|(org, m)| {
                    org.id == invited.org.id && m.role != crate::domain::role::OrgRole::None
                }) {
                    View::AlreadyMember
                } else {
                    View::Join
                }
            }
            // The session ended meanwhile: treat as signed out.
            Err(AppError::SignInRequired { .. }) => signed_out_view(&state, &invited).await?,
            Err(err) => return Err(err),
        }
    } else {
        signed_out_view(&state, &invited).await?
    };
    render(
        &session,
        StatusCode::OK,
        &token,
        &invited,
        view,
        String::new(),
        FieldErrors::default(),
    )
}

async fn signed_out_view(state: &AppState, invited: &Invited) -> Result<View, AppError> {
    let exists = accounts::find_by_email(&state.db, &invited.invitation.email_normalized)
        .await?
        .is_some();
    Ok(if exists { View::SignIn } else { View::SignUp })
}

/// The page for an acceptance that did not go through, with its status.
fn refused(err: AcceptError, invited: &Invited) -> Result<(StatusCode, View), AppError> {
    Ok(match err {
        AcceptError::NotFound => return Err(AppError::NotFound),
        AcceptError::Expired | AcceptError::Revoked | AcceptError::Used => {
            let state = match err {
                AcceptError::Expired => State::Expired,
                AcceptError::Revoked => State::Revoked,
                _ => State::Accepted,
            };
            let reason = closed_reason(&Invited {
                state,
                ..invited.clone()
            });
            (StatusCode::GONE, View::Closed { reason })
        }
        AcceptError::InviterCannotGrant(reason) => (StatusCode::FORBIDDEN, View::Closed { reason }),
        AcceptError::NoSeats(reason) => (StatusCode::CONFLICT, View::Closed { reason }),
        AcceptError::AlreadyMember => (StatusCode::CONFLICT, View::AlreadyMember),
        AcceptError::WrongAccount => (
            StatusCode::FORBIDDEN,
            View::Closed {
                reason: err.to_string(),
            },
        ),
        AcceptError::AccountExists => (StatusCode::CONFLICT, View::SignIn),
        AcceptError::Unexpected(err) => return Err(AppError::Unexpected(err)),
    })
}

/// A signed-in person accepts: joins with the invited role.
pub async fn accept(
    state: web::Data<AppState>,
    current: CurrentUser,
    addr: ClientAddr,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let invited = match find(&state, &current.session, &token).await? {
        Ok(invited) => invited,
        Err(response) => return Ok(response),
    };
    if current.user.email_normalized != invited.invitation.email_normalized {
        let view = View::OtherAccount {
            signed_in_as: current.user.email.clone(),
        };
        return render(
            &current.session,
            StatusCode::FORBIDDEN,
            &token,
            &invited,
            view,
            String::new(),
            FieldErrors::default(),
        );
    }
    match invitations::accept(
        &state.db,
        &state.clock,
        &token,
        Joiner::Existing(&current.user),
        addr.0,
    )
    .await
    {
        Ok((org_id, _)) => {
            session::flash(
                &current.session,
                "success",
                format!("You joined {}.", invited.org.name),
            );
            Ok(see_other(&format!("/orgs/{org_id}")))
        }
        Err(err) => {
            let (status, view) = refused(err, &invited)?;
            render(
                &current.session,
                status,
                &token,
                &invited,
                view,
                String::new(),
                FieldErrors::default(),
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JoinSignUpForm {
    pub name: String,
    pub password: String,
}

/// A new person signs up from the link: the account takes the invited
/// address, joins the organization and is signed in.
pub async fn signup(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    session: Session,
    addr: ClientAddr,
    origin: ClientOrigin,
    path: web::Path<String>,
    form: web::Form<JoinSignUpForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let invited = match find(&state, &session, &token).await? {
        Ok(invited) => invited,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let password = NewPassword::parse(&form.password, &[&form.name, &invited.invitation.email])
        .map_err(|e| errors.add("password", e))
        .ok();
    let (Some(name), Some(password)) = (name, password) else {
        return render(
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &invited,
            View::SignUp,
            form.name,
            errors,
        );
    };
    let password_hash = blocking(move || password::hash(password.expose()))
        .await?
        .map_err(|err| anyhow::anyhow!("failed to hash a password: {err}"))?;
    let joined = invitations::accept(
        &state.db,
        &state.clock,
        &token,
        Joiner::New {
            name: name.as_str(),
            password_hash,
        },
        addr.0,
    )
    .await;
    match joined {
        Ok((org_id, user)) => {
            begin_session(&state, &session, &user, &origin.0).await?;
            session::flash(
                &session,
                "success",
                format!(
                    "Welcome to Roster, {}. You joined {}.",
                    user.name, invited.org.name
                ),
            );
            Ok(see_other(&format!("/orgs/{org_id}")))
        }
        Err(err) => {
            let (status, view) = refused(err, &invited)?;
            render(&session, status, &token, &invited, view, form.name, errors)
        }
    }
}
