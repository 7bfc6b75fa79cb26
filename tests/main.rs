//! Roster's integration tests: one binary, modules inside. Every test
//! starts the real application on a random port with a fresh database
//! (SQLite by default; PostgreSQL when `ROSTER_TEST_DATABASE_URL` is set)
//! and drives it over HTTP like a browser would.

// Test code fails by panicking: that is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod a11y;
mod api;
mod browser;
mod dns;
mod helpers;
mod smtp;
