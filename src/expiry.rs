//! Expiry: TTL with jitter, stale windows, and the expiry index.
//!
//! An entry set at `t` with effective TTL `d` is fresh while `now < t + d`.
//! After that it stays readable *as stale* for its grace (the larger of its
//! stale-while-revalidate and stale-if-error windows), and from
//! `dead_at = t + d + grace` on it is garbage.
//!
//! Entries with a TTL sit in a 4-ary min-heap ordered by `dead_at`. The heap
//! gives three things at once without ever scanning the cache: bounded active
//! expiry (pop while the top is dead, a few per call), the exact
//! soonest-expiring victim for `volatile-ttl`, and the set of volatile
//! entries. Its operations are O(log n) in the number of TTL entries
//! (a timer wheel would be O(1) but cannot name the soonest entry exactly,
//! which `volatile-ttl` promises). Entries without a TTL cost nothing here.

use crate::error::CacheError;
use crate::rng::Rng;
use crate::store::{Store, NONE};
use alloc::vec::Vec;

/// Largest TTL or stale window accepted, in ms (2⁵³ ms, about 285,000 years).
pub const MAX_TTL_MS: u64 = 1 << 53;

/// Extra bytes charged for an entry that has a TTL (its heap node, with the
/// heap's spare capacity).
pub const TTL_OVERHEAD: usize = 24;

/// Draws the effective TTL: uniform over the whole milliseconds in
/// `[ttl·(1−jitter), ttl]`. Jitter only shortens, so `ttl` stays the bound on
/// a value's age.
pub fn jittered_ttl(ttl_ms: u64, jitter: f64, rng: &mut Rng) -> u64 {
    if jitter <= 0.0 || ttl_ms == 0 {
        return ttl_ms;
    }
    let spread = (ttl_ms as f64 * jitter) as u64; // floor
    ttl_ms - rng.below(spread + 1).min(spread)
}

#[derive(Clone, Copy, Debug)]
struct Node {
    dead_at: u64,
    grace: u64,
    slot: u32,
}

impl Node {
    fn expires_at(&self) -> u64 {
        self.dead_at.saturating_sub(self.grace)
    }
}

/// The expiry heap of entries with a TTL.
#[derive(Default)]
pub(crate) struct ExpiryHeap {
    nodes: Vec<Node>,
}

const ARITY: usize = 4;

impl ExpiryHeap {
    #[cfg(any(test, feature = "std"))]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `(expires_at, dead_at)` of the entry at heap position `pos`.
    pub fn times(&self, pos: u32) -> Option<(u64, u64)> {
        self.nodes
            .get(pos as usize)
            .map(|n| (n.expires_at(), n.dead_at))
    }

    /// The slot whose grace ends first and that moment.
    pub fn top(&self) -> Option<(u32, u64)> {
        self.nodes.first().map(|n| (n.slot, n.dead_at))
    }

    /// Reserves room for one more node.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn reserve(&mut self) -> Result<(), CacheError> {
        if self.nodes.len() >= crate::store::MAX_TTL_ENTRIES {
            return Err(CacheError::AllocFailed);
        }
        self.nodes.try_reserve(1)?;
        Ok(())
    }

    /// Adds `slot` (which must have no TTL yet). Call [`Self::reserve`] first.
    pub fn push(&mut self, store: &mut Store, slot: u32, expires_at: u64, grace: u64) {
        let pos = self.nodes.len();
        self.nodes.push(Node {
            dead_at: expires_at.saturating_add(grace),
            grace,
            slot,
        });
        store.set_ttl_pos(slot, pos as u32);
        self.sift_up(store, pos);
    }

    /// Removes `slot` from the heap if it is there.
    pub fn remove(&mut self, store: &mut Store, slot: u32) {
        let pos = store.at(slot).ttl_pos();
        if pos == NONE {
            return;
        }
        let pos = pos as usize;
        store.set_ttl_pos(slot, NONE);
        let Some(last) = self.nodes.pop() else { return };
        if pos < self.nodes.len() {
            if let Some(n) = self.nodes.get_mut(pos) {
                *n = last;
            }
            store.set_ttl_pos(last.slot, pos as u32);
            self.sift_up(store, pos);
            let now_at = store.at(last.slot).ttl_pos() as usize;
            self.sift_down(store, now_at);
        }
    }

    pub fn clear(&mut self) {
        self.nodes = Vec::new();
    }

    fn key(&self, pos: usize) -> u64 {
        self.nodes.get(pos).map_or(u64::MAX, |n| n.dead_at)
    }

    fn swap(&mut self, store: &mut Store, a: usize, b: usize) {
        self.nodes.swap(a, b);
        if let Some(n) = self.nodes.get(a) {
            store.set_ttl_pos(n.slot, a as u32);
        }
        if let Some(n) = self.nodes.get(b) {
            store.set_ttl_pos(n.slot, b as u32);
        }
    }

    fn sift_up(&mut self, store: &mut Store, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.key(parent) <= self.key(pos) {
                break;
            }
            self.swap(store, parent, pos);
            pos = parent;
        }
    }

    fn sift_down(&mut self, store: &mut Store, mut pos: usize) {
        loop {
            let first = pos * ARITY + 1;
            if first >= self.nodes.len() {
                break;
            }
            let last = (first + ARITY).min(self.nodes.len());
            let mut best = first;
            for c in first + 1..last {
                if self.key(c) < self.key(best) {
                    best = c;
                }
            }
            if self.key(pos) <= self.key(best) {
                break;
            }
            self.swap(store, pos, best);
            pos = best;
        }
    }

    /// Checks heap order and back-pointers.
    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, store: &Store) {
        for (i, n) in self.nodes.iter().enumerate() {
            assert_eq!(store.at(n.slot).ttl_pos() as usize, i, "heap back-pointer");
            assert!(store.at(n.slot).live(), "heap holds a live entry");
            if i > 0 {
                assert!(self.key((i - 1) / ARITY) <= n.dead_at, "heap order");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let mut rng = Rng::new(7);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..10_000 {
            let d = jittered_ttl(1000, 0.2, &mut rng);
            assert!((800..=1000).contains(&d), "{d}");
            seen_low |= d < 820;
            seen_high |= d > 980;
        }
        assert!(seen_low && seen_high);
        assert_eq!(jittered_ttl(1000, 0.0, &mut rng), 1000);
        assert_eq!(jittered_ttl(1, 0.99, &mut rng), 1);
    }
}
