//! Roster: self-hosted administration of organizations, members, roles,
//! invitations, workspaces and product access.
//!
//! A request flows: extractor (session → user → membership, from the
//! database on every request) → handler (form into validated types) →
//! service (authorize with `domain::policy`, one transaction, audit row in
//! it) → template.
//!
//! - [`config`]: environment and flags into a typed `Config`.
//! - [`startup`]: the `App`, its middleware and routes.
//! - [`db`]: connections, SQLite pragmas, write transactions.
//! - [`dns`]: TXT lookups that prove control of an auto-join domain.
//! - [`entities`]: SeaORM entities.
//! - [`domain`]: pure rules (roles, permissions, policy, validated input).
//! - [`services`]: use cases over the database.
//! - [`mail`]: the outbox and the worker that delivers it over SMTP.
//! - [`web`]: handlers, extractors, CSRF, errors, assets.

pub mod clock;
pub mod config;
pub mod db;
pub mod dns;
pub mod domain;
pub mod entities;
pub mod mail;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
