//! The API's errors, as `application/problem+json` (RFC 9457): a title,
//! the status, a detail a person can act on, and for bad input the fields
//! at fault. Every error the services return maps to one status here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::services::error::ServiceError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field of a request body or query that was refused.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's name, as the request carried it.
    pub field: String,
    pub message: String,
}

/// A problem detail (RFC 9457).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for a 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable = false)]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No key, or one that is malformed, unknown, expired or revoked (401).
    #[error("{detail}")]
    Unauthorized {
        detail: &'static str,
        /// A key was presented (RFC 6750 `error="invalid_token"`).
        presented: bool,
    },
    #[error("There is no such thing here, or you may not see it.")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("This path does not take this method.")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldProblem>,
    },
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after: Option<i64>,
    },
    #[error("Something went wrong on our side; the change was not made.")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// Bad input in one field (422).
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Invalid {
            detail: message.clone(),
            errors: vec![FieldProblem {
                field: field.to_string(),
                message,
            }],
        }
    }
}

impl ApiError {
    /// A service's refusal with the pages' form field names (`from`)
    /// renamed to the API's (`to`).
    pub fn renamed(err: ServiceError, names: &[(&str, &str)]) -> Self {
        match err {
            ServiceError::Invalid(invalid) => {
                let field = names
                    .iter()
                    .find(|(from, _)| *from == invalid.field)
                    .map_or(invalid.field, |(_, to)| *to);
                ApiError::field(field, invalid.message)
            }
            other => other.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::Denied(denied) if denied.is_invisible() => ApiError::NotFound,
            ServiceError::Denied(denied) => ApiError::Forbidden(denied.to_string()),
            ServiceError::Conflict(message) => ApiError::Conflict(message.to_string()),
            ServiceError::NoSeats(message) => ApiError::Conflict(message),
            ServiceError::WrongPassword => ApiError::Forbidden(err.to_string()),
            ServiceError::TooManyAttempts => ApiError::TooMany {
                message: err.to_string(),
                retry_after: None,
            },
            ServiceError::Throttled(message) => ApiError::TooMany {
                message,
                retry_after: None,
            },
            ServiceError::Unconfirmed => ApiError::Forbidden(err.to_string()),
            ServiceError::Invalid(invalid) => ApiError::field(invalid.field, invalid.message),
            ServiceError::Unexpected(err) => ApiError::Unexpected(err),
        }
    }
}

impl From<crate::domain::policy::Denied> for ApiError {
    fn from(denied: crate::domain::policy::Denied) -> Self {
        ServiceError::Denied(denied).into()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ServiceError::from(err).into()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::Unexpected(err) = self {
            tracing::error!(error = ?err, "API request failed");
        }
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match self {
                ApiError::Invalid { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthorized { detail, presented } => {
                let challenge = if *presented {
                    // RFC 6750: the description is visible ASCII, no quote
                    // or backslash.
                    let description: String = detail
                        .chars()
                        .filter(|c| c.is_ascii_graphic() || *c == ' ')
                        .filter(|c| !matches!(c, '"' | '\\'))
                        .collect();
                    format!(
                        "Bearer realm=\"Roster API\", error=\"invalid_token\", error_description=\"{description}\""
                    )
                } else {
                    "Bearer realm=\"Roster API\"".to_string()
                };
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    res.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            ApiError::TooMany {
                retry_after: Some(secs),
                ..
            } => {
                res.insert_header((header::RETRY_AFTER, (*secs).max(1).to_string()));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}
