//! The façade: one [`Cache`] composing the store, the expiry heap, the
//! policy, dependencies, tags and stats.

use crate::arena::Value;
use crate::config::Config;
use crate::deps::{Deps, NodeRef, Ref, EDGE_OVERHEAD};
use crate::error::CacheError;
use crate::expiry::{jittered_ttl, ExpiryHeap, MAX_TTL_MS, TTL_OVERHEAD};
use crate::key::KeyHasher;
use crate::policy::PolicyState;
use crate::rng::Rng;
use crate::stats::{RemovalCause, Stats};
use crate::store::{Flags, Store, Version, NONE};
use crate::tags::{TagRef, Tags, TAG_OVERHEAD};
use crate::xfetch;
use alloc::vec::Vec;
use hashbrown::HashMap;

mod snapshot;
pub use snapshot::PlainLoad;

/// How many expired or tag-dead entries each call reclaims on the side. Work
/// per call stays bounded; a write that needs room reclaims as much as it needs.
const MAINTENANCE_BATCH: usize = 8;

/// Per-write options.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetOptions<'a> {
    /// TTL in ms; `None` takes the configured default; `Some(0)` never expires.
    pub ttl_ms: Option<u64>,
    /// Stale window in ms after expiry; `None` takes the configured default.
    pub grace_ms: Option<u64>,
    /// Tags (any bytes; the JS layer passes UTF-8).
    pub tags: &'a [&'a [u8]],
    /// Encoded keys this entry was built from.
    pub depends_on: &'a [&'a [u8]],
    /// How long the load that produced the value took, in ms (at least 1),
    /// kept for early refresh ([`Cache::refresh_due`]); `None` for a value
    /// that was not loaded, or whose reader asks for no early refresh.
    pub load_ms: Option<u32>,
}

impl SetOptions<'_> {
    /// Whether the entry needs a side-table record: tags, `dependsOn`
    /// edges or a load time.
    fn has_extra(&self) -> bool {
        !self.tags.is_empty() || !self.depends_on.is_empty() || self.load_ms.is_some()
    }
}

/// Bytes charged to an entry that records a load time
/// ([`SetOptions::load_ms`]): its side-table record (wasm32: the slot, tag
/// and edge lists, charge, generation and load time, 48 bytes).
pub const LOAD_TIME_OVERHEAD: usize = 48;

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// Stored.
    Stored,
    /// Refused: the entry alone is larger than the budget.
    TooLarge,
    /// Refused: the policy could not make room (`noeviction`, or `volatile-*`
    /// without enough entries that have a TTL). Nothing was removed.
    NoRoom,
}

/// What a read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// A fresh value.
    Fresh(Value<'a>),
    /// A value past its TTL but inside its stale window (only when asked for).
    Stale {
        /// The value.
        value: Value<'a>,
        /// When it expired (ms).
        expired_at: u64,
    },
    /// Nothing usable.
    Miss,
}

/// What [`CacheError::InvalidArgument`] names for a TTL above [`MAX_TTL_MS`].
pub(crate) const TTL_TOO_LARGE: &str = "ttl is above the largest TTL kept (MAX_TTL_MS)";
/// What it names for a stale window above [`MAX_TTL_MS`].
pub(crate) const WINDOW_TOO_LARGE: &str =
    "stale window is above the largest window kept (MAX_TTL_MS)";

/// The longest key or value a write takes: entry lengths are kept in `u32`s.
const MAX_PART_LEN: usize = u32::MAX as usize / 2;

/// A write that passed validation: its resolved TTL and window and its charge.
struct Write {
    ttl: u64,
    grace: u64,
    /// Everything the budget charges for the entry.
    charge: u64,
    /// The part of `charge` for its tags and `dependsOn` edges.
    extra_charge: u64,
}

/// Bytes the budget charges for a write: `entry_bytes` (see
/// [`crate::entry_bytes`]), [`TTL_OVERHEAD`] when it has a TTL, and per tag
/// and per `dependsOn` key its length plus [`TAG_OVERHEAD`] or
/// [`EDGE_OVERHEAD`], and [`LOAD_TIME_OVERHEAD`] when it records a load time.
///
/// ```
/// use edgecache::{entry_bytes, write_charge, Policy, SetOptions};
/// let opts = SetOptions { tags: &[b"t"], ..Default::default() };
/// let plain = write_charge(entry_bytes(Policy::AllKeysLru, 17, 8), 0, &SetOptions::default());
/// assert_eq!(plain, 45);
/// assert!(write_charge(entry_bytes(Policy::AllKeysLru, 17, 8), 1000, &opts) > plain);
/// ```
pub fn write_charge(entry_bytes: usize, ttl_ms: u64, opts: &SetOptions<'_>) -> u64 {
    let ttl = if ttl_ms > 0 { TTL_OVERHEAD as u64 } else { 0 };
    entry_bytes as u64 + ttl + extras_charge(opts)
}

/// The tags' and `dependsOn` edges' share of [`write_charge`].
fn extras_charge(opts: &SetOptions<'_>) -> u64 {
    let tags: u64 = opts
        .tags
        .iter()
        .map(|t| (t.len() + TAG_OVERHEAD) as u64)
        .sum();
    let deps: u64 = opts
        .depends_on
        .iter()
        .map(|d| (d.len() + EDGE_OVERHEAD) as u64)
        .sum();
    let load_time = if opts.load_ms.is_some() {
        LOAD_TIME_OVERHEAD as u64
    } else {
        0
    };
    tags + deps + load_time
}

/// The entry a write replaces: its charge, and whether the policy may evict it.
#[derive(Clone, Copy, Debug)]
pub struct OldEntry {
    /// What the budget charges for it now.
    pub charge: u64,
    /// Whether the policy tracks (may evict) it.
    pub tracked: bool,
}

/// The budget and what eviction may free: the one room check, shared by
/// [`Cache::set`] and the model test.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    /// Bytes charged now.
    pub bytes: u64,
    /// The byte budget.
    pub max_bytes: u64,
    /// Entries now.
    pub entries: usize,
    /// The entry bound (0: none).
    pub max_entries: usize,
    /// Bytes of the entries the policy may evict.
    pub evictable_bytes: u64,
    /// How many entries the policy may evict.
    pub evictable_entries: usize,
}

impl Room {
    /// Whether evicting what the policy may evict can make room for a write
    /// of `charge` bytes that replaces `old`.
    ///
    /// ```
    /// use edgecache::{OldEntry, Room};
    /// let room = Room { bytes: 900, max_bytes: 1000, entries: 3, max_entries: 0, evictable_bytes: 0, evictable_entries: 0 };
    /// assert!(room.can_fit(100, None));
    /// assert!(!room.can_fit(101, None));
    /// // replacing a 50-byte entry frees its bytes first
    /// assert!(room.can_fit(150, Some(OldEntry { charge: 50, tracked: false })));
    /// ```
    pub fn can_fit(&self, charge: u64, old: Option<OldEntry>) -> bool {
        let old_charge = old.map_or(0, |o| o.charge);
        let old_tracked = old.is_some_and(|o| o.tracked);
        let old_count = usize::from(old.is_some());
        let need_bytes =
            (self.bytes.saturating_sub(old_charge) + charge).saturating_sub(self.max_bytes);
        let evictable_bytes =
            self.evictable_bytes
                .saturating_sub(if old_tracked { old_charge } else { 0 });
        let need_entries = match self.max_entries {
            0 => 0,
            max => (self.entries.saturating_sub(old_count) + 1).saturating_sub(max),
        };
        let evictable_entries = self
            .evictable_entries
            .saturating_sub(usize::from(old_tracked));
        need_bytes <= evictable_bytes && need_entries <= evictable_entries
    }
}

#[derive(Default)]
struct Extra {
    tags: Vec<TagRef>,
    deps: Vec<NodeRef>,
    charge: u64,
    /// Names this entry in [`Ref`]s: a reference whose slot now holds another
    /// entry (or one without extras) is stale.
    gen: u32,
    /// How long its last load took, in ms (0: not recorded): early refresh's
    /// `delta`. Kept here, it goes with the entry and costs entries that
    /// never record one nothing.
    load_ms: u32,
}

/// Whether `r` still names the entry it was made for. Only entries with
/// extras are named by references, and an entry's extras leave the map when
/// it is removed, so the map alone answers: a stale slot may now fall inside
/// another entry's chunk, and its record bytes are not read.
fn is_live(extras: &SlotMap<Extra>, r: &Ref) -> bool {
    extras.get(&r.slot).is_some_and(|x| x.gen == r.gen)
}

type SlotMap<V> = HashMap<u32, V, foldhash::fast::FixedState>;

/// Longest key [`Missed`] remembers (a stock key is 18 bytes encoded).
const MISSED_KEY: usize = 48;

/// The key the last `get` found absent, its hash, and the store's version
/// then. A write of that key while the version holds (a read-through
/// storing what it loaded after the miss) takes the hash and knows the key
/// absent, without hashing it and probing the index again.
struct Missed {
    /// `None` once nothing is remembered.
    version: Option<Version>,
    hash: u64,
    len: usize,
    key: [u8; MISSED_KEY],
}

impl Missed {
    const NONE: Missed = Missed {
        version: None,
        hash: 0,
        len: 0,
        key: [0; MISSED_KEY],
    };

    /// Remembers `key` (if short enough) as absent from a store at `version`.
    #[inline]
    fn remember(&mut self, key: &[u8], hash: u64, version: Version) {
        let Some(to) = self.key.get_mut(..key.len()) else {
            return;
        };
        to.copy_from_slice(key);
        self.len = key.len();
        self.hash = hash;
        self.version = Some(version);
    }

    /// The hash of `key` when it is the remembered one and the store is
    /// still at the version it was found absent in.
    #[inline]
    fn absent(&self, key: &[u8], version: Version) -> Option<u64> {
        (self.len == key.len()
            && self.version == Some(version)
            && self.key.get(..key.len()) == Some(key))
        .then_some(self.hash)
    }
}

/// A byte-budgeted cache. Time is passed in (`now`, ms), randomness seeded.
///
/// ```
/// use edgecache::{Cache, Config, Key, Lookup, SetOptions};
/// let mut cache = Cache::new(Config::default(), 42).unwrap();
/// let k = Key::Str("A0012345:EA:S170").to_bytes();
/// cache.set(&k, b"{\"qty\":3}", &SetOptions { ttl_ms: Some(1000), ..Default::default() }, 0).unwrap();
/// assert_eq!(cache.get(&k, 999, false), Lookup::Fresh(b"{\"qty\":3}".into()));
/// assert_eq!(cache.get(&k, 1000, false), Lookup::Miss);
/// ```
pub struct Cache {
    config: Config,
    store: Store,
    heap: ExpiryHeap,
    policy: PolicyState,
    deps: Deps,
    tags: Tags,
    extras: SlotMap<Extra>,
    /// The next entry with extras gets this `gen`.
    next_gen: u32,
    garbage: Vec<Vec<Ref>>,
    /// Seeded hasher for tag names and dependency keys.
    side_hasher: KeyHasher,
    rng: Rng,
    bytes: u64,
    stats: Stats,
    missed: Missed,
}

impl Cache {
    /// Builds a cache. `seed` seeds its hashing and sampling: the same seed
    /// and the same calls give the same cache.
    ///
    /// ```
    /// use edgecache::{Cache, CacheError, Config, Policy};
    /// let config = Config { max_bytes: 64 << 20, policy: Policy::AllKeysLfu, ..Config::default() };
    /// let cache = Cache::new(config, 42).unwrap();
    /// assert!(cache.is_empty());
    /// let none = Config { max_bytes: 0, ..Config::default() };
    /// assert!(matches!(Cache::new(none, 42), Err(CacheError::InvalidConfig(_))));
    /// ```
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] naming the bad field.
    pub fn new(config: Config, seed: u64) -> Result<Cache, CacheError> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let hash_seed = rng.next_u64();
        let extras_seed = rng.next_u64();
        let side_seed = rng.next_u64();
        let policy_seed = rng.next_u64();
        Ok(Cache {
            policy: PolicyState::new(&config, policy_seed),
            store: Store::new(hash_seed, config.policy.keeps_meta()),
            heap: ExpiryHeap::default(),
            deps: Deps::default(),
            tags: Tags::default(),
            extras: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(extras_seed)),
            next_gen: 0,
            garbage: Vec::new(),
            side_hasher: KeyHasher::new(side_seed),
            rng,
            bytes: 0,
            stats: Stats {
                max_bytes: config.max_bytes as u64,
                ..Stats::default()
            },
            missed: Missed::NONE,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reads `key`. A fresh hit refreshes recency/frequency and counts a hit;
    /// with `accept_stale`, a value inside its stale window is returned as
    /// [`Lookup::Stale`] and counted as a stale hit; anything else is a miss.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, Lookup, SetOptions};
    /// let mut cache = Cache::new(Config::default(), 42).unwrap();
    /// let k = Key::Str("price").to_bytes();
    /// let opts = SetOptions { ttl_ms: Some(100), grace_ms: Some(50), ..Default::default() };
    /// cache.set(&k, b"9.99", &opts, 0).unwrap();
    /// assert_eq!(cache.get(&k, 99, false), Lookup::Fresh(b"9.99".into()));
    /// assert_eq!(cache.get(&k, 120, false), Lookup::Miss);
    /// assert_eq!(cache.get(&k, 120, true), Lookup::Stale { value: b"9.99".into(), expired_at: 100 });
    /// assert_eq!(cache.get(&k, 150, true), Lookup::Miss, "past the stale window");
    /// assert_eq!(cache.stats().hits, 1);
    /// ```
    pub fn get(&mut self, key: &[u8], now: u64, accept_stale: bool) -> Lookup<'_> {
        self.maintain(now);
        let hash = self.store.hash(key);
        let Some(hit) = self.store.find_hit(hash, key) else {
            self.missed.remember(key, hash, self.store.version());
            return self.miss(hash);
        };
        let (slot, flags) = (hit.slot, hit.flags);
        if flags.always_fresh() {
            // The common entry (no TTL, no tags): one branch, no heap or side table.
            self.stats.hits += 1;
            if flags.tracked() {
                self.policy
                    .access(&mut self.store, slot, hash, now, &mut self.rng);
            }
            return Lookup::Fresh(self.store.hit_value(&hit));
        }
        match self.state(slot, now) {
            State::Dead(dead) => {
                self.reclaim_dead(slot, dead);
                self.miss(hash)
            }
            State::Stale(expired_at) if accept_stale => {
                self.stats.stale_hits += 1;
                Lookup::Stale {
                    value: self.store.value(slot),
                    expired_at,
                }
            }
            State::Stale(_) => self.miss(hash),
            State::Fresh => {
                self.stats.hits += 1;
                if flags.tracked() {
                    self.policy
                        .access(&mut self.store, slot, hash, now, &mut self.rng);
                }
                Lookup::Fresh(self.store.live_value(slot))
            }
        }
    }

    /// Whether a read of `key` at `now` should start an early refresh (see
    /// [`crate::xfetch`]): only for a fresh entry with a TTL whose last load
    /// time was recorded ([`SetOptions::load_ms`]). Draws from the cache's
    /// generator; changes no recency, frequency or stats.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, SetOptions};
    /// let mut cache = Cache::new(Config::default(), 42).unwrap();
    /// let k = Key::Str("hot").to_bytes();
    /// let loaded = SetOptions { ttl_ms: Some(10_000), load_ms: Some(200), ..Default::default() };
    /// cache.set(&k, b"v", &loaded, 0).unwrap();
    /// assert!(!cache.refresh_due(&k, 0, 1.0), "10 s before expiry: never");
    /// assert!((0..100).any(|_| cache.refresh_due(&k, 9_990, 1.0)), "10 ms before: almost surely");
    /// assert!(!cache.refresh_due(&k, 9_990, 0.0), "beta 0 is off");
    /// ```
    pub fn refresh_due(&mut self, key: &[u8], now: u64, beta: f64) -> bool {
        let Some(slot) = self.store.find(self.store.hash(key), key) else {
            return false;
        };
        let e = self.store.at(slot);
        if !e.extra() || !matches!(self.state(slot, now), State::Fresh) {
            return false;
        }
        let delta = self.extras.get(&slot).map_or(0, |x| x.load_ms);
        match self.heap.times(e.ttl_pos()) {
            Some((expires_at, _)) if e.ttl_pos() != NONE => {
                xfetch::due(now, expires_at, delta, beta, &mut self.rng)
            }
            _ => false,
        }
    }

    fn miss(&mut self, hash: u64) -> Lookup<'static> {
        self.stats.misses += 1;
        self.policy.miss(&mut self.store, hash, &mut self.rng);
        Lookup::Miss
    }

    /// Reads a fresh value without touching recency, frequency or stats.
    pub fn peek(&self, key: &[u8], now: u64) -> Option<Value<'_>> {
        let hit = self.store.find_hit(self.store.hash(key), key)?;
        (hit.flags.always_fresh() || matches!(self.state(hit.slot, now), State::Fresh))
            .then(|| self.store.hit_value(&hit))
    }

    /// Whether a fresh value is cached; no recency, frequency or stats change.
    pub fn has(&self, key: &[u8], now: u64) -> bool {
        self.peek(key, now).is_some()
    }

    /// Writes `key`. Any write is a change: entries that depend on `key` are
    /// removed (transitively) once the write is accepted. A write that cannot
    /// fit is refused without removing anything.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, Policy, SetOptions, SetOutcome};
    /// let config = Config { max_bytes: 1000, policy: Policy::NoEviction, ..Config::default() };
    /// let mut cache = Cache::new(config, 7).unwrap();
    /// let k = Key::Str("page:/").to_bytes();
    /// let opts = SetOptions { ttl_ms: Some(60_000), tags: &[b"pages"], ..Default::default() };
    /// assert_eq!(cache.set(&k, b"<html>", &opts, 0), Ok(SetOutcome::Stored));
    /// // larger than the whole budget: refused, and counted
    /// let big = Key::Str("big").to_bytes();
    /// assert_eq!(cache.set(&big, &[0; 2000], &SetOptions::default(), 0), Ok(SetOutcome::TooLarge));
    /// assert_eq!(cache.stats().rejected, 1);
    /// ```
    ///
    /// # Errors
    /// [`CacheError::InvalidArgument`] for a TTL or window above
    /// [`MAX_TTL_MS`]; [`CacheError::AllocFailed`] when memory runs out.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        opts: &SetOptions<'_>,
        now: u64,
    ) -> Result<SetOutcome, CacheError> {
        self.set_with(key, value.len(), opts, now, |at, v| {
            if let Some(src) = value.get(at..at + v.len()) {
                v.copy_from_slice(src);
            }
        })
    }

    /// Like [`Cache::set`] for a `value_len`-byte value that `fill` writes
    /// into its place in the store, so a host never stages a large value
    /// first. `fill(at, piece)` runs only when the write is stored, once per
    /// piece of the value in order (`at`: the piece's offset in the value;
    /// a value of [`crate::BLOCK`] bytes or more lies in several pieces, see
    /// [`Value`]); a refused write allocates nothing.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, Lookup, SetOptions, SetOutcome};
    /// let mut cache = Cache::new(Config::default(), 7).unwrap();
    /// let k = Key::Str("k").to_bytes();
    /// let value = b"abc";
    /// let fill = |at: usize, piece: &mut [u8]| piece.copy_from_slice(&value[at..at + piece.len()]);
    /// let stored = cache.set_with(&k, 3, &SetOptions::default(), 0, fill);
    /// assert_eq!(stored, Ok(SetOutcome::Stored));
    /// assert_eq!(cache.get(&k, 0, false), Lookup::Fresh(b"abc".into()));
    /// ```
    ///
    /// # Errors
    /// As [`Cache::set`].
    pub fn set_with(
        &mut self,
        key: &[u8],
        value_len: usize,
        opts: &SetOptions<'_>,
        now: u64,
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<SetOutcome, CacheError> {
        // One compiled copy of the write path for every kind of `fill`.
        self.set_filled(key, value_len, opts, now, &mut fill)
    }

    fn set_filled(
        &mut self,
        key: &[u8],
        value_len: usize,
        opts: &SetOptions<'_>,
        now: u64,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<SetOutcome, CacheError> {
        let w = match self.validate_write(key.len(), value_len, opts)? {
            Ok(w) => w,
            Err(refused) => return Ok(self.refuse(refused)),
        };
        self.maintain(now);
        let (hash, existing) = match self.missed.absent(key, self.store.version()) {
            Some(hash) => (hash, None),
            None => {
                let hash = self.store.hash(key);
                (hash, self.store.find(hash, key))
            }
        };
        if !self.make_room_possible(existing, w.charge, now) {
            return Ok(self.refuse(SetOutcome::NoRoom));
        }
        self.reserve(hash, w.ttl, opts.has_extra())?;
        // Accepted: it is a change of `key`.
        if let Some(s) = existing {
            self.remove(s, RemovalCause::Replaced);
        }
        self.cascade(key, now);
        self.evict_until(now, w.charge, 1)?;
        // `reserve` made room in the index; removals since only freed some.
        let slot = self.store.insert_reserved(hash, key, value_len, fill)?;
        self.link(slot, hash, &w, opts, now)?;
        Ok(SetOutcome::Stored)
    }

    /// Counts a write the host refused before it reached the core (its key,
    /// tags or `dependsOn` keys were longer than the host can pass in), as a
    /// refused write.
    pub fn count_refused(&mut self) {
        self.stats.rejected += 1;
    }

    /// Counts a read the host answered as a miss without asking (a key too
    /// long for any write to have stored).
    pub fn count_miss(&mut self) {
        self.stats.misses += 1;
    }

    /// Counts a refused write.
    fn refuse(&mut self, outcome: SetOutcome) -> SetOutcome {
        self.stats.rejected += 1;
        outcome
    }

    /// Resolves a write's TTL and window and computes its charge: `Err` for
    /// an argument out of range, `Ok(Err(TooLarge))` for an entry larger
    /// than the whole budget. Changes nothing.
    fn validate_write(
        &self,
        key_len: usize,
        value_len: usize,
        opts: &SetOptions<'_>,
    ) -> Result<Result<Write, SetOutcome>, CacheError> {
        let ttl = opts.ttl_ms.unwrap_or(self.config.default_ttl_ms);
        let grace = opts.grace_ms.unwrap_or(self.config.default_grace_ms);
        if ttl > MAX_TTL_MS {
            return Err(CacheError::InvalidArgument(TTL_TOO_LARGE));
        }
        if grace > MAX_TTL_MS {
            return Err(CacheError::InvalidArgument(WINDOW_TOO_LARGE));
        }
        if key_len > MAX_PART_LEN || value_len > MAX_PART_LEN {
            return Ok(Err(SetOutcome::TooLarge));
        }
        let charge = write_charge(self.store.charge(key_len, value_len), ttl, opts);
        if charge > self.config.max_bytes as u64 {
            return Ok(Err(SetOutcome::TooLarge));
        }
        Ok(Ok(Write {
            ttl,
            grace,
            charge,
            extra_charge: extras_charge(opts),
        }))
    }

    /// Whether eviction can make room for a write of `charge` bytes that
    /// replaces `existing` (after reclaiming dead entries, which is free).
    /// Removes nothing live.
    fn make_room_possible(&mut self, existing: Option<u32>, charge: u64, now: u64) -> bool {
        let old = existing.map(|s| OldEntry {
            charge: self.charge_of(s),
            tracked: self.store.at(s).tracked(),
        });
        let old_charge = old.map_or(0, |o| o.charge);
        let old_count = usize::from(old.is_some());
        self.reclaim_dead_until(now, charge.saturating_sub(old_charge), 1 - old_count);
        let room = Room {
            bytes: self.bytes,
            max_bytes: self.config.max_bytes as u64,
            entries: self.store.len(),
            max_entries: self.config.max_entries,
            evictable_bytes: self.policy.tracked_bytes,
            evictable_entries: self.policy.tracked_len,
        };
        room.can_fit(charge, old)
    }

    /// Allocates everything a new entry needs but its chunk, before
    /// anything is removed: nothing else is then allocated between the
    /// evictions that free memory and the chunk that takes it, so a large
    /// value takes the place a replaced or evicted one left (a small
    /// allocation in between would split that hole and grow memory).
    fn reserve(&mut self, hash: u64, ttl: u64, has_extra: bool) -> Result<(), CacheError> {
        if ttl > 0 {
            self.heap.reserve()?;
        }
        self.policy.reserve()?;
        if has_extra {
            self.extras.try_reserve(1)?;
        }
        self.store.reserve(hash)
    }

    /// Links a freshly allocated entry into the expiry heap, the side tables
    /// and the policy, and charges it. The adaptive policy may move window
    /// entries on insert; the budget still holds because eviction made room
    /// for the charge first.
    fn link(
        &mut self,
        slot: u32,
        hash: u64,
        w: &Write,
        opts: &SetOptions<'_>,
        now: u64,
    ) -> Result<(), CacheError> {
        if w.ttl > 0 {
            let d = jittered_ttl(w.ttl, self.config.jitter, &mut self.rng);
            self.heap
                .push(&mut self.store, slot, now.saturating_add(d), w.grace);
        }
        if opts.has_extra() {
            if let Err(e) = self.add_extra(slot, w, opts) {
                self.bytes += w.charge;
                self.remove(slot, RemovalCause::Evicted);
                return Err(e);
            }
        }
        self.bytes += w.charge;
        self.policy
            .insert(&mut self.store, slot, hash, w.charge, now, &mut self.rng);
        self.stats.sets += 1;
        Ok(())
    }

    /// Gives `slot` its side record (tags, edges, load time), charged
    /// `w.extra_charge`. On `Err` the record is in place and the caller
    /// removes the entry, which drops it.
    fn add_extra(&mut self, slot: u32, w: &Write, opts: &SetOptions<'_>) -> Result<(), CacheError> {
        let me = Ref {
            slot,
            gen: self.next_gen,
        };
        self.next_gen = self.next_gen.wrapping_add(1);
        let mut extra = Extra {
            charge: w.extra_charge,
            gen: me.gen,
            load_ms: opts.load_ms.unwrap_or(0),
            ..Extra::default()
        };
        let result = self.attach_extra(&mut extra, opts, me);
        self.extras.insert(slot, extra);
        self.store.set_extra(slot, true);
        result
    }

    fn attach_extra(
        &mut self,
        extra: &mut Extra,
        opts: &SetOptions<'_>,
        me: Ref,
    ) -> Result<(), CacheError> {
        extra.tags.try_reserve_exact(opts.tags.len())?;
        extra.deps.try_reserve_exact(opts.depends_on.len())?;
        for tag in opts.tags {
            extra
                .tags
                .push(self.tags.attach(&self.side_hasher, tag, me)?);
        }
        for child in opts.depends_on {
            extra
                .deps
                .push(self.deps.add(&self.side_hasher, child, me)?);
        }
        Ok(())
    }

    /// Removes `key` and everything built on it. Returns whether a fresh value
    /// was there.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, SetOptions};
    /// let mut cache = Cache::new(Config::default(), 42).unwrap();
    /// let (user, page) = (Key::Str("user:1").to_bytes(), Key::Str("page:1").to_bytes());
    /// cache.set(&user, b"ada", &SetOptions::default(), 0).unwrap();
    /// let built_on_user = SetOptions { depends_on: &[&user], ..Default::default() };
    /// cache.set(&page, b"<p>ada</p>", &built_on_user, 0).unwrap();
    /// assert!(cache.delete(&user, 0));
    /// assert!(!cache.has(&page, 0), "its dependent went too");
    /// assert!(!cache.delete(&user, 0));
    /// ```
    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        let hash = self.store.hash(key);
        let mut was_fresh = false;
        if let Some(slot) = self.store.find(hash, key) {
            match self.state(slot, now) {
                State::Dead(dead) => self.reclaim_dead(slot, dead),
                state => {
                    was_fresh = matches!(state, State::Fresh);
                    self.remove(slot, RemovalCause::Deleted);
                }
            }
        }
        self.cascade(key, now);
        was_fresh
    }

    /// Removes `key` and, transitively, every entry that depends on it.
    /// Returns how many entries were removed.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, SetOptions};
    /// let mut cache = Cache::new(Config::default(), 42).unwrap();
    /// let [a, b, c] = ["a", "b", "c"].map(|s| Key::Str(s).to_bytes());
    /// cache.set(&a, b"1", &SetOptions::default(), 0).unwrap();
    /// cache.set(&b, b"2", &SetOptions { depends_on: &[&a], ..Default::default() }, 0).unwrap();
    /// cache.set(&c, b"3", &SetOptions { depends_on: &[&b], ..Default::default() }, 0).unwrap();
    /// assert_eq!(cache.invalidate(&a, 0), 3, "a, then b built on a, then c built on b");
    /// assert!(cache.is_empty());
    /// ```
    pub fn invalidate(&mut self, key: &[u8], now: u64) -> usize {
        let hash = self.store.hash(key);
        let mut n = 0;
        if let Some(slot) = self.store.find(hash, key) {
            match self.state(slot, now) {
                State::Dead(dead) => self.reclaim_dead(slot, dead),
                _ => {
                    self.remove(slot, RemovalCause::Invalidated);
                    n += 1;
                }
            }
        }
        n + self.cascade(key, now)
    }

    /// Invalidates every entry set with `tag` before this call, in O(1): the
    /// entries become unreachable at once and are reclaimed as garbage.
    /// Returns how many live entries carried the tag.
    ///
    /// ```
    /// use edgecache::{Cache, Config, Key, SetOptions};
    /// let mut cache = Cache::new(Config::default(), 42).unwrap();
    /// let tagged = SetOptions { tags: &[b"products"], ..Default::default() };
    /// for name in ["p1", "p2"] {
    ///     cache.set(&Key::Str(name).to_bytes(), b"{}", &tagged, 0).unwrap();
    /// }
    /// assert_eq!(cache.invalidate_tag(b"products"), 2);
    /// assert!(!cache.has(&Key::Str("p1").to_bytes(), 0));
    /// // entries tagged after the call are not affected
    /// cache.set(&Key::Str("p3").to_bytes(), b"{}", &tagged, 0).unwrap();
    /// assert!(cache.has(&Key::Str("p3").to_bytes(), 0));
    /// ```
    pub fn invalidate_tag(&mut self, tag: &[u8]) -> usize {
        let (count, members) = self.tags.invalidate(&self.side_hasher, tag);
        if !members.is_empty() && self.garbage.try_reserve(1).is_ok() {
            self.garbage.push(members);
        }
        self.stats.invalidations += count as u64;
        for _ in 0..MAINTENANCE_BATCH {
            if !self.reclaim_one_garbage() {
                break;
            }
        }
        count as usize
    }

    /// Drops every entry; keeps the configuration and the counters.
    pub fn clear(&mut self) {
        self.store.clear();
        self.heap.clear();
        let seed = self.rng.next_u64();
        self.policy.clear(&self.config, seed);
        self.deps.clear();
        self.tags.clear();
        self.extras =
            HashMap::with_hasher(foldhash::fast::FixedState::with_seed(self.rng.next_u64()));
        self.garbage = Vec::new();
        self.bytes = 0;
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        Stats {
            entries: self.store.len() as u64,
            bytes: self.bytes,
            ..self.stats
        }
    }

    /// Bytes charged now.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Entries now (including ones dead by tag not yet reclaimed).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Reads without any side effect: `(value, is_stale)` for a fresh entry or
    /// one inside its stale window (tests and fuzzing).
    #[cfg(any(test, feature = "std"))]
    pub fn probe(&self, key: &[u8], now: u64) -> Option<(Value<'_>, bool)> {
        let slot = self.store.find(self.store.hash(key), key)?;
        match self.state(slot, now) {
            State::Fresh => Some((self.store.value(slot), false)),
            State::Stale(_) => Some((self.store.value(slot), true)),
            State::Dead(_) => None,
        }
    }

    /// The adaptive policy's current window share (for the demo), if any.
    pub fn window_share(&self) -> Option<f64> {
        self.policy.window_share()
    }

    /// Reclaims up to `max` expired or tag-dead entries. Hosts may call this
    /// from idle time; every operation already does a little.
    pub fn reclaim(&mut self, now: u64, max: usize) -> usize {
        let mut n = 0;
        while n < max && (self.reclaim_one_garbage() || self.reclaim_one_expired(now)) {
            n += 1;
        }
        n
    }

    // ----- internals -----

    fn state(&self, slot: u32, now: u64) -> State {
        let e = self.store.at(slot);
        if e.extra() {
            if let Some(x) = self.extras.get(&slot) {
                if !self.tags.all_current(&x.tags) {
                    return State::Dead(Dead::TagDead);
                }
            }
        }
        if e.ttl_pos() != NONE {
            if let Some((expires, dead)) = self.heap.times(e.ttl_pos()) {
                if now >= dead {
                    return State::Dead(Dead::Expired);
                }
                if now >= expires {
                    return State::Stale(expires);
                }
            }
        }
        State::Fresh
    }

    fn charge_of(&self, slot: u32) -> u64 {
        let flags = self.store.flags(slot);
        if !flags.live() {
            return self.store.charge_of(slot) as u64;
        }
        self.charge_with(slot, flags)
    }

    /// [`Cache::charge_of`] for a live entry whose flags the caller read.
    #[inline]
    fn charge_with(&self, slot: u32, e: Flags) -> u64 {
        let mut c = self.store.live_charge(slot) as u64;
        if e.has_ttl() {
            c += TTL_OVERHEAD as u64;
        }
        if e.extra() {
            c += self.extras.get(&slot).map_or(0, |x| x.charge);
        }
        c
    }

    /// Removes one live entry and counts it under `cause`.
    fn remove(&mut self, slot: u32, cause: RemovalCause) {
        if self.drop_entry(slot) {
            self.stats.count_removal(cause);
        }
    }

    /// Removes a dead entry: an expired one counts as an expiration; one
    /// killed by a tag was counted when the tag was invalidated.
    fn reclaim_dead(&mut self, slot: u32, dead: Dead) {
        match dead {
            Dead::Expired => self.remove(slot, RemovalCause::Expired),
            Dead::TagDead => {
                self.drop_entry(slot);
            }
        }
    }

    /// Unlinks and frees one entry without counting it; false if the slot held none.
    fn drop_entry(&mut self, slot: u32) -> bool {
        let flags = self.store.flags(slot);
        if !flags.live() {
            return false;
        }
        self.drop_live(slot, flags);
        true
    }

    /// [`Cache::drop_entry`] of a live entry whose flags the caller read.
    fn drop_live(&mut self, slot: u32, flags: Flags) {
        let charge = self.charge_with(slot, flags);
        if flags.tracked() {
            self.policy.remove(&mut self.store, slot, charge);
        }
        if flags.has_ttl() {
            self.heap.remove(&mut self.store, slot);
        }
        let extra = if flags.extra() {
            self.extras.remove(&slot)
        } else {
            None
        };
        self.store.remove_flagged(slot, flags);
        if let Some(extra) = extra {
            let extras = &self.extras;
            let live = |r: &Ref| is_live(extras, r);
            self.tags.detach(&self.side_hasher, &extra.tags, live);
            for node in extra.deps {
                self.deps.release(&self.side_hasher, node, live);
            }
        }
        self.bytes -= charge;
    }

    /// Removes every entry that depends on `key`, transitively. Iterative;
    /// each dependency node is consumed when visited, so cycles end.
    #[inline]
    fn cascade(&mut self, key: &[u8], now: u64) -> usize {
        if self.deps.is_empty() {
            return 0;
        }
        self.cascade_from(key, now)
    }

    fn cascade_from(&mut self, key: &[u8], now: u64) -> usize {
        let first = self.deps.take(&self.side_hasher, key);
        if first.is_empty() {
            return 0;
        }
        let mut work: Vec<Vec<Ref>> = Vec::new();
        if work.try_reserve(1).is_err() {
            return 0;
        }
        work.push(first);
        let mut removed = 0;
        while let Some(mut refs) = work.pop() {
            while let Some(r) = refs.pop() {
                if !is_live(&self.extras, &r) {
                    continue;
                }
                // A dead entry (expired, or killed by a tag) is as good as gone:
                // reclaim it, but do not follow its edges, exactly as if it had
                // been reclaimed already. Eviction and expiry cascade nothing.
                if let State::Dead(dead) = self.state(r.slot, now) {
                    self.reclaim_dead(r.slot, dead);
                    continue;
                }
                let next = self.deps.take(&self.side_hasher, self.store.key(r.slot));
                self.remove(r.slot, RemovalCause::Invalidated);
                removed += 1;
                if !next.is_empty() && work.try_reserve(1).is_ok() {
                    work.push(next);
                }
            }
        }
        removed
    }

    fn maintain(&mut self, now: u64) {
        if self.garbage.is_empty() && self.heap.top().is_none_or(|(_, dead_at)| dead_at > now) {
            return;
        }
        for _ in 0..MAINTENANCE_BATCH {
            if !self.reclaim_one_garbage() {
                break;
            }
        }
        for _ in 0..MAINTENANCE_BATCH {
            if !self.reclaim_one_expired(now) {
                break;
            }
        }
    }

    fn reclaim_one_garbage(&mut self) -> bool {
        loop {
            let Some(list) = self.garbage.last_mut() else {
                return false;
            };
            let Some(r) = list.pop() else {
                self.garbage.pop();
                continue;
            };
            if is_live(&self.extras, &r)
                && matches!(self.state(r.slot, 0), State::Dead(Dead::TagDead))
            {
                self.drop_entry(r.slot);
            }
            return true;
        }
    }

    fn reclaim_one_expired(&mut self, now: u64) -> bool {
        match self.heap.top() {
            Some((slot, dead_at)) if dead_at <= now => {
                self.remove(slot, RemovalCause::Expired);
                true
            }
            _ => false,
        }
    }

    /// Reclaims dead entries (tag garbage, then expired) until `extra_bytes`
    /// and `extra_count` more fit, or none is left.
    fn reclaim_dead_until(&mut self, now: u64, extra_bytes: u64, extra_count: usize) {
        if self.garbage.is_empty() && self.heap.top().is_none_or(|(_, dead_at)| dead_at > now) {
            return; // nothing dead to reclaim
        }
        while !self.fits(extra_bytes, extra_count) {
            if !(self.reclaim_one_garbage() || self.reclaim_one_expired(now)) {
                break;
            }
        }
    }

    fn fits(&self, extra_bytes: u64, extra_count: usize) -> bool {
        self.bytes + extra_bytes <= self.config.max_bytes as u64
            && (self.config.max_entries == 0
                || self.store.len() + extra_count <= self.config.max_entries)
    }

    fn evict_until(
        &mut self,
        now: u64,
        extra_bytes: u64,
        extra_count: usize,
    ) -> Result<(), CacheError> {
        self.reclaim_dead_until(now, extra_bytes, extra_count);
        let mut guard = self.store.len() + 1;
        while !self.fits(extra_bytes, extra_count) {
            let victim = self.policy.victim(
                &mut self.store,
                &self.heap,
                now,
                &mut self.rng,
                extra_bytes.max(1),
            );
            match victim {
                Some(slot) if guard > 0 => {
                    let flags = self.store.flags(slot);
                    if !flags.live() {
                        return Err(CacheError::Internal("no victim although room was checked"));
                    }
                    self.drop_live(slot, flags);
                    self.stats.count_removal(RemovalCause::Evicted);
                    guard -= 1;
                }
                _ => return Err(CacheError::Internal("no victim although room was checked")),
            }
        }
        Ok(())
    }

    /// Checks every structure against the others (tests and fuzzing).
    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self) {
        self.store.validate();
        self.heap.validate(&self.store);
        self.policy.validate(&self.store);
        let total: u64 = self.store.live_slots().map(|s| self.charge_of(s)).sum();
        assert_eq!(total, self.bytes, "byte accounting");
        assert!(self.bytes <= self.config.max_bytes as u64, "budget");
        if self.config.max_entries > 0 {
            assert!(self.store.len() <= self.config.max_entries, "entry bound");
        }
        let with_extra = self
            .store
            .live_slots()
            .filter(|&s| self.store.at(s).extra())
            .count();
        assert_eq!(with_extra, self.extras.len(), "side table");
        assert_eq!(
            self.heap.len(),
            self.store
                .live_slots()
                .filter(|&s| self.store.at(s).ttl_pos() != NONE)
                .count()
        );
    }
}

enum State {
    Fresh,
    Stale(u64),
    Dead(Dead),
}

/// Why an entry is no longer readable.
enum Dead {
    /// Its TTL and stale window passed.
    Expired,
    /// One of its tags was invalidated after it was set.
    TagDead,
}

#[cfg(test)]
mod tests {
    use super::{Cache, SetOptions};
    use crate::config::Config;
    use crate::key::Key;

    fn k(s: &str) -> alloc::vec::Vec<u8> {
        Key::Str(s).to_bytes()
    }

    /// Three entries built on "child"; the first is deleted, leaving a stale
    /// reference to its slot in the child's node, and `reuse` takes that slot.
    /// Writing "child" must cascade to the other two only.
    fn stale_edge_then_write_child(reuse: &SetOptions<'_>) {
        let mut c = Cache::new(Config::default(), 1).unwrap();
        let child = k("child");
        let on_child = SetOptions {
            depends_on: &[&child],
            ..SetOptions::default()
        };
        for p in ["p1", "p2", "p3"] {
            c.set(&k(p), b"v", &on_child, 0).unwrap();
        }
        let slot_of = |c: &Cache, key: &[u8]| c.store.find(c.store.hash(key), key);
        let freed = slot_of(&c, &k("p1"));
        assert!(c.delete(&k("p1"), 0));
        // A key of the same length: its chunk is the same size, and takes the freed one.
        c.set(&k("ot"), b"v", reuse, 0).unwrap();
        assert_eq!(slot_of(&c, &k("ot")), freed, "the slot is reused");
        c.set(&child, b"new", &SetOptions::default(), 0).unwrap();
        assert!(
            c.has(&k("ot"), 0),
            "the slot's new entry is not a dependent"
        );
        assert!(!c.has(&k("p2"), 0) && !c.has(&k("p3"), 0));
        c.validate();
    }

    #[test]
    fn a_stale_edge_into_a_recarved_page_is_ignored() {
        // A page of dependents is emptied and re-carved for larger chunks, so
        // the child's stale references now point into the middle of them;
        // their bytes (0xFF) would read as a live record with extras.
        let mut c = Cache::new(Config::default(), 1).unwrap();
        let child = k("child");
        let on_child = SetOptions {
            depends_on: &[&child],
            ..SetOptions::default()
        };
        let name = |p: &str, i: usize| k(&alloc::format!("{p}{i:03}"));
        for i in 0..1000 {
            c.set(&name("p", i), b"v", &on_child, 0).unwrap();
        }
        for i in 0..999 {
            assert!(c.delete(&name("p", i), 0));
        }
        for i in 0..500 {
            c.set(&name("q", i), &[0xFF; 27], &SetOptions::default(), 0)
                .unwrap();
        }
        c.set(&child, b"new", &SetOptions::default(), 0).unwrap();
        assert!(!c.has(&name("p", 999), 0), "the live dependent goes");
        assert!((0..500).all(|i| c.has(&name("q", i), 0)));
        c.validate();
    }

    #[test]
    fn values_in_blocks_churn_within_the_budget_and_read_back() {
        use crate::{Lookup, Policy, Rng, BLOCK};
        for policy in Policy::ALL {
            let config = Config {
                max_bytes: 20 * BLOCK,
                policy,
                ..Config::default()
            };
            let mut c = Cache::new(config, 3).unwrap();
            let mut rng = Rng::new(9);
            let ttl = SetOptions {
                ttl_ms: Some(1_000_000),
                ..SetOptions::default()
            };
            for i in 0..600u64 {
                let len = (rng.next_u64() % (6 * BLOCK as u64)) as usize;
                let value: alloc::vec::Vec<u8> =
                    (0..len).map(|j| (j / 97 + i as usize) as u8).collect();
                let key = k(&alloc::format!("k{}", rng.next_u64() % 40));
                let opts = if i % 2 == 0 {
                    &ttl
                } else {
                    &SetOptions::default()
                };
                let stored = c.set(&key, &value, opts, 0).unwrap();
                if stored == crate::SetOutcome::Stored {
                    match c.get(&key, 0, false) {
                        Lookup::Fresh(v) => assert!(v == value[..], "{policy:?} {i}"),
                        other => panic!("{policy:?} {i}: {other:?}"),
                    }
                }
                if i % 7 == 0 {
                    c.delete(&key, 0);
                }
                c.validate();
                assert!(c.bytes() <= 20 * BLOCK as u64);
            }
        }
    }

    #[test]
    fn a_write_after_a_miss_finds_its_key_whatever_came_in_between() {
        // A write right after a miss of its key reuses the miss's probe; any
        // insert or removal in between (a write, a delete, a snapshot load
        // into the emptied cache) must send it to the index again, or the
        // key would be stored twice.
        use crate::Lookup;
        let (key, other) = (k("key"), k("other"));
        let plain = SetOptions::default();
        let once = |c: &Cache, value: &[u8]| {
            c.validate();
            assert_eq!(c.len(), 2);
            assert_eq!(c.peek(&key, 0), Some(value.into()));
        };
        let mut source = Cache::new(Config::default(), 2).unwrap();
        source.set(&key, b"loaded", &plain, 0).unwrap();
        source.set(&other, b"o", &plain, 0).unwrap();
        let snapshot = source.dump(0, "bytes", &[]).unwrap();

        let mut c = Cache::new(Config::default(), 1).unwrap();
        c.set(&other, b"o", &plain, 0).unwrap();
        assert_eq!(c.get(&key, 0, false), Lookup::Miss);
        c.set(&key, b"first", &plain, 0).unwrap();
        c.set(&key, b"second", &plain, 0).unwrap();
        once(&c, b"second");

        // Emptied, missed, then loaded (a bulk insert): the key is back.
        assert!(c.delete(&key, 0) && c.delete(&other, 0));
        assert_eq!(c.get(&key, 0, false), Lookup::Miss);
        assert_eq!(c.load(&snapshot, 0).unwrap(), 2);
        c.set(&key, b"written", &plain, 0).unwrap();
        once(&c, b"written");

        // A miss, then the write it was for: stored once.
        assert!(c.delete(&key, 0));
        assert_eq!(c.get(&key, 0, false), Lookup::Miss);
        c.set(&key, b"after", &plain, 0).unwrap();
        once(&c, b"after");
    }

    #[test]
    fn a_stale_edge_never_removes_the_entry_that_reuses_its_slot() {
        stale_edge_then_write_child(&SetOptions::default());
        let tag = b"t".as_slice();
        stale_edge_then_write_child(&SetOptions {
            tags: &[tag],
            ..SetOptions::default()
        });
    }
}
