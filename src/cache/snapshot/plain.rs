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
use crate::runs::RUN;
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::store::NONE;
use crate::{PlainTotals, SetOptions};

/// A load of a plain snapshot read in pieces
/// ([`crate::snapshot_stream::PlainStream`]), between
/// [`Cache::begin_plain_load`] and [`Cache::end_plain_load`].
#[derive(Default)]
pub struct PlainLoad {
    batch: Batch,
    loaded: usize,
}

impl Cache {
    /// Readies a load of a checked plain snapshot of `entries` entries
    /// whose charges are `totals`, when it goes the plain way (an empty
    /// cache with room for all of it; see the module doc): takes the
    /// memory and index room it needs. `None` (nothing stored) otherwise:
    /// load it through [`Cache::load_snapshot`].
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn begin_plain_load(
        &mut self,
        totals: &PlainTotals,
        entries: u64,
        now: u64,
    ) -> Result<Option<PlainLoad>, CacheError> {
        self.maintain(now);
        let max_bytes = self.config.max_bytes as u64;
        let meta = usize::from(self.store.has_meta());
        let need = totals.charge.get(meta).copied().unwrap_or(u64::MAX);
        let fits = totals.max_part <= crate::cache::MAX_PART_LEN
            && totals.max_charge.get(meta).is_some_and(|&c| c <= max_bytes)
            && need <= max_bytes.saturating_sub(self.bytes);
        let entries = usize::try_from(entries).unwrap_or(usize::MAX);
        let room = self.config.max_entries == 0 || entries <= self.config.max_entries;
        if !self.is_empty() || !fits || !room {
            return Ok(None);
        }
        let mut load = PlainLoad::default();
        if !self.reserve_load(need, entries, true, &mut load.batch)? {
            return Ok(None);
        }
        Ok(Some(load))
    }

    /// Stores one entry of the load `load` (the snapshot's entries in
    /// order, each once).
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]: end the load ([`Cache::end_plain_load`])
    /// to keep the entries stored so far.
    #[inline]
    pub fn plain_load_entry(
        &mut self,
        load: &mut PlainLoad,
        key: &[u8],
        value: &[u8],
        now: u64,
    ) -> Result<(), CacheError> {
        self.restore_plain(key, value, now, &mut load.batch)?;
        load.loaded += 1;
        Ok(())
    }

    /// Indexes what the load stored; returns how many entries it loaded.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn end_plain_load(&mut self, mut load: PlainLoad) -> Result<usize, CacheError> {
        self.index_batch(&mut load.batch)?;
        Ok(load.loaded - load.batch.left_out)
    }

    /// Stores every entry of `snap` (see the module doc for when this
    /// applies), indexing them in `batch`; returns how many were loaded.
    pub(super) fn load_plain(
        &mut self,
        snap: &Snapshot<'_>,
        now: u64,
        batch: &mut Batch,
    ) -> Result<usize, CacheError> {
        let mut loaded = 0;
        let mut entries = snap.plain_entries();
        loop {
            match self.load_plain_run(&mut entries, now, batch) {
                Ok(0) => break,
                Ok(n) => loaded += n,
                Err(err) => {
                    let _ = self.index_batch(batch);
                    return Err(err);
                }
            }
        }
        self.index_batch(batch)?;
        Ok(loaded - batch.left_out)
    }

    /// Stores the next [`RUN`] entries (or what is left), one run
    /// ([`crate::runs`]); returns how many.
    #[inline(never)]
    fn load_plain_run<'k>(
        &mut self,
        entries: &mut impl Iterator<Item = (&'k [u8], &'k [u8])>,
        now: u64,
        batch: &mut Batch,
    ) -> Result<usize, CacheError> {
        let mut stored = 0;
        for (key, value) in entries.take(RUN) {
            self.restore_plain(key, value, now, batch)?;
            stored += 1;
        }
        Ok(stored)
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

#[cfg(test)]
mod attacks {
    use crate::config::{Config, Policy};
    use crate::key::Key;
    use crate::{Cache, SetOptions};
    use alloc::format;
    use alloc::vec::Vec;

    fn cache(policy: Policy, max_bytes: usize, max_entries: usize) -> Cache {
        let config = Config {
            policy,
            max_bytes,
            max_entries,
            ..Config::default()
        };
        Cache::new(config, 9).unwrap()
    }

    fn key(s: &str) -> Vec<u8> {
        Key::Str(s).to_bytes()
    }

    /// Entries whose chunks straddle the short/long boundary (254..=258
    /// bytes) load with the charges sets give, read back whole, and once
    /// all deleted leave nothing charged and an arena that takes them again.
    #[test]
    fn boundary_entries_load_as_sets_and_delete_to_zero() {
        for policy in Policy::ALL {
            let mut a = cache(policy, 1 << 24, 0);
            let mut keys = Vec::new();
            for kl in [1usize, 10, 62, 63, 64, 65, 127, 128, 200] {
                for vl in 0..300usize {
                    let kk = key(&"k".repeat(kl));
                    let mut kk2 = kk.clone();
                    kk2.extend_from_slice(format!("{vl}").as_bytes());
                    let v: Vec<u8> = (0..vl).map(|i| (i * 7 + vl) as u8).collect();
                    a.set(&kk2, &v, &SetOptions::default(), 0).unwrap();
                    keys.push((kk2, v));
                }
            }
            let bytes = a.dump(0, "bytes", &[]).unwrap();
            let mut b = cache(policy, 1 << 24, 0);
            assert_eq!(b.load(&bytes, 0).unwrap(), keys.len(), "{policy:?}");
            b.validate();
            assert_eq!(b.bytes(), a.bytes(), "{policy:?}");
            for (k, v) in &keys {
                let got = b.probe(k, 0).map(|(v, _)| v.to_vec());
                assert_eq!(got.as_deref(), Some(&v[..]), "{policy:?}");
            }
            for (k, _) in &keys {
                assert!(b.delete(k, 0));
            }
            b.validate();
            assert_eq!((b.bytes(), b.len()), (0, 0), "{policy:?}");
            assert_eq!(b.load(&bytes, 0).unwrap(), keys.len(), "{policy:?} again");
            b.validate();
            assert_eq!(b.bytes(), a.bytes(), "{policy:?} again");
        }
    }

    /// A plain snapshot with a key twice (checksum recomputed) loads the
    /// key once under every policy, charged once, in several batches.
    #[test]
    fn a_plain_key_twice_loads_once() {
        for policy in Policy::ALL {
            let n = 6_000;
            let mut a = cache(policy, 1 << 24, 0);
            for i in 0..n {
                a.set(
                    &key(&format!("a{i:05}")),
                    b"first",
                    &SetOptions::default(),
                    0,
                )
                .unwrap();
                a.set(
                    &key(&format!("b{i:05}")),
                    b"later",
                    &SetOptions::default(),
                    0,
                )
                .unwrap();
            }
            let mut bytes = a.dump(0, "bytes", &[]).unwrap();
            let start = key("b")[..1].to_vec();
            for at in 0..bytes.len() - 2 {
                if bytes[at] == 7 && bytes[at + 1] == start[0] && bytes[at + 2] == b'b' {
                    bytes[at + 2] = b'a';
                }
            }
            let end = bytes.len() - 8;
            let sum = crate::checksum::checksum(&bytes[..end]);
            bytes[end..].copy_from_slice(&sum.to_le_bytes());
            assert!(crate::Snapshot::parse(&bytes)
                .unwrap()
                .plain_totals()
                .is_some());
            let mut b = cache(policy, 1 << 24, 0);
            assert_eq!(b.load(&bytes, 0).unwrap(), n, "{policy:?}");
            b.validate();
            let mut c = cache(policy, 1 << 24, 0);
            for i in 0..n {
                c.set(
                    &key(&format!("a{i:05}")),
                    b"first",
                    &SetOptions::default(),
                    0,
                )
                .unwrap();
            }
            assert_eq!(b.bytes(), c.bytes(), "{policy:?}");
            for i in 0..n {
                assert!(b.delete(&key(&format!("a{i:05}")), 0));
            }
            assert_eq!((b.bytes(), b.len()), (0, 0), "{policy:?}");
            b.validate();
        }
    }

    /// A plain load into a smaller budget, a capped entry count, a
    /// non-empty cache or another policy keeps the most recent and stays
    /// consistent.
    #[test]
    fn a_plain_load_into_less_room() {
        let n = 12_000;
        let mut a = cache(Policy::AllKeysLru, 1 << 24, 0);
        for i in 0..n {
            let v = alloc::vec![i as u8; i % 300];
            a.set(&key(&format!("k{i:05}")), &v, &SetOptions::default(), 0)
                .unwrap();
        }
        let bytes = a.dump(0, "bytes", &[]).unwrap();
        for policy in Policy::ALL {
            for (max_bytes, max_entries, pre) in [
                (a.bytes() as usize / 3, 0, false),
                (1 << 24, n / 4, false),
                (1 << 24, 0, true),
                (a.bytes() as usize / 2, 0, true),
            ] {
                let mut b = cache(policy, max_bytes, max_entries);
                if pre {
                    b.set(
                        &key("mine"),
                        b"m",
                        &SetOptions {
                            ttl_ms: Some(5),
                            ..SetOptions::default()
                        },
                        0,
                    )
                    .unwrap();
                }
                let got = b.load(&bytes, 0).unwrap();
                b.validate();
                assert!(got > 0 && b.bytes() <= max_bytes as u64, "{policy:?}");
                if max_entries > 0 {
                    assert!(b.len() <= max_entries);
                }
                let keys: Vec<Vec<u8>> = (0..n).map(|i| key(&format!("k{i:05}"))).collect();
                for k in &keys {
                    let _ = b.delete(k, 0);
                }
                let _ = b.delete(&key("mine"), 0);
                b.validate();
                assert_eq!((b.bytes(), b.len()), (0, 0), "{policy:?}");
            }
        }
    }
}

#[cfg(test)]
mod random_attacks {
    use crate::config::{Config, Policy};
    use crate::key::Key;
    use crate::rng::Rng;
    use crate::{Cache, SetOptions};
    use alloc::format;
    use alloc::vec::Vec;

    /// Random mixes of plain, TTL, tagged and dependent entries around the
    /// chunk boundaries, loaded into caches of every policy with less room,
    /// fewer entries, or something cached already: the store stays
    /// consistent, what is charged never passes the budget, tags and
    /// dependsOn still cascade, and deleting everything leaves nothing.
    #[test]
    fn random_loads_stay_consistent() {
        let mut rng = Rng::new(77);
        for round in 0..12u64 {
            let src_policy = Policy::ALL[(round as usize) % Policy::ALL.len()];
            let mut a = Cache::new(
                Config {
                    policy: src_policy,
                    max_bytes: 1 << 22,
                    ..Config::default()
                },
                round,
            )
            .unwrap();
            let n = 200 + rng.below(8_000) as usize;
            let mixed = round % 3 != 0;
            let mut keys = Vec::new();
            for i in 0..n {
                let kl = [1, 20, 62, 63, 64, 100][rng.below(6) as usize];
                let key = Key::Str(&format!("{i:0kl$}")).to_bytes();
                let vl = match rng.below(4) {
                    0 => 230 + rng.below(40) as usize,
                    1 => rng.below(20) as usize,
                    2 => rng.below(400) as usize,
                    _ => 8_000 + rng.below(9_000) as usize,
                };
                let value: Vec<u8> = (0..vl).map(|j| (i ^ j) as u8).collect();
                let t: &[&[u8]] = if mixed && i % 5 == 0 { &[b"t"] } else { &[] };
                let d0 = Key::Str("dep").to_bytes();
                let d: &[&[u8]] = if mixed && i % 7 == 0 { &[&d0] } else { &[] };
                let opts = SetOptions {
                    ttl_ms: (mixed && i % 3 == 0).then_some(1_000 + rng.below(10)),
                    tags: t,
                    depends_on: d,
                    ..SetOptions::default()
                };
                a.set(&key, &value, &opts, 0).unwrap();
                keys.push(key);
            }
            let bytes = a.dump(0, "bytes", &[]).unwrap();
            for policy in Policy::ALL {
                let max_bytes = match rng.below(3) {
                    0 => 1 << 23,
                    1 => (a.bytes() as usize) / 2 + 1,
                    _ => a.bytes() as usize,
                };
                let max_entries = if rng.below(3) == 0 { n / 3 } else { 0 };
                let mut b = Cache::new(
                    Config {
                        policy,
                        max_bytes,
                        max_entries,
                        ..Config::default()
                    },
                    round + 100,
                )
                .unwrap();
                if rng.below(4) == 0 {
                    b.set(b"\x01pre", b"x", &SetOptions::default(), 0).unwrap();
                }
                let now = rng.below(1_005);
                let got = b.load(&bytes, now).unwrap();
                b.validate();
                assert!(b.bytes() <= max_bytes as u64, "{round} {policy:?}");
                assert!(got <= b.len(), "{round} {policy:?}");
                if max_entries > 0 {
                    assert!(b.len() <= max_entries, "{round} {policy:?}");
                }
                b.invalidate_tag(b"t");
                b.validate();
                b.set(
                    &Key::Str("dep").to_bytes(),
                    b"d",
                    &SetOptions::default(),
                    now,
                )
                .unwrap();
                b.validate();
                for (i, key) in keys.iter().enumerate() {
                    if mixed && (i % 5 == 0 || i % 7 == 0) {
                        assert!(!b.has(key, now), "{round} {policy:?} {i} cascaded");
                    }
                }
                for key in &keys {
                    b.delete(key, now);
                }
                b.delete(b"\x01pre", now);
                b.delete(&Key::Str("dep").to_bytes(), now);
                b.validate();
                assert_eq!((b.bytes(), b.len()), (0, 0), "{round} {policy:?}");
            }
        }
    }
}
