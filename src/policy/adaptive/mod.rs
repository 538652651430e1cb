//! `allkeys-adaptive`: one cache, two structures, and a sampled
//! mini-simulation that picks between them and tunes the first.
//!
//! Three parts, each depending only on the ones below it:
//!
//! - [`tuner`]: when to start the ghosts, the paired test on their hits and
//!   the switch of structure;
//! - [`simulator`]: ghost caches (keys only) that replay a hashed sample of
//!   the requests and report which of them hit;
//! - [`engine`]: the W-TinyLFU / S3-FIFO regions on three shared lists, the
//!   choice of a victim, and the replay of one request on a keys-only store;
//!   its leaves are the frequency [`sketch`] and S3-FIFO's memory of
//!   [`evicted`] keys.
//!
//! [`Adaptive`], the policy the cache drives, composes an engine over the
//! cache's store with a tuner: inserts, hits and removals go to the engine;
//! inserts, hits and misses then go to the tuner, and a structure the tuner
//! returns is adopted by the engine. Nothing below this file knows of the
//! cache.
//!
//! The sketch, the remembered fingerprints and the ghosts are policy
//! metadata outside the byte budget (like every policy's); only the `meta`
//! word in each record is charged. `docs/ARCHITECTURE.md` has what they
//! cost, and `bench/REPLAY.md` the hit ratios and the variants measured.

mod engine;
mod evicted;
mod simulator;
mod sketch;
mod tuner;

use crate::rng::Rng;
use crate::store::Store;
use engine::Engine;
use tuner::{Tuner, START_FILL};

/// The weight a read that missed is replayed with while the cache holds no
/// entry to take the mean weight of: a small entry's charge.
const EMPTY_MISS_WEIGHT: u64 = 64;

/// The policy of a cache under `allkeys-adaptive`.
pub(crate) struct Adaptive {
    engine: Engine,
    tuner: Tuner,
}

impl Adaptive {
    /// The policy of a cache: the structure is chosen by the tuner.
    pub fn new(max_bytes: usize, max_entries: usize, seed: u64) -> Adaptive {
        let tuner = Tuner::new(seed, max_entries);
        let engine = Engine::new(max_bytes as f64, max_entries as f64, tuner.structure());
        Adaptive { engine, tuner }
    }

    /// The share of the capacity new entries enter: the W-TinyLFU window or
    /// S3-FIFO's small queue (the demo plots it).
    pub fn window_share(&self) -> f64 {
        self.engine.window_share()
    }

    pub fn on_insert(
        &mut self,
        store: &mut Store,
        slot: u32,
        hash: u64,
        charge: u64,
        rng: &mut Rng,
    ) {
        self.engine.on_insert(store, slot, hash, charge);
        let w = engine::weight(store, slot);
        self.tune(store, hash, w, false, rng);
    }

    pub fn on_access(&mut self, store: &mut Store, slot: u32, hash: u64, rng: &mut Rng) {
        self.engine.on_access(store, slot, hash);
        let w = engine::weight(store, slot);
        self.tune(store, hash, w, true, rng);
    }

    /// A read of a key the cache does not hold: the ghosts replay it with the
    /// mean weight of the entries held (its own is unknown).
    pub fn on_miss(&mut self, store: &mut Store, hash: u64, rng: &mut Rng) {
        let len = self.engine.len();
        let avg = if len > 0 {
            self.engine.bytes() / len as u64
        } else {
            EMPTY_MISS_WEIGHT
        };
        self.tune(store, hash, avg, true, rng);
    }

    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        self.engine.on_remove(store, slot);
    }

    /// The entry to evict next to make room for `incoming` bytes.
    pub fn victim(&mut self, store: &mut Store, rng: &mut Rng, incoming: u64) -> Option<u32> {
        self.engine.victim(store, rng, incoming)
    }

    /// Feeds a request to the tuner, starting it once the cache is warm, and
    /// has the engine adopt what it picks.
    fn tune(&mut self, store: &mut Store, hash: u64, weight: u64, is_read: bool, rng: &mut Rng) {
        let mut choice = None;
        if !self.tuner.is_started() {
            if !self.engine.is_over(START_FILL) {
                return;
            }
            let (max_bytes, max_entries) = self.engine.capacity();
            let entries = self.engine.capacity_in_entries();
            choice = Some(self.tuner.start(max_bytes, max_entries, entries));
        }
        choice = self.tuner.record(hash, weight, is_read, rng).or(choice);
        if let Some(structure) = choice {
            self.engine.adopt(structure);
        }
        if self.tuner.outgrown() {
            let (max_bytes, _) = self.engine.capacity();
            self.tuner
                .resize(max_bytes, self.engine.capacity_in_entries());
        }
        self.engine.converge(store);
    }

    /// Visits every entry, the first to go first (see the engine's).
    pub fn for_each_oldest_first(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        self.engine.for_each_oldest_first(store, f);
    }

    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, store: &Store) -> usize {
        self.engine.validate(store)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Policy};
    use crate::rng::Rng;
    use crate::{Cache, Key, Lookup, SetOptions};
    use alloc::format;
    use alloc::vec::Vec;

    fn cache(entries: usize) -> Cache {
        let config = Config {
            policy: Policy::AllKeysAdaptive,
            max_entries: entries,
            ..Config::default()
        };
        Cache::new(config, 7).unwrap()
    }

    fn k(s: &str) -> Vec<u8> {
        Key::Str(s).to_bytes()
    }

    /// Reads `key`, storing it on a miss; returns whether it hit.
    fn read(c: &mut Cache, key: &[u8]) -> bool {
        if let Lookup::Fresh(_) = c.get(key, 0, false) {
            return true;
        }
        c.set(key, b"v", &SetOptions::default(), 0).unwrap();
        false
    }

    #[test]
    fn a_large_cache_starts_as_s3_fifo_and_a_loop_moves_it_to_w_tinylfu() {
        // A cyclic pattern over 1.5× the capacity: LRU and FIFO miss every
        // time; a frequency-admitting W-TinyLFU with a small window keeps
        // most of the loop. The mini-simulation must find that.
        let mut c = cache(2500);
        assert_eq!(c.window_share(), Some(0.10), "S3-FIFO's small queue");
        let keys: Vec<_> = (0..3750).map(|i| k(&format!("loop{i}"))).collect();
        let mut hits = 0;
        for round in 0..25 {
            for key in &keys {
                if read(&mut c, key) && round >= 20 {
                    hits += 1;
                }
            }
        }
        let ratio = hits as f64 / (5.0 * 3750.0);
        assert!(ratio > 0.4, "hit ratio {ratio} on the last rounds");
        assert!(
            c.window_share().unwrap() < 0.1,
            "a W-TinyLFU window was adopted"
        );
        c.validate();
    }

    #[test]
    fn a_small_cache_starts_at_a_1_percent_window_and_a_moving_hot_set_widens_it() {
        // Every 400 reads a new set of 80 keys is read at random: recency
        // wins, and a 1 % window with frequency admission keeps the previous
        // set's keys while their counts decay.
        let mut c = cache(100);
        assert_eq!(c.window_share(), Some(0.01));
        let mut rng = Rng::new(11);
        let (mut hits, mut reads) = (0, 0);
        for phase in 0..60 {
            for _ in 0..400 {
                let key = k(&format!("p{phase}k{}", rng.next_u64() % 80));
                if read(&mut c, &key) && phase >= 50 {
                    hits += 1;
                }
                reads += usize::from(phase >= 50);
            }
        }
        let ratio = hits as f64 / reads as f64;
        assert!(ratio > 0.6, "hit ratio {ratio} on the last phases");
        assert!(
            c.window_share().unwrap() > 0.05,
            "window {:?}",
            c.window_share()
        );
        c.validate();
    }
}
