//! Outgoing mail: messages are written to the outbox in the transaction
//! that causes them ([`outbox::enqueue`]) and delivered by a background
//! [`worker`] over SMTP with lettre, with retries and backoff. Without SMTP
//! settings they stay in the outbox, where the Mailbox page shows an
//! organization's invitations to its Owner and Admins.

pub mod outbox;
pub mod templates;
pub mod worker;

pub use worker::Mailer;
