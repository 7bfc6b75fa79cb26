//! Accounts, organizations, memberships, workspaces, sign-in throttling and
//! the audit log.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_foundation"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_normalized TEXT NOT NULL,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        email_verified_at BIGINT,
        session_epoch BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        last_active_at BIGINT
    )",
    // Emails are unique case-insensitively: the application stores the
    // normalized (trimmed, lower-cased) form beside what the person typed.
    "CREATE UNIQUE INDEX users_email_normalized ON users (email_normalized)",
    // One row per signed-in browser. The session cookie names its row;
    // signing out deletes it, so a copy of the cookie is refused afterwards.
    "CREATE TABLE user_sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX user_sessions_user ON user_sessions (user_id, created_at)",
    "CREATE TABLE organizations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE memberships (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer', 'none')),
        sort_name TEXT NOT NULL,
        email_normalized TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_active_at BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE UNIQUE INDEX memberships_org_user ON memberships (org_id, user_id)",
    // The member list pages, sorts and searches within one organization;
    // the person's lower-cased name and email are copied onto the
    // membership so each sort walks one index instead of sorting a join.
    // The role is in every index so the list's role condition is checked
    // without reading the table, even for rows skipped by a deep page.
    "CREATE INDEX memberships_org_name ON memberships (org_id, sort_name, id, role)",
    "CREATE INDEX memberships_org_joined ON memberships (org_id, created_at, id, role)",
    "CREATE INDEX memberships_org_active ON memberships (org_id, last_active_at, id, role)",
    "CREATE INDEX memberships_org_role ON memberships (org_id, role, sort_name, id)",
    // A person's organizations (the switcher).
    "CREATE INDEX memberships_user ON memberships (user_id)",
    // Exactly one Owner per organization, whatever the application does.
    "CREATE UNIQUE INDEX memberships_one_owner ON memberships (org_id) WHERE role = 'owner'",
    "CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        title_normalized TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX workspaces_org_title ON workspaces (org_id, title_normalized)",
    // Failed sign-ins, one row each, keyed by bucket ("account:…" or
    // "address:…"); kept in the database so every instance shares the count.
    "CREATE TABLE sign_in_failures (
        id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        failed_at BIGINT NOT NULL
    )",
    "CREATE INDEX sign_in_failures_bucket ON sign_in_failures (bucket, failed_at)",
    // No foreign keys: an audit row outlives the organization, user or
    // object it names.
    "CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        org_id TEXT,
        actor_user_id TEXT,
        actor_label TEXT NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT,
        target_id TEXT,
        target_label TEXT,
        before_value TEXT,
        after_value TEXT,
        address TEXT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX audit_events_org_time ON audit_events (org_id, created_at)",
];

const DOWN: &[&str] = &[
    "DROP TABLE audit_events",
    "DROP TABLE sign_in_failures",
    "DROP TABLE workspaces",
    "DROP TABLE memberships",
    "DROP TABLE organizations",
    "DROP TABLE user_sessions",
    "DROP TABLE users",
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
