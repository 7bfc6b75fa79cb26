//! Failed sign-in throttling per account and per client address. Counts
//! live in the database so several Roster instances share them.

use anyhow::Context;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use crate::db::Db;
use crate::entities::sign_in_failure;

/// How far back failures count.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one account (existing or not) within the window.
pub const ACCOUNT_LIMIT: u64 = 10;
/// Failures from one client address within the window.
pub const ADDRESS_LIMIT: u64 = 50;

pub fn account_bucket(normalized_email: &str) -> String {
    format!("account:{normalized_email}")
}

pub fn address_bucket(address: &str) -> String {
    format!("address:{address}")
}

async fn recent_failures<C: ConnectionTrait>(
    conn: &C,
    bucket: &str,
    now: i64,
) -> anyhow::Result<u64> {
    sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::Bucket.eq(bucket))
        .filter(sign_in_failure::Column::FailedAt.gt(now - WINDOW_SECS))
        .count(conn)
        .await
        .context("failed to count recent sign-in failures")
}

/// Whether either bucket has reached its limit.
pub async fn is_limited(
    db: &Db,
    account: &str,
    address: Option<&str>,
    now: i64,
) -> anyhow::Result<bool> {
    if recent_failures(db.read(), &account_bucket(account), now).await? >= ACCOUNT_LIMIT {
        return Ok(true);
    }
    if let Some(address) = address
        && recent_failures(db.read(), &address_bucket(address), now).await? >= ADDRESS_LIMIT
    {
        return Ok(true);
    }
    Ok(false)
}

/// Counts one failure against the account and the address, and forgets
/// failures older than the window for those buckets.
pub async fn record_failure(
    db: &Db,
    account: &str,
    address: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let txn = db
        .begin_write()
        .await
        .context("failed to begin a transaction")?;
    let mut buckets = vec![account_bucket(account)];
    if let Some(address) = address {
        buckets.push(address_bucket(address));
    }
    for bucket in &buckets {
        sign_in_failure::Entity::delete_many()
            .filter(sign_in_failure::Column::Bucket.eq(bucket.as_str()))
            .filter(sign_in_failure::Column::FailedAt.lte(now - WINDOW_SECS))
            .exec(&txn)
            .await
            .context("failed to forget old sign-in failures")?;
        sign_in_failure::ActiveModel {
            id: Set(super::new_id()),
            bucket: Set(bucket.clone()),
            failed_at: Set(now),
        }
        .insert(&txn)
        .await
        .context("failed to record a sign-in failure")?;
    }
    txn.commit()
        .await
        .context("failed to commit sign-in failures")?;
    Ok(())
}

/// Forgets an account's failures after a successful sign-in.
pub async fn clear_account(db: &Db, account: &str) -> anyhow::Result<()> {
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::Bucket.eq(account_bucket(account)))
        .exec(db.write())
        .await
        .context("failed to clear sign-in failures")?;
    Ok(())
}
