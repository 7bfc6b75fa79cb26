//! Admission for requests that hash or check a password. argon2id takes
//! 19 MiB and a core's worth of time per hash, so unbounded parallel
//! sign-ins would take the process to a gigabyte. [`PasswordSlot`] holds
//! one of a few process-wide slots for the handler's whole run:
//! - each client address holds at most [`PER_ADDRESS`] slots, waiting
//!   included, so one address cannot queue ahead of everyone else: its
//!   excess is answered 429 at once;
//! - the process runs at most one hash per core at a time (more would not
//!   finish sooner); a request waits up to [`MAX_WAIT`] for a slot, then
//!   is answered 503 with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::AppError;
use super::extract::ClientAddr;
use super::in_flight::{self, InFlight};
use super::state::AppState;

/// Password requests one client address may have in flight (or waiting).
pub const PER_ADDRESS: usize = 4;
/// How long a request waits for a free slot before it is turned away.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// The process's password-hashing slots.
#[derive(Debug)]
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    per_address: InFlight,
}

impl PasswordGate {
    /// One slot per core (at least two).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.max(2))
    }

    pub fn new(slots: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            per_address: InFlight::new(PER_ADDRESS),
        }
    }
}

/// A held slot: taking it as a handler argument admits the request.
#[derive(Debug)]
pub struct PasswordSlot {
    _permit: OwnedSemaphorePermit,
    _ticket: Option<in_flight::Slot>,
}

impl FromRequest for PasswordSlot {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let addr = ClientAddr::from_request(req, payload).into_inner();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                AppError::Unexpected(anyhow::anyhow!("application state is missing"))
            })?;
            let gate = state.password_gate.clone();
            let ticket = match addr.ok().and_then(|a| a.0) {
                Some(address) => {
                    Some(gate.per_address.try_enter(&address).ok_or(AppError::Busy {
                        status: actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                        message: "Too many password requests at once from your address. \
                              Wait a moment and try again.",
                    })?)
                }
                None => None,
            };
            let permit = tokio::time::timeout(MAX_WAIT, gate.slots.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or(AppError::Busy {
                    status: actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                    message: "Roster is busy checking passwords. Try again in a moment.",
                })?;
            Ok(PasswordSlot {
                _permit: permit,
                _ticket: ticket,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share() {
        let gate = PasswordGate::new(2);
        let held: Vec<_> = (0..PER_ADDRESS)
            .map(|_| gate.per_address.try_enter("192.0.2.1"))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert!(gate.per_address.try_enter("192.0.2.1").is_none());
        assert!(
            gate.per_address.try_enter("192.0.2.2").is_some(),
            "others still get in"
        );
        drop(held);
        assert!(
            gate.per_address.try_enter("192.0.2.1").is_some(),
            "a finished one frees a place"
        );
    }
}
