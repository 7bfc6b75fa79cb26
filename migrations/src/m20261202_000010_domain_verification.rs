//! Auto-join domains must be proven: each row gets an id (for its "Check
//! now" button), a random token to publish in DNS, and the time it was
//! verified. Rows from before are pending: they get a fresh token here and
//! welcome nobody until their organization publishes it. A domain is
//! verified by one organization at a time (a partial unique index).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000010_domain_verification"
    }
}

const ADD_COLUMNS: &[&str] = &[
    "ALTER TABLE auto_join_domains ADD COLUMN id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE auto_join_domains ADD COLUMN token TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE auto_join_domains ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE auto_join_domains ADD COLUMN verified_at BIGINT",
];

/// Existing rows: a random id and a random token (256 bits on SQLite, 244
/// on PostgreSQL), drawn by the database's own strong random source.
const SQLITE_FILL: &str = "UPDATE auto_join_domains \
     SET id = lower(hex(randomblob(16))), token = lower(hex(randomblob(32)))";
const POSTGRES_FILL: &str = "UPDATE auto_join_domains \
     SET id = gen_random_uuid()::text, \
         token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')";

const INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX auto_join_domains_id ON auto_join_domains (id)",
    "CREATE UNIQUE INDEX auto_join_domains_verified_once ON auto_join_domains (domain)
        WHERE verified_at IS NOT NULL",
];

const DOWN: &[&str] = &[
    "DROP INDEX auto_join_domains_verified_once",
    "DROP INDEX auto_join_domains_id",
    "ALTER TABLE auto_join_domains DROP COLUMN verified_at",
    "ALTER TABLE auto_join_domains DROP COLUMN created_at",
    "ALTER TABLE auto_join_domains DROP COLUMN token",
    "ALTER TABLE auto_join_domains DROP COLUMN id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, ADD_COLUMNS).await?;
        let fill = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_FILL,
            _ => SQLITE_FILL,
        };
        crate::run_all(manager, &[fill]).await?;
        crate::run_all(manager, INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_all(manager, DOWN).await
    }
}
