//! The one error every use case returns. A refusal by the policy is
//! [`ServiceError::Denied`]; bad input names the form field it belongs to,
//! so a page shows the message at the right input.

use crate::domain::policy::Denied;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The target does not exist in this organization (404).
    #[error("That member doesn't exist in this organization.")]
    NotFound,
    /// The policy refused (403; 404 for [`Denied::Invisible`]).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// Someone else changed the same thing at the same moment (409).
    #[error("{0}")]
    Conflict(&'static str),
    #[error("Your password is not correct.")]
    WrongPassword,
    #[error("{}", super::accounts::TOO_MANY_ATTEMPTS)]
    TooManyAttempts,
    /// A limit on how often something may be done was reached (429).
    #[error("{0}")]
    Throttled(String),
    /// The organization's seats are all taken (409); the message says how
    /// many are left and whom to ask.
    #[error("{0}")]
    NoSeats(String),
    /// The acting person has not confirmed their email address (403).
    #[error(
        "Confirm your email address before sending invitations: use the link we sent you, \
         or send a new one from your Account page."
    )]
    Unconfirmed,
    /// Input the use case cannot accept, with the field it belongs to.
    #[error("{}", .0.message)]
    Invalid(Invalid),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A message about one form field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The name of the form field, as the page's input carries it.
    pub field: &'static str,
    pub message: String,
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(Invalid {
            field,
            message: message.into(),
        })
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(err: sea_orm::DbErr) -> Self {
        if super::is_unique_violation(&err) {
            ServiceError::Conflict(CHANGED_MEANWHILE)
        } else {
            ServiceError::Unexpected(anyhow::Error::new(err).context("database error"))
        }
    }
}

pub(crate) const CHANGED_MEANWHILE: &str =
    "Someone else changed this member at the same moment. Reload and try again.";
