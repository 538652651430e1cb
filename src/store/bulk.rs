//! Bulk inserts (a snapshot's load into an empty cache): entries are stored
//! first and indexed afterwards, in batches ordered by where their keys go
//! in the index.
//!
//! Inserted one by one in the snapshot's order, each key goes to a random
//! bucket of an index far larger than the CPU's caches: a cache miss per
//! key, most of a load's time. Ordered by bucket, a batch fills the index's
//! memory front to back: each stretch of it is read once, as a stream the
//! hardware prefetches, and the keys that go there find it in the cache.
//! The order comes from one counting-sort pass into [`GROUPS`] groups of
//! consecutive buckets (each group's buckets fit in the L1 cache), so it
//! costs two reads of the batch, not a full sort.

use super::{
    record_len, Records, Store, INDEX_OVERHEAD, LIVE, NEXT, POS_MASK, PREV, RECORD_META, SHARDS,
    STATE, TRACKED,
};
use crate::error::CacheError;
use crate::runs::RUN;
use alloc::vec::Vec;

/// Groups of consecutive buckets a batch is ordered into: 1.87 M entries
/// take about 210,000 buckets (13 MiB), so a group spans about 200 buckets
/// (13 KiB).
const GROUPS: usize = 1024;

/// Batches smaller than this are indexed in their own order: their keys
/// are too few to share index lines.
const MIN_ORDERED: usize = 4 * GROUPS;

/// A stored entry waiting for its index slot: its key's hash and its slot.
pub(crate) type Unindexed = (u64, u32);

impl Store {
    /// Whether records carry the `meta` word (which charge of a
    /// [`crate::snapshot::PlainTotals`] applies).
    pub fn has_meta(&self) -> bool {
        self.meta
    }

    /// Stores a new entry without indexing it: [`Store::index_bulk`] must
    /// index it (or the caller remove it) before anything looks keys up or
    /// removes entries. The store counts it at once.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] when the arena cannot grow; nothing is
    /// changed then.
    pub fn insert_unindexed(
        &mut self,
        key: &[u8],
        value_len: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<u32, CacheError> {
        let slot = self.alloc_live(key, value_len, fill)?;
        self.len += 1;
        Ok(slot)
    }

    /// [`Store::insert_unindexed`] for a short entry (see
    /// [`crate::arena::Arena::append_short`]) whose record is known up
    /// front: links `link` (previous, next), live, no heap position, and
    /// `tracked` as given; its record is written with its key and value in
    /// one pass. Returns its slot and its charge ([`Store::charge`]), or
    /// `None` (nothing stored) for an entry that is not short.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] when the arena cannot grow; nothing is
    /// changed then.
    #[inline]
    pub fn append_short(
        &mut self,
        key: &[u8],
        value: &[u8],
        link: [u32; 2],
        tracked: bool,
    ) -> Result<Option<(u32, usize)>, CacheError> {
        let Records::Arena(arena) = &mut self.records else {
            return Ok(None);
        };
        // PREV, NEXT, STATE, then META (zero) when records have it.
        let state = LIVE | POS_MASK | if tracked { TRACKED } else { 0 };
        let mut record = [0u8; RECORD_META];
        for (at, word) in [(PREV, link[0]), (NEXT, link[1]), (STATE, state)] {
            if let Some(b) = record.get_mut(at..at + 4) {
                b.copy_from_slice(&word.to_le_bytes());
            }
        }
        let record = record.get(..record_len(self.meta)).unwrap_or(&[]);
        let Some((slot, size)) = arena.append_short(record, key, value)? else {
            return Ok(None);
        };
        self.len += 1;
        Ok(Some((slot, size + INDEX_OVERHEAD)))
    }

    /// Indexes entries stored by [`Store::insert_unindexed`], ordered by
    /// bucket (through `sorted`, a buffer kept between batches; in the
    /// given order when it cannot be allocated). An entry whose key the
    /// index holds already (the first of two equal keys wins), or that
    /// comes after a table failed to grow, is left out: the slots left out
    /// are written to the front of `pending`, and their count returned, for
    /// the caller to remove (before anything else, as [`Store::remove`]
    /// finds no index place for them and frees just their chunks).
    pub fn index_bulk(
        &mut self,
        pending: &mut [Unindexed],
        sorted: &mut Vec<Unindexed>,
    ) -> (usize, Result<(), CacheError>) {
        let by_bucket = self.order_by_bucket(pending, sorted);
        let mut left_out = 0;
        let mut result = Ok(());
        let mut at = 0;
        while at < pending.len() {
            let end = (at + RUN).min(pending.len());
            let source = if by_bucket { Some(&sorted[..]) } else { None };
            self.index_run(pending, source, at..end, &mut left_out, &mut result);
            at = end;
        }
        (left_out, result)
    }

    /// Indexes the entries at `range` of `source` (of `pending` when
    /// `None`), one run ([`crate::runs`]) of [`Store::index_bulk`]: those
    /// left out go to `pending` at `left_out` on.
    #[inline(never)]
    fn index_run(
        &mut self,
        pending: &mut [Unindexed],
        source: Option<&[Unindexed]>,
        range: core::ops::Range<usize>,
        left_out: &mut usize,
        result: &mut Result<(), CacheError>,
    ) {
        for i in range {
            let next = match source {
                Some(sorted) => sorted.get(i),
                None => pending.get(i),
            };
            let Some(&(hash, slot)) = next else {
                break;
            };
            let indexed = result.is_ok()
                && match self.index_one(hash, slot) {
                    Ok(indexed) => indexed,
                    Err(e) => {
                        *result = Err(e);
                        false
                    }
                };
            if !indexed {
                // In place: at most `i` slots were left out before this one.
                if let Some(p) = pending.get_mut(*left_out) {
                    *p = (hash, slot);
                }
                *left_out += 1;
            }
        }
    }

    /// Indexes one stored entry unless its key is indexed already.
    #[inline]
    fn index_one(&mut self, hash: u64, slot: u32) -> Result<bool, CacheError> {
        let i = self.shard_index(hash);
        let (records, hasher) = (&self.records, &self.hasher);
        let Some(table) = self.index.get_mut(i) else {
            return Err(CacheError::AllocFailed);
        };
        // The key is read only on a tag match: a duplicate is rare.
        if table
            .find(hash, |s| records.key(s) == records.key(slot))
            .is_some()
        {
            return Ok(false);
        }
        table.reserve_one(|s| hasher.hash(records.key(s)))?;
        table.insert(hash, slot);
        Ok(true)
    }

    /// Writes `pending` to `sorted` grouped by where their home buckets lie
    /// in the index (the shards' tables one after the other), keeping their
    /// order within a group; false (and `sorted` unusable) when the batch
    /// is small or the buffer cannot be had.
    fn order_by_bucket(&self, pending: &[Unindexed], sorted: &mut Vec<Unindexed>) -> bool {
        if self.index.len() != SHARDS || pending.len() < MIN_ORDERED {
            return false;
        }
        sorted.clear();
        if sorted.try_reserve_exact(pending.len()).is_err() {
            return false;
        }
        sorted.resize(pending.len(), (0, 0));
        let mut first = [0u64; SHARDS];
        let mut total = 0u64;
        for (f, table) in first.iter_mut().zip(&self.index) {
            *f = total;
            total += table.bucket_count() as u64;
        }
        if total == 0 || total >= 1 << 32 {
            return false;
        }
        // bucket · GROUPS / total, as a multiply (a division per key costs
        // more than the rest of its grouping).
        let groups = Groups {
            first,
            scale: ((GROUPS as u64) << 32) / total,
        };
        let mut start = [0usize; GROUPS + 1];
        for run in pending.chunks(RUN) {
            self.count_run(&groups, run, &mut start);
        }
        for g in 1..start.len() {
            let before = start.get(g - 1).copied().unwrap_or(0);
            if let Some(n) = start.get_mut(g) {
                *n += before;
            }
        }
        for run in pending.chunks(RUN) {
            self.scatter_run(&groups, run, &mut start, sorted);
        }
        true
    }

    /// The group of `hash`'s home bucket.
    #[inline]
    fn group(&self, groups: &Groups, hash: u64) -> usize {
        let shard = self.shard_index(hash);
        let (Some(&at), Some(table)) = (groups.first.get(shard), self.index.get(shard)) else {
            return 0;
        };
        let bucket = at + table.home_bucket(hash) as u64;
        ((bucket * groups.scale) >> 32) as usize
    }

    /// Counts `run`'s entries per group in `start` (shifted by one), one
    /// run ([`crate::runs`]) of [`Store::order_by_bucket`].
    #[inline(never)]
    fn count_run(&self, groups: &Groups, run: &[Unindexed], start: &mut [usize; GROUPS + 1]) {
        for &(hash, _) in run {
            if let Some(n) = start.get_mut(self.group(groups, hash) + 1) {
                *n += 1;
            }
        }
    }

    /// Writes `run`'s entries to `sorted` at their group's next place.
    #[inline(never)]
    fn scatter_run(
        &self,
        groups: &Groups,
        run: &[Unindexed],
        start: &mut [usize; GROUPS + 1],
        sorted: &mut [Unindexed],
    ) {
        for &p in run {
            if let Some(at) = start.get_mut(self.group(groups, p.0)) {
                if let Some(dst) = sorted.get_mut(*at) {
                    *dst = p;
                }
                *at += 1;
            }
        }
    }
}

/// Where each shard's buckets start in the index's bucket order, and the
/// factor that maps a bucket there to its group.
struct Groups {
    first: [u64; SHARDS],
    scale: u64,
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use alloc::vec::Vec;

    /// A bulk load into an index reserved ahead for it grows few shards
    /// while it fills (each one grown rehashes all it holds, reading every
    /// key): each shard is reserved for its expected share, which its true
    /// share strays from by little. Reserved at 9/10 of the share, 12 of
    /// the 64 shards grew here.
    #[test]
    fn a_reserved_bulk_load_grows_few_shards() {
        let n = 300_000;
        let mut store = Store::new(1, false);
        store.reserve_entries(n).unwrap();
        let before: Vec<usize> = store.index.iter().map(|t| t.bucket_count()).collect();
        let mut pending = Vec::new();
        for i in 0..n as u64 {
            let mut key = alloc::vec![1u8];
            key.extend_from_slice(&i.to_le_bytes());
            let slot = store.insert_unindexed(&key, 0, &mut |_, _| {}).unwrap();
            pending.push((store.hash(&key), slot));
        }
        let (left_out, result) = store.index_bulk(&mut pending, &mut Vec::new());
        assert_eq!(left_out, 0);
        result.unwrap();
        let grew = store
            .index
            .iter()
            .zip(&before)
            .filter(|(t, &b)| t.bucket_count() != b)
            .count();
        assert!(grew <= 4, "{grew} of 64 shards grew");
        store.validate();
    }
}
