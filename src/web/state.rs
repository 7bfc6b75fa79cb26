//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::dns::Dns;
use crate::mail::Mailer;
use crate::web::in_flight::InFlight;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    /// Bounds the password hashes in flight (see `web::password_slot`).
    pub password_gate: Arc<super::password_slot::PasswordGate>,
    pub dns: Dns,
    /// Each signed-in person's running requests.
    pub in_flight: InFlight,
    /// The API requests this instance may still serve per key this minute.
    pub rate_leases: crate::services::rate_leases::RateLeases,
}
