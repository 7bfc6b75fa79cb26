//! The time source. Production reads the system clock; tests move it
//! forward to exercise timeouts and expiry without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
    /// When non-zero, the time stands still here (plus the offset).
    frozen_at: Arc<AtomicI64>,
}

impl Clock {
    /// Unix time in seconds.
    pub fn now(&self) -> i64 {
        let frozen = self.frozen_at.load(Ordering::Relaxed);
        if frozen != 0 {
            return frozen + self.offset_secs.load(Ordering::Relaxed);
        }
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        system + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Stops this clock (and every copy of it) at the current second, so
    /// that a test can step to an exact boundary.
    pub fn freeze(&self) {
        let now = self.now();
        self.offset_secs.store(0, Ordering::Relaxed);
        self.frozen_at.store(now, Ordering::Relaxed);
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
