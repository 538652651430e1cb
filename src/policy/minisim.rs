//! The mini-simulation that picks `allkeys-adaptive`'s window size.
//!
//! Requests whose key hash falls in a 1-in-`rate` sample are replayed through
//! eight ghost W-TinyLFU caches (8-byte keys, no values), each `1/rate` the
//! size of the real cache and each with a fixed window share, from 0.5 % (a
//! frequency-biased W-TinyLFU) to 100 % (plain LRU). Spatial sampling keeps
//! each ghost's hit ratio an unbiased estimate of the real cache's under that
//! window (the idea behind SHARDS and Caffeine's MiniSim climber). Every
//! period (a ghost's capacity in sampled reads) the real cache adopts the
//! window of the ghost with the best exponentially smoothed hit count, if it
//! beats the current one by a margin.

use super::adaptive::Adaptive;
use crate::rng::Rng;
use crate::store::Store;
use alloc::vec::Vec;

/// Window shares of the ghosts.
const SHARES: [f64; 8] = [0.005, 0.01, 0.03, 0.08, 0.2, 0.4, 0.7, 1.0];
/// Each ghost holds about this many entries.
const GHOST_ENTRIES: f64 = 2048.0;
/// Weight of history in a ghost's score (per period).
const SMOOTHING: f64 = 0.75;
/// A ghost must beat the current window by this share of the requests.
const SWITCH_MARGIN: f64 = 0.005;
/// Sample at most this sparsely.
const MAX_RATE: u64 = 128;

struct Ghost {
    store: Store,
    policy: Adaptive,
    hits: u64,
    score: f64,
}

pub(crate) struct MiniSim {
    seed: u64,
    ghosts: Vec<Ghost>,
    mask: u64,
    reads: u64,
    period: u64,
    started: bool,
    current: usize,
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
            current: 1,
        }
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
        if ghosts.try_reserve_exact(SHARES.len()).is_err() {
            return; // no simulation: the window stays where it is
        }
        for (i, &share) in SHARES.iter().enumerate() {
            ghosts.push(Ghost {
                store: Store::new(self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                policy: Adaptive::fixed(max_bytes * scale, ghost_entries, share),
                hits: 0,
                score: 0.0,
            });
        }
        self.ghosts = ghosts;
        // One decision per ghost-cache-full of sampled reads: longer periods
        // (10×, as Caffeine samples) decided only twice on a 1M-request trace.
        self.period = (entries * scale).max(256.0) as u64;
    }

    fn sampled(&self, hash: u64) -> bool {
        // High bits: the index uses the low ones.
        (hash >> 40) & self.mask == 0
    }

    /// Replays one request if it is sampled. Returns a new window share at the
    /// end of each period.
    pub fn record(&mut self, hash: u64, weight: u64, is_read: bool, rng: &mut Rng) -> Option<f64> {
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
        let (mut best, mut best_score) = (0, f64::MIN);
        for (i, g) in self.ghosts.iter_mut().enumerate() {
            g.score = SMOOTHING * g.score + g.hits as f64;
            g.hits = 0;
            if g.score > best_score {
                (best, best_score) = (i, g.score);
            }
        }
        // Hysteresis: moving the window costs (the cache's contents must
        // re-form), so switch only for a clear gain over the current window.
        let current_score = self.ghosts.get(self.current).map_or(0.0, |g| g.score);
        let margin = SWITCH_MARGIN * self.period as f64 / (1.0 - SMOOTHING);
        if best != self.current && best_score > current_score + margin {
            self.current = best;
        }
        SHARES.get(self.current).copied()
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
