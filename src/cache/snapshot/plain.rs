//! A load of a plain snapshot (every entry without TTL, tags, edges or
//! load time) into an empty cache that has room for all of it: no entry is
//! skipped, none needs room made, and each one's charge is the size of the
//! chunk it takes. A short entry (the common one) is written to its arena
//! chunk with its record in one pass, already linked into an LRU list
//! ([`crate::store::Store::append_short`],
//! [`crate::policy::PlainAppend`]); any other goes through
//! [`Cache::restore_unindexed`].

use super::{entry_charge, Batch};
use crate::cache::{Cache, Write};
use crate::error::CacheError;
use crate::policy::PlainAppend;
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::store::NONE;
use crate::SetOptions;

impl Cache {
    /// Stores every entry of `snap` (see the module doc for when this
    /// applies), indexing them in `batch`; returns how many were loaded.
    pub(super) fn load_plain(
        &mut self,
        snap: &Snapshot<'_>,
        now: u64,
        batch: &mut Batch,
    ) -> Result<usize, CacheError> {
        let mut loaded = 0;
        for (key, value) in snap.plain_entries() {
            match self.restore_plain(key, value, now, batch) {
                Ok(()) => loaded += 1,
                Err(err) => {
                    let _ = self.index_batch(batch);
                    return Err(err);
                }
            }
        }
        self.index_batch(batch)?;
        Ok(loaded - batch.left_out)
    }

    /// Stores one entry of a plain snapshot, unindexed (in `batch`).
    fn restore_plain(
        &mut self,
        key: &[u8],
        value: &[u8],
        now: u64,
        batch: &mut Batch,
    ) -> Result<(), CacheError> {
        if batch.pending.len() == batch.pending.capacity() {
            self.index_batch(batch)?;
        }
        let how = self.policy.plain_append();
        let link = match how {
            PlainAppend::Lru { tail } => [tail, NONE],
            PlainAppend::Untracked | PlainAppend::General => [NONE, NONE],
        };
        if how == PlainAppend::General {
            self.policy.reserve()?;
        }
        let tracked = matches!(how, PlainAppend::Lru { .. });
        let hash = self.store.hash(key);
        if let Some((slot, charge)) = self.store.append_short(key, value, link, tracked)? {
            let charge = charge as u64;
            batch.pending.push((hash, slot));
            self.bytes += charge;
            match how {
                PlainAppend::Lru { .. } => {
                    self.policy.appended_to_lru(&mut self.store, slot, charge);
                }
                PlainAppend::General => {
                    self.policy
                        .insert(&mut self.store, slot, hash, charge, now, &mut self.rng);
                }
                PlainAppend::Untracked => {}
            }
            return Ok(());
        }
        let e = SnapshotEntry::plain(key, value);
        let (charge, extra_charge) = entry_charge(self, &e);
        let opts = SetOptions::default();
        let w = Write {
            ttl: 0,
            grace: 0,
            charge,
            extra_charge,
        };
        match self.restore_unindexed(&e, &w, &opts, now, batch)? {
            true => Ok(()),
            false => Err(CacheError::Internal("a plain load's entry was not stored")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Policy};
    use crate::key::Key;
    use crate::{Cache, SetOptions};
    use alloc::format;
    use alloc::vec::Vec;

    fn k(i: usize) -> Vec<u8> {
        Key::Str(&format!("k{i:05}")).to_bytes()
    }

    fn cache(policy: Policy, max_bytes: usize) -> Cache {
        let config = Config {
            policy,
            max_bytes,
            ..Config::default()
        };
        Cache::new(config, 3).unwrap()
    }

    /// Short entries and longer ones (a long header, blocks) of a plain
    /// snapshot load as sets would store them, under every policy: the same
    /// charges, a consistent store, the same order (a dump of the copy is
    /// the original under LRU), and eviction takes the least recently used
    /// first.
    #[test]
    fn a_plain_load_stores_and_links_as_sets_do() {
        let n = 7_000;
        for policy in Policy::ALL {
            let mut a = cache(policy, 1 << 26);
            for i in 0..n {
                let len = if i % 500 == 7 {
                    9_000 + i
                } else if i % 10 == 3 {
                    300 + i % 700
                } else {
                    i % 40
                };
                let value: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
                a.set(&k(i), &value, &SetOptions::default(), 0).unwrap();
            }
            for i in (0..n).step_by(13) {
                let _ = a.get(&k(i), 0, false);
            }
            let bytes = a.dump(0, "bytes", &[]).unwrap();
            assert!(crate::Snapshot::parse(&bytes)
                .unwrap()
                .plain_totals()
                .is_some());
            let mut b = cache(policy, 1 << 26);
            assert_eq!(b.load(&bytes, 0).unwrap(), n, "{policy:?}");
            b.validate();
            assert_eq!(b.bytes(), a.bytes(), "{policy:?}: the same charges");
            for i in (0..n).step_by(11) {
                assert_eq!(b.probe(&k(i), 0), a.probe(&k(i), 0), "{policy:?} {i}");
            }
            if matches!(policy, Policy::AllKeysLru) {
                assert!(b.dump(0, "bytes", &[]).unwrap() == bytes, "the same order");
                // Exactly full: the next set evicts the snapshot's first
                // entries (k00001 on: k00000 was read after the sets).
                let mut c = cache(policy, b.bytes() as usize);
                assert_eq!(c.load(&bytes, 0).unwrap(), n);
                c.set(&k(n), b"new", &SetOptions::default(), 0).unwrap();
                assert!(!c.has(&k(1), 0) && c.has(&k(0), 0) && c.has(&k(n), 0));
                c.validate();
            }
        }
    }
}
