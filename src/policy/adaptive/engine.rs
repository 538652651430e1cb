//! The structure engine of `allkeys-adaptive`: one store's entries kept in
//! one of two structures on the same three lists, the choice of a victim,
//! and the replay of a request on a keys-only store (the simulator's ghosts
//! are engines too). It knows nothing of the simulator or the tuner: it is
//! told which structure to have ([`Engine::adopt`]).
//!
//! **W-TinyLFU.** New entries enter an LRU *window*. When the window is over
//! its share, its oldest entry becomes a *candidate* for the main space, an
//! SLRU of *probation* and *protected* segments. If the main space is full,
//! the candidate must beat the main space's victim (probation's oldest) on
//! the TinyLFU frequency sketch, or it is the one evicted: one-hit wonders and
//! scans never displace the working set (Einziger, Friedman, Manes,
//! "TinyLFU", 2017). The right window depends on the workload: about 1 % for
//! frequency-skewed and looping traces, most of the cache for recency-skewed
//! ones (a 100 % window *is* LRU).
//!
//! **S3-FIFO** (Yang et al., SOSP 2023, with libCacheSim's defaults). New
//! entries enter a *small* FIFO of 10 %; one hit twice there moves to the
//! *main* FIFO when it reaches the head, any other is evicted and its key's
//! fingerprint remembered ([`EvictedKeys`]); a remembered key that comes back
//! goes straight to main. Main is a CLOCK with a 2-bit count: hits only count,
//! and eviction gives a counted entry another round. It does better than any
//! W-TinyLFU window on some block-I/O and web traces (`bench/REPLAY.md`).
//!
//! Both live on the same three lists (small = window, main = probation, then
//! what is left of protected), so switching moves nothing up front.
//!
//! Sizes are shares of the budget in bytes and, when set, of `max_entries`; a
//! region is over its share when it is over on either. An entry's weight (its
//! charged bytes) and S3-FIFO's count are kept in its `meta`.

use super::evicted::EvictedKeys;
use super::sketch::Sketch;
use crate::policy::list::List;
use crate::rng::Rng;
use crate::store::{Store, NONE};

const REGION_SHIFT: u32 = 29;
const REGION_MASK: u32 = 0b11 << REGION_SHIFT;
/// S3-FIFO's 2-bit access counter, which saturates at `FREQ_MAX`.
const FREQ_SHIFT: u32 = 27;
const FREQ_MASK: u32 = 0b11 << FREQ_SHIFT;
const FREQ_MAX: u32 = FREQ_MASK >> FREQ_SHIFT;
/// Weights saturate at 128 MiB (an entry that large is still evicted; only the
/// regions' byte shares undercount it).
const WEIGHT_MASK: u32 = (1 << FREQ_SHIFT) - 1;
const WINDOW: u32 = 1;
const PROBATION: u32 = 2;
const PROTECTED: u32 = 3;

/// Protected share of the main space.
const PROTECTED_OF_MAIN: f64 = 0.80;
/// A candidate this frequent may win a 1-in-`ADMIT_LOTTERY` lottery against
/// a more frequent victim, so an attacker cannot pin the victim forever.
const HASHDOS_THRESHOLD: u8 = 6;
const ADMIT_LOTTERY: u64 = 128;
/// At most this many entries move between regions per operation while the
/// cache converges to a new window size (the move is spread over calls).
const MOVES_PER_CALL: usize = 32;
/// S3-FIFO (libCacheSim's defaults): the small queue's share, the accesses
/// that move an entry from it to the main queue, and the evicted-key memory
/// as a share of the capacity.
const SMALL_SHARE: f64 = 0.10;
const MOVE_TO_MAIN: u32 = 2;
const REMEMBERED_SHARE: f64 = 0.90;
/// With only a byte budget, the evicted-key memory also keeps at most this
/// many keys per entry held: bounded by weight alone, many small evictions
/// behind a few large entries held would mean many fingerprints outside the
/// budget. (At 0.9, the paper's sizing, byte-budget hit ratios drop by up to
/// two points; at 2 they do not move.)
const REMEMBERED_PER_HELD: f64 = 2.0;
/// Without a hit in between, S3-FIFO passes an entry over at most this
/// often: once from the small queue to the main one, then once per count (at
/// most `FREQ_MAX`). A victim search passes over at most this many per entry held,
/// plus this many, then evicts the head it is at, so it always ends.
const PASSES_PER_ENTRY: usize = 4;

/// The structure the entries are kept in. Both use the same three lists, so
/// switching costs nothing up front: S3-FIFO's small queue is the window and
/// its main queue is probation (then what is left of protected).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Structure {
    /// W-TinyLFU with this window share.
    WTinyLfu(f64),
    /// S3-FIFO (Yang et al., SOSP 2023): FIFO queues with lazy promotion.
    S3Fifo,
}

#[derive(Default, Clone, Copy)]
struct Region {
    list: List,
    bytes: u64,
}

/// The entries of one store (the cache's or a ghost's) in their regions.
pub(crate) struct Engine {
    window: Region,
    probation: Region,
    protected: Region,
    max_bytes: f64,
    max_entries: f64,
    structure: Structure,
    rebalancing: bool,
    /// S3-FIFO: whether anything was evicted yet (until then a full small
    /// queue spills new entries into the main one).
    has_evicted: bool,
    /// S3-FIFO's evicted-key memory, made the first time S3-FIFO is adopted.
    evicted: Option<alloc::boxed::Box<EvictedKeys>>,
    sketch: Sketch,
}

/// The weight (charged bytes, saturated) the engine recorded for `slot`.
pub(super) fn weight(store: &Store, slot: u32) -> u64 {
    (store.meta(slot) & WEIGHT_MASK) as u64
}

fn region_of(store: &Store, slot: u32) -> u32 {
    (store.meta(slot) & REGION_MASK) >> REGION_SHIFT
}

fn set_region(store: &mut Store, slot: u32, r: u32) {
    store.set_meta(slot, REGION_MASK, r << REGION_SHIFT);
}

fn freq(store: &Store, slot: u32) -> u32 {
    (store.meta(slot) & FREQ_MASK) >> FREQ_SHIFT
}

fn set_freq(store: &mut Store, slot: u32, f: u32) {
    store.set_meta(slot, FREQ_MASK, f.min(FREQ_MAX) << FREQ_SHIFT);
}

/// The key's fingerprint in S3-FIFO's evicted-key memory: a 32-bit digest
/// of the whole 64-bit hash (a false match only sends a new key to main).
fn fingerprint(hash: u64) -> u32 {
    (hash >> 38) as u32 ^ (hash as u32).rotate_left(16)
}

impl Engine {
    /// An engine for `max_bytes` and (when positive) `max_entries` that keeps
    /// `structure` until told to [`adopt`](Engine::adopt) another.
    pub fn new(max_bytes: f64, max_entries: f64, structure: Structure) -> Engine {
        let mut sketch = Sketch::new();
        if max_entries > 0.0 {
            sketch.ensure_capacity(max_entries as usize);
        }
        let mut a = Engine {
            window: Region::default(),
            probation: Region::default(),
            protected: Region::default(),
            max_bytes,
            max_entries,
            structure,
            rebalancing: false,
            has_evicted: false,
            evicted: None,
            sketch,
        };
        if a.is_s3fifo() {
            a.remember_evictions();
        }
        a
    }

    fn is_s3fifo(&self) -> bool {
        self.structure == Structure::S3Fifo
    }

    /// The share of the capacity new entries enter: the W-TinyLFU window or
    /// S3-FIFO's small queue (the demo plots it).
    pub fn window_share(&self) -> f64 {
        match self.structure {
            Structure::WTinyLfu(share) => share,
            Structure::S3Fifo => SMALL_SHARE,
        }
    }

    fn protected_share(&self) -> f64 {
        PROTECTED_OF_MAIN * (1.0 - self.window_share())
    }

    /// Makes S3-FIFO's evicted-key memory, once.
    fn remember_evictions(&mut self) {
        if self.evicted.is_none() {
            self.evicted = Some(alloc::boxed::Box::new(EvictedKeys::new(
                REMEMBERED_SHARE * self.max_bytes,
            )));
        }
    }

    fn region(&mut self, r: u32) -> &mut Region {
        match r {
            WINDOW => &mut self.window,
            PROBATION => &mut self.probation,
            _ => &mut self.protected,
        }
    }

    pub fn len(&self) -> usize {
        self.window.list.len + self.probation.list.len + self.protected.list.len
    }

    pub fn bytes(&self) -> u64 {
        self.window.bytes + self.probation.bytes + self.protected.bytes
    }

    /// Whether `bytes`/`count` exceed `share` of the capacity.
    fn over(&self, bytes: u64, count: usize, share: f64) -> bool {
        bytes as f64 > share * self.max_bytes
            || (self.max_entries > 0.0 && count as f64 > share * self.max_entries)
    }

    /// Whether the entries held pass `share` of the capacity.
    pub fn is_over(&self, share: f64) -> bool {
        self.over(self.bytes(), self.len(), share)
    }

    /// The capacity in entries: `max_entries` when set, else estimated from
    /// the mean weight of the entries held so far.
    pub fn capacity_in_entries(&self) -> f64 {
        if self.max_entries > 0.0 {
            self.max_entries
        } else {
            self.len() as f64 * self.max_bytes / (self.bytes().max(1) as f64)
        }
    }

    /// The budget in bytes and in entries (0: none), as given to [`Engine::new`].
    pub fn capacity(&self) -> (f64, f64) {
        (self.max_bytes, self.max_entries)
    }

    /// Whether one more entry of `incoming` bytes would pass the whole capacity.
    pub fn full_for(&self, incoming: u64) -> bool {
        self.over(self.bytes() + incoming, self.len() + 1, 1.0)
    }

    fn push(&mut self, store: &mut Store, slot: u32, r: u32) {
        let w = weight(store, slot);
        set_region(store, slot, r);
        let region = self.region(r);
        region.list.push_tail(store, slot);
        region.bytes += w;
    }

    fn unlink(&mut self, store: &mut Store, slot: u32) {
        let r = region_of(store, slot);
        let w = weight(store, slot);
        let region = self.region(r);
        region.list.unlink(store, slot);
        region.bytes = region.bytes.saturating_sub(w);
    }

    fn move_to(&mut self, store: &mut Store, slot: u32, r: u32) {
        self.unlink(store, slot);
        self.push(store, slot, r);
    }

    /// Whether the main space could take `slot` without passing its share.
    fn main_has_room_for(&self, store: &Store, slot: u32) -> bool {
        let main_bytes = self.probation.bytes + self.protected.bytes + weight(store, slot);
        let main_len = self.probation.list.len + self.protected.list.len + 1;
        !self.over(main_bytes, main_len, 1.0 - self.window_share())
    }

    fn window_over(&self) -> bool {
        self.window.list.len > 1
            && self.over(self.window.bytes, self.window.list.len, self.window_share())
    }

    /// Moves window overflow into probation while the main space has room.
    fn drain_window(&mut self, store: &mut Store) {
        while self.window_over() {
            let head = self.window.list.head;
            if head == NONE || !self.main_has_room_for(store, head) {
                break;
            }
            self.move_to(store, head, PROBATION);
        }
    }

    fn demote_protected(&mut self, store: &mut Store) {
        while self.protected.list.len > 1
            && self.over(
                self.protected.bytes,
                self.protected.list.len,
                self.protected_share(),
            )
        {
            let head = self.protected.list.head;
            self.move_to(store, head, PROBATION);
        }
    }

    /// Places a new entry of `charge` bytes.
    pub fn on_insert(&mut self, store: &mut Store, slot: u32, hash: u64, charge: u64) {
        let charged = charge.min(WEIGHT_MASK as u64) as u32;
        store.set_meta(slot, WEIGHT_MASK | FREQ_MASK, charged);
        if self.max_entries == 0.0 {
            self.sketch.ensure_capacity(self.len() + 1);
        }
        self.sketch.increment(hash);
        if self.is_s3fifo() {
            // A key evicted from the small queue not long ago has proved it
            // comes back: it goes straight to the main queue.
            let returning = self
                .evicted
                .as_mut()
                .is_some_and(|q| q.take(fingerprint(hash)));
            let spill = !self.has_evicted && self.window_over();
            self.push(
                store,
                slot,
                if returning || spill {
                    PROBATION
                } else {
                    WINDOW
                },
            );
        } else {
            self.push(store, slot, WINDOW);
            self.drain_window(store);
        }
    }

    /// Records a hit on `slot`.
    pub fn on_access(&mut self, store: &mut Store, slot: u32, hash: u64) {
        self.sketch.increment(hash);
        if self.is_s3fifo() {
            // Lazy promotion: a hit only counts; eviction acts on the count.
            set_freq(store, slot, freq(store, slot) + 1);
        } else {
            match region_of(store, slot) {
                WINDOW => self.window.list.move_to_tail(store, slot),
                PROBATION => {
                    self.move_to(store, slot, PROTECTED);
                    self.demote_protected(store);
                }
                _ => self.protected.list.move_to_tail(store, slot),
            }
        }
    }

    /// Takes `slot` out of its region.
    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        self.unlink(store, slot);
        set_region(store, slot, 0);
    }

    /// Replays one request on a store of keys without values (the
    /// simulator's ghosts): a read of a cached key is a hit; a read
    /// or write of a key not cached stores it, evicting first; a write of
    /// a cached key changes nothing. Returns whether the key was cached.
    pub fn replay(
        &mut self,
        store: &mut Store,
        key: &[u8],
        weight: u64,
        is_read: bool,
        rng: &mut Rng,
    ) -> bool {
        let hash = store.hash(key);
        if let Some(slot) = store.find(hash, key) {
            if is_read {
                self.on_access(store, slot, hash);
            }
            return true;
        }
        while self.full_for(weight) {
            let Some(victim) = self.victim(store, rng, weight) else {
                break;
            };
            self.on_remove(store, victim);
            store.remove(victim);
        }
        if let Ok(slot) = store.insert(hash, key, &[]) {
            self.on_insert(store, slot, hash, weight);
        }
        false
    }

    /// Switches structure or window share. Nothing moves here: the lists are
    /// shared, and a W-TinyLFU window converges over the next calls
    /// ([`Engine::converge`]).
    pub fn adopt(&mut self, structure: Structure) {
        if structure == self.structure {
            return;
        }
        self.structure = structure;
        // S3-FIFO's small queue drains through eviction, not by moves.
        self.rebalancing = !self.is_s3fifo();
        if self.is_s3fifo() {
            self.remember_evictions();
        }
    }

    /// A bounded step toward the current shares, while a W-TinyLFU window
    /// adopted last is converging.
    pub fn converge(&mut self, store: &mut Store) {
        if self.rebalancing {
            self.rebalance(store);
        }
    }

    /// A bounded step toward the current shares.
    fn rebalance(&mut self, store: &mut Store) {
        let mut moves = 0;
        while moves < MOVES_PER_CALL && self.window_over() {
            let head = self.window.list.head;
            self.move_to(store, head, PROBATION);
            moves += 1;
        }
        while moves < MOVES_PER_CALL {
            let head = if self.probation.list.head != NONE {
                self.probation.list.head
            } else {
                self.protected.list.head
            };
            if head == NONE {
                break;
            }
            let bytes = self.window.bytes + weight(store, head);
            if self.over(bytes, self.window.list.len + 1, self.window_share()) {
                break;
            }
            self.move_to(store, head, WINDOW);
            moves += 1;
        }
        self.demote_protected(store);
        if moves < MOVES_PER_CALL {
            self.rebalancing = false;
        }
    }

    /// The entry to evict next, to make room for an incoming entry of
    /// `incoming` bytes (0 when nothing is being inserted). New entries always
    /// enter the window; if that overfills it, the window's oldest entry is the
    /// candidate for the main space and must beat the main space's victim. May
    /// first move window entries into the main space when it has room (that is
    /// not an eviction).
    pub fn victim(&mut self, store: &mut Store, rng: &mut Rng, incoming: u64) -> Option<u32> {
        if self.is_s3fifo() {
            return self.s3fifo_victim(store);
        }
        loop {
            let window_full = self.window.list.len > 0
                && (incoming > 0 || self.window.list.len > 1)
                && self.over(
                    self.window.bytes + incoming,
                    self.window.list.len + usize::from(incoming > 0),
                    self.window_share(),
                );
            if window_full {
                let candidate = self.window.list.head;
                if self.main_has_room_for(store, candidate) {
                    self.move_to(store, candidate, PROBATION);
                    continue;
                }
                let victim = self.main_victim();
                if victim == NONE {
                    return Some(candidate);
                }
                let out = if self.admit(store, candidate, victim, rng) {
                    victim
                } else {
                    candidate
                };
                if out == candidate {
                    self.remember(store, candidate);
                }
                return Some(out);
            }
            let victim = self.main_victim();
            if victim != NONE {
                return Some(victim);
            }
            let head = self.window.list.head;
            return (head != NONE).then_some(head);
        }
    }

    /// S3-FIFO's eviction: from the small queue while the main one is within
    /// its share, an entry hit twice there moving to the main queue instead;
    /// from the main queue, an entry hit since it was last passed going round
    /// again with its count lowered (a 2-bit CLOCK). Each entry is passed
    /// over at most `PASSES_PER_ENTRY` times between hits, so this is O(1)
    /// amortised.
    fn s3fifo_victim(&mut self, store: &mut Store) -> Option<u32> {
        self.has_evicted = true;
        let mut passes = PASSES_PER_ENTRY * (self.len() + 1);
        loop {
            let main_len = self.probation.list.len + self.protected.list.len;
            let main_over = self.over(
                self.probation.bytes + self.protected.bytes,
                main_len,
                1.0 - SMALL_SHARE,
            );
            if main_over || self.window.list.len == 0 {
                // Protected holds only entries from before S3-FIFO was
                // adopted: they are the oldest of the main queue, and left
                // behind probation they would pin most of the cache.
                let head = if self.protected.list.head != NONE {
                    self.protected.list.head
                } else {
                    self.probation.list.head
                };
                if head == NONE {
                    let small = self.window.list.head;
                    return (small != NONE).then_some(small);
                }
                let f = freq(store, head);
                if f == 0 || passes == 0 {
                    return Some(head);
                }
                passes -= 1;
                set_freq(store, head, f - 1);
                self.move_to(store, head, PROBATION);
                continue;
            }
            let head = self.window.list.head;
            if freq(store, head) >= MOVE_TO_MAIN && passes > 0 {
                passes -= 1;
                set_freq(store, head, 0);
                self.move_to(store, head, PROBATION);
                continue;
            }
            self.remember(store, head);
            return Some(head);
        }
    }

    /// Remembers an entry evicted from the small queue, in a memory of at
    /// most `REMEMBERED_SHARE` of the capacity (in bytes, and in entries
    /// when set) and, for a byte budget, `REMEMBERED_PER_HELD` keys per
    /// entry held.
    fn remember(&mut self, store: &Store, slot: u32) {
        let entries = if self.max_entries > 0.0 {
            self.max_entries
        } else {
            REMEMBERED_PER_HELD * self.len() as f64
        };
        if let Some(q) = self.evicted.as_mut() {
            q.remember(
                fingerprint(store.hash(store.key(slot))),
                weight(store, slot),
                REMEMBERED_SHARE * entries,
            );
        }
    }

    fn main_victim(&self) -> u32 {
        if self.probation.list.head != NONE {
            self.probation.list.head
        } else {
            self.protected.list.head
        }
    }

    fn admit(&self, store: &Store, candidate: u32, victim: u32, rng: &mut Rng) -> bool {
        let fc = self.sketch.frequency(store.hash(store.key(candidate)));
        let fv = self.sketch.frequency(store.hash(store.key(victim)));
        if fc > fv {
            true
        } else if fc >= HASHDOS_THRESHOLD {
            rng.next_u64() % ADMIT_LOTTERY == 0
        } else {
            false
        }
    }

    /// Visits every entry, those the engine would give up first first:
    /// probation (the main space's victims), then the window, then
    /// protected, each oldest first.
    pub fn for_each_oldest_first(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        for region in [&self.probation, &self.window, &self.protected] {
            region.list.for_each(store, f);
        }
    }

    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, store: &Store) -> usize {
        let mut n = 0;
        for (r, region) in [
            (WINDOW, &self.window),
            (PROBATION, &self.probation),
            (PROTECTED, &self.protected),
        ] {
            let slots = region.list.slots(store);
            let bytes: u64 = slots.iter().map(|&s| weight(store, s)).sum();
            assert_eq!(bytes, region.bytes, "region bytes");
            for s in &slots {
                assert_eq!(region_of(store, *s), r, "region tag");
            }
            n += slots.len();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, Structure};
    use crate::rng::Rng;
    use crate::store::Store;
    use crate::Key;
    use alloc::format;
    use alloc::vec::Vec;

    fn k(s: &str) -> Vec<u8> {
        Key::Str(s).to_bytes()
    }

    /// One structure over keys without values.
    struct Fixed {
        store: Store,
        policy: Engine,
        rng: Rng,
    }

    impl Fixed {
        fn new(entries: usize, structure: Structure) -> Fixed {
            Fixed {
                store: Store::new(3, true),
                policy: Engine::new(1e12, entries as f64, structure),
                rng: Rng::new(5),
            }
        }

        fn read(&mut self, key: &str) -> bool {
            let key = k(key);
            self.policy
                .replay(&mut self.store, &key, 1, true, &mut self.rng)
        }

        fn holds(&self, key: &str) -> bool {
            let key = k(key);
            self.store.find(self.store.hash(&key), &key).is_some()
        }
    }

    /// Reads 50 keys three times each, then 1,000 new keys once: how many
    /// of the 50 a 100-entry cache still holds.
    fn kept_through_a_scan(structure: Structure) -> usize {
        let mut c = Fixed::new(100, structure);
        let hot: Vec<_> = (0..50).map(|i| format!("hot{i}")).collect();
        for _ in 0..3 {
            for h in &hot {
                c.read(h);
            }
        }
        for i in 0..1000 {
            c.read(&format!("scan{i}"));
        }
        assert_eq!(c.policy.validate(&c.store), c.store.len());
        hot.iter().filter(|h| c.holds(h)).count()
    }

    #[test]
    fn a_one_pass_scan_does_not_flush_keys_read_repeatedly() {
        // Plain LRU (a 100 % window) keeps none of them.
        assert_eq!(kept_through_a_scan(Structure::WTinyLfu(1.0)), 0);
        assert_eq!(kept_through_a_scan(Structure::S3Fifo), 50);
        // One key was in the window while it was read, so it reached the
        // main space only on probation; the sketch's halving during the scan
        // lets a colliding scan key beat it there.
        assert!(kept_through_a_scan(Structure::WTinyLfu(0.01)) >= 49);
    }

    #[test]
    fn a_key_evicted_once_and_requested_again_is_kept_longer() {
        let mut c = Fixed::new(100, Structure::S3Fifo);
        for i in 0..200 {
            c.read(&format!("fill{i}"));
        }
        // "back" is evicted from the small queue unread, then comes back: it
        // is remembered, so it goes to the main queue and survives a scan
        // that a new key in the small queue would not.
        c.read("back");
        for i in 0..20 {
            c.read(&format!("push{i}"));
        }
        assert!(!c.holds("back"));
        c.read("back");
        c.read("new");
        for i in 0..30 {
            c.read(&format!("scan{i}"));
        }
        assert!(c.holds("back"));
        assert!(!c.holds("new"));
    }
}
