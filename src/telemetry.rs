//! Structured logs through `tracing`: `RUST_LOG` picks the level
//! (default `info`); every request is logged with its id, status and
//! latency by `tracing-actix-web`. Logs go to standard error, so a
//! command's own output (a new API key's secret, say) stays alone on
//! standard output.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
