//! Throttling of password checks (sign-in and the re-checks before a
//! password change, an ownership transfer or deleting an organization) per
//! account and per client address, and of password-reset requests per
//! client address. Counts live in the database so several Roster instances
//! share them.
//!
//! An attempt is *reserved* before the password is checked: its rows are
//! committed first and counted afterwards, so of any number of simultaneous
//! attempts at most the limit see a count within it (the k-th to commit
//! counts at least k rows), on every backend and across instances. A
//! refused attempt takes its rows back; a failed one leaves them as the
//! record of the failure; a successful one clears them.

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
/// Password-reset requests from one client address within the window,
/// whatever accounts they name.
pub const RESET_ADDRESS_LIMIT: u64 = 20;

pub fn account_bucket(normalized_email: &str) -> String {
    format!("account:{normalized_email}")
}

pub fn address_bucket(address: &str) -> String {
    format!("address:{address}")
}

fn reset_bucket(address: &str) -> String {
    format!("reset-address:{address}")
}

/// A password check allowed to go ahead; its rows already count against
/// the limits until [`succeeded`] clears them.
#[derive(Debug)]
pub struct Reservation {
    account: String,
    /// The rows reserved, one per bucket.
    row_ids: Vec<String>,
}

async fn recent<C: ConnectionTrait>(conn: &C, bucket: &str, now: i64) -> anyhow::Result<u64> {
    sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::Bucket.eq(bucket))
        .filter(sign_in_failure::Column::FailedAt.gt(now - WINDOW_SECS))
        .count(conn)
        .await
        .context("failed to count recent attempts")
}

/// Commits one row per bucket (forgetting the buckets' rows older than the
/// window); returns the new rows' ids.
async fn insert_rows(db: &Db, buckets: &[String], now: i64) -> anyhow::Result<Vec<String>> {
    let txn = db
        .begin_accounts_write()
        .await
        .context("failed to begin a transaction")?;
    let mut ids = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        sign_in_failure::Entity::delete_many()
            .filter(sign_in_failure::Column::Bucket.eq(bucket.as_str()))
            .filter(sign_in_failure::Column::FailedAt.lte(now - WINDOW_SECS))
            .exec(&txn)
            .await
            .context("failed to forget old attempts")?;
        let id = super::new_id();
        sign_in_failure::ActiveModel {
            id: Set(id.clone()),
            bucket: Set(bucket.clone()),
            failed_at: Set(now),
        }
        .insert(&txn)
        .await
        .context("failed to record an attempt")?;
        ids.push(id);
    }
    txn.commit().await.context("failed to commit an attempt")?;
    Ok(ids)
}

async fn delete_rows(db: &Db, ids: &[String]) -> anyhow::Result<()> {
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::Id.is_in(ids.iter().map(String::as_str)))
        .exec(db.accounts_write())
        .await
        .context("failed to take back an attempt")?;
    Ok(())
}

/// Reserves a password check for `account` from `address`; `None` when
/// either has reached its limit (and then nothing stays counted).
pub async fn reserve(
    db: &Db,
    account: &str,
    address: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<Reservation>> {
    let mut limits = vec![(account_bucket(account), ACCOUNT_LIMIT)];
    if let Some(address) = address {
        limits.push((address_bucket(address), ADDRESS_LIMIT));
    }
    let buckets: Vec<String> = limits.iter().map(|(b, _)| b.clone()).collect();
    let row_ids = insert_rows(db, &buckets, now).await?;
    for (bucket, limit) in &limits {
        // Read on the write pool: the rows just committed must be seen.
        if recent(db.accounts_write(), bucket, now).await? > *limit {
            delete_rows(db, &row_ids).await?;
            return Ok(None);
        }
    }
    Ok(Some(Reservation {
        account: account.to_string(),
        row_ids,
    }))
}

/// The password matched: the attempt was no failure, and the account's
/// earlier failures are forgotten.
pub async fn succeeded(db: &Db, reservation: Reservation) -> anyhow::Result<()> {
    delete_rows(db, &reservation.row_ids).await?;
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::Bucket.eq(account_bucket(&reservation.account)))
        .exec(db.accounts_write())
        .await
        .context("failed to clear sign-in failures")?;
    Ok(())
}

/// The password matched but a second factor is still to come: the attempt
/// was no failure, and the account's earlier failures still count.
pub async fn took_back(db: &Db, reservation: Reservation) -> anyhow::Result<()> {
    delete_rows(db, &reservation.row_ids).await
}

/// The password did not match: the reserved rows stay as the failure.
pub fn failed(reservation: Reservation) {
    drop(reservation);
}

/// Counts one password-reset request from `address`; `false` when the
/// address has reached its limit (the refused request is not counted).
pub async fn allow_reset_request(db: &Db, address: Option<&str>, now: i64) -> anyhow::Result<bool> {
    let Some(address) = address else {
        return Ok(true);
    };
    let bucket = reset_bucket(address);
    let ids = insert_rows(db, std::slice::from_ref(&bucket), now).await?;
    if recent(db.accounts_write(), &bucket, now).await? > RESET_ADDRESS_LIMIT {
        delete_rows(db, &ids).await?;
        return Ok(false);
    }
    Ok(true)
}
