//! Member counts per organization and role, kept by triggers, so the
//! member list shows its total without counting 100,000 rows on every
//! page load.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_member_counts"
    }
}

const TABLE: &str = "CREATE TABLE member_counts (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    members BIGINT NOT NULL,
    PRIMARY KEY (org_id, role)
)";

const BACKFILL: &str = "INSERT INTO member_counts (org_id, role, members)
    SELECT org_id, role, COUNT(*) FROM memberships GROUP BY org_id, role";

const SQLITE_UP: &[&str] = &[
    TABLE,
    BACKFILL,
    "CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships BEGIN
        INSERT INTO member_counts (org_id, role, members) VALUES (new.org_id, new.role, 1)
            ON CONFLICT (org_id, role) DO UPDATE SET members = members + 1;
    END",
    "CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships BEGIN
        UPDATE member_counts SET members = members - 1 WHERE org_id = old.org_id AND role = old.role;
    END",
    "CREATE TRIGGER memberships_count_update AFTER UPDATE OF role ON memberships BEGIN
        UPDATE member_counts SET members = members - 1 WHERE org_id = old.org_id AND role = old.role;
        INSERT INTO member_counts (org_id, role, members) VALUES (new.org_id, new.role, 1)
            ON CONFLICT (org_id, role) DO UPDATE SET members = members + 1;
    END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER memberships_count_update",
    "DROP TRIGGER memberships_count_delete",
    "DROP TRIGGER memberships_count_insert",
    "DROP TABLE member_counts",
];

// Two role changes in opposite directions touch the same two counter rows;
// taking them in a fixed order (by role name) keeps them from deadlocking.
const POSTGRES_UP: &[&str] = &[
    TABLE,
    BACKFILL,
    "CREATE FUNCTION roster_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.role > OLD.role THEN
            UPDATE member_counts SET members = members - 1 WHERE org_id = OLD.org_id AND role = OLD.role;
            INSERT INTO member_counts (org_id, role, members) VALUES (NEW.org_id, NEW.role, 1)
                ON CONFLICT (org_id, role) DO UPDATE SET members = member_counts.members + 1;
        ELSIF TG_OP = 'UPDATE' AND NEW.role < OLD.role THEN
            INSERT INTO member_counts (org_id, role, members) VALUES (NEW.org_id, NEW.role, 1)
                ON CONFLICT (org_id, role) DO UPDATE SET members = member_counts.members + 1;
            UPDATE member_counts SET members = members - 1 WHERE org_id = OLD.org_id AND role = OLD.role;
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO member_counts (org_id, role, members) VALUES (NEW.org_id, NEW.role, 1)
                ON CONFLICT (org_id, role) DO UPDATE SET members = member_counts.members + 1;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE member_counts SET members = members - 1 WHERE org_id = OLD.org_id AND role = OLD.role;
        END IF;
        RETURN NULL;
    END
    $$",
    "CREATE TRIGGER memberships_count AFTER INSERT OR DELETE OR UPDATE OF role ON memberships
        FOR EACH ROW EXECUTE FUNCTION roster_count_members()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER memberships_count ON memberships",
    "DROP FUNCTION roster_count_members()",
    "DROP TABLE member_counts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_all(manager, POSTGRES_UP).await,
            _ => crate::run_all(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_all(manager, POSTGRES_DOWN).await,
            _ => crate::run_all(manager, SQLITE_DOWN).await,
        }
    }
}
