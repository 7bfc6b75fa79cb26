//! Invitations and the mail outbox.
//!
//! An invitation stores only the SHA-256 of its token. "Expired" is not
//! stored: a pending invitation whose `expires_at` has passed is expired.
//! At most one pending invitation exists per organization and address.
//! An invitation into a workspace names it and the workspace role (the
//! organization role may then be `none`); a workspace deleted meanwhile is
//! noticed at acceptance (the id no longer resolves).
//!
//! The outbox holds every message until the worker has delivered it;
//! `locked_until` is the lease a worker takes on a message, so several
//! instances never send one message twice.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_invitations"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        locked_until BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at BIGINT
    )",
    "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL",
    "CREATE INDEX outbox_org ON outbox (org_id, created_at)",
    "CREATE TABLE invitations (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        email TEXT NOT NULL,
        email_normalized TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer', 'none')),
        token_hash TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'revoked')),
        invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        invited_by_name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        sent_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        accepted_at BIGINT,
        accepted_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        revoked_at BIGINT,
        message_id TEXT REFERENCES outbox (id) ON DELETE SET NULL,
        workspace_id TEXT,
        workspace_role TEXT CHECK (workspace_role IN ('admin', 'editor', 'viewer'))
    )",
    "CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email_normalized)
        WHERE state = 'pending'",
    "CREATE INDEX invitations_org_sent ON invitations (org_id, sent_at)",
    "CREATE INDEX invitations_org_email ON invitations (org_id, email_normalized)",
];

const DOWN: &[&str] = &["DROP TABLE invitations", "DROP TABLE outbox"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, DOWN).await
    }
}
