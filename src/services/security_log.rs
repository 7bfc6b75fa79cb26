//! A person's own security log: what happened to their account (sign-ins,
//! failed ones, password, address and two-factor changes, sessions ended),
//! newest first. The rows are audit rows with no organization, about the
//! account (`target_type` "account", `target_id` the user id), so each is
//! written in the transaction of the change it records.

use anyhow::Context;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::audit::{self, Actor, AuditAction, Entry};
use crate::db::{Db, Tenant};
use crate::domain::user_agent;
use crate::entities::{audit_event, user};

pub const PER_PAGE: u64 = 25;

/// Where a request came from: its address and its browser.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// "Firefox on Linux", or `None` when the browser sent no User-Agent.
    pub fn browser(&self) -> Option<String> {
        self.user_agent.as_deref().map(user_agent::describe)
    }
}

impl From<Option<String>> for Origin {
    /// A request known by its address alone.
    fn from(address: Option<String>) -> Self {
        Origin {
            address,
            user_agent: None,
        }
    }
}

/// Records `action` on `user`'s account, done by the person themself.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    action: AuditAction,
    origin: &Origin,
    detail: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    record_change(conn, user, action, origin, None, detail, now).await
}

/// [`record`] in a transaction of its own.
pub async fn record_alone(
    db: &Db,
    user: &user::Model,
    action: AuditAction,
    origin: &Origin,
    detail: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    record(&txn, user, action, origin, detail, now).await?;
    txn.commit()
        .await
        .context("failed to commit the security log")
}

/// [`record`] of a change from `before` to `after` (a name, an address).
pub async fn record_change<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    action: AuditAction,
    origin: &Origin,
    before: Option<String>,
    after: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    let actor = Actor {
        user_id: Some(user.id.clone()),
        label: user.email.clone(),
        address: origin.address.clone(),
    };
    write(conn, &actor, user, action, before, after, now).await
}

/// Records `action` on `user`'s account, done by `actor` (an
/// administrator signing them out, say). The caller's transaction names
/// `user` as its person from here on (the row is theirs), its
/// organization unchanged.
pub async fn record_by<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    user: &user::Model,
    action: AuditAction,
    detail: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    crate::db::act_for_person(conn, &user.id)
        .await
        .context("failed to name the person")?;
    write(conn, actor, user, action, None, detail, now).await
}

async fn write<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    user: &user::Model,
    action: AuditAction,
    before: Option<String>,
    after: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    audit::record(
        conn,
        actor,
        Entry {
            org_id: None,
            action,
            target_type: Some("account"),
            target_id: Some(&user.id),
            target_label: Some(&user.email_normalized),
            before,
            after,
        },
        now,
    )
    .await
}

/// One page of a person's log, newest first, and whether another follows.
pub async fn page(
    db: &Db,
    user_id: &str,
    page: u64,
) -> anyhow::Result<(Vec<audit_event::Model>, bool)> {
    let mut rows = audit_event::Entity::find()
        .filter(audit_event::Column::OrgId.is_null())
        .filter(audit_event::Column::TargetId.eq(user_id))
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .offset(page.saturating_sub(1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE + 1)
        .all(&db.read_in(Tenant::Person(user_id)).await?)
        .await
        .context("failed to read the security log")?;
    let more = rows.len() as u64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    Ok((rows, more))
}

/// How many rows a person's log holds.
pub async fn count(db: &Db, user_id: &str) -> anyhow::Result<u64> {
    audit_event::Entity::find()
        .filter(audit_event::Column::OrgId.is_null())
        .filter(audit_event::Column::TargetId.eq(user_id))
        .count(&db.read_in(Tenant::Person(user_id)).await?)
        .await
        .context("failed to count the security log")
}
