//! Products and product access. A product lives in a workspace (and so in
//! its organization) and may have an owner; `needs_owner` marks one whose
//! owner left. A membership may be restricted to the products granted to
//! it, each with `view` or `edit`; grants go with the membership or the
//! product.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000007_products"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE products (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_normalized TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
        needs_owner BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX products_workspace_name ON products (workspace_id, name_normalized)",
    "CREATE INDEX products_org_name ON products (org_id, name_normalized, id)",
    "CREATE INDEX products_org_owner ON products (org_id, owner_id)",
    "ALTER TABLE memberships ADD COLUMN products_restricted BOOLEAN NOT NULL DEFAULT FALSE",
    "CREATE TABLE product_grants (
        membership_id TEXT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
        product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        access TEXT NOT NULL CHECK (access IN ('view', 'edit')),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (membership_id, product_id)
    )",
    "CREATE INDEX product_grants_product ON product_grants (product_id)",
];

const DOWN: &[&str] = &[
    "DROP TABLE product_grants",
    "ALTER TABLE memberships DROP COLUMN products_restricted",
    "DROP TABLE products",
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
