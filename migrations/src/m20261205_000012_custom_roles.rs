//! Modules and custom roles: an organization's own modules (beside
//! Roster's built-in ones, which live in code), its custom roles as named
//! sets of module levels, who holds which custom role (organization-wide
//! or in one workspace), and the custom roles an invitation carries.
//!
//! `scope_key` is the workspace id, or '' for an organization-wide
//! assignment: one unique index then holds on both backends (NULLs are
//! distinct in unique indexes).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000012_custom_roles"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE custom_modules (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        module_key TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX custom_modules_org_key ON custom_modules (org_id, module_key)",
    "CREATE TABLE custom_roles (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_normalized TEXT NOT NULL,
        description TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('organization', 'workspace', 'both')),
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX custom_roles_org_name ON custom_roles (org_id, name_normalized)",
    "CREATE TABLE custom_role_levels (
        role_id TEXT NOT NULL REFERENCES custom_roles (id) ON DELETE CASCADE,
        module_key TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('read', 'write')),
        PRIMARY KEY (role_id, module_key)
    )",
    "CREATE TABLE role_assignments (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES custom_roles (id) ON DELETE CASCADE,
        membership_id TEXT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
        workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
        scope_key TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        CHECK (scope_key = COALESCE(workspace_id, ''))
    )",
    "CREATE UNIQUE INDEX role_assignments_holder ON role_assignments (membership_id, scope_key, role_id)",
    "CREATE INDEX role_assignments_role ON role_assignments (role_id)",
    "CREATE INDEX role_assignments_workspace ON role_assignments (workspace_id)",
    "CREATE INDEX role_assignments_org_role ON role_assignments (org_id, role_id)",
    "CREATE TABLE invitation_roles (
        invitation_id TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES custom_roles (id) ON DELETE CASCADE,
        PRIMARY KEY (invitation_id, role_id)
    )",
];

const DOWN: &[&str] = &[
    "DROP TABLE invitation_roles",
    "DROP TABLE role_assignments",
    "DROP TABLE custom_role_levels",
    "DROP TABLE custom_roles",
    "DROP TABLE custom_modules",
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
