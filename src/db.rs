//! Database connections.
//!
//! SQLite gets two pools: readers (several connections, read-only) and one
//! writer connection. Every write transaction goes through the single writer
//! and begins `IMMEDIATE`, so writers queue fairly inside the process instead
//! of failing with "database is locked" (a deferred transaction that reads
//! and then writes can fail with SQLITE_BUSY at once, and `busy_timeout` does
//! not help it). WAL lets the readers run while the writer works. Every
//! pooled connection gets WAL, `busy_timeout`, foreign keys and
//! `synchronous = NORMAL` through the connect options, not one PRAGMA.
//!
//! PostgreSQL uses one pool for both; several Roster instances may share the
//! database.

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseUrl;

const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const SQLITE_READERS: u32 = 4;
const POSTGRES_CONNECTIONS: u32 = 16;
/// A background task's own pool (the mail worker uses one at a time).
const BACKGROUND_CONNECTIONS: u32 = 2;

#[derive(Clone, Debug)]
pub struct Db {
    read: DatabaseConnection,
    write: DatabaseConnection,
    url: DatabaseUrl,
}

impl Db {
    /// Connects, creating the SQLite file when missing. Does not migrate.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        if url.is_sqlite() {
            let write = Database::connect(sqlite_options(url, 1, false))
                .await
                .with_context(|| format!("failed to open the SQLite database {url}"))?;
            // The writer has created the file and switched it to WAL, so the
            // read-only readers can open it.
            let read = Database::connect(sqlite_options(url, SQLITE_READERS, true))
                .await
                .with_context(|| format!("failed to open the SQLite database {url} for reading"))?;
            Ok(Self {
                read,
                write,
                url: url.clone(),
            })
        } else {
            Self::postgres(url, POSTGRES_CONNECTIONS).await
        }
    }

    /// A PostgreSQL pool whose connections are all opened here, on the
    /// caller's runtime, and kept. A connection belongs to the Tokio runtime
    /// that opened it; one opened inside a web worker dies with that worker,
    /// and at a graceful stop the idle workers end first, so a request still
    /// in flight on another worker that borrowed such a connection answered
    /// 500. Opened up front on the main runtime and never expired, no
    /// connection is ever opened by a request (one broken meanwhile, after
    /// a database restart say, is replaced by whoever needs it).
    async fn postgres(url: &DatabaseUrl, connections: u32) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.expose());
        options
            .max_connections(connections)
            .min_connections(connections)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            // A connection busy a moment ago is alive: checking it before
            // every use would add a network round trip to each query. One
            // idle for a while (the server may have restarted) is checked
            // first.
            .test_before_acquire_if_idle_for(Duration::from_secs(10))
            .sqlx_logging(false);
        let conn = Database::connect(options)
            .await
            .with_context(|| format!("failed to connect to the database {url}"))?;
        // Hold every connection at once, so that each is opened now.
        let held = futures_util::future::try_join_all((0..connections).map(|_| conn.begin()))
            .await
            .with_context(|| format!("failed to open {connections} connections to {url}"))?;
        drop(held);
        Ok(Self {
            read: conn.clone(),
            write: conn,
            url: url.clone(),
        })
    }

    /// Connections for a background task that runs until shutdown, opened
    /// on the caller's runtime. PostgreSQL: a small pool of its own (see
    /// [`Db::postgres`] for why the runtime matters), so the task never
    /// waits behind web requests nor borrows a connection a web worker
    /// reopened. SQLite: the same pools (SQLx runs each SQLite connection on
    /// its own thread, and writes stay on the one writer).
    pub async fn for_background_work(&self) -> anyhow::Result<Self> {
        if self.url.is_sqlite() {
            return Ok(self.clone());
        }
        Self::postgres(&self.url, BACKGROUND_CONNECTIONS).await
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.write, None)
            .await
            .context("failed to apply database migrations")
    }

    /// Connection for queries that only read.
    pub fn read(&self) -> &DatabaseConnection {
        &self.read
    }

    /// Connection for writes outside an explicit transaction (single
    /// statements).
    pub fn write(&self) -> &DatabaseConnection {
        &self.write
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.write
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// Begins a write transaction that acts within the organizations
    /// `org_ids` and holds them until it ends: on PostgreSQL their rows are
    /// locked (`FOR UPDATE`, in id order so that two transactions never
    /// wait for each other), so every check such a transaction makes — the
    /// actor's role, how many workspaces are left, how many invitations
    /// went out today — still holds when it commits, as it does on SQLite,
    /// where write transactions run one at a time.
    pub async fn begin_org_write(&self, org_ids: &[&str]) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.begin_write().await?;
        lock_orgs(&txn, org_ids).await?;
        Ok(txn)
    }

    /// Answers whether the database responds.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }
}

/// Locks the rows of `org_ids` for the rest of the transaction (PostgreSQL;
/// on SQLite the write transaction already excludes every other writer).
pub async fn lock_orgs<C: ConnectionTrait>(conn: &C, org_ids: &[&str]) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres || org_ids.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=org_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id FROM organizations WHERE id IN ({}) ORDER BY id FOR UPDATE",
        placeholders.join(", ")
    );
    conn.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        org_ids.iter().map(|id| (*id).into()),
    ))
    .await?;
    Ok(())
}

fn sqlite_options(url: &DatabaseUrl, connections: u32, read_only: bool) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.expose());
    options
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // A connection to a local file cannot go stale, and the check before
        // each use is one more round trip to the connection's thread.
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal)
                .read_only(read_only)
                // Prepared statements kept per connection (SQLx keeps 100):
                // a page runs fewer than ten, and on 2 cores the mixed
                // benchmark's peak RSS drops from 108 to 95 MB with 32, at
                // the same throughput.
                .statement_cache_capacity(32)
        });
    options
}
