//! Audit rows, written inside the caller's transaction so a change and its
//! row commit or roll back together. Rows are append-only.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::entities::audit_event;

/// Who acted, and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
    pub address: Option<String>,
}

/// One change to record.
#[derive(Clone, Debug, Default)]
pub struct Entry<'a> {
    pub org_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entry: Entry<'_>,
    now: i64,
) -> anyhow::Result<()> {
    audit_event::ActiveModel {
        id: Set(super::new_id()),
        org_id: Set(entry.org_id.map(str::to_string)),
        actor_user_id: Set(actor.user_id.clone()),
        actor_label: Set(actor.label.clone()),
        action: Set(entry.action.to_string()),
        target_type: Set(entry.target_type.map(str::to_string)),
        target_id: Set(entry.target_id.map(str::to_string)),
        target_label: Set(entry.target_label.map(str::to_string)),
        before_value: Set(entry.before),
        after_value: Set(entry.after),
        address: Set(actor.address.clone()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .with_context(|| format!("failed to write the audit row for {}", entry.action))?;
    Ok(())
}
