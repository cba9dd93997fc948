//! A bounded pool of reusable evaluation state (prepared Rego engines), so a request takes
//! a ready engine instead of cloning one: cloning a prepared regorus engine copies its
//! interpreter's tables, which cost more than the evaluation of a small template.
//!
//! Invariants: an item is returned only after a normal evaluation (an item whose evaluation
//! panicked is dropped with the unwinding stack); the pool keeps at most `max` idle items,
//! so memory stays bounded by the peak concurrency, never by the request count.

use std::sync::Mutex;

/// Idle items, taken by one evaluation at a time.
pub(crate) struct Pool<T> {
    idle: Mutex<Vec<T>>,
    max: usize,
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.idle_count())
            .field("max", &self.max)
            .finish()
    }
}

impl<T> Pool<T> {
    /// A pool keeping at most `max` idle items.
    pub(crate) fn new(max: usize) -> Pool<T> {
        Pool {
            idle: Mutex::new(Vec::new()),
            max,
        }
    }

    /// A pool sized for the machine: two idle items per available core (at least 4, at
    /// most 256), enough for every evaluation thread to find one.
    pub(crate) fn for_threads() -> Pool<T> {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        Pool::new((cores * 2).clamp(4, 256))
    }

    /// An idle item, or a new one from `make` when none is idle.
    pub(crate) fn take(&self, make: impl FnOnce() -> T) -> T {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        idle.unwrap_or_else(make)
    }

    /// Returns an item for reuse; dropped when the pool is full.
    pub(crate) fn give(&self, item: T) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max {
            idle.push(item);
        }
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_stays_bounded() {
        let pool = Pool::new(2);
        let mut made = 0;
        let a = pool.take(|| {
            made += 1;
            made
        });
        assert_eq!(a, 1);
        pool.give(a);
        let b = pool.take(|| 99);
        assert_eq!(b, 1, "the idle item is reused");
        pool.give(10);
        pool.give(11);
        pool.give(12);
        assert_eq!(pool.idle_count(), 2, "no more than max idle items");
    }
}
