//! The mini-simulation that picks `allkeys-adaptive`'s structure.
//!
//! Requests whose key hash falls in a 1-in-`rate` sample are replayed through
//! nine ghost caches (8-byte keys, no values), each `1/rate` the size of the
//! real cache: eight W-TinyLFUs with fixed window shares from 0.5 % (a
//! frequency-biased W-TinyLFU) to 100 % (plain LRU), and one S3-FIFO. Spatial
//! sampling keeps each ghost's hit ratio an estimate of the real cache's
//! under that structure (the idea behind SHARDS and Caffeine's MiniSim
//! climber).
//!
//! The cache starts as S3-FIFO, the structure that was never far from the
//! best on any shared trace. Every half ghost-capacity of sampled reads it
//! adopts the ghost with the most hits *since the start*, if that ghost leads
//! the current one by 2 % of all sampled reads. Cumulative counts with a
//! margin that grows with them make the choice sticky: each switch costs the
//! real cache while its contents re-form, and on phased traces the
//! exponentially smoothed scores used before chased every phase one period
//! late (53 of 66 rows met the target with them, 60 with this rule).

use super::adaptive::{Adaptive, Structure};
use crate::rng::Rng;
use crate::store::Store;
use alloc::vec::Vec;

/// The ghosts' structures: W-TinyLFU windows from frequency-biased to plain
/// LRU, and S3-FIFO, which beats every window on some block-I/O and web
/// traces.
const STRUCTURES: [Structure; 9] = [
    Structure::WTinyLfu(0.005),
    Structure::WTinyLfu(0.01),
    Structure::WTinyLfu(0.03),
    Structure::WTinyLfu(0.08),
    Structure::WTinyLfu(0.2),
    Structure::WTinyLfu(0.4),
    Structure::WTinyLfu(0.7),
    Structure::WTinyLfu(1.0),
    Structure::S3Fifo,
];
/// Each ghost holds about this many entries.
const GHOST_ENTRIES: f64 = 2048.0;
/// Where the cache starts: S3-FIFO.
const INITIAL: usize = 8;
/// A ghost must lead the current structure by this share of all sampled reads.
const SWITCH_MARGIN: f64 = 0.02;
/// Sample at most this sparsely.
const MAX_RATE: u64 = 128;

struct Ghost {
    store: Store,
    policy: Adaptive,
    hits: u64,
}

pub(crate) struct MiniSim {
    seed: u64,
    ghosts: Vec<Ghost>,
    mask: u64,
    reads: u64,
    period: u64,
    started: bool,
    current: usize,
    /// Sampled reads since the start.
    total_reads: u64,
}

impl MiniSim {
    pub fn new(seed: u64) -> MiniSim {
        MiniSim {
            seed,
            ghosts: Vec::new(),
            mask: 0,
            reads: 0,
            period: 0,
            started: false,
            current: INITIAL,
            total_reads: 0,
        }
    }

    /// The structure a cache starts with, before any decision.
    pub fn initial() -> Structure {
        STRUCTURES[INITIAL]
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Sizes the sample for a cache of about `entries` entries.
    pub fn start(&mut self, max_bytes: f64, max_entries: f64, entries: f64) {
        self.started = true;
        let rate = (ceil(entries / GHOST_ENTRIES).max(1))
            .next_power_of_two()
            .min(MAX_RATE);
        self.mask = rate - 1;
        let scale = 1.0 / rate as f64;
        let ghost_entries = if max_entries > 0.0 {
            ceil(max_entries * scale) as f64
        } else {
            0.0
        };
        let mut ghosts = Vec::new();
        if ghosts.try_reserve_exact(STRUCTURES.len()).is_err() {
            return; // no simulation: the window stays where it is
        }
        for (i, &structure) in STRUCTURES.iter().enumerate() {
            ghosts.push(Ghost {
                store: Store::new(self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                policy: Adaptive::fixed(max_bytes * scale, ghost_entries, structure),
                hits: 0,
            });
        }
        self.ghosts = ghosts;
        // A decision every half ghost-cache of sampled reads: Caffeine's 10×
        // decided only twice on a 1M-request trace.
        self.period = (entries * scale / 2.0).max(256.0) as u64;
    }

    fn sampled(&self, hash: u64) -> bool {
        // High bits: the index uses the low ones.
        (hash >> 40) & self.mask == 0
    }

    /// Replays one request if it is sampled. Returns the structure to adopt at
    /// the end of each period.
    pub fn record(
        &mut self,
        hash: u64,
        weight: u64,
        is_read: bool,
        rng: &mut Rng,
    ) -> Option<Structure> {
        if self.ghosts.is_empty() || !self.sampled(hash) {
            return None;
        }
        let key = hash.to_le_bytes();
        for g in &mut self.ghosts {
            let h = g.store.hash(&key);
            match g.store.find(h, &key) {
                Some(slot) => {
                    if is_read {
                        g.hits += 1;
                        g.policy.on_access(&mut g.store, slot, h, rng);
                    }
                }
                None => {
                    while g.policy.full_for(weight) {
                        let Some(v) = g.policy.victim(&mut g.store, rng, weight) else {
                            break;
                        };
                        g.policy.on_remove(&mut g.store, v);
                        g.store.remove(v);
                    }
                    if let Ok(slot) = g.store.insert(h, &key, &[]) {
                        g.policy.on_insert(&mut g.store, slot, h, weight, rng);
                    }
                }
            }
        }
        if !is_read {
            return None;
        }
        self.reads += 1;
        if self.reads < self.period {
            return None;
        }
        self.reads = 0;
        self.total_reads += self.period;
        let (mut best, mut best_hits) = (0, 0);
        for (i, g) in self.ghosts.iter().enumerate() {
            if g.hits > best_hits {
                (best, best_hits) = (i, g.hits);
            }
        }
        let current_hits = self.ghosts.get(self.current).map_or(0, |g| g.hits);
        let margin = (SWITCH_MARGIN * self.total_reads as f64) as u64;
        if best != self.current && best_hits > current_hits + margin {
            self.current = best;
        }
        STRUCTURES.get(self.current).copied()
    }
}

/// `x.ceil()` for non-negative `x`, without std (core has no `f64::ceil`).
fn ceil(x: f64) -> u64 {
    let t = x as u64;
    if (t as f64) < x {
        t + 1
    } else {
        t
    }
}
