//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::mail::Mailer;
use crate::web::in_flight::InFlight;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    /// Each signed-in person's running requests.
    pub in_flight: InFlight,
}
