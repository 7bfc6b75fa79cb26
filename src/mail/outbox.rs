//! The outbox table: enqueue inside the caller's transaction, claim due
//! messages with a lease (several instances never send one message twice),
//! record the outcome.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use crate::db::{CrossOrg, Db, Tenant};
use crate::entities::outbox_message;
use sea_orm::IntoActiveModel;

/// How long a worker holds a message while it delivers it. A worker that
/// dies mid-send releases it when the lease runs out.
pub const LEASE_SECS: i64 = 600;
/// The wait after the first failure; it doubles with each failure.
pub const FIRST_RETRY_SECS: i64 = 30;
/// The longest wait between two attempts.
pub const MAX_RETRY_SECS: i64 = 3600;
/// What replaces a delivered message's body: it held a one-time link,
/// which the database should not keep once the mail is out.
const DELIVERED_BODY: &str = "(delivered; the body is not kept)";

/// A message to send.
#[derive(Clone, Debug)]
pub struct NewMessage<'a> {
    pub kind: &'a str,
    pub org_id: Option<&'a str>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: String,
    pub body_html: String,
}

/// Writes a message to the outbox, inside the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    message: NewMessage<'_>,
    now: i64,
) -> anyhow::Result<outbox_message::Model> {
    let queued = outbox_message::Model {
        id: crate::services::new_id(),
        kind: message.kind.to_string(),
        org_id: message.org_id.map(str::to_string),
        recipient: message.recipient.to_string(),
        subject: message.subject.to_string(),
        body_text: message.body_text,
        body_html: message.body_html,
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        locked_until: 0,
        last_error: None,
        sent_at: None,
    };
    // Without RETURNING: account mail is written from anywhere but read
    // back only by the mail worker (row-level security on PostgreSQL).
    outbox_message::Entity::insert(queued.clone().into_active_model())
        .exec_without_returning(conn)
        .await
        .context("failed to queue a message")?;
    Ok(queued)
}

/// The wait before the next attempt after `attempts` failed ones.
pub fn retry_delay(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(0);
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS)
}

/// Takes a lease on up to `limit` due messages and returns them. The
/// conditions are checked again on the row itself, and PostgreSQL skips
/// rows another instance is claiming, so each message goes to one worker.
pub async fn claim_due(
    db: &Db,
    now: i64,
    limit: u64,
) -> anyhow::Result<Vec<outbox_message::Model>> {
    let backend = db.backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE sent_at IS NULL AND next_attempt_at <= $2 AND locked_until <= $2 \
                 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             AND sent_at IS NULL AND locked_until <= $2 \
             RETURNING *"
        }
        _ => {
            "UPDATE outbox SET locked_until = ?1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE sent_at IS NULL AND next_attempt_at <= ?2 AND locked_until <= ?2 \
                 ORDER BY next_attempt_at LIMIT ?3) \
             AND sent_at IS NULL AND locked_until <= ?2 \
             RETURNING *"
        }
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [(now + LEASE_SECS).into(), now.into(), limit.into()],
    );
    let txn = db.begin_cross_org(CrossOrg::MailWorker).await?;
    let claimed = outbox_message::Model::find_by_statement(statement)
        .all(&txn)
        .await
        .context("failed to claim messages from the outbox")?;
    txn.commit()
        .await
        .context("failed to claim messages from the outbox")?;
    Ok(claimed)
}

/// Records a delivery and forgets the body.
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> anyhow::Result<()> {
    let txn = db.begin_cross_org(CrossOrg::MailWorker).await?;
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::SentAt, now.into())
        .col_expr(
            outbox_message::Column::LastError,
            Option::<String>::None.into(),
        )
        .col_expr(outbox_message::Column::LockedUntil, 0_i64.into())
        .col_expr(outbox_message::Column::BodyText, DELIVERED_BODY.into())
        .col_expr(outbox_message::Column::BodyHtml, DELIVERED_BODY.into())
        .filter(outbox_message::Column::Id.eq(id))
        .exec(&txn)
        .await
        .context("failed to record a delivery")?;
    txn.commit().await.context("failed to record a delivery")?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    db: &Db,
    message: &outbox_message::Model,
    error: &str,
    now: i64,
) -> anyhow::Result<()> {
    let error: String = error.chars().take(500).collect();
    let txn = db.begin_cross_org(CrossOrg::MailWorker).await?;
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::LastError, Some(error).into())
        .col_expr(
            outbox_message::Column::NextAttemptAt,
            (now + retry_delay(message.attempts)).into(),
        )
        .col_expr(outbox_message::Column::LockedUntil, 0_i64.into())
        .filter(outbox_message::Column::Id.eq(message.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to record a failed delivery")?;
    txn.commit()
        .await
        .context("failed to record a failed delivery")?;
    Ok(())
}

/// Hands claimed messages that were not tried back to the outbox (a worker
/// stopping mid-batch), as if never claimed.
pub async fn release(db: &Db, ids: &[&str]) -> anyhow::Result<()> {
    // Here only: its `min` would shadow `Ord::min` in the module.
    use sea_orm::ExprTrait;
    if ids.is_empty() {
        return Ok(());
    }
    let txn = db.begin_cross_org(CrossOrg::MailWorker).await?;
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::LockedUntil, 0_i64.into())
        .col_expr(
            outbox_message::Column::Attempts,
            Expr::col(outbox_message::Column::Attempts).sub(1),
        )
        .filter(outbox_message::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox_message::Column::SentAt.is_null())
        .exec(&txn)
        .await
        .context("failed to hand messages back to the outbox")?;
    txn.commit()
        .await
        .context("failed to hand messages back to the outbox")?;
    Ok(())
}

/// The organization's invitation messages, newest first, for the Mailbox
/// page.
pub async fn of_org(
    db: &Db,
    org_id: &str,
    limit: u64,
) -> anyhow::Result<Vec<outbox_message::Model>> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::OrgId.eq(org_id))
        .filter(outbox_message::Column::Kind.eq(crate::mail::templates::INVITATION_KIND))
        .order_by_desc(outbox_message::Column::CreatedAt)
        .order_by_desc(outbox_message::Column::Id)
        .limit(limit)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read the mailbox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), 30);
        assert_eq!(retry_delay(2), 60);
        assert_eq!(retry_delay(3), 120);
        assert_eq!(retry_delay(8), 3600);
        assert_eq!(retry_delay(1000), 3600);
        assert_eq!(retry_delay(0), 30);
    }
}
