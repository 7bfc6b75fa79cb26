//! Sign-up, sign-in and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::{ClientAddr, ClientOrigin};
use super::password_slot::PasswordSlot;
use super::render::{FieldErrors, Layout, html, page, see_other};
use super::session;
use super::state::AppState;
use crate::domain::email::EmailAddress;
use crate::domain::names::{OrgName, PersonName};
use crate::domain::password::NewPassword;
use crate::entities::user;
use crate::mail::templates;
use crate::services::account_links;
use crate::services::accounts::{self, Landing, SignInError, SignUp, SignedUp};
use crate::services::security_log::Origin;
use crate::services::sessions;
use crate::services::two_factor::{self, TwoFactorError, Verified};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignUpForm {
    pub name: String,
    pub email: String,
    pub password: String,
    pub org_name: String,
    /// `new`, or `join:{org id}` for an organization that welcomes the
    /// address's domain; empty until the person has been asked.
    pub org: String,
}

/// An organization offered at sign-up, as (id, name).
type Offer = (String, String);

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    layout: Layout,
    form: SignUpForm,
    errors: FieldErrors,
    /// Organizations that welcome the address's domain: the person
    /// chooses between joining one and creating their own.
    offers: Vec<Offer>,
    domain: String,
}

pub async fn signup_page(session: Session) -> Result<HttpResponse, AppError> {
    if session::auth(&session).is_some() {
        return Ok(see_other("/"));
    }
    page(&SignUpPage {
        layout: Layout::public(&session, "Create your account"),
        form: SignUpForm::default(),
        errors: FieldErrors::default(),
        offers: Vec::new(),
        domain: String::new(),
    })
}

/// The answer to a valid sign-up, whether the address was new or had an
/// account: only the mail that arrives differs.
#[derive(Template)]
#[template(path = "signup_sent.html")]
struct SignUpSentPage {
    layout: Layout,
    email: String,
    /// The organization the person joins once the address is confirmed.
    joining: Option<String>,
}

/// Creates the account and its organization, or tells the address's owner
/// that someone tried; answers "check your email" either way, without
/// signing in: the verification link does that.
pub async fn signup(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    session: Session,
    addr: ClientAddr,
    form: web::Form<SignUpForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    let mut errors = FieldErrors::default();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    let password = NewPassword::parse(&form.password, &[&form.name, &form.email])
        .map_err(|e| errors.add("password", e))
        .ok();
    // An address on a domain an organization welcomes is offered that
    // organization beside a new one of its own.
    let offers: Vec<Offer> = match &email {
        Some(email) => account_links::domain_offers(&state.db, email.normalized())
            .await?
            .into_iter()
            .map(|org| (org.id, org.name))
            .collect(),
        None => Vec::new(),
    };
    let mut refused_choice = false;
    let joining = match form.org.trim() {
        "" | "new" => None,
        choice => match choice
            .strip_prefix("join:")
            .and_then(|id| offers.iter().find(|(offered, _)| offered == id))
        {
            Some(offer) => Some(offer.clone()),
            None => {
                errors.add(
                    "org",
                    "Choose one of the organizations offered, or create your own.",
                );
                refused_choice = true;
                None
            }
        },
    };
    let asking = !offers.is_empty() && form.org.trim().is_empty();
    let org_name = if joining.is_some() || asking || refused_choice {
        None
    } else {
        OrgName::parse(&form.org_name)
            .map_err(|e| errors.add("org_name", e))
            .ok()
    };
    let landing = match (joining.clone(), org_name) {
        (Some((org_id, _)), _) => Some(Landing::Join { org_id }),
        (None, Some(name)) => Some(Landing::Create {
            name,
            seat_limit: state.config.default_seat_limit,
        }),
        (None, None) => None,
    };
    let domain = form
        .email
        .trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase())
        .unwrap_or_default();
    let (Some(name), Some(email), Some(password), Some(landing)) = (name, email, password, landing)
    else {
        form.password.clear();
        // Asked for the first time, the form is not wrong: it asks.
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return html(
            status,
            &SignUpPage {
                layout: Layout::public(&session, "Create your account"),
                form,
                errors,
                offers,
                domain,
            },
        );
    };
    let shown = email.as_str().to_string();
    let input = SignUp {
        name,
        email,
        password,
        landing,
    };
    let signed_up = accounts::sign_up(
        &state.db,
        &state.clock,
        input,
        addr.0,
        &state.config.base_url,
    )
    .await?;
    match signed_up {
        SignedUp::Created { link } => {
            state
                .mailer
                .queued(templates::VERIFY_KIND, &link.email, &link.link);
        }
        SignedUp::Taken {
            notified: Some(owner),
        } => {
            let sign_in = format!("{}/signin", state.config.base_url);
            state
                .mailer
                .queued(templates::SIGN_UP_ATTEMPT_KIND, &owner, &sign_in);
        }
        SignedUp::Taken { notified: None } => {}
    }
    page(&SignUpSentPage {
        layout: Layout::public(&session, "Check your email"),
        email: shown,
        joining: joining.map(|(_, name)| name),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    pub email: String,
    pub password: String,
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInQuery {
    pub next: String,
    pub signed_out: Option<String>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    next: String,
    error: String,
}

/// Where a `next=` parameter may send someone: a path on this site only.
/// Only visible ASCII is accepted (browsers drop tab, CR and LF from a URL,
/// so `/\t/evil.example` would become `//evil.example`), never a backslash
/// (read as `/`), never `//` (another host), and it must parse as a bare
/// path and query.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    const MAX_LEN: usize = 2048;
    let shaped = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_LEN
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if !shaped {
        return None;
    }
    let uri: actix_web::http::Uri = next.parse().ok()?;
    let bare = uri.scheme().is_none() && uri.authority().is_none() && uri.path().starts_with('/');
    bare.then_some(next)
}

pub async fn signin_page(
    session: Session,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, AppError> {
    if session::auth(&session).is_some() {
        return Ok(see_other(safe_next(&query.next).unwrap_or("/")));
    }
    let mut layout = Layout::public(&session, "Sign in");
    if query.signed_out.is_some() && layout.flash.is_none() {
        layout.flash = Some(session::Flash {
            kind: "success".into(),
            message: "You have signed out.".into(),
        });
    }
    page(&SignInPage {
        layout,
        email: String::new(),
        next: safe_next(&query.next).unwrap_or_default().to_string(),
        error: String::new(),
    })
}

pub async fn signin(
    state: web::Data<AppState>,
    _slot: PasswordSlot,
    session: Session,
    origin: ClientOrigin,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let origin = origin.0;
    let result = accounts::sign_in(
        &state.db,
        &state.clock,
        &form.email,
        &form.password,
        &origin,
    )
    .await;
    let (status, error) = match result {
        Ok(user) => {
            let next = safe_next(&form.next).unwrap_or("/");
            if let Some(ask) = sign_in_or_ask_code(&state, &session, &user, &origin, next).await? {
                return Ok(ask);
            }
            return Ok(see_other(next));
        }
        Err(err @ SignInError::InvalidCredentials) => {
            (StatusCode::UNPROCESSABLE_ENTITY, err.to_string())
        }
        Err(err @ SignInError::RateLimited) => (StatusCode::TOO_MANY_REQUESTS, err.to_string()),
        Err(SignInError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
    };
    html(
        status,
        &SignInPage {
            layout: Layout::public(&session, "Sign in"),
            email: form.email,
            next: safe_next(&form.next).unwrap_or_default().to_string(),
            error,
        },
    )
}

/// Records a new session for `user` and puts it in the cookie.
pub(crate) async fn begin_session(
    state: &AppState,
    session: &Session,
    user: &user::Model,
    origin: &Origin,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let lifetime = i64::try_from(state.config.session_lifetime.as_secs()).unwrap_or(i64::MAX);
    let session_id = sessions::start(&state.db, user, origin, now, lifetime).await?;
    session::sign_in(session, session_id, &user.id, user.session_epoch, now)?;
    Ok(())
}

/// Signs `user` in after their password (or a link that proves them),
/// unless they have two-factor on: then nobody is signed in yet, and the
/// answer leads to the code's page, which goes on to `next`.
pub(crate) async fn sign_in_or_ask_code(
    state: &AppState,
    session: &Session,
    user: &user::Model,
    origin: &Origin,
    next: &str,
) -> Result<Option<HttpResponse>, AppError> {
    if user.two_factor_at.is_none() {
        begin_session(state, session, user, origin).await?;
        return Ok(None);
    }
    session::set_pending_sign_in(
        session,
        &session::PendingSignIn {
            user_id: user.id.clone(),
            epoch: user.session_epoch,
            started_at: state.clock.now(),
            // The cookie holds it until the code: a long one goes home.
            next: if next.len() <= MAX_PENDING_NEXT {
                next.to_string()
            } else {
                "/".to_string()
            },
        },
    )?;
    Ok(Some(see_other(SECOND_FACTOR_PATH)))
}

const SECOND_FACTOR_PATH: &str = "/signin/two-factor";

/// The longest `next` a pending sign-in keeps in the session cookie.
const MAX_PENDING_NEXT: usize = 512;

/// How long the code's page waits after the password.
const PENDING_SECS: i64 = 10 * 60;

#[derive(Template)]
#[template(path = "signin_code.html")]
struct SignInCodePage {
    layout: Layout,
    error: String,
}

/// The person the pending sign-in is for, while it is fresh and their
/// sessions have not been ended since.
async fn pending_person(
    state: &AppState,
    session: &Session,
) -> Result<Option<(session::PendingSignIn, user::Model)>, AppError> {
    let Some(pending) = session::pending_sign_in(session) else {
        return Ok(None);
    };
    if state.clock.now() - pending.started_at > PENDING_SECS {
        session::clear_pending_sign_in(session);
        return Ok(None);
    }
    let user = accounts::find_by_id(&state.db, &pending.user_id)
        .await?
        .filter(|u| u.session_epoch == pending.epoch && u.two_factor_at.is_some());
    match user {
        Some(user) => Ok(Some((pending, user))),
        None => {
            session::clear_pending_sign_in(session);
            Ok(None)
        }
    }
}

const SIGN_IN_AGAIN: &str = "Your sign-in waited too long for its code. Enter your password again.";

pub async fn second_factor_page(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    if pending_person(&state, &session).await?.is_none() {
        if session::auth(&session).is_some() {
            return Ok(see_other("/"));
        }
        return Ok(see_other("/signin"));
    }
    page(&SignInCodePage {
        layout: Layout::public(&session, "Enter your code"),
        error: String::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    pub code: String,
}

/// The second step: a code from the app, or a recovery code.
pub async fn second_factor(
    state: web::Data<AppState>,
    session: Session,
    origin: ClientOrigin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let origin = origin.0;
    let Some((pending, user)) = pending_person(&state, &session).await? else {
        session::flash(&session, "error", SIGN_IN_AGAIN);
        return Ok(see_other("/signin"));
    };
    let (status, error) = match two_factor::verify_sign_in(
        &state.db,
        &state.clock,
        &user,
        &form.code,
        &origin,
    )
    .await
    {
        Ok(verified) => {
            begin_session(&state, &session, &user, &origin).await?;
            if let Verified::Recovery { left } = verified {
                session::flash(
                    &session,
                    "success",
                    format!(
                        "You used a recovery code: {left} left. Make new ones on your account's Two-factor authentication page if you are running low."
                    ),
                );
            }
            return Ok(see_other(safe_next(&pending.next).unwrap_or("/")));
        }
        Err(TwoFactorError::TooManyAttempts) => (
            StatusCode::TOO_MANY_REQUESTS,
            SignInError::RateLimited.to_string(),
        ),
        Err(TwoFactorError::Unexpected(err)) => return Err(AppError::Unexpected(err)),
        Err(other) => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    };
    html(
        status,
        &SignInCodePage {
            layout: Layout::public(&session, "Enter your code"),
            error,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignOutForm {
    /// Where to go afterwards (an invitation link, say), on this site.
    pub next: String,
}

/// Ends this browser's session; a copy of its cookie is refused afterwards.
pub async fn signout(
    state: web::Data<AppState>,
    session: Session,
    form: Option<web::Form<SignOutForm>>,
) -> Result<HttpResponse, AppError> {
    if let Some(auth) = session::auth(&session) {
        sessions::end_current(&state.db, &auth.session_id).await?;
    }
    session.purge();
    let next = form.as_ref().and_then(|f| safe_next(&f.next));
    Ok(see_other(next.unwrap_or("/signin?signed_out=1")))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(
            safe_next("/orgs/x/members?page=2"),
            Some("/orgs/x/members?page=2")
        );
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next(""), None);
        assert_eq!(safe_next("/\t/evil.example"), None);
        assert_eq!(safe_next("/\n/x"), None);
        assert_eq!(safe_next("/\r/x"), None);
        assert_eq!(safe_next("/ /x"), None);
        assert_eq!(safe_next("/a\\b"), None);
        assert_eq!(safe_next("/caf\u{e9}"), None);
        assert_eq!(safe_next("/\u{7f}x"), None);
        assert_eq!(
            safe_next("/invitations/abc-_9"),
            Some("/invitations/abc-_9")
        );
    }
}
