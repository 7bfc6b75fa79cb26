//! Direct workspace roles. The workspace's Owner is the member whose direct
//! role is `owner`: exactly one per workspace, enforced by a partial unique
//! index. Existing workspaces get the organization's Owner as their Owner.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000006_workspace_members"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE workspace_members (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
        created_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX workspace_members_person ON workspace_members (workspace_id, user_id)",
    "CREATE UNIQUE INDEX workspace_members_one_owner ON workspace_members (workspace_id)
        WHERE role = 'owner'",
    "CREATE INDEX workspace_members_user ON workspace_members (org_id, user_id)",
    "CREATE INDEX workspaces_org_created ON workspaces (org_id, created_at)",
    "INSERT INTO workspace_members (id, workspace_id, org_id, user_id, role, created_at)
        SELECT w.id || ':owner', w.id, w.org_id, m.user_id, 'owner', w.created_at
        FROM workspaces w JOIN memberships m ON m.org_id = w.org_id AND m.role = 'owner'",
];

const DOWN: &[&str] = &[
    "DROP INDEX workspaces_org_created",
    "DROP TABLE workspace_members",
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
