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
//! database. There every organization table has row-level security: a
//! transaction sees the rows of the [`Tenant`] it names (`read_in`,
//! `begin_in`, `begin_org_write`), the account tables need none
//! (`accounts_read`, `accounts_write`), and the few paths that cross
//! organizations are named ([`CrossOrg`]). No unscoped connection is handed
//! out but the login's own, for migrations ([`Db::owner`]).

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

use crate::config::DatabaseUrl;

const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const SQLITE_READERS: u32 = 4;
const POSTGRES_CONNECTIONS: u32 = 16;
/// A background task's own pool (the mail worker uses one at a time).
const BACKGROUND_CONNECTIONS: u32 = 2;

/// Whose rows a transaction may touch. On PostgreSQL every organization
/// table admits only these rows (row-level security, migration
/// `m20261205_000015`); SQLite has no such layer and ignores it.
#[derive(Clone, Copy, Debug)]
pub enum Tenant<'a> {
    /// One organization's rows; where a person acts, also that person's own
    /// rows elsewhere (read only): their memberships, those organizations
    /// and their account's log.
    Org {
        org_id: &'a str,
        person: Option<&'a str>,
    },
    /// A person's own rows across their organizations (the organization
    /// switcher, their account pages): nothing else of any organization.
    Person(&'a str),
}

impl<'a> Tenant<'a> {
    /// One organization's rows, read or written for the organization
    /// itself (by the application, or a key that is no person).
    pub fn org(org_id: &'a str) -> Self {
        Tenant::Org {
            org_id,
            person: None,
        }
    }

    fn settings(&self) -> (&str, &str) {
        match *self {
            Tenant::Org { org_id, person } => (org_id, person.unwrap_or("")),
            Tenant::Person(user_id) => ("", user_id),
        }
    }
}

/// The named paths that legitimately cross organizations. Each takes the
/// `roster_cross` role for one transaction, which sees every
/// organization's rows; nothing else does. The README lists them: add one
/// only with a reason a reviewer accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossOrg {
    /// The mail worker claims and sends every organization's queued mail.
    MailWorker,
    /// `roster seed-demo` and `roster seed-bench` write demonstration
    /// organizations.
    Seed,
    /// `roster backup` copies the whole database (SQLite's `VACUUM INTO`).
    Backup,
    /// An invitation link is looked up by its token, before its
    /// organization is known.
    InvitationLink,
    /// The invitations waiting for a person's confirmed address, told to
    /// them when they confirm it (they belong to none of those
    /// organizations yet).
    InvitationsToAddress,
    /// Joining by email domain: the organizations that list a verified
    /// address's domain, before the person belongs to them.
    AutoJoin,
    /// Whether another organization has proven a domain already, told to
    /// an organization that tries to prove it too.
    DomainClaim,
    /// Members found by a fragment of their name or address: the trigram
    /// index serves the match only outside the policies (PostgreSQL keeps
    /// LIKE, not being leakproof, above them). The one query filters by
    /// the organization and yields ids; the rows shown are read under the
    /// policies.
    FragmentSearch,
    /// An API key is found by its secret, before its organization is known.
    ApiKeyLookup,
    /// A workspace moves between two organizations its mover administers
    /// (authorized in both first); and the move's preview of who would
    /// lose access.
    WorkspaceMove,
    /// Whether a sign-up notice went to an address lately: account mail
    /// belongs to no organization, and only the mail worker reads it else.
    SignUpNotice,
}

#[derive(Clone, Debug)]
pub struct Db {
    read: DatabaseConnection,
    write: DatabaseConnection,
    /// PostgreSQL: the login itself, not acting as `roster_app`: migrations
    /// and the statistics refreshed after seeding (and tests that look at
    /// the database from outside). SQLite: the writer.
    owner: DatabaseConnection,
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
                owner: write.clone(),
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
    ///
    /// Every pooled connection starts as `roster_app` (a startup option),
    /// so a statement outside a scoped transaction sees no organization's
    /// rows: isolation fails closed. The roles are made first, with the
    /// login's own connection, which is kept for migrations.
    async fn postgres(url: &DatabaseUrl, connections: u32) -> anyhow::Result<Self> {
        let mut owner_options = ConnectOptions::new(url.expose());
        owner_options
            .max_connections(1)
            .min_connections(0)
            .sqlx_logging(false);
        let owner = Database::connect(owner_options)
            .await
            .with_context(|| format!("failed to connect to the database {url}"))?;
        for sql in migrations::role_statements() {
            owner
                .execute_unprepared(&sql)
                .await
                .with_context(|| format!("failed to create Roster's database roles on {url}"))?;
        }
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
            .sqlx_logging(false)
            .map_sqlx_postgres_opts(|o| {
                o.options([
                    ("role", migrations::APP_ROLE),
                    // A last resort should a transaction ever be left
                    // open: the server ends it (and its connection) rather
                    // than let its locks stop every later writer.
                    ("idle_in_transaction_session_timeout", "60s"),
                ])
            });
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
            owner,
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

    /// Applies every pending migration, as the login itself.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.owner, None)
            .await
            .context("failed to apply database migrations")
    }

    /// The login's own connection, outside row-level security when it is a
    /// superuser: for migrations, `ANALYZE` after seeding, and tests that
    /// check the database from outside. No request uses it.
    #[doc(hidden)]
    pub fn owner(&self) -> &DatabaseConnection {
        &self.owner
    }

    /// Reads of the account tables (people, sessions, tokens), which belong
    /// to no organization. On PostgreSQL this acts as `roster_app` with no
    /// organization set, so an organization table reads empty through it.
    pub fn accounts_read(&self) -> &DatabaseConnection {
        &self.read
    }

    /// Single-statement writes to the account tables; see
    /// [`Db::accounts_read`].
    pub fn accounts_write(&self) -> &DatabaseConnection {
        &self.write
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    /// A connection for reads of `tenant`'s rows. On PostgreSQL a
    /// transaction that names the tenant (one round trip after `BEGIN`);
    /// dropping it ends it. SQLite: a reader from the pool.
    pub async fn read_in(&self, tenant: Tenant<'_>) -> Result<DatabaseExecutor<'_>, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Ok(DatabaseExecutor::Connection(&self.read));
        }
        let txn = begin_whole(&self.read, TransactionOptions::default()).await?;
        act_as(&txn, migrations::APP_ROLE, tenant.settings()).await?;
        Ok(DatabaseExecutor::OwnedTransaction(txn))
    }

    /// Begins a write transaction on `tenant`'s rows (`BEGIN IMMEDIATE` on
    /// SQLite).
    pub async fn begin_in(&self, tenant: Tenant<'_>) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.begin_accounts_write().await?;
        if self.backend() == DbBackend::Postgres {
            act_as(&txn, migrations::APP_ROLE, tenant.settings()).await?;
        }
        Ok(txn)
    }

    /// Begins a write transaction that acts within one organization and
    /// holds it until it ends: on PostgreSQL its row is locked (`FOR
    /// UPDATE`), so every check such a transaction makes — the actor's
    /// role, how many workspaces are left, how many invitations went out
    /// today — still holds when it commits, as it does on SQLite, where
    /// write transactions run one at a time.
    pub async fn begin_org_write(&self, tenant: Tenant<'_>) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.begin_in(tenant).await?;
        if let Tenant::Org { org_id, .. } = tenant {
            lock_orgs(&txn, &[org_id]).await?;
        }
        Ok(txn)
    }

    /// Begins a transaction for one of the named paths that cross
    /// organizations (see [`CrossOrg`]): on PostgreSQL it acts as
    /// `roster_cross`, which sees every organization's rows.
    pub async fn begin_cross_org(&self, path: CrossOrg) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.begin_accounts_write().await?;
        if self.backend() == DbBackend::Postgres {
            tracing::trace!(?path, "crossing organizations");
            act_as(&txn, migrations::CROSS_ROLE, ("", "")).await?;
        }
        Ok(txn)
    }

    /// Reads for one of the named paths that cross organizations; see
    /// [`Db::begin_cross_org`]. SQLite: a reader from the pool.
    pub async fn read_cross_org(&self, path: CrossOrg) -> Result<DatabaseExecutor<'_>, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Ok(DatabaseExecutor::Connection(&self.read));
        }
        tracing::trace!(?path, "crossing organizations");
        let txn = begin_whole(&self.read, TransactionOptions::default()).await?;
        act_as(&txn, migrations::CROSS_ROLE, ("", "")).await?;
        Ok(DatabaseExecutor::OwnedTransaction(txn))
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite) on the
    /// account tables: no organization is named, so on PostgreSQL an
    /// organization table reads empty in it.
    pub async fn begin_accounts_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        begin_whole(&self.write, options).await
    }

    /// Answers whether the database responds.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }
}

/// Begins a transaction in a task of its own, so that it is begun whole
/// even when the caller is dropped half-way (a request whose client went
/// away, an export nobody reads any more). SQLx counts a PostgreSQL
/// transaction only once `BEGIN` has answered: cut off in between, the
/// connection went back to the pool inside a transaction nobody would
/// end, and the next request's statements ran in it, their locks held for
/// good. Begun whole, a transaction dropped unfinished is rolled back as
/// any other.
async fn begin_whole(
    conn: &DatabaseConnection,
    options: TransactionOptions,
) -> Result<DatabaseTransaction, DbErr> {
    let conn = conn.clone();
    tokio::spawn(async move { conn.begin_with_options(options).await })
        .await
        .map_err(|err| DbErr::Custom(format!("beginning a transaction stopped: {err}")))?
}

/// Names the role and the tenant for the rest of the transaction, in one
/// round trip. `set_config(.., true)` is `SET LOCAL`: it ends with the
/// transaction, so a pooled connection carries nothing to its next user.
async fn act_as<C: ConnectionTrait>(
    txn: &C,
    role: &str,
    (org_id, user_id): (&str, &str),
) -> Result<(), DbErr> {
    txn.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('role', $1, true), set_config('roster.org_id', $2, true), \
         set_config('roster.user_id', $3, true)",
        [role.into(), org_id.into(), user_id.into()],
    ))
    .await?;
    Ok(())
}

/// Names another tenant for the rest of a transaction: sign-up creates the
/// person first and then, in the same transaction, their organization.
/// Nothing on SQLite.
pub async fn act_for<C: ConnectionTrait>(conn: &C, tenant: Tenant<'_>) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    act_as(conn, migrations::APP_ROLE, tenant.settings()).await
}

/// Takes one of the named cross-organization paths for the rest of a
/// transaction, until [`act_for`] names a tenant again: an invitation
/// link is found by its token, and then its organization is acted for.
/// Nothing on SQLite.
pub async fn act_cross_org<C: ConnectionTrait>(conn: &C, path: CrossOrg) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    tracing::trace!(?path, "crossing organizations");
    act_as(conn, migrations::CROSS_ROLE, ("", "")).await
}

/// Names `user_id` as the person of the rest of the transaction, the
/// organization unchanged: an administrator's action writes a line in the
/// member's own security log. Nothing on SQLite.
pub async fn act_for_person<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('roster.user_id', $1, true)",
        [user_id.into()],
    ))
    .await?;
    Ok(())
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
