//! The cross-organization policies admit every row as a plain `true`
//! again, so that PostgreSQL drops them from a named path's plans, and the
//! login reaches `roster_cross` through a gate role that does not inherit
//! it.
//!
//! `m20261205_000015_row_level_security` had the policies check
//! `current_user = 'roster_cross'`, because a policy binds every member of
//! its role and the login, granted `roster_cross` so that it may take it,
//! inherited a way around every policy on its own connection. But the
//! planner cannot fold `current_user`, so the check stayed a security qual
//! beneath which an operator that is not leakproof (`LIKE`) may not use an
//! index: a member search by fragment scanned the organization (27 ms a
//! count on 100,000 members) even on its named path.
//!
//! Now the login is granted `roster_cross_gate` (`NOINHERIT`), which is
//! granted `roster_cross`. Membership reaches through it, so the login may
//! still `SET ROLE roster_cross`; privileges (and the policies, which bind
//! by privilege) do not, so on its own connection the login sees no
//! organization's rows. As `roster_cross` itself the policy is `true`, the
//! planner folds the policies away, and the trigram index serves a search.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261205_000015_row_level_security::{APP_ROLE, CROSS_ROLE};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000017_cross_role_gate"
    }
}

/// The role the login is granted so that it may take `roster_cross`
/// without inheriting its policies.
pub const GATE_ROLE: &str = "roster_cross_gate";

/// What a login that may not make Roster's roles itself (neither a
/// superuser nor `CREATEROLE`) is told: the statements a DBA runs once.
fn refused(what: &str) -> String {
    // In the message itself: a driver shows an error's message, seldom its
    // hint.
    format!(
        "WHEN insufficient_privilege THEN
            RAISE EXCEPTION '%', format('the login %I may not {what}; as a superuser, run once \
                (skipping what exists): CREATE ROLE {APP_ROLE} NOLOGIN; \
                CREATE ROLE {CROSS_ROLE} NOLOGIN; CREATE ROLE {GATE_ROLE} NOLOGIN NOINHERIT; \
                GRANT {CROSS_ROLE} TO {GATE_ROLE}; GRANT {APP_ROLE}, {GATE_ROLE} TO %I; \
                REVOKE {CROSS_ROLE} FROM %I;', session_user, session_user, session_user);"
    )
}

/// Creates a role unless it exists; several databases of one cluster (or
/// several test runs at once) may race to create it.
fn create_role(role: &str, inherit: &str) -> String {
    format!(
        "DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN {inherit} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        {}
        END $$",
        refused(&format!("create the role {role}"))
    )
}

/// Lets the login take `role` (a superuser may take any role already).
fn grant_to_login(role: &str) -> String {
    format!(
        "DO $$ BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
               AND NOT pg_has_role(session_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT {role} TO %I', session_user);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        {}
        END $$",
        refused(&format!("be granted {role}"))
    )
}

/// Grants `role` to the role `member` unless it holds it already.
fn grant_to_role(role: &str, member: &str) -> String {
    format!(
        "DO $$ BEGIN
            IF NOT pg_has_role('{member}', '{role}', 'MEMBER') THEN
                GRANT {role} TO {member};
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        {}
        END $$",
        refused(&format!("grant {role} to {member}"))
    )
}

/// The gate must not inherit, whoever made it.
fn gate_does_not_inherit() -> String {
    format!(
        "DO $$ BEGIN
            IF (SELECT rolinherit FROM pg_roles WHERE rolname = '{GATE_ROLE}') THEN
                ALTER ROLE {GATE_ROLE} NOINHERIT;
            END IF;
        EXCEPTION {}
        END $$",
        refused(&format!("make {GATE_ROLE} NOINHERIT"))
    )
}

/// A login granted `roster_cross` itself (as before this migration)
/// inherits its policies: that grant goes, the gate replaces it.
fn revoke_direct_crossing() -> String {
    format!(
        "DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_auth_members
                       WHERE roleid = '{CROSS_ROLE}'::regrole
                         AND member = (SELECT oid FROM pg_roles WHERE rolname = session_user)) THEN
                EXECUTE format('REVOKE {CROSS_ROLE} FROM %I', session_user);
            END IF;
        EXCEPTION {}
        END $$",
        refused(&format!(
            "take back its own grant of {CROSS_ROLE} (which lets it past every policy)"
        ))
    )
}

/// Roster's roles and the login's way to take them. Run by this migration
/// and again before Roster opens its connections (which start as
/// `roster_app`), so a database migrated on another cluster still works.
pub fn role_statements() -> Vec<String> {
    vec![
        create_role(APP_ROLE, "INHERIT"),
        create_role(CROSS_ROLE, "INHERIT"),
        create_role(GATE_ROLE, "NOINHERIT"),
        gate_does_not_inherit(),
        grant_to_login(APP_ROLE),
        grant_to_role(CROSS_ROLE, GATE_ROLE),
        grant_to_login(GATE_ROLE),
        revoke_direct_crossing(),
    ]
}

/// Sets every `cross_org` policy's condition (whatever tables carry one).
fn cross_policies(condition: &str) -> String {
    format!(
        "DO $$ DECLARE t text; BEGIN
            FOR t IN SELECT tablename FROM pg_policies
                     WHERE schemaname = current_schema() AND policyname = 'cross_org' LOOP
                EXECUTE format('ALTER POLICY cross_org ON %I USING ({condition}) WITH CHECK ({condition})', t);
            END LOOP;
        END $$"
    )
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
            .chain([cross_policies("true")])
        {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    /// The policies check the role by name again; the gate stays (through
    /// it the login inherits nothing, so it is harmless).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let condition = format!("current_user = ''{CROSS_ROLE}''");
        manager
            .get_connection()
            .execute_unprepared(&cross_policies(&condition))
            .await?;
        Ok(())
    }
}
