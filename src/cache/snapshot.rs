//! [`Cache::dump`] and [`Cache::load`]: the cache's live entries to a
//! snapshot and back (the format is in [`crate::snapshot`]).
//!
//! A dump walks the entries in the policy's eviction order
//! ([`crate::policy::PolicyState::for_each_lru_first`]) and copies each
//! one's key and value bytes as they lie in the arena, with its absolute
//! expiry, stale window, tags and `dependsOn` keys. It runs twice over the
//! same entries, first only counting bytes, so the host can size the
//! output once and the snapshot never needs a second copy in linear
//! memory. Dead entries (expired past their window, or of a tag
//! invalidated since they were set) are left out: a tag invalidated before
//! the dump stays invalidated.
//!
//! A load restores entries as they were, not as writes: nothing cascades
//! (an entry and the key it depends on may come in either order), stats
//! count no write, and a key the cache already holds keeps its value (the
//! snapshot is older). Entries dead at `now` are skipped, and when the
//! entries do not all fit in the room left, the most recently used ones
//! (the snapshot's last) are loaded.

use super::{Cache, Write, LOAD_TIME_OVERHEAD};
use crate::deps::EDGE_OVERHEAD;
use crate::error::CacheError;
use crate::expiry::TTL_OVERHEAD;
use crate::snapshot::{
    expiry_delta, Emit, Header, Snapshot, SnapshotEntry, HAS_DEPS, HAS_GRACE, HAS_LOAD_TIME,
    HAS_TAGS, HAS_TTL, MAX_CODEC_NAME,
};
use crate::store::{Unindexed, NONE};
use crate::tags::TAG_OVERHEAD;
use crate::SetOptions;
use alloc::vec::Vec;
use hashbrown::HashMap;

mod plain;
pub use plain::PlainLoad;

/// The names (tags and `dependsOn` keys) of the entries dumped, each once,
/// with its index in the snapshot's table.
struct Names<'a> {
    list: Vec<&'a [u8]>,
    index: HashMap<&'a [u8], u32, foldhash::fast::FixedState>,
}

impl<'a> Names<'a> {
    fn add(&mut self, name: &'a [u8]) -> Result<(), CacheError> {
        if self.index.contains_key(name) {
            return Ok(());
        }
        self.list.try_reserve(1)?;
        self.index.try_reserve(1)?;
        self.index.insert(name, self.list.len() as u32);
        self.list.push(name);
        Ok(())
    }
}

/// Entries a load into an empty cache stores before it indexes them
/// (4 MiB of [`Unindexed`]; the tests use smaller batches to go through
/// several).
#[cfg(not(test))]
const BATCH: usize = 1 << 18;
#[cfg(test)]
const BATCH: usize = 5_000;

/// The entries of a load waiting for their index places, and the buffer
/// that orders them ([`crate::store::Store::index_bulk`]).
#[derive(Default)]
struct Batch {
    pending: Vec<Unindexed>,
    sorted: Vec<Unindexed>,
    /// Entries removed as duplicates so far.
    left_out: usize,
}

/// What the budget charges for a snapshot entry in this cache, and the
/// part of it for its tags and edges.
fn entry_charge(cache: &Cache, e: &SnapshotEntry<'_>) -> (u64, u64) {
    let tags: u64 = e.tags.iter().map(|t| (t.len() + TAG_OVERHEAD) as u64).sum();
    let deps: u64 = e
        .depends_on
        .iter()
        .map(|d| (d.len() + EDGE_OVERHEAD) as u64)
        .sum();
    let ttl = if e.expires_at.is_some() {
        TTL_OVERHEAD as u64
    } else {
        0
    };
    let load_time = if e.load_ms.is_some() {
        LOAD_TIME_OVERHEAD as u64
    } else {
        0
    };
    let extra = tags + deps + load_time;
    let base = cache.store.charge(e.key.len(), e.value.len()) as u64;
    (base + ttl + extra, extra)
}

impl Cache {
    /// The cache's live entries as a snapshot, least recently used first
    /// (see [`crate::Snapshot`]); `codec` and `codec_state` are stored
    /// as given for the host to check on load.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, Lookup, SetOptions};
    /// let mut a = Cache::new(Config::default(), 1).unwrap();
    /// let k = Key::Str("sku").to_bytes();
    /// a.set(&k, b"{\"qty\":3}", &SetOptions { ttl_ms: Some(60_000), ..Default::default() }, 0).unwrap();
    /// let snapshot = a.dump(1_000, "json", &[]).unwrap();
    /// let mut b = Cache::new(Config::default(), 2).unwrap();
    /// assert_eq!(b.load(&snapshot, 2_000).unwrap(), 1);
    /// assert_eq!(b.get(&k, 59_999, false), Lookup::Fresh(b"{\"qty\":3}".into()));
    /// assert_eq!(b.get(&k, 60_000, false), Lookup::Miss, "the same absolute expiry");
    /// ```
    ///
    /// # Errors
    /// [`CacheError::InvalidArgument`] for a codec name over 255 bytes;
    /// [`CacheError::AllocFailed`].
    pub fn dump(&self, now: u64, codec: &str, codec_state: &[u8]) -> Result<Vec<u8>, CacheError> {
        let mut out: Vec<u8> = Vec::new();
        let mut sink = |piece: &[u8]| -> Result<(), CacheError> {
            out.try_reserve(piece.len())?;
            out.extend_from_slice(piece);
            Ok(())
        };
        self.dump_to(now, codec, codec_state, &mut |len| Ok(len), &mut sink)?;
        Ok(out)
    }

    /// [`Cache::dump`] in pieces: `size(len)` is told the snapshot's exact
    /// length first (the host allocates its output then), and `sink` gets
    /// its bytes in pieces of about 64 KiB, or a large value's at once.
    /// Returns the length.
    ///
    /// # Errors
    /// As [`Cache::dump`], and whatever `size` or `sink` return.
    pub fn dump_to(
        &self,
        now: u64,
        codec: &str,
        codec_state: &[u8],
        size: &mut dyn FnMut(u64) -> Result<u64, CacheError>,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), CacheError>,
    ) -> Result<u64, CacheError> {
        if codec.len() > MAX_CODEC_NAME {
            return Err(CacheError::InvalidArgument(
                "codec name is longer than 255 bytes",
            ));
        }
        let names = self.live_names(now)?;
        let mut header = Header {
            codec,
            codec_state,
            taken_at: now,
            entries: 0,
        };
        let mut counter = Emit::counter();
        header.entries = self.emit(&mut counter, &header, 0, &names, now)?;
        let total = counter.finish()?;
        size(total)?;
        let mut emit = Emit::to(sink)?;
        let written = self.emit(&mut emit, &header, total, &names, now)?;
        let len = emit.finish()?;
        if written != header.entries || len != total {
            return Err(CacheError::Internal("a snapshot's two passes differ"));
        }
        Ok(len)
    }

    /// The tags of the live entries, each once: what a snapshot taken now
    /// holds entries of (a shared tier hides a stored snapshot once one of
    /// them is invalidated).
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn live_tags(&self, now: u64) -> Result<Vec<&[u8]>, CacheError> {
        Ok(self.collect_names(now, false)?.list)
    }

    /// The tags and `dependsOn` keys of the live entries.
    fn live_names(&self, now: u64) -> Result<Names<'_>, CacheError> {
        self.collect_names(now, true)
    }

    fn collect_names(&self, now: u64, with_deps: bool) -> Result<Names<'_>, CacheError> {
        let mut names = Names {
            list: Vec::new(),
            index: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0)),
        };
        for (&slot, x) in &self.extras {
            if matches!(self.state(slot, now), super::State::Dead(_)) {
                continue;
            }
            for t in &x.tags {
                if let Some(name) = self.tags.name(t) {
                    names.add(name)?;
                }
            }
            for d in x.deps.iter().filter(|_| with_deps) {
                if let Some(key) = self.deps.key(d) {
                    names.add(key)?;
                }
            }
        }
        Ok(names)
    }

    /// Emits the whole snapshot but its checksum; returns how many entries.
    fn emit(
        &self,
        out: &mut Emit<'_>,
        header: &Header<'_>,
        total: u64,
        names: &Names<'_>,
        now: u64,
    ) -> Result<u64, CacheError> {
        out.header(header, total)?;
        out.varint(names.list.len() as u64)?;
        for name in &names.list {
            out.blob(name)?;
        }
        let mut count = 0u64;
        let mut result = Ok(());
        let mut refs: Vec<u32> = Vec::new();
        self.policy.for_each_lru_first(&self.store, &mut |slot| {
            if result.is_err() {
                return;
            }
            if self.store.flags(slot).always_fresh() {
                // No TTL, tags, edges or load time (most entries): alive,
                // and just its key and value.
                let (key, value) = self.store.key_value(slot);
                result = out.plain_entry(key, &value);
                count += 1;
                return;
            }
            if matches!(self.state(slot, now), super::State::Dead(_)) {
                return;
            }
            result = self.emit_entry(out, slot, header.taken_at, names, &mut refs);
            count += 1;
        });
        result?;
        Ok(count)
    }

    fn emit_entry(
        &self,
        out: &mut Emit<'_>,
        slot: u32,
        taken_at: u64,
        names: &Names<'_>,
        refs: &mut Vec<u32>,
    ) -> Result<(), CacheError> {
        let e = self.store.at(slot);
        let times = match e.ttl_pos() {
            NONE => None,
            pos => self.heap.times(pos),
        };
        let extra = if e.extra() {
            self.extras.get(&slot)
        } else {
            None
        };
        let mut flags = 0;
        if let Some((expires, dead)) = times {
            flags |= HAS_TTL;
            if dead > expires {
                flags |= HAS_GRACE;
            }
        }
        if let Some(x) = extra {
            if !x.tags.is_empty() {
                flags |= HAS_TAGS;
            }
            if !x.deps.is_empty() {
                flags |= HAS_DEPS;
            }
            if x.load_ms > 0 {
                flags |= HAS_LOAD_TIME;
            }
        }
        let (key, value) = self.store.key_value(slot);
        out.prelude(flags, key, value.len())?;
        out.value(&value)?;
        if let Some((expires, dead)) = times {
            out.varint(expiry_delta(expires, taken_at))?;
            if dead > expires {
                out.varint(dead - expires)?;
            }
        }
        if let Some(x) = extra {
            let index = |name: Option<&[u8]>| name.and_then(|n| names.index.get(n).copied());
            if !x.tags.is_empty() {
                let found = x.tags.iter().filter_map(|t| index(self.tags.name(t)));
                emit_refs(out, refs, x.tags.len(), found)?;
            }
            if !x.deps.is_empty() {
                let found = x.deps.iter().filter_map(|d| index(self.deps.key(d)));
                emit_refs(out, refs, x.deps.len(), found)?;
            }
            if x.load_ms > 0 {
                out.varint(u64::from(x.load_ms))?;
            }
        }
        Ok(())
    }

    /// Checks a snapshot completely, then restores its entries; returns how
    /// many were loaded. See [`Cache::load_snapshot`].
    ///
    /// # Errors
    /// [`CacheError::InvalidSnapshot`] naming what is wrong, with the cache
    /// unchanged; [`CacheError::AllocFailed`] part way through.
    pub fn load(&mut self, bytes: &[u8], now: u64) -> Result<usize, CacheError> {
        let snap = Snapshot::parse(bytes)?;
        self.load_snapshot(&snap, now)
    }

    /// Restores a parsed snapshot's entries with their absolute expiry,
    /// stale window, tags and `dependsOn` keys. Skipped: entries dead at
    /// `now`, keys the cache holds already, entries too large for the
    /// budget, and, when the rest do not all fit in the room left, the
    /// least recently used ones. Loading changes no key: it cascades
    /// nothing and counts no write; later changes of a key cascade to the
    /// entries loaded as to any other.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, SetOptions};
    /// let mut a = Cache::new(Config::default(), 1).unwrap();
    /// for i in 0..100 {
    ///     a.set(&Key::Num(i as f64).to_bytes(), &[0u8; 100], &SetOptions::default(), 0).unwrap();
    /// }
    /// let snapshot = a.dump(0, "bytes", &[]).unwrap();
    /// let small = Config { max_bytes: 50 * edgecache::entry_bytes(edgecache::Policy::AllKeysLru, 9, 100), ..Config::default() };
    /// let mut b = Cache::new(small, 2).unwrap();
    /// assert_eq!(b.load(&snapshot, 0).unwrap(), 50);
    /// assert!(b.has(&Key::Num(99.0).to_bytes(), 0), "the most recently used are kept");
    /// assert!(!b.has(&Key::Num(49.0).to_bytes(), 0));
    /// ```
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] part way through (the entries loaded so
    /// far stay).
    pub fn load_snapshot(&mut self, snap: &Snapshot<'_>, now: u64) -> Result<usize, CacheError> {
        self.maintain(now);
        let fresh = self.is_empty();
        let usable = |c: &Cache, e: &SnapshotEntry<'_>| {
            let dead = e
                .expires_at
                .is_some_and(|at| now >= at.saturating_add(e.grace));
            let limit = super::MAX_PART_LEN;
            let fits = e.key.len() <= limit && e.value.len() <= limit;
            !dead && fits && (fresh || c.store.find(c.store.hash(e.key), e.key).is_none())
        };
        let max_bytes = self.config.max_bytes as u64;
        // What the usable entries need, to skip the oldest of them up front:
        // summed here, or known from the parse when every entry is plain
        // (then none is dead, and into an empty cache every one is usable
        // if the largest is).
        let meta = usize::from(self.store.has_meta());
        let mut plain = false;
        let (mut need_bytes, mut need_entries) = match snap.plain_totals() {
            Some(t)
                if fresh
                    && t.max_part <= super::MAX_PART_LEN
                    && t.max_charge.get(meta).is_some_and(|&c| c <= max_bytes) =>
            {
                plain = true;
                let entries = usize::try_from(snap.header().entries).unwrap_or(usize::MAX);
                (t.charge.get(meta).copied().unwrap_or(u64::MAX), entries)
            }
            _ => {
                let (mut bytes, mut entries) = (0u64, 0usize);
                for e in snap.entries() {
                    let (charge, _) = entry_charge(self, &e);
                    if usable(self, &e) && charge <= max_bytes {
                        bytes += charge;
                        entries += 1;
                    }
                }
                (bytes, entries)
            }
        };
        let room_bytes = max_bytes.saturating_sub(self.bytes);
        let room_entries = match self.config.max_entries {
            0 => usize::MAX,
            max => max.saturating_sub(self.store.len()),
        };
        let loading = need_entries.min(room_entries);
        // Ask the allocator for the memory the load will take, in one
        // piece, and give it back at once: wasm linear memory then grows
        // once instead of thousands of times, and the index, the batch and
        // the entries' pages come out of that space. V8 copies the memory
        // as it grows it (a new isolate's load of 1.87 M entries took 3.4 s,
        // not 0.9 s), and counts each growth towards a garbage collection
        // of the JS heap: 9 MiB grown in 150 KiB steps at the end of that
        // load cost 30 full collections. The charges count the index; the
        // batch's two buffers and the pages' slack (their headers, the ends
        // of full pages, a partial page per size class: 1.4 % of the stock
        // load's charges; 1/32 is asked) are added.
        let entries_bytes = need_bytes.min(room_bytes);
        let mut batch = Batch::default();
        let bulk = self.reserve_load(entries_bytes, loading, fresh, &mut batch)?;
        if bulk && plain && need_bytes <= room_bytes && need_entries <= room_entries {
            return self.load_plain(snap, now, &mut batch);
        }
        let mut loaded = 0;
        for e in snap.entries() {
            let (charge, extra_charge) = entry_charge(self, &e);
            if !usable(self, &e) || charge > max_bytes {
                continue;
            }
            if need_bytes > room_bytes || need_entries > room_entries {
                need_bytes -= charge;
                need_entries -= 1;
                continue;
            }
            let opts = SetOptions {
                ttl_ms: None,
                grace_ms: None,
                tags: &e.tags,
                depends_on: &e.depends_on,
                load_ms: e.load_ms,
            };
            let w = Write {
                ttl: u64::from(e.expires_at.is_some()),
                grace: e.grace,
                charge,
                extra_charge,
            };
            let stored = if bulk {
                self.restore_unindexed(&e, &w, &opts, now, &mut batch)
            } else {
                self.restore(&e, &w, &opts, now)
            };
            match stored {
                Ok(true) => loaded += 1,
                Ok(false) => {}
                Err(err) => {
                    let _ = self.index_batch(&mut batch);
                    return Err(err);
                }
            }
        }
        self.index_batch(&mut batch)?;
        Ok(loaded - batch.left_out)
    }

    /// Takes what a load of `loading` entries charged `entries_bytes` in
    /// all needs before it stores any (see [`Cache::load_snapshot`]); with
    /// `fresh` (an empty cache), readies `batch` to index them in batches.
    /// Returns whether it did.
    fn reserve_load(
        &mut self,
        entries_bytes: u64,
        loading: usize,
        fresh: bool,
        batch: &mut Batch,
    ) -> Result<bool, CacheError> {
        let mut scratch: Vec<u8> = Vec::new();
        let batch_bytes = if fresh {
            2 * loading.min(BATCH) as u64 * core::mem::size_of::<Unindexed>() as u64
        } else {
            0
        };
        let want = entries_bytes + entries_bytes / 32 + batch_bytes;
        if scratch.try_reserve_exact(want as usize).is_ok() {
            drop(scratch);
        }
        if loading > self.store.len() {
            // Growing the index ahead saves rehashing it as it fills, but it
            // must not outgrow what the cache already holds more than once.
            self.store.reserve_entries(loading)?;
        }
        // Into an empty cache, entries are indexed in batches after they
        // are stored (see `crate::store::bulk`): no key can be there before.
        let bulk = fresh && batch.pending.try_reserve_exact(loading.min(BATCH)).is_ok();
        Ok(bulk)
    }

    /// [`Cache::restore`] into a cache that held nothing before the load:
    /// the entry is stored and linked, and its index place waits in `batch`
    /// ([`Cache::index_batch`]). When it needs room made, the batch is
    /// indexed first, and the entry goes through [`Cache::restore`]:
    /// eviction must find a consistent store.
    fn restore_unindexed(
        &mut self,
        e: &SnapshotEntry<'_>,
        w: &Write,
        opts: &SetOptions<'_>,
        now: u64,
        batch: &mut Batch,
    ) -> Result<bool, CacheError> {
        if !self.fits(w.charge, 1) {
            self.index_batch(batch)?;
            return self.restore(e, w, opts, now);
        }
        if batch.pending.len() == batch.pending.capacity() {
            self.index_batch(batch)?;
        }
        let has_extra = opts.has_extra();
        if w.ttl > 0 {
            self.heap.reserve()?;
        }
        self.policy.reserve()?;
        if has_extra {
            self.extras.try_reserve(1)?;
        }
        let hash = self.store.hash(e.key);
        let value = e.value;
        let slot = self
            .store
            .insert_unindexed(e.key, value.len(), &mut |at, piece| {
                if let Some(src) = value.get(at..at + piece.len()) {
                    piece.copy_from_slice(src);
                }
            })?;
        self.attach_restored(slot, hash, e, w, opts, now)?;
        batch.pending.push((hash, slot));
        Ok(true)
    }

    /// Indexes the entries waiting in `batch` and removes those left out
    /// (counted in `batch.left_out`): of a key stored twice in the
    /// snapshot, the later entry (the first stays, as a key already cached
    /// does), and every entry after a table failed to grow (the error).
    fn index_batch(&mut self, batch: &mut Batch) -> Result<(), CacheError> {
        let (left_out, result) = self.store.index_bulk(&mut batch.pending, &mut batch.sorted);
        for i in 0..left_out {
            if let Some(&(_, slot)) = batch.pending.get(i) {
                self.drop_entry(slot);
            }
        }
        batch.pending.clear();
        batch.left_out += left_out;
        result
    }

    /// Stores one snapshot entry unless its key is cached already or no
    /// room can be made; returns whether it was stored.
    fn restore(
        &mut self,
        e: &SnapshotEntry<'_>,
        w: &Write,
        opts: &SetOptions<'_>,
        now: u64,
    ) -> Result<bool, CacheError> {
        let hash = self.store.hash(e.key);
        if self.store.find(hash, e.key).is_some() {
            return Ok(false);
        }
        if !self.fits(w.charge, 1) {
            if !self.make_room_possible(None, w.charge, now) {
                return Ok(false);
            }
            self.evict_until(now, w.charge, 1)?;
        }
        let has_extra = opts.has_extra();
        self.reserve(hash, w.ttl, has_extra)?;
        let value = e.value;
        let slot = self
            .store
            .insert_with(hash, e.key, value.len(), &mut |at, piece| {
                if let Some(src) = value.get(at..at + piece.len()) {
                    piece.copy_from_slice(src);
                }
            })?;
        self.attach_restored(slot, hash, e, w, opts, now)?;
        Ok(true)
    }

    /// Gives a restored entry's new slot its expiry, side record, charge and
    /// policy place (room for each reserved before the slot was stored). A
    /// side record that cannot be added drops the entry.
    fn attach_restored(
        &mut self,
        slot: u32,
        hash: u64,
        e: &SnapshotEntry<'_>,
        w: &Write,
        opts: &SetOptions<'_>,
        now: u64,
    ) -> Result<(), CacheError> {
        if let Some(at) = e.expires_at {
            self.heap.push(&mut self.store, slot, at, w.grace);
        }
        if opts.has_extra() {
            if let Err(err) = self.add_extra(slot, w, opts) {
                self.bytes += w.charge;
                self.drop_entry(slot);
                return Err(err);
            }
        }
        self.bytes += w.charge;
        self.policy
            .insert(&mut self.store, slot, hash, w.charge, now, &mut self.rng);
        Ok(())
    }
}

/// Writes how many name-table indexes `found` yields, then each (`refs`,
/// room for up to `most`, is scratch kept from entry to entry).
fn emit_refs(
    out: &mut Emit<'_>,
    refs: &mut Vec<u32>,
    most: usize,
    found: impl Iterator<Item = u32>,
) -> Result<(), CacheError> {
    refs.clear();
    refs.try_reserve(most)?;
    refs.extend(found);
    out.varint(refs.len() as u64)?;
    for &i in refs.iter() {
        out.varint(u64::from(i))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Policy};
    use crate::key::Key;
    use crate::{Cache, CacheError, SetOptions, Snapshot, SnapshotError, BLOCK};
    use alloc::format;
    use alloc::vec::Vec;

    fn k(s: &str) -> Vec<u8> {
        Key::Str(s).to_bytes()
    }

    fn cache(policy: Policy, max_bytes: usize) -> Cache {
        let config = Config {
            policy,
            max_bytes,
            ..Config::default()
        };
        Cache::new(config, 5).unwrap()
    }

    fn value(c: &Cache, key: &str, now: u64) -> Option<(Vec<u8>, bool)> {
        c.probe(&k(key), now).map(|(v, stale)| (v.to_vec(), stale))
    }

    /// Entries of every kind: plain, TTL, TTL with a window, tags,
    /// `dependsOn`, a value in blocks.
    fn fill(c: &mut Cache) {
        let t = SetOptions::default();
        c.set(&k("plain"), b"p", &t, 0).unwrap();
        let ttl = SetOptions {
            ttl_ms: Some(1_000),
            ..t
        };
        c.set(&k("ttl"), b"t", &ttl, 0).unwrap();
        let window = SetOptions {
            ttl_ms: Some(1_000),
            grace_ms: Some(500),
            ..t
        };
        c.set(&k("window"), b"w", &window, 0).unwrap();
        let tagged = SetOptions {
            tags: &[b"red", b"blue"],
            ..t
        };
        c.set(&k("tagged"), b"g", &tagged, 0).unwrap();
        let child = k("child");
        let built = SetOptions {
            depends_on: &[&child],
            tags: &[b"red"],
            ..t
        };
        c.set(&k("parent"), b"d", &built, 0).unwrap();
        let big: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        c.set(&k("big"), &big, &t, 0).unwrap();
    }

    #[test]
    fn every_field_survives_a_round_trip_between_any_two_policies() {
        for from in Policy::ALL {
            for to in Policy::ALL {
                let mut a = cache(from, 1 << 20);
                fill(&mut a);
                let bytes = a.dump(100, "json", b"state").unwrap();
                let snap = Snapshot::parse(&bytes).unwrap();
                assert_eq!(snap.header().codec_state, b"state");
                assert_eq!(snap.header().entries, 6);
                let mut b = cache(to, 1 << 20);
                assert_eq!(b.load(&bytes, 200).unwrap(), 6, "{from:?} → {to:?}");
                b.validate();
                for key in ["plain", "ttl", "window", "tagged", "parent", "big"] {
                    assert_eq!(value(&a, key, 200), value(&b, key, 200), "{key}");
                }
                // The same absolute expiry and window.
                assert_eq!(value(&b, "ttl", 999).map(|v| v.1), Some(false));
                assert_eq!(value(&b, "ttl", 1_000), None);
                assert_eq!(value(&b, "window", 1_200), Some((b"w".to_vec(), true)));
                assert_eq!(value(&b, "window", 1_500), None);
                if to.keeps_meta() == from.keeps_meta() {
                    assert_eq!(b.bytes(), a.bytes(), "the same charges");
                }
                // Tags and dependencies work on what was loaded.
                assert_eq!(b.invalidate_tag(b"blue"), 1);
                assert!(!b.has(&k("tagged"), 200) && b.has(&k("parent"), 200));
                b.set(&k("child"), b"new", &SetOptions::default(), 200)
                    .unwrap();
                assert!(!b.has(&k("parent"), 200), "the dependency cascades");
                b.validate();
            }
        }
    }

    #[test]
    fn entries_come_least_recently_used_first() {
        let mut a = cache(Policy::AllKeysLru, 1 << 20);
        for i in 0..10 {
            a.set(&k(&format!("k{i}")), b"v", &SetOptions::default(), 0)
                .unwrap();
        }
        let _ = a.get(&k("k3"), 0, false);
        let _ = a.get(&k("k0"), 0, false);
        let bytes = a.dump(0, "json", &[]).unwrap();
        let snap = Snapshot::parse(&bytes).unwrap();
        let order: Vec<Vec<u8>> = snap.entries().map(|e| e.key.to_vec()).collect();
        let expected: Vec<Vec<u8>> = [1, 2, 4, 5, 6, 7, 8, 9, 3, 0]
            .iter()
            .map(|i| k(&format!("k{i}")))
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn a_smaller_cache_keeps_the_most_recently_used() {
        for to in Policy::ALL {
            let mut a = cache(Policy::AllKeysLru, 1 << 20);
            for i in 0..100 {
                a.set(&k(&format!("k{i:03}")), &[7; 40], &SetOptions::default(), 0)
                    .unwrap();
            }
            let bytes = a.dump(0, "bytes", &[]).unwrap();
            let room = 30 * crate::entry_bytes(to, 5, 40);
            let mut b = cache(to, room);
            assert_eq!(b.load(&bytes, 0).unwrap(), 30, "{to:?}");
            for i in 0..100 {
                assert_eq!(b.has(&k(&format!("k{i:03}")), 0), i >= 70, "{to:?} k{i}");
            }
            b.validate();
            // An entry bound works the same way.
            let mut c = Cache::new(
                Config {
                    policy: to,
                    max_entries: 10,
                    ..Config::default()
                },
                1,
            )
            .unwrap();
            assert_eq!(c.load(&bytes, 0).unwrap(), 10);
            assert!(c.has(&k("k099"), 0) && c.has(&k("k090"), 0) && !c.has(&k("k089"), 0));
        }
    }

    #[test]
    fn dead_entries_stay_out_and_invalidated_tags_stay_invalidated() {
        let mut a = cache(Policy::AllKeysLru, 1 << 20);
        fill(&mut a);
        assert_eq!(a.invalidate_tag(b"red"), 2);
        // Dumped after "ttl" expired and inside "window"'s stale window.
        let bytes = a.dump(1_100, "json", &[]).unwrap();
        let snap = Snapshot::parse(&bytes).unwrap();
        let keys: Vec<Vec<u8>> = snap.entries().map(|e| e.key.to_vec()).collect();
        assert_eq!(keys, [k("plain"), k("window"), k("big")], "no dead entry");
        let mut b = cache(Policy::AllKeysLru, 1 << 20);
        assert_eq!(b.load(&bytes, 1_100).unwrap(), 3);
        assert!(!b.has(&k("tagged"), 1_100) && !b.has(&k("parent"), 1_100));
        // Loaded later, the window has passed too.
        let mut c = cache(Policy::AllKeysLru, 1 << 20);
        assert_eq!(c.load(&bytes, 1_500).unwrap(), 2);
        assert_eq!(value(&c, "window", 1_500), None);
    }

    #[test]
    fn keys_already_cached_keep_their_values_and_loading_cascades_nothing() {
        let mut a = cache(Policy::AllKeysLru, 1 << 20);
        a.set(&k("child"), b"c", &SetOptions::default(), 0).unwrap();
        fill(&mut a);
        // The child becomes more recent than its parent: it is loaded after it.
        let _ = a.get(&k("child"), 0, false);
        let bytes = a.dump(0, "json", &[]).unwrap();
        let mut b = cache(Policy::AllKeysLru, 1 << 20);
        b.set(&k("plain"), b"mine", &SetOptions::default(), 0)
            .unwrap();
        assert_eq!(b.load(&bytes, 0).unwrap(), 6, "all but plain");
        assert_eq!(value(&b, "plain", 0), Some((b"mine".to_vec(), false)));
        assert!(b.has(&k("parent"), 0), "loading child did not cascade");
        let stats = b.stats();
        assert_eq!((stats.sets, stats.invalidations), (1, 0));
        b.validate();
    }

    /// An entry's recorded load time comes back with it, so an entry
    /// restored from a snapshot still refreshes early (and is charged the
    /// same).
    #[test]
    fn the_load_time_survives_a_round_trip() {
        for to in Policy::ALL {
            let mut a = cache(Policy::AllKeysLru, 1 << 20);
            let loaded = SetOptions {
                ttl_ms: Some(10_000),
                load_ms: Some(200),
                ..SetOptions::default()
            };
            a.set(&k("hot"), b"v", &loaded, 0).unwrap();
            let tagged = SetOptions {
                tags: &[b"red"],
                ..loaded
            };
            a.set(&k("tagged"), b"t", &tagged, 0).unwrap();
            let bytes = a.dump(0, "json", &[]).unwrap();
            let snap = Snapshot::parse(&bytes).unwrap();
            let times: Vec<Option<u32>> = snap.entries().map(|e| e.load_ms).collect();
            assert_eq!(times, [Some(200), Some(200)]);
            let mut b = cache(to, 1 << 20);
            assert_eq!(b.load(&bytes, 0).unwrap(), 2);
            b.validate();
            for key in ["hot", "tagged"] {
                assert!(
                    !b.refresh_due(&k(key), 0, 1.0),
                    "{to:?} {key}: 10 s before expiry"
                );
                assert!(
                    (0..100).any(|_| b.refresh_due(&k(key), 9_990, 1.0)),
                    "{to:?} {key}: 10 ms before expiry, a 200 ms load refreshes early"
                );
            }
            if to.keeps_meta() == Policy::AllKeysLru.keeps_meta() {
                assert_eq!(b.bytes(), a.bytes(), "the same charges");
            }
        }
    }

    /// A load time of 0 or past `u32` is corrupt, even under a good checksum.
    #[test]
    fn a_load_time_out_of_range_is_corrupt() {
        let mut a = cache(Policy::AllKeysLru, 1 << 20);
        let loaded = SetOptions {
            load_ms: Some(5),
            ..SetOptions::default()
        };
        a.set(&k("x"), b"v", &loaded, 0).unwrap();
        let good = a.dump(0, "json", &[]).unwrap();
        // The load time is the entry's last byte, before the checksum.
        let at = good.len() - 9;
        assert_eq!(good[at], 5);
        for tail in [&[0u8][..], &[0xff, 0xff, 0xff, 0xff, 0x10]] {
            let mut bad = good[..at].to_vec();
            bad.extend_from_slice(tail);
            let len = (bad.len() + 8) as u64;
            bad[12..20].copy_from_slice(&len.to_le_bytes());
            let sum = crate::checksum::checksum(&bad);
            bad.extend_from_slice(&sum.to_le_bytes());
            let mut b = cache(Policy::AllKeysLru, 1 << 20);
            match b.load(&bad, 0) {
                Err(CacheError::InvalidSnapshot(SnapshotError::Corrupt(what))) => {
                    assert_eq!(what, "a load time out of range");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(b.stats().entries, 0);
        }
    }

    /// A load into an empty cache stores its entries first and indexes
    /// them in batches (ordered by bucket past a few thousand): every entry
    /// is found, in the same order, and a dump of the copy is the original.
    #[test]
    fn a_large_load_into_an_empty_cache_indexes_every_entry() {
        for policy in Policy::ALL {
            let mut a = cache(policy, 1 << 24);
            let ttl = SetOptions {
                ttl_ms: Some(50_000),
                ..SetOptions::default()
            };
            for i in 0..12_345 {
                let opts = if i % 3 == 0 {
                    ttl
                } else {
                    SetOptions::default()
                };
                a.set(&k(&format!("k{i}")), format!("v{i}").as_bytes(), &opts, 0)
                    .unwrap();
            }
            let bytes = a.dump(0, "json", &[]).unwrap();
            let mut b = cache(policy, 1 << 24);
            assert_eq!(b.load(&bytes, 0).unwrap(), 12_345, "{policy:?}");
            b.validate();
            for i in (0..12_345).step_by(7) {
                let want = format!("v{i}").into_bytes();
                assert_eq!(value(&b, &format!("k{i}"), 0), Some((want, false)));
            }
            if policy == Policy::AllKeysLru {
                // The same order: the dump of the copy is the same bytes.
                assert!(b.dump(0, "json", &[]).unwrap() == bytes);
            }
        }
    }

    /// The parse sums a plain snapshot's charges for either record size:
    /// exactly what a load into an empty cache then charges, with the
    /// totals or without them (a reopened snapshot). One entry with a TTL
    /// and there are none.
    #[test]
    fn plain_totals_are_what_a_load_charges() {
        let mut a = cache(Policy::AllKeysLru, 1 << 24);
        for i in 0..300 {
            let value = alloc::vec![7u8; i * 37 % 3_000];
            a.set(&k(&format!("k{i}")), &value, &SetOptions::default(), 0)
                .unwrap();
        }
        let bytes = a.dump(0, "json", &[]).unwrap();
        let totals = Snapshot::parse(&bytes).unwrap().plain_totals().unwrap();
        assert_eq!(totals.max_part, 2_997);
        for policy in Policy::ALL {
            let mut b = cache(policy, 1 << 24);
            assert_eq!(b.load(&bytes, 0).unwrap(), 300);
            let meta = usize::from(policy.keeps_meta());
            assert_eq!(totals.charge[meta], b.bytes(), "{policy:?}");
            let mut c = cache(policy, 1 << 24);
            let reopened = Snapshot::reopen(&bytes).unwrap();
            assert_eq!(reopened.plain_totals(), None);
            assert_eq!(c.load_snapshot(&reopened, 0).unwrap(), 300);
            assert_eq!(c.bytes(), b.bytes());
            c.validate();
        }
        let ttl = SetOptions {
            ttl_ms: Some(1_000),
            ..SetOptions::default()
        };
        a.set(&k("ttl"), b"t", &ttl, 0).unwrap();
        let bytes = a.dump(0, "json", &[]).unwrap();
        assert_eq!(Snapshot::parse(&bytes).unwrap().plain_totals(), None);
    }

    /// Of a key stored twice in a snapshot (its checksum intact), the first
    /// entry is loaded and the second dropped, in a batch ordered by bucket
    /// or not, into an empty cache or not.
    #[test]
    fn a_key_twice_in_a_snapshot_loads_once() {
        for (n, empty) in [(6_000, true), (30, true), (6_000, false)] {
            let mut a = cache(Policy::AllKeysLru, 1 << 24);
            for i in 0..n {
                let tag: &[&[u8]] = if i % 2 == 0 { &[b"t"] } else { &[] };
                let opts = SetOptions {
                    tags: tag,
                    ..SetOptions::default()
                };
                a.set(&k(&format!("a{i:05}")), b"first", &opts, 0).unwrap();
                a.set(&k(&format!("b{i:05}")), b"later", &opts, 0).unwrap();
            }
            let mut bytes = a.dump(0, "json", &[]).unwrap();
            // Every "b" key becomes its "a" key: its length and kind, then "b".
            let start = k("b")[..1].to_vec();
            let mut renamed = 0;
            for at in 0..bytes.len() - 2 {
                if bytes[at] == 7 && bytes[at + 1] == start[0] && bytes[at + 2] == b'b' {
                    bytes[at + 2] = b'a';
                    renamed += 1;
                }
            }
            assert_eq!(renamed, n);
            let end = bytes.len() - 8;
            let sum = crate::checksum::checksum(&bytes[..end]);
            bytes[end..].copy_from_slice(&sum.to_le_bytes());
            let mut b = cache(Policy::AllKeysLru, 1 << 24);
            if !empty {
                b.set(&k("mine"), b"1", &SetOptions::default(), 0).unwrap();
            }
            assert_eq!(b.load(&bytes, 0).unwrap(), n, "{n} {empty}");
            b.validate();
            assert_eq!(b.stats().entries, n as u64 + u64::from(!empty));
            for i in 0..n {
                let v = value(&b, &format!("a{i:05}"), 0);
                assert_eq!(v, Some((b"first".to_vec(), false)), "{i}");
            }
            assert_eq!(b.invalidate_tag(b"t"), n.div_ceil(2));
            b.validate();
        }
    }

    /// Every way to break a snapshot is an error that names it, and leaves
    /// the cache as it was.
    #[test]
    fn a_broken_snapshot_changes_nothing() {
        let mut a = cache(Policy::AllKeysLru, 1 << 20);
        fill(&mut a);
        let good = a.dump(0, "json", b"shapes").unwrap();
        let mut b = cache(Policy::AllKeysLru, 1 << 20);
        b.set(&k("mine"), b"1", &SetOptions::default(), 0).unwrap();
        let before = b.dump(0, "json", &[]).unwrap();
        let invalid = |b: &mut Cache, bytes: &[u8]| match b.load(bytes, 0) {
            Err(CacheError::InvalidSnapshot(e)) => e,
            other => panic!("{other:?}"),
        };
        for len in 0..good.len() {
            let e = invalid(&mut b, &good[..len]);
            assert!(matches!(e, SnapshotError::Truncated { .. }), "{len}: {e}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            let e = invalid(&mut b, &bad);
            let expected = match i {
                0..=7 => matches!(e, SnapshotError::NotASnapshot),
                8..=11 => matches!(e, SnapshotError::Version(_)),
                12..=19 => matches!(
                    e,
                    SnapshotError::Truncated { .. } | SnapshotError::Corrupt(_)
                ),
                _ => e == SnapshotError::Checksum,
            };
            assert!(expected, "byte {i}: {e}");
        }
        let mut v1 = good.clone();
        v1[8] = 1;
        let e = invalid(&mut b, &v1);
        assert_eq!(
            format!("{e}"),
            "snapshot format version 1 is not supported (this build reads version 3)"
        );
        let e = invalid(&mut b, b"{\"not\":\"a snapshot\"}");
        assert_eq!(e, SnapshotError::NotASnapshot);
        assert_eq!(b.dump(0, "json", &[]).unwrap(), before, "nothing changed");
        assert_eq!(b.stats().entries, 1);
    }
}
