//! The keys S3-FIFO recently evicted from its small queue, as 32-bit
//! fingerprints in FIFO order (the paper's "ghost" queue): a key that comes
//! back while it is remembered skips the small queue and goes straight to
//! the main one.
//!
//! A FIFO of `(fingerprint, weight)` bounded in weight and count, plus a
//! table from fingerprint to the sequence number of its newest copy, so both
//! the membership test and the removal of the oldest are O(1). A fingerprint
//! taken back out of the table leaves its FIFO slot behind until that slot
//! reaches the head (it still counts toward the bound until then: the queue
//! remembers slightly fewer keys, never more memory).
//!
//! Allocation failure only makes the queue forget: it is a hint, not state.

use crate::rng::GOLDEN_RATIO;
use alloc::collections::VecDeque;
use hashbrown::HashTable;

pub(crate) struct EvictedKeys {
    order: VecDeque<(u32, u32)>,
    /// Fingerprint → sequence number of its newest copy, truncated to 32 bits
    /// (the queue never holds 2³² copies, so the truncation cannot alias).
    newest: HashTable<(u32, u32)>,
    /// Sequence number of `order`'s front.
    head_seq: u64,
    bytes: u64,
    max_bytes: f64,
}

fn table_hash(fp: u32) -> u64 {
    u64::from(fp).wrapping_mul(GOLDEN_RATIO)
}

impl EvictedKeys {
    /// A queue that remembers up to `max_bytes` of weight; its bound in keys
    /// comes with each [`remember`](EvictedKeys::remember).
    pub fn new(max_bytes: f64) -> EvictedKeys {
        EvictedKeys {
            order: VecDeque::new(),
            newest: HashTable::new(),
            head_seq: 0,
            bytes: 0,
            max_bytes,
        }
    }

    fn over(&self, max_entries: f64) -> bool {
        self.bytes as f64 > self.max_bytes || self.order.len() as f64 > max_entries
    }

    /// Remembers a key that was just evicted, then forgets the oldest while
    /// the queue holds more than `max_entries` keys (or its weight bound).
    pub fn remember(&mut self, fp: u32, weight: u64, max_entries: f64) {
        if self.order.try_reserve(1).is_err()
            || self.newest.try_reserve(1, |&(f, _)| table_hash(f)).is_err()
        {
            return;
        }
        let seq = (self.head_seq + self.order.len() as u64) as u32;
        let w = weight.min(u64::from(u32::MAX)) as u32;
        self.order.push_back((fp, w));
        self.bytes += u64::from(w);
        match self.newest.find_mut(table_hash(fp), |&(f, _)| f == fp) {
            Some(slot) => slot.1 = seq,
            None => {
                self.newest
                    .insert_unique(table_hash(fp), (fp, seq), |&(f, _)| table_hash(f));
            }
        }
        while self.over(max_entries) {
            let Some((old, w)) = self.order.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(u64::from(w));
            if let Ok(entry) = self.newest.find_entry(table_hash(old), |&(f, s)| {
                f == old && s == self.head_seq as u32
            }) {
                entry.remove();
            }
            self.head_seq += 1;
        }
    }

    /// Whether `fp` is remembered; forgets it if so (it is being readmitted).
    pub fn take(&mut self, fp: u32) -> bool {
        match self.newest.find_entry(table_hash(fp), |&(f, _)| f == fp) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.newest.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_the_bound_and_forgets_the_oldest() {
        let mut q = EvictedKeys::new(1e9);
        for fp in 1..=4 {
            q.remember(fp, 10, 3.0);
        }
        assert_eq!(q.len(), 3);
        assert!(!q.take(1), "the oldest was pushed out");
        assert!(q.take(2));
        assert!(!q.take(2), "taking forgets");
        assert!(q.take(4));
    }

    #[test]
    fn the_weight_bound_holds() {
        let mut q = EvictedKeys::new(25.0);
        q.remember(1, 10, 1e9);
        q.remember(2, 10, 1e9);
        q.remember(3, 10, 1e9);
        assert!(!q.take(1));
        assert!(q.take(2) && q.take(3));
    }

    #[test]
    fn a_lower_count_bound_forgets_the_oldest_at_once() {
        let mut q = EvictedKeys::new(1e9);
        for fp in 1..=10 {
            q.remember(fp, 1, 100.0);
        }
        q.remember(11, 1, 2.0);
        assert_eq!(q.len(), 2);
        assert!(q.take(10) && q.take(11));
    }

    #[test]
    fn a_key_remembered_twice_survives_its_older_copy() {
        let mut q = EvictedKeys::new(1e9);
        q.remember(7, 1, 2.0);
        q.remember(7, 1, 2.0);
        q.remember(8, 1, 2.0); // pushes out the older copy of 7 only
        assert!(q.take(7));
        assert!(q.take(8));
    }
}
