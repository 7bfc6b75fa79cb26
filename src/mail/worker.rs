//! The background worker that delivers the outbox over SMTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use super::outbox;
use crate::clock::Clock;
use crate::config::{Config, SmtpConfig, SmtpTls};
use crate::db::Db;
use crate::entities::outbox_message;

/// How often the worker looks for due messages when nothing wakes it.
const POLL: Duration = Duration::from_secs(5);
/// Messages claimed at a time. A batch sent at the slowest (every
/// conversation timing out) takes BATCH × SMTP_TIMEOUT = 200 s, well inside
/// the lease (`outbox::LEASE_SECS`), so no other worker takes them over.
const BATCH: u64 = 10;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Delivers queued mail. Cheap to clone; every clone shares one wake-up.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: Clock,
    from: Mailbox,
    /// The right-hand side of every Message-ID: the host of the base URL.
    id_domain: String,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    wake: Notify,
    /// Set at shutdown: finish the message being sent, hand back the rest.
    stopping: AtomicBool,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.inner.transport.is_some())
            .finish()
    }
}

impl Mailer {
    pub fn new(config: &Config, db: Db, clock: Clock) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .with_context(|| format!("the From address {} is invalid", config.mail_from))?;
        let transport = config.smtp.as_ref().map(transport).transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                clock,
                from,
                id_domain: message_id_domain(&config.base_url),
                transport,
                wake: Notify::new(),
                stopping: AtomicBool::new(false),
            }),
        })
    }

    /// Whether mail leaves through SMTP (otherwise it stays in the outbox
    /// for the Mailbox page).
    pub fn sends(&self) -> bool {
        self.inner.transport.is_some()
    }

    /// Asks the worker to look at the outbox now (after a commit that
    /// queued mail).
    pub fn nudge(&self) {
        self.inner.wake.notify_one();
    }

    /// Called after a commit that queued a message with a one-time `link`:
    /// wakes the worker, or — without SMTP — writes the link to the server
    /// log for the operator (the message itself waits in the outbox).
    pub fn queued(&self, kind: &str, to: &str, link: &str) {
        if self.sends() {
            self.nudge();
        } else {
            tracing::info!(%kind, %to, %link, "mail kept in the outbox (no SMTP configured)");
        }
    }

    /// Asks the worker to stop: the message being sent is finished and
    /// recorded, the rest of its batch goes back to the outbox at once (not
    /// after the lease), so the next start — or another instance — sends
    /// them without delay and nothing is sent twice.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }

    fn stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Runs the worker until [`Mailer::stop`]. Without SMTP it does
    /// nothing: the mail waits in the outbox.
    pub async fn run(self) {
        if !self.sends() {
            return;
        }
        // Connections of its own, opened here on the runtime that outlives
        // the web workers (a PostgreSQL connection belongs to the runtime
        // that opened it; one that broke and was reopened by a web worker
        // fails once that worker has stopped), and never waiting behind the
        // web's requests: at shutdown the worker must still record the
        // message it just sent and hand the rest of its batch back.
        let db = match self.inner.db.for_background_work().await {
            Ok(db) => db,
            Err(err) => {
                tracing::error!(error = ?err, "the mail worker could not connect; using the shared pool");
                self.inner.db.clone()
            }
        };
        while !self.stopping() {
            match self.deliver_due_on(&db).await {
                // A full batch: there may be more.
                Ok(n) if n as u64 == BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::error!(error = ?err, "the mail worker failed a round"),
            }
            if self.stopping() {
                break;
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Delivers the messages that are due now; returns how many it tried.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        self.deliver_due_on(&self.inner.db).await
    }

    async fn deliver_due_on(&self, db: &Db) -> anyhow::Result<usize> {
        let Some(transport) = &self.inner.transport else {
            return Ok(0);
        };
        let now = self.inner.clock.now();
        let due = outbox::claim_due(db, now, BATCH).await?;
        for (sent, message) in due.iter().enumerate() {
            if self.stopping() {
                let rest: Vec<&str> = due[sent..].iter().map(|m| m.id.as_str()).collect();
                outbox::release(db, &rest).await?;
                tracing::info!(
                    released = rest.len(),
                    "mail worker stopping; the rest of its batch is back in the outbox"
                );
                return Ok(sent);
            }
            let outcome = match self.build(message) {
                Ok(email) => transport
                    .send(email)
                    .await
                    .map(|_| ())
                    .map_err(|err| format!("{err}")),
                Err(err) => Err(format!("{err:#}")),
            };
            let now = self.inner.clock.now();
            match outcome {
                Ok(()) => {
                    tracing::info!(message = %message.id, kind = %message.kind, "mail delivered");
                    outbox::mark_sent(db, &message.id, now).await?;
                }
                Err(error) => {
                    tracing::warn!(
                        message = %message.id,
                        attempts = message.attempts,
                        %error,
                        "mail delivery failed; will retry"
                    );
                    outbox::mark_failed(db, message, &error, now).await?;
                }
            }
        }
        Ok(due.len())
    }

    fn build(&self, message: &outbox_message::Model) -> anyhow::Result<Message> {
        let to: Mailbox = message
            .recipient
            .parse()
            .with_context(|| format!("the recipient {} is invalid", message.recipient))?;
        Message::builder()
            // Receiving servers count a message without one against it.
            // The outbox row's id (a UUID) keeps it the same on a retry, so
            // a message that did arrive before a failure is seen as one.
            .message_id(Some(format!("<{}@{}>", message.id, self.inner.id_domain)))
            .from(self.inner.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.body_text.clone(),
                message.body_html.clone(),
            ))
            .context("failed to build the message")
    }
}

/// The host of `base_url` (`roster.example.com` of
/// `https://roster.example.com/`), for Message-IDs; `localhost` if it has
/// none.
fn message_id_domain(base_url: &str) -> String {
    base_url
        .parse::<actix_web::http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_ascii_lowercase))
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn transport(smtp: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match smtp.tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .with_context(|| format!("cannot use {} for STARTTLS", smtp.host))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .with_context(|| format!("cannot use {} for TLS", smtp.host))?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &smtp.user {
        let password = smtp
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::message_id_domain;

    #[test]
    fn message_ids_use_the_host_of_the_base_url() {
        assert_eq!(
            message_id_domain("https://Roster.Example.com/"),
            "roster.example.com"
        );
        assert_eq!(message_id_domain("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(message_id_domain("http://[::1]:8080"), "[::1]");
        assert_eq!(message_id_domain("not a url"), "localhost");
    }
}
