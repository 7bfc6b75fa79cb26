//! The Members page as administrators expect it: an organization's seat
//! limit (none by default), email address changes waiting for the new
//! address to be confirmed, and the organization a person chose at sign-up
//! to join once their address is confirmed; and the indexes the Members
//! page's invitation counts and a send's "already a member?" need.
//!
//! `invitation_counts` holds each organization's unaccepted invitations
//! (stored state `pending`, expired or not), kept by triggers as
//! `member_counts` is, so Members shows its Pending count without counting
//! 10,000 rows on every page load: the expired ones are counted from the
//! index on (org_id, state, expires_at), and pending = waiting - expired.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

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
    // Members' Expired count, and its Pending and Expired lists newest first.
    "CREATE INDEX invitations_org_state_expiry ON invitations (org_id, state, expires_at)",
    "CREATE INDEX invitations_org_state_sent ON invitations (org_id, state, sent_at, id)",
    // Sending an invitation asks whether the address already belongs: by
    // index, not by reading every member.
    "CREATE INDEX memberships_org_email ON memberships (org_id, email_normalized)",
];

const COUNTS: &str = "CREATE TABLE invitation_counts (
    org_id TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    waiting BIGINT NOT NULL
)";

const BACKFILL: &str = "INSERT INTO invitation_counts (org_id, waiting)
    SELECT org_id, COUNT(*) FROM invitations WHERE state = 'pending' GROUP BY org_id";

const SQLITE_COUNTS_UP: &[&str] = &[
    COUNTS,
    BACKFILL,
    "CREATE TRIGGER invitations_count_insert AFTER INSERT ON invitations
        WHEN new.state = 'pending' BEGIN
        INSERT INTO invitation_counts (org_id, waiting) VALUES (new.org_id, 1)
            ON CONFLICT (org_id) DO UPDATE SET waiting = waiting + 1;
    END",
    "CREATE TRIGGER invitations_count_delete AFTER DELETE ON invitations
        WHEN old.state = 'pending' BEGIN
        UPDATE invitation_counts SET waiting = waiting - 1 WHERE org_id = old.org_id;
    END",
    "CREATE TRIGGER invitations_count_update AFTER UPDATE OF state, org_id ON invitations
        WHEN (old.state = 'pending') <> (new.state = 'pending') OR old.org_id <> new.org_id BEGIN
        UPDATE invitation_counts SET waiting = waiting - 1
            WHERE org_id = old.org_id AND old.state = 'pending';
        INSERT INTO invitation_counts (org_id, waiting)
            SELECT new.org_id, 1 WHERE new.state = 'pending'
            ON CONFLICT (org_id) DO UPDATE SET waiting = waiting + 1;
    END",
];

const SQLITE_COUNTS_DOWN: &[&str] = &[
    "DROP TRIGGER invitations_count_update",
    "DROP TRIGGER invitations_count_delete",
    "DROP TRIGGER invitations_count_insert",
    "DROP TABLE invitation_counts",
];

const POSTGRES_COUNTS_UP: &[&str] = &[
    COUNTS,
    BACKFILL,
    "CREATE FUNCTION roster_count_invitations() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'pending' THEN
            UPDATE invitation_counts SET waiting = waiting - 1 WHERE org_id = OLD.org_id;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state = 'pending' THEN
            INSERT INTO invitation_counts (org_id, waiting) VALUES (NEW.org_id, 1)
                ON CONFLICT (org_id) DO UPDATE SET waiting = invitation_counts.waiting + 1;
        END IF;
        RETURN NULL;
    END
    $$",
    "CREATE TRIGGER invitations_count AFTER INSERT OR DELETE OR UPDATE OF state, org_id
        ON invitations FOR EACH ROW EXECUTE FUNCTION roster_count_invitations()",
];

const POSTGRES_COUNTS_DOWN: &[&str] = &[
    "DROP TRIGGER invitations_count ON invitations",
    "DROP FUNCTION roster_count_invitations()",
    "DROP TABLE invitation_counts",
];

const DOWN: &[&str] = &[
    "DROP INDEX memberships_org_email",
    "DROP INDEX invitations_org_state_sent",
    "DROP INDEX invitations_org_state_expiry",
    "DROP TABLE email_changes",
    "ALTER TABLE users DROP COLUMN join_org_id",
    "ALTER TABLE organizations DROP COLUMN seat_limit",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, UP).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_all(manager, POSTGRES_COUNTS_UP).await,
            _ => crate::run_all(manager, SQLITE_COUNTS_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_all(manager, POSTGRES_COUNTS_DOWN).await?,
            _ => crate::run_all(manager, SQLITE_COUNTS_DOWN).await?,
        }
        crate::run_all(manager, DOWN).await
    }
}
