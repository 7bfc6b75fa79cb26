//! Indexes for reading the audit log: newest first per organization (with
//! the id as tie-breaker for pages), by action, by the member a row is
//! about (by id or, for invitations, by address) and by who acted.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000008_audit_indexes"
    }
}

const UP: &[&str] = &[
    "CREATE INDEX audit_events_org_time_id ON audit_events (org_id, created_at, id)",
    "DROP INDEX audit_events_org_time",
    "CREATE INDEX audit_events_org_action ON audit_events (org_id, action, created_at, id)",
    "CREATE INDEX audit_events_org_target ON audit_events (org_id, target_id, created_at, id)",
    "CREATE INDEX audit_events_org_target_label ON audit_events (org_id, target_label, created_at, id)",
    "CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_user_id, created_at, id)",
];

const DOWN: &[&str] = &[
    "DROP INDEX audit_events_org_actor",
    "DROP INDEX audit_events_org_target_label",
    "DROP INDEX audit_events_org_target",
    "DROP INDEX audit_events_org_action",
    "CREATE INDEX audit_events_org_time ON audit_events (org_id, created_at)",
    "DROP INDEX audit_events_org_time_id",
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
