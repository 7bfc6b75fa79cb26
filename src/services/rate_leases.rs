//! The per-key request limit of the API, shared by every instance through
//! the database without a write per request: an instance reserves a lease
//! of requests (a twentieth of the minute's limit) in the key's counter
//! row for the current minute, with one conditional upsert, and spends it
//! in memory. The database's count is what every instance reserved, so the
//! instances together never serve more than the limit in a minute; an
//! instance may hold a few reserved requests unspent when the minute ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Statement};

use crate::db::{Db, Tenant};

const WINDOW_SECS: i64 = 60;
/// How many leases make up a minute's limit.
const LEASES_PER_WINDOW: u64 = 20;

#[derive(Clone, Debug, Default)]
pub struct RateLeases {
    /// Per key: the minute of its lease and the requests left in it.
    leases: Arc<Mutex<HashMap<String, (i64, u64)>>>,
    /// Held while a lease is reserved, so that the requests arriving
    /// together at a minute's start wait for one reservation instead of
    /// each reserving one (and spending the minute's limit unserved).
    reserving: Arc<tokio::sync::Mutex<()>>,
}

impl RateLeases {
    /// Counts one request of `key_id` at `now`; `Err` with the seconds to
    /// wait once the key's minute is spent.
    pub async fn count(
        &self,
        db: &Db,
        tenant: Tenant<'_>,
        key_id: &str,
        now: i64,
        per_minute: u64,
    ) -> anyhow::Result<Result<(), i64>> {
        let window = now - now.rem_euclid(WINDOW_SECS);
        let wait = window + WINDOW_SECS - now;
        if self.spend(key_id, window) {
            return Ok(Ok(()));
        }
        let _reserving = self.reserving.lock().await;
        if self.spend(key_id, window) {
            return Ok(Ok(()));
        }
        let size = (per_minute / LEASES_PER_WINDOW).max(1);
        let granted = reserve(db, tenant, key_id, window, size, per_minute).await?;
        if granted == 0 {
            return Ok(Err(wait));
        }
        let mut leases = self
            .leases
            .lock()
            .map_err(|_| anyhow::anyhow!("rate leases poisoned"))?;
        // Old minutes go; this request takes one of the lease.
        leases.retain(|_, (w, _)| *w == window);
        let left = leases.entry(key_id.to_string()).or_insert((window, 0));
        left.1 += granted - 1;
        Ok(Ok(()))
    }

    /// Spends one request of a lease held for `window`, if any is left.
    fn spend(&self, key_id: &str, window: i64) -> bool {
        let Ok(mut leases) = self.leases.lock() else {
            return false;
        };
        match leases.get_mut(key_id) {
            Some((w, left)) if *w == window && *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

/// Reserves up to `size` requests of the key's minute in the database;
/// returns how many were granted (0 once the minute's limit is reached).
async fn reserve(
    db: &Db,
    tenant: Tenant<'_>,
    key_id: &str,
    window: i64,
    size: u64,
    limit: u64,
) -> anyhow::Result<u64> {
    let backend = db.backend();
    let size_i = i64::try_from(size).unwrap_or(i64::MAX);
    let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
    // The row only grows while it is under the limit; the answer is the
    // count after this reservation (or none, when the limit was reached).
    let sql = "INSERT INTO api_request_counts (key_id, window_start, requests) VALUES ($1, $2, $3) \
               ON CONFLICT (key_id, window_start) DO UPDATE \
               SET requests = api_request_counts.requests + $3 \
               WHERE api_request_counts.requests < $4 RETURNING requests";
    let txn = db.begin_in(tenant).await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [key_id.into(), window.into(), size_i.into(), limit_i.into()],
        ))
        .await
        .context("failed to count a request")?;
    let Some(row) = row else {
        return Ok(0);
    };
    let after: i64 = row
        .try_get_by_index(0)
        .context("failed to read a request count")?;
    if after == size_i {
        // The key's first lease of this minute: its older minutes go.
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "DELETE FROM api_request_counts WHERE key_id = $1 AND window_start < $2",
            [key_id.into(), window.into()],
        ))
        .await
        .context("failed to drop old request counts")?;
    }
    txn.commit().await.context("failed to count a request")?;
    let before = after - size_i;
    let granted = (limit_i - before).clamp(0, size_i);
    Ok(u64::try_from(granted).unwrap_or(0))
}
