//! How many requests each signed-in person has running at once. One
//! person's burst (many tabs, a script, a held-down key) must not take the
//! database and the threads from everyone else, so each person has a few
//! places: a request that finds them all taken is answered at once with
//! 429 and `Retry-After` instead of waiting. Waiting would keep the burst's
//! connections open and queue work that the person no longer waits for;
//! refusing costs nothing, and an ordinary page with its htmx requests
//! needs fewer places than [`PER_PERSON`].
//!
//! The count is per Roster instance: several instances each allow as many.
//! The same counter, keyed by client address, bounds the password checks
//! one address may have in flight (`web::password_slot`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Requests one person may have running at once on one instance, unless
/// the operator sets `ROSTER_REQUESTS_PER_PERSON`.
pub const PER_PERSON: usize = 4;

/// The running requests per person.
#[derive(Clone, Debug)]
pub struct InFlight {
    limit: usize,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl InFlight {
    /// At most `limit` requests per person (at least one).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        InFlight {
            limit,
            running: Arc::default(),
        }
    }

    /// A place for one more request of `user_id`, held until the returned
    /// slot is dropped; `None` when all their places are taken.
    pub fn try_enter(&self, user_id: &str) -> Option<Slot> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let count = running.entry(user_id.to_string()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            key: user_id.to_string(),
            running: Arc::clone(&self.running),
        })
    }

    /// How many requests of `user_id` are running.
    pub fn running(&self, user_id: &str) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user_id)
            .copied()
            .unwrap_or(0)
    }
}

/// One running request's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    key: String,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_gets_their_places_and_no_more_and_others_keep_theirs() {
        let in_flight = InFlight::new(2);
        let first = in_flight.try_enter("ann");
        let second = in_flight.try_enter("ann");
        assert!(first.is_some() && second.is_some());
        assert!(in_flight.try_enter("ann").is_none());
        assert!(in_flight.try_enter("bob").is_some());
        drop(first);
        assert_eq!(in_flight.running("ann"), 1);
        let third = in_flight.try_enter("ann");
        assert!(third.is_some());
        drop((second, third));
        assert_eq!(in_flight.running("ann"), 0);
        assert!(in_flight.running.lock().unwrap().is_empty(), "no leftovers");
    }
}
