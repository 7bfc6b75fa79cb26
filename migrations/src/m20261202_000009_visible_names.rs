//! Names are unique only among what a person can see. A workspace guest
//! sees only their own workspaces and a restricted member only the
//! products granted to them; a uniqueness refusal against a name they
//! cannot see would tell them it exists. So the unique indexes on the
//! normalized names become plain ones, and the services check the names
//! the actor can see inside the write (serialized per workspace or
//! organization on PostgreSQL, by the single writer on SQLite).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000009_visible_names"
    }
}

const UP: &[&str] = &[
    "DROP INDEX products_workspace_name",
    "CREATE INDEX products_workspace_name_id ON products (workspace_id, name_normalized, id)",
    "DROP INDEX workspaces_org_title",
    "CREATE INDEX workspaces_org_title_id ON workspaces (org_id, title_normalized, id)",
];

// Going down fails while two rows share a name, which is the truth: the
// old schema cannot hold them.
const DOWN: &[&str] = &[
    "DROP INDEX workspaces_org_title_id",
    "CREATE UNIQUE INDEX workspaces_org_title ON workspaces (org_id, title_normalized)",
    "DROP INDEX products_workspace_name_id",
    "CREATE UNIQUE INDEX products_workspace_name ON products (workspace_id, name_normalized)",
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
