//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::dns::Dns;
use crate::mail::Mailer;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    pub dns: Dns,
}
