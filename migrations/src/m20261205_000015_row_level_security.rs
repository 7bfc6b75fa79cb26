//! Row-level security on PostgreSQL: every table that holds one
//! organization's rows admits only the rows of the organization the current
//! transaction acts for, whatever a query forgets to filter.
//!
//! Two roles, neither a superuser, an owner nor `BYPASSRLS`:
//!
//! - `roster_app`: what Roster's connections run as. A transaction names
//!   its organization with `set_config('roster.org_id', …, true)` and, where
//!   a person acts, the person with `roster.user_id`; both end with the
//!   transaction. With neither set, the organization tables read empty.
//! - `roster_cross`: taken (`SET LOCAL ROLE`) by the few named paths that
//!   legitimately cross organizations (`Db::cross_org` and its `CrossOrg`
//!   list); its policies admit every row.
//!
//! Forced, so the tables' owner (the account migrations run as) is held to
//! the policies too unless it is a superuser: a later migration that reads
//! or rewrites rows (a backfill) must first `SET LOCAL ROLE roster_cross`,
//! or, run by an owner that is no superuser, it sees none. SQLite has no
//! such layer and this migration does nothing there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000015_row_level_security"
    }
}

/// The role Roster's connections act as.
pub const APP_ROLE: &str = "roster_app";
/// The role of the named paths that cross organizations.
pub const CROSS_ROLE: &str = "roster_cross";

/// The current transaction's organization; an empty string (not NULL) once
/// a transaction that set it has ended, which matches no row either. In a
/// scalar subquery, so that a statement reads it once (an InitPlan), not
/// once per row.
const ORG: &str = "(SELECT current_setting('roster.org_id', true))";
/// The person the current transaction acts for.
const PERSON: &str = "(SELECT current_setting('roster.user_id', true))";

/// How a table's rows belong to an organization.
enum Owner {
    /// An `org_id` column.
    OrgColumn,
    /// The organization itself (`organizations.id`).
    OrgItself,
    /// Through a parent row, whose own policy decides:
    /// `column IN (SELECT id FROM parent)`.
    Parent(&'static str, &'static str),
}

/// Every organization table, how its rows belong, and the rows a person
/// may see of it outside their organization's transactions (their own
/// memberships and those organizations for the switcher, their account's
/// security log), if any.
const TABLES: &[(&str, Owner, Option<&str>)] = &[
    (
        "organizations",
        Owner::OrgItself,
        Some(
            "id IN (SELECT org_id FROM memberships WHERE user_id = (SELECT current_setting('roster.user_id', true)))",
        ),
    ),
    (
        "memberships",
        Owner::OrgColumn,
        Some("user_id = (SELECT current_setting('roster.user_id', true))"),
    ),
    ("member_counts", Owner::OrgColumn, None),
    ("invitations", Owner::OrgColumn, None),
    ("invitation_counts", Owner::OrgColumn, None),
    (
        "invitation_roles",
        Owner::Parent("invitation_id", "invitations"),
        None,
    ),
    ("workspaces", Owner::OrgColumn, None),
    ("workspace_members", Owner::OrgColumn, None),
    ("products", Owner::OrgColumn, None),
    ("product_grants", Owner::OrgColumn, None),
    ("auto_join_domains", Owner::OrgColumn, None),
    ("custom_modules", Owner::OrgColumn, None),
    ("custom_roles", Owner::OrgColumn, None),
    (
        "custom_role_levels",
        Owner::Parent("role_id", "custom_roles"),
        None,
    ),
    ("role_assignments", Owner::OrgColumn, None),
    ("api_keys", Owner::OrgColumn, None),
    (
        "api_request_counts",
        Owner::Parent("key_id", "api_keys"),
        None,
    ),
    ("api_idempotency", Owner::Parent("key_id", "api_keys"), None),
    (
        "audit_events",
        Owner::OrgColumn,
        Some("org_id IS NULL AND target_id = (SELECT current_setting('roster.user_id', true))"),
    ),
    ("outbox", Owner::OrgColumn, None),
];

/// Creates a role unless it exists; several databases of one cluster (or
/// several test runs at once) may race to create it.
fn create_role(role: &str) -> String {
    format!(
        "DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$"
    )
}

/// Lets the account Roster connects as take the role (a superuser may
/// take any role already).
fn grant_role_to_login(role: &str) -> String {
    format!(
        "DO $$ BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
               AND NOT pg_has_role(session_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT {role} TO %I', session_user);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$"
    )
}

/// The roles, and the login's right to take them, as this migration made
/// them. Roster's start runs their successor,
/// `m20261205_000017_cross_role_gate::role_statements`.
fn role_statements() -> Vec<String> {
    let mut sql = Vec::new();
    for role in [APP_ROLE, CROSS_ROLE] {
        sql.push(create_role(role));
        sql.push(grant_role_to_login(role));
    }
    sql
}

fn grants() -> Vec<String> {
    let roles = format!("{APP_ROLE}, {CROSS_ROLE}");
    vec![
        format!("GRANT USAGE ON SCHEMA public TO {roles}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {roles}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {roles}"),
        // Tables later migrations create (as the same account) too.
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {roles}"
        ),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {roles}"
        ),
        // Only migrations touch their own bookkeeping.
        format!("REVOKE ALL ON seaql_migrations FROM {roles}"),
    ]
}

fn policies() -> Vec<String> {
    let mut sql = Vec::new();
    for (table, owner, person) in TABLES {
        let mine = match owner {
            Owner::OrgColumn => format!("org_id = {ORG}"),
            Owner::OrgItself => format!("id = {ORG}"),
            Owner::Parent(column, parent) => format!("{column} IN (SELECT id FROM {parent})"),
        };
        sql.push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"));
        sql.push(format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY"));
        sql.push(format!(
            "CREATE POLICY organization ON {table} TO {APP_ROLE} USING ({mine}) WITH CHECK ({mine})"
        ));
        if let Some(person) = person {
            sql.push(format!(
                "CREATE POLICY person ON {table} FOR SELECT TO {APP_ROLE} USING ({person})"
            ));
        }
        // Only as the role itself: the login that was granted it (to take
        // it) does not inherit a way around the policies.
        let crossing = format!("current_user = '{CROSS_ROLE}'");
        sql.push(format!(
            "CREATE POLICY cross_org ON {table} TO {CROSS_ROLE} USING ({crossing}) WITH CHECK ({crossing})"
        ));
    }
    // A person's name and address are copied into their memberships (for
    // sorting and search); a change of either follows into every one.
    sql.push(format!(
        "CREATE POLICY person_updates ON memberships FOR UPDATE TO {APP_ROLE} \
         USING (user_id = {PERSON}) WITH CHECK (user_id = {PERSON})"
    ));
    // A person's own security log is theirs to write as well as read.
    sql.push(format!(
        "CREATE POLICY person_writes ON audit_events FOR INSERT TO {APP_ROLE} \
         WITH CHECK (org_id IS NULL AND target_id = {PERSON})"
    ));
    // Mail about an account (a reset link, an address to confirm) belongs
    // to no organization; it may be queued from anywhere and is read only
    // by the mail worker.
    sql.push(format!(
        "CREATE POLICY account_mail ON outbox FOR INSERT TO {APP_ROLE} WITH CHECK (org_id IS NULL)"
    ));
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in role_statements()
            .into_iter()
            .chain(grants())
            .chain(policies())
        {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, _, person) in TABLES {
            let mut names = vec!["organization", "cross_org"];
            if person.is_some() {
                names.push("person");
            }
            for name in names {
                db.execute_unprepared(&format!("DROP POLICY IF EXISTS {name} ON {table}"))
                    .await?;
            }
            db.execute_unprepared(&format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
                .await?;
        }
        db.execute_unprepared("DROP POLICY IF EXISTS person_updates ON memberships")
            .await?;
        db.execute_unprepared("DROP POLICY IF EXISTS person_writes ON audit_events")
            .await?;
        db.execute_unprepared("DROP POLICY IF EXISTS account_mail ON outbox")
            .await?;
        Ok(())
    }
}
