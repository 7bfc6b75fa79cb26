//! Substring search over members' names and emails without scanning the
//! organization: an FTS5 trigram index on SQLite (kept in step by
//! triggers, keyed by the membership's rowid), a pg_trgm GIN index on
//! PostgreSQL. Both answer `LIKE '%fragment%'` for fragments of three
//! characters or more.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_member_search"
    }
}

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE member_search USING fts5(text, tokenize = 'trigram')",
    "INSERT INTO member_search (rowid, text)
        SELECT rowid, sort_name || ' ' || email_normalized FROM memberships",
    "CREATE TRIGGER memberships_search_insert AFTER INSERT ON memberships BEGIN
        INSERT INTO member_search (rowid, text) VALUES (new.rowid, new.sort_name || ' ' || new.email_normalized);
    END",
    "CREATE TRIGGER memberships_search_delete AFTER DELETE ON memberships BEGIN
        DELETE FROM member_search WHERE rowid = old.rowid;
    END",
    "CREATE TRIGGER memberships_search_update AFTER UPDATE OF sort_name, email_normalized ON memberships BEGIN
        DELETE FROM member_search WHERE rowid = old.rowid;
        INSERT INTO member_search (rowid, text) VALUES (new.rowid, new.sort_name || ' ' || new.email_normalized);
    END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER memberships_search_update",
    "DROP TRIGGER memberships_search_delete",
    "DROP TRIGGER memberships_search_insert",
    "DROP TABLE member_search",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX memberships_search_trgm ON memberships
        USING gin ((sort_name || ' ' || email_normalized) gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &["DROP INDEX memberships_search_trgm"];

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
