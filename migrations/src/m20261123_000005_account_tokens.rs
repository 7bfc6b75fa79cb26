//! One-time account links (password reset, email verification) and the
//! email domains whose verified owners may join an organization by
//! themselves.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000005_account_tokens"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE account_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose TEXT NOT NULL CHECK (purpose IN ('reset_password', 'verify_email')),
        email_normalized TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    )",
    "CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose)",
    "CREATE TABLE auto_join_domains (
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        PRIMARY KEY (org_id, domain)
    )",
    "CREATE INDEX auto_join_domains_domain ON auto_join_domains (domain)",
    "ALTER TABLE organizations ADD COLUMN auto_join_role TEXT NOT NULL DEFAULT 'member'
        CHECK (auto_join_role IN ('member', 'viewer'))",
];

const DOWN: &[&str] = &[
    "ALTER TABLE organizations DROP COLUMN auto_join_role",
    "DROP TABLE auto_join_domains",
    "DROP TABLE account_tokens",
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
