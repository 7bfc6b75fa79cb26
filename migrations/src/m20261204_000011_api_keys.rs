//! API keys: organization keys (a role of their own, never Owner, in the
//! whole organization or in one workspace; deleting the workspace deletes
//! its keys) and personal keys (acting as their member). Only a SHA-256 hash of the
//! secret is stored, with its last four characters for the lists. Beside
//! them: the per-key request counters of the rate limit, the answers kept
//! for `Idempotency-Key` retries, and the key an invitation was sent with.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000011_api_keys"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('organization', 'personal')),
        name TEXT NOT NULL,
        role TEXT CHECK (role IN ('admin', 'member', 'viewer')),
        user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_by_name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        last4 TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        expiry_recorded_at BIGINT,
        last_used_at BIGINT,
        last_used_address TEXT,
        CHECK ((kind = 'organization' AND role IS NOT NULL AND user_id IS NULL)
            OR (kind = 'personal' AND role IS NULL AND user_id IS NOT NULL
                AND workspace_id IS NULL))
    )",
    "CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash)",
    "CREATE INDEX api_keys_org_created ON api_keys (org_id, created_at)",
    "CREATE TABLE api_request_counts (
        key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        window_start BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        PRIMARY KEY (key_id, window_start)
    )",
    "CREATE TABLE api_idempotency (
        key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (key_id, idempotency_key)
    )",
    "ALTER TABLE invitations ADD COLUMN invited_by_key_id TEXT REFERENCES api_keys (id) ON DELETE SET NULL",
];

const DOWN: &[&str] = &[
    "ALTER TABLE invitations DROP COLUMN invited_by_key_id",
    "DROP TABLE api_idempotency",
    "DROP TABLE api_request_counts",
    "DROP TABLE api_keys",
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
