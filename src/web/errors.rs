//! Errors at the HTTP edge.
//!
//! Which type where: domain code returns its own small error types
//! (`policy::Denied`, parse messages); services return one `thiserror` enum
//! per area with an `Unexpected(anyhow::Error)` arm; handlers return
//! [`AppError`], whose `ResponseError` picks the status. The page or htmx
//! fragment that explains it is rendered once, in [`render_error_page`],
//! which sees the request. The person sees a short message; the log gets
//! the whole cause chain.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::domain::policy::Denied;
use crate::services::accounts::{PasswordChangeError, SignInError};
use crate::services::error::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("That page doesn't exist, or you don't have access to it.")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("Please sign in to continue.")]
    SignInRequired { next: Option<String>, htmx: bool },
    /// The organization requires two-factor sign-in and its grace period
    /// is over: a page load is led to the set-up page, anything else is
    /// refused with the way there.
    #[error(
        "{org_name} requires two-factor authentication. Set it up on your account's Two-factor authentication page to continue."
    )]
    TwoFactorRequired {
        org_id: String,
        org_name: String,
        redirect: bool,
    },
    #[error("{0}")]
    BadRequest(String),
    /// A form the page cannot accept, answered with its message (422).
    #[error("{0}")]
    Unprocessable(String),
    #[error("This form has expired or did not come from Roster. Reload the page and try again.")]
    Csrf,
    #[error("The request is too large.")]
    PayloadTooLarge,
    #[error("Too many attempts. Wait a while and try again.")]
    RateLimited,
    /// A limit was reached; the message says which and for how long.
    #[error("{0}")]
    TooMany(String),
    /// One person has as many requests running as Roster serves them at
    /// once.
    #[error(
        "Your other requests are still running. Wait a moment for them to finish and try again."
    )]
    TooManyRunning,
    /// A page number deeper than a list serves by number.
    #[error(
        "That page is too far into the list to show by its number. Search or filter the list to find what you are looking for, or page on with Next."
    )]
    PageTooDeep,
    #[error("{0}")]
    Conflict(String),
    /// Turned away before any work, to keep the process responsive; the
    /// answer says when to retry.
    #[error("{message}")]
    Busy {
        status: StatusCode,
        message: &'static str,
    },
    #[error("Something went wrong on our side. Please try again.")]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest(message.into())
    }
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        if denied.is_invisible() {
            AppError::NotFound
        } else {
            AppError::Forbidden(denied.to_string())
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Unexpected(anyhow::Error::new(err).context("failed to render a template"))
    }
}

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Denied(denied) => denied.into(),
            ServiceError::Conflict(message) => AppError::Conflict(message.to_string()),
            ServiceError::NoSeats(message) => AppError::Conflict(message),
            ServiceError::WrongPassword => AppError::BadRequest(err.to_string()),
            ServiceError::TooManyAttempts => AppError::TooMany(err.to_string()),
            ServiceError::Throttled(message) => AppError::TooMany(message),
            ServiceError::Unconfirmed => AppError::Forbidden(err.to_string()),
            ServiceError::Invalid(invalid) => AppError::BadRequest(invalid.message),
            ServiceError::Unexpected(err) => AppError::Unexpected(err),
        }
    }
}

impl From<SignInError> for AppError {
    fn from(err: SignInError) -> Self {
        match err {
            SignInError::Unexpected(err) => AppError::Unexpected(err),
            SignInError::RateLimited => AppError::RateLimited,
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl From<PasswordChangeError> for AppError {
    fn from(err: PasswordChangeError) -> Self {
        match err {
            PasswordChangeError::Unexpected(err) => AppError::Unexpected(err),
            PasswordChangeError::TooManyAttempts => AppError::TooMany(err.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::SignInRequired { htmx: true, .. } => StatusCode::UNAUTHORIZED,
            AppError::SignInRequired { htmx: false, .. } => StatusCode::SEE_OTHER,
            AppError::TwoFactorRequired { redirect: true, .. } => StatusCode::SEE_OTHER,
            AppError::TwoFactorRequired {
                redirect: false, ..
            } => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) | AppError::PageTooDeep => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited | AppError::TooMany(_) | AppError::TooManyRunning => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Busy { status, .. } => *status,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unexpected(err) = self {
            tracing::error!(error = ?err, "request failed");
        }
        match self {
            AppError::SignInRequired { next, htmx } => {
                let location = match next {
                    Some(next) => format!("/signin?next={}", url_encode(next)),
                    None => "/signin".to_string(),
                };
                if *htmx {
                    HttpResponse::Unauthorized()
                        .insert_header(("HX-Redirect", location))
                        .finish()
                } else {
                    HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, location))
                        .finish()
                }
            }
            AppError::TwoFactorRequired {
                org_id,
                redirect: true,
                ..
            } => HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/account/two-factor?required_by={}", url_encode(org_id)),
                ))
                .finish(),
            // Requests in flight end within moments.
            AppError::Busy { status, .. } => HttpResponse::build(*status)
                .insert_header((header::RETRY_AFTER, "1"))
                .finish(),
            AppError::TooManyRunning => HttpResponse::build(self.status_code())
                .insert_header((header::RETRY_AFTER, "1"))
                .finish(),
            // The body is rendered by `render_error_page`, which knows
            // whether the request came from htmx.
            _ => HttpResponse::build(self.status_code()).finish(),
        }
    }
}

fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: super::render::Layout,
    heading: &'a str,
    message: &'a str,
    /// A way on from here (href, label) besides Roster's home.
    way_on: Option<(String, &'static str)>,
}

/// The first page of the list a too-deep page number asked for, with the
/// same search and filters.
fn first_page_of(req: &actix_web::HttpRequest) -> String {
    let kept: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "after" | "before"))
            .collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    if query.is_empty() {
        req.path().to_string()
    } else {
        format!("{}?{query}", req.path())
    }
}

#[derive(Template)]
#[template(path = "partials/alert.html")]
struct AlertFragment<'a> {
    kind: &'a str,
    message: &'a str,
    /// A way on, as the whole page would offer it.
    way_on: Option<(String, &'static str)>,
}

/// Gives every error response a body: a whole page for a normal request,
/// an alert fragment for htmx. Responses a handler rendered on purpose
/// (forms with messages) carry no error and pass through untouched.
pub fn render_error_page<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // The API's errors are problem details already.
    if crate::web::api::is_api_path(res.request().path()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (title, way_on) = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(AppError::PageTooDeep) => (
            heading(status),
            Some((first_page_of(res.request()), "Go to the first page")),
        ),
        Some(AppError::TooManyRunning) => ("Too many requests at once", None),
        Some(AppError::TwoFactorRequired { .. }) => (
            "Two-factor authentication required",
            Some((
                "/account/two-factor".to_string(),
                "Set up two-factor authentication",
            )),
        ),
        _ => (heading(status), None),
    };
    let message = match res.response().error() {
        Some(err) => match err.as_error::<AppError>() {
            Some(AppError::SignInRequired { .. })
            | Some(AppError::TwoFactorRequired { redirect: true, .. }) => {
                return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
            }
            Some(app) => app.to_string(),
            None => generic_message(status, &err.to_string()),
        },
        // A page a handler rendered itself (the invalid-invitation page,
        // say) is kept; actix's own bare 404/405 answers get the error page.
        None if (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)
            && matches!(
                res.response().body().size(),
                BodySize::None | BodySize::Sized(0)
            ) =>
        {
            generic_message(status, "")
        }
        None => return Ok(ErrorHandlerResponse::Response(res.map_into_left_body())),
    };
    let htmx = res.request().headers().contains_key("HX-Request");
    let body = if htmx {
        AlertFragment {
            kind: "error",
            message: &message,
            way_on: way_on.clone(),
        }
        .render()
    } else {
        ErrorPage {
            layout: super::render::Layout::bare(title),
            heading: title,
            message: &message,
            way_on,
        }
        .render()
    };
    let body = body.unwrap_or_else(|_| message.clone());
    let (req, mut response) = res.into_parts();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let response = response.set_body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

fn heading(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::BAD_REQUEST => "Something is wrong with that request",
        StatusCode::PAYLOAD_TOO_LARGE => "Request too large",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::CONFLICT => "Changed meanwhile",
        StatusCode::UNPROCESSABLE_ENTITY => "Please check what you entered",
        StatusCode::SERVICE_UNAVAILABLE => "Busy",
        StatusCode::METHOD_NOT_ALLOWED => "Not allowed",
        _ if status.is_server_error() => "Something went wrong",
        _ => "Something went wrong",
    }
}

/// Messages for errors raised outside Roster's handlers (extractors,
/// routing); the raw error text may name internals, so only client errors
/// about form content pass it on.
fn generic_message(status: StatusCode, detail: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => AppError::NotFound.to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge.to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "That action isn't available here.".to_string(),
        StatusCode::BAD_REQUEST if !detail.is_empty() => {
            "The form was incomplete or not understood. Go back, check it and try again."
                .to_string()
        }
        _ if status.is_server_error() => {
            "Something went wrong on our side. Please try again.".to_string()
        }
        _ => "That request could not be handled.".to_string(),
    }
}
