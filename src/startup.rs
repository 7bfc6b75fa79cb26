//! Builds the application: state, middleware (outermost last) and the
//! routes table, bound to a listener. Tests bind port 0 and read the real
//! port back.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::dns::Dns;
use crate::mail::Mailer;
use crate::web::errors::{AppError, render_error_page};
use crate::web::in_flight::InFlight;
use crate::web::password_slot::PasswordGate;
use crate::web::state::AppState;
use crate::web::{compression, csrf, nul, routes};

/// The largest request body Roster reads; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const SESSION_COOKIE: &str = "roster_session";
/// How long shutdown waits for the mail worker to finish the message it is
/// sending (one SMTP conversation may take 20 s).
const MAIL_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(25);

pub struct Application {
    port: u16,
    server: Server,
    mailer: Mailer,
    in_flight: InFlight,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        crate::services::members::merge_search_index(&db).await?;
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("failed to bind {}", config.bind))?;
        Self::build_with(config, clock, db, listener)
    }

    /// Builds the server around an existing database and listener.
    pub fn build_with(
        config: Config,
        clock: Clock,
        db: Db,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener
            .local_addr()
            .context("listener has no address")?
            .port();
        let key = Key::try_from(config.secret_key.as_bytes())
            .map_err(|err| anyhow::anyhow!("the session key is unusable: {err}"))?;
        let mailer = Mailer::new(&config, db.clone(), clock.clone())?;
        let dns = Dns::new(&config.dns);
        let in_flight = InFlight::new(config.requests_per_person);
        let state = web::Data::new(AppState {
            db,
            clock,
            dns,
            config: Arc::new(config),
            mailer: mailer.clone(),
            password_gate: Arc::new(PasswordGate::for_this_machine()),
            in_flight: in_flight.clone(),
            rate_leases: Default::default(),
        });
        let server = HttpServer::new(move || {
            let config = &state.config;
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(
                    web::FormConfig::default()
                        .limit(MAX_BODY_BYTES)
                        .error_handler(form_error),
                )
                .app_data(web::QueryConfig::default().error_handler(|_, _| {
                    AppError::bad_request("The address has parameters Roster does not understand.")
                        .into()
                }))
                .configure(crate::web::api::configure)
                .configure(routes)
                .default_service(web::to(not_found))
                // Middleware: the last `wrap` is the outermost.
                .wrap(from_fn(csrf::guard))
                .wrap(from_fn(nul::guard))
                .wrap(session_middleware(key.clone(), config))
                .wrap(security_headers(config.secure_cookies))
                .wrap(ErrorHandlers::new().default_handler(render_error_page))
                .wrap(from_fn(compression::keep_small))
                .wrap(compression::compress())
                .wrap(from_fn(compression::prefer_gzip))
                .wrap(from_fn(compression::vary))
                .wrap(TracingLogger::default())
        })
        // A compressed page goes out in several writes; with Nagle's
        // algorithm on, the last one waited for the client's delayed ACK,
        // 40 ms a page (compressed pages served 700 requests/s where the
        // same pages uncompressed served 2,100).
        .tcp_nodelay(true)
        .listen(listener)
        .context("failed to listen")?
        .shutdown_timeout(30)
        .run();
        Ok(Self {
            port,
            server,
            mailer,
            in_flight,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The mail worker's handle (to nudge it after the clock moves, say).
    pub fn mailer(&self) -> Mailer {
        self.mailer.clone()
    }

    /// The count of each person's running requests (tests take places in
    /// it to stand for requests still running).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// A handle to stop the server as SIGTERM would (tests use it).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM or Ctrl-C: new connections are refused,
    /// in-flight requests finish), with the mail worker beside it. Then the
    /// worker finishes the message it is sending and hands the rest of its
    /// batch back to the outbox for the next start.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let mut worker = tokio::spawn(self.mailer.clone().run());
        let result = self.server.await;
        self.mailer.stop();
        if tokio::time::timeout(MAIL_STOP_GRACE, &mut worker)
            .await
            .is_err()
        {
            tracing::warn!(
                "the mail worker did not stop in time; its claimed messages return to the outbox when their lease ends"
            );
            worker.abort();
        }
        result
    }
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

fn form_error(
    err: actix_web::error::UrlencodedError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    match err {
        actix_web::error::UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge.into(),
        _ => AppError::bad_request(
            "The form was incomplete or not understood. Go back, check it and try again.",
        )
        .into(),
    }
}

fn session_middleware(key: Key, config: &Config) -> SessionMiddleware<CookieSessionStore> {
    let lifetime = actix_web::cookie::time::Duration::seconds(
        i64::try_from(config.session_lifetime.as_secs()).unwrap_or(i64::MAX),
    );
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(SESSION_COOKIE.to_string())
        .cookie_secure(config.secure_cookies)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(lifetime)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build()
}

/// Headers on every response. Pages are personal and carry CSRF tokens, so
/// they are not stored by caches; static assets set their own caching.
fn security_headers(secure: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"))
        .add(("Vary", "HX-Request"));
    if secure {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
