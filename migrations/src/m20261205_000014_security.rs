//! Security settings: two-factor sign-in (a TOTP secret per person, their
//! one-use recovery codes stored hashed), where each session was started
//! and when it was last used, and an organization's sign-in policy
//! (two-factor required after a grace period; session limits stricter
//! than the server's).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000014_security"
    }
}

const UP: &[&str] = &[
    // A row with confirmed_at NULL is a set-up not yet confirmed with a
    // code. last_step is the newest 30-second step a code was accepted
    // for: a code is never accepted twice.
    "CREATE TABLE two_factor (
        user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        confirmed_at BIGINT,
        last_step BIGINT,
        created_at BIGINT NOT NULL
    )",
    // When two-factor was turned on; read with the person on every request.
    "ALTER TABLE users ADD COLUMN two_factor_at BIGINT",
    "CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        used_at BIGINT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, code_hash)
    )",
    "ALTER TABLE user_sessions ADD COLUMN address TEXT",
    "ALTER TABLE user_sessions ADD COLUMN user_agent TEXT",
    "ALTER TABLE user_sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0",
    "UPDATE user_sessions SET last_seen_at = created_at",
    "ALTER TABLE organizations ADD COLUMN two_factor_required_at BIGINT",
    "ALTER TABLE organizations ADD COLUMN two_factor_grace_days INTEGER NOT NULL DEFAULT 7
        CHECK (two_factor_grace_days BETWEEN 0 AND 90)",
    "ALTER TABLE organizations ADD COLUMN session_idle_minutes INTEGER
        CHECK (session_idle_minutes IS NULL OR session_idle_minutes >= 5)",
    "ALTER TABLE organizations ADD COLUMN session_lifetime_hours INTEGER
        CHECK (session_lifetime_hours IS NULL OR session_lifetime_hours >= 1)",
];

const DOWN: &[&str] = &[
    "ALTER TABLE organizations DROP COLUMN session_lifetime_hours",
    "ALTER TABLE organizations DROP COLUMN session_idle_minutes",
    "ALTER TABLE organizations DROP COLUMN two_factor_grace_days",
    "ALTER TABLE organizations DROP COLUMN two_factor_required_at",
    "ALTER TABLE user_sessions DROP COLUMN last_seen_at",
    "ALTER TABLE user_sessions DROP COLUMN user_agent",
    "ALTER TABLE user_sessions DROP COLUMN address",
    "DROP TABLE recovery_codes",
    "ALTER TABLE users DROP COLUMN two_factor_at",
    "DROP TABLE two_factor",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, DOWN).await
    }
}
