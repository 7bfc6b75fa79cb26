//! The Members page as administrators expect it: an organization's seat
//! limit (none by default), email address changes waiting for the new
//! address to be confirmed, and the organization a person chose at sign-up
//! to join once their address is confirmed.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000013_members_page"
    }
}

const UP: &[&str] = &[
    "ALTER TABLE organizations ADD COLUMN seat_limit BIGINT CHECK (seat_limit IS NULL OR seat_limit >= 1)",
    "ALTER TABLE users ADD COLUMN join_org_id TEXT REFERENCES organizations (id) ON DELETE SET NULL",
    "CREATE TABLE email_changes (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        new_email TEXT NOT NULL,
        new_email_normalized TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    )",
    "CREATE INDEX email_changes_user ON email_changes (user_id, created_at)",
    "CREATE INDEX invitations_org_state_expiry ON invitations (org_id, state, expires_at)",
];

const DOWN: &[&str] = &[
    "DROP INDEX invitations_org_state_expiry",
    "DROP TABLE email_changes",
    "ALTER TABLE users DROP COLUMN join_org_id",
    "ALTER TABLE organizations DROP COLUMN seat_limit",
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
