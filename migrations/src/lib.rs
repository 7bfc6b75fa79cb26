//! Roster's schema, one file per migration, applied in order at start-up and
//! by `roster migrate`. Migrations are append-only once they have landed.
//!
//! The SQL is written in the dialect common to SQLite and PostgreSQL so one
//! file serves both backends; timestamps are Unix seconds in `BIGINT`
//! columns and ids that appear in URLs are UUID text.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_member_search;
mod m20261122_000003_member_counts;
mod m20261123_000004_invitations;
mod m20261123_000005_account_tokens;
mod m20261123_000006_workspace_members;
mod m20261123_000007_products;
mod m20261123_000008_audit_indexes;
mod m20261202_000009_visible_names;
mod m20261202_000010_domain_verification;
mod m20261204_000011_api_keys;
mod m20261205_000012_custom_roles;
mod m20261205_000013_members_page;
mod m20261205_000014_security;
mod m20261205_000015_row_level_security;
mod m20261205_000016_product_counts;
mod m20261205_000017_cross_role_gate;

pub use m20261205_000015_row_level_security::{APP_ROLE, CROSS_ROLE};
pub use m20261205_000017_cross_role_gate::{GATE_ROLE, role_statements};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_member_search::Migration),
            Box::new(m20261122_000003_member_counts::Migration),
            Box::new(m20261123_000004_invitations::Migration),
            Box::new(m20261123_000005_account_tokens::Migration),
            Box::new(m20261123_000006_workspace_members::Migration),
            Box::new(m20261123_000007_products::Migration),
            Box::new(m20261123_000008_audit_indexes::Migration),
            Box::new(m20261202_000009_visible_names::Migration),
            Box::new(m20261202_000010_domain_verification::Migration),
            Box::new(m20261204_000011_api_keys::Migration),
            Box::new(m20261205_000012_custom_roles::Migration),
            Box::new(m20261205_000013_members_page::Migration),
            Box::new(m20261205_000014_security::Migration),
            Box::new(m20261205_000015_row_level_security::Migration),
            Box::new(m20261205_000016_product_counts::Migration),
            Box::new(m20261205_000017_cross_role_gate::Migration),
        ]
    }
}

/// Runs each statement of a migration in order.
pub(crate) async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
