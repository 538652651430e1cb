//! Eviction policies. Each family keeps its own O(1) structure threaded
//! through the two links and the `meta` word of each entry's record (at the
//! head of its arena chunk, see [`crate::store`]); this module picks the
//! family from the [`Policy`] name and decides which entries it tracks (all
//! of them, or only those with a TTL for `volatile-*`).

mod adaptive;
mod bulk;
mod lfu;
pub(crate) mod list;
mod lru;
mod random;

pub use lfu::{
    DECAY_MINUTES as LFU_DECAY_MINUTES, INIT_VAL as LFU_INIT_VAL, LOG_FACTOR as LFU_LOG_FACTOR,
};

use crate::config::{Config, Policy};
use crate::error::CacheError;
use crate::expiry::ExpiryHeap;
use crate::rng::Rng;
use crate::store::Store;

pub(crate) use bulk::PlainAppend;

enum Family {
    Lru(lru::Lru),
    Lfu(alloc::boxed::Box<lfu::Lfu>),
    Random(random::RandomSet),
    Ttl,
    NoEviction,
    Adaptive(alloc::boxed::Box<adaptive::Adaptive>),
}

/// The policy state of one cache.
pub(crate) struct PolicyState {
    policy: Policy,
    family: Family,
    /// Bytes and count of tracked (evictable) entries: a write is refused up
    /// front when even evicting all of them could not make room.
    pub tracked_bytes: u64,
    pub tracked_len: usize,
}

impl PolicyState {
    pub fn new(config: &Config, seed: u64) -> PolicyState {
        let family = match config.policy {
            Policy::AllKeysLru | Policy::VolatileLru => Family::Lru(lru::Lru::default()),
            Policy::AllKeysLfu | Policy::VolatileLfu => Family::Lfu(alloc::boxed::Box::default()),
            Policy::AllKeysRandom | Policy::VolatileRandom => {
                Family::Random(random::RandomSet::default())
            }
            Policy::VolatileTtl => Family::Ttl,
            Policy::NoEviction => Family::NoEviction,
            Policy::AllKeysAdaptive => Family::Adaptive(alloc::boxed::Box::new(
                adaptive::Adaptive::new(config.max_bytes, config.max_entries, seed),
            )),
        };
        PolicyState {
            policy: config.policy,
            family,
            tracked_bytes: 0,
            tracked_len: 0,
        }
    }

    /// Whether an entry with (or without) a TTL can be evicted by this policy.
    pub fn tracks(&self, has_ttl: bool) -> bool {
        match self.policy {
            Policy::NoEviction => false,
            p if p.is_volatile() => has_ttl,
            _ => true,
        }
    }

    /// Reserves what `insert` may allocate.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn reserve(&mut self) -> Result<(), CacheError> {
        if let Family::Random(r) = &mut self.family {
            r.reserve()?;
        }
        Ok(())
    }

    pub fn insert(
        &mut self,
        store: &mut Store,
        slot: u32,
        hash: u64,
        charge: u64,
        now: u64,
        rng: &mut Rng,
    ) {
        if !self.tracks(store.flags(slot).has_ttl()) {
            return;
        }
        self.tracked_bytes += charge;
        self.tracked_len += 1;
        if let Family::Lru(p) = &mut self.family {
            // Its links and the TRACKED flag in one record write.
            p.on_insert_tracked(store, slot);
            return;
        }
        store.set_tracked(slot, true);
        match &mut self.family {
            Family::Lfu(p) => p.on_insert(store, slot, now),
            Family::Random(p) => p.on_insert(store, slot),
            Family::Adaptive(p) => p.on_insert(store, slot, hash, charge, rng),
            Family::Lru(_) | Family::Ttl | Family::NoEviction => {}
        }
    }

    /// A hit on a tracked entry (the caller checks its flags).
    pub fn access(&mut self, store: &mut Store, slot: u32, hash: u64, now: u64, rng: &mut Rng) {
        match &mut self.family {
            Family::Lru(p) => p.on_access(store, slot),
            Family::Lfu(p) => p.on_access(store, slot, now, rng),
            Family::Adaptive(p) => p.on_access(store, slot, hash, rng),
            Family::Random(_) | Family::Ttl | Family::NoEviction => {}
        }
    }

    pub fn miss(&mut self, store: &mut Store, hash: u64, rng: &mut Rng) {
        if let Family::Adaptive(p) = &mut self.family {
            p.on_miss(store, hash, rng);
        }
    }

    /// Stops tracking an entry the policy tracks (the caller checks its
    /// flags) and is about to free: its TRACKED flag goes with its record.
    pub fn remove(&mut self, store: &mut Store, slot: u32, charge: u64) {
        match &mut self.family {
            Family::Lru(p) => p.on_remove(store, slot),
            Family::Lfu(p) => p.on_remove(store, slot),
            Family::Random(p) => p.on_remove(store, slot),
            Family::Adaptive(p) => p.on_remove(store, slot),
            Family::Ttl | Family::NoEviction => {}
        }
        self.tracked_bytes = self.tracked_bytes.saturating_sub(charge);
        self.tracked_len = self.tracked_len.saturating_sub(1);
    }

    /// The entry the policy would evict now to make room for `incoming` bytes.
    pub fn victim(
        &mut self,
        store: &mut Store,
        heap: &ExpiryHeap,
        now: u64,
        rng: &mut Rng,
        incoming: u64,
    ) -> Option<u32> {
        match &mut self.family {
            Family::Lru(p) => p.victim(),
            Family::Lfu(p) => p.victim(store, now),
            Family::Random(p) => p.victim(rng),
            Family::Ttl => heap.top().map(|(slot, _)| slot),
            Family::NoEviction => None,
            Family::Adaptive(p) => p.victim(store, rng, incoming),
        }
    }

    /// Visits every live entry of `store` in the order this policy would
    /// evict them, least recently used first where it keeps recency: first
    /// the entries it does not order (untracked ones, such as `volatile-*`
    /// entries without a TTL, and every entry under `*-random`,
    /// `volatile-ttl` and `noeviction`) in no particular order, then the
    /// ordered ones (LRU: least recently used first; LFU: lowest counter
    /// first; adaptive: probation, window, protected, each oldest first).
    /// Snapshots are written in this order, so a smaller cache that loads
    /// one keeps its last entries. Whatever the structures become, this
    /// method keeps that contract.
    pub fn for_each_lru_first(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        let ordered = matches!(
            self.family,
            Family::Lru(_) | Family::Lfu(_) | Family::Adaptive(_)
        );
        // Every live entry tracked (all of them, under `allkeys-*`): no
        // entry is left out of the order, so skip the scan of the index,
        // which reads every entry's record in hash order (a cache miss
        // each on a large cache).
        if !ordered || self.tracked_len < store.len() {
            store.for_each_live(&mut |slot| {
                if !ordered || !store.at(slot).tracked() {
                    f(slot);
                }
            });
        }
        match &self.family {
            Family::Lru(p) => p.for_each_lru_first(store, f),
            Family::Lfu(p) => p.for_each_least_first(store, f),
            Family::Adaptive(p) => p.for_each_oldest_first(store, f),
            Family::Random(_) | Family::Ttl | Family::NoEviction => {}
        }
    }

    pub fn clear(&mut self, config: &Config, seed: u64) {
        *self = PolicyState::new(config, seed);
    }

    /// The adaptive policy's window share, if that is the policy.
    pub fn window_share(&self) -> Option<f64> {
        match &self.family {
            Family::Adaptive(p) => Some(p.window_share()),
            _ => None,
        }
    }

    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, store: &Store) {
        let tracked: usize = store
            .live_slots()
            .filter(|&s| store.at(s).tracked())
            .count();
        assert_eq!(tracked, self.tracked_len, "tracked count");
        match &self.family {
            Family::Lru(p) => assert_eq!(p.list.slots(store).len(), tracked, "lru list"),
            Family::Random(p) => assert_eq!(p.len(), tracked, "random set"),
            Family::Adaptive(p) => assert_eq!(p.validate(store), tracked, "adaptive regions"),
            _ => {}
        }
    }
}
