//! The simulator: ghost caches that replay a sample of the requests.
//!
//! Requests whose key hash falls in a 1-in-`rate` sample are replayed through
//! nine ghost caches (8-byte keys, no values), each `1/rate` the size of the
//! real cache: eight W-TinyLFUs with fixed window shares from 0.5 % (a
//! frequency-biased W-TinyLFU) to 100 % (plain LRU), and one S3-FIFO. Spatial
//! sampling keeps each ghost's hit ratio an estimate of the real cache's
//! under that structure (the idea behind SHARDS and Caffeine's MiniSim
//! climber). A ghost is data: a keys-only [`Store`] and an [`Engine`] with a
//! fixed structure, nothing that evicts for the real cache.
//!
//! The simulator only reports, for each sampled read, which ghosts hit; what
//! to make of that is the tuner's business.

use super::engine::{Engine, Structure};
use crate::rng::{Rng, GOLDEN_RATIO};
use crate::store::Store;
use alloc::vec::Vec;

/// The ghosts' structures: W-TinyLFU windows from frequency-biased to plain
/// LRU, and S3-FIFO, which beats every window on some block-I/O and web
/// traces.
pub(super) const STRUCTURES: [Structure; 9] = [
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
/// Each ghost holds about this many entries: fewer learn too little on short
/// traces, more cost time on every sampled request.
pub(super) const GHOST_ENTRIES: f64 = 2048.0;
/// With only a byte budget, a ghost's size in entries is an estimate (from
/// the mean weight of the entries the cache held when it was half full); a
/// ghost holds at most this many times its estimate, so a wrong estimate (a
/// few huge entries, then many small ones) cannot grow the ghosts' memory
/// past a fixed bound. A ghost that reaches it has [`Simulator::outgrown`]
/// the estimate.
pub(super) const ESTIMATE_SLACK: f64 = 2.0;
/// Sample at most this sparsely.
const MAX_RATE: u64 = 128;
/// A request is sampled when the hash bits from this one up (as many as the
/// rate needs, at most 7) are zero: bits above the 32 the index takes home
/// buckets from, and below the top byte it takes tags from.
const SAMPLE_SHIFT: u32 = 40;

/// One ghost cache: keys only, one fixed structure.
struct Ghost {
    store: Store,
    engine: Engine,
}

pub(super) struct Simulator {
    ghosts: Vec<Ghost>,
    /// `rate - 1`: the hash bits above `SAMPLE_SHIFT` that must be 0.
    mask: u64,
    /// Entries a ghost holds (estimated, for a byte budget).
    ghost_entries: f64,
    /// Byte budget only: a ghost's bound in entries, `ESTIMATE_SLACK` times
    /// its estimate (0 with `max_entries`: the ghosts' own bound is exact).
    estimate_bound: f64,
    /// Whether a ghost reached `estimate_bound`.
    outgrown: bool,
    /// The hash of the last sampled request if it was a read: every ghost
    /// holds that key now (it hit, or was stored), so a write of it next
    /// (a read-through's fill) changes nothing and is not replayed.
    last_read: Option<u64>,
    /// Requests replayed through the ghosts.
    #[cfg(test)]
    replayed: u64,
}

impl Simulator {
    /// Ghosts for a cache of `max_bytes`, `max_entries` (0: none) and about
    /// `entries` entries, sampled so that each holds about
    /// [`GHOST_ENTRIES`]; `None` if they cannot be allocated.
    pub fn new(seed: u64, max_bytes: f64, max_entries: f64, entries: f64) -> Option<Simulator> {
        let rate = (ceil(entries / GHOST_ENTRIES).max(1))
            .next_power_of_two()
            .min(MAX_RATE);
        let scale = 1.0 / rate as f64;
        let estimate_bound = if max_entries > 0.0 {
            0.0
        } else {
            ceil(ESTIMATE_SLACK * entries * scale).max(1) as f64
        };
        let ghost_max_entries = if max_entries > 0.0 {
            ceil(max_entries * scale) as f64
        } else {
            estimate_bound
        };
        let mut ghosts = Vec::new();
        ghosts.try_reserve_exact(STRUCTURES.len()).ok()?;
        for (i, &structure) in STRUCTURES.iter().enumerate() {
            ghosts.push(Ghost {
                store: Store::keys_only(seed ^ (i as u64).wrapping_mul(GOLDEN_RATIO)),
                engine: Engine::new(max_bytes * scale, ghost_max_entries, structure),
            });
        }
        Some(Simulator {
            ghosts,
            mask: rate - 1,
            ghost_entries: entries * scale,
            estimate_bound,
            outgrown: false,
            last_read: None,
            #[cfg(test)]
            replayed: 0,
        })
    }

    /// Entries a ghost holds (estimated when the cache has only a byte budget).
    pub fn ghost_entries(&self) -> f64 {
        self.ghost_entries
    }

    /// Whether a ghost of a byte-budget cache reached `ESTIMATE_SLACK` times
    /// the entries it was estimated to hold: the estimate was low.
    pub fn outgrown(&self) -> bool {
        self.outgrown
    }

    /// Entries the fullest ghost holds.
    #[cfg(test)]
    pub fn largest_ghost(&self) -> usize {
        self.ghosts
            .iter()
            .map(|g| g.engine.len())
            .max()
            .unwrap_or(0)
    }

    fn sampled(&self, hash: u64) -> bool {
        (hash >> SAMPLE_SHIFT) & self.mask == 0
    }

    /// Replays one request through every ghost if it is sampled. For a
    /// sampled read, returns which ghosts hit: bit `i` for `STRUCTURES[i]`.
    pub fn replay(
        &mut self,
        hash: u64,
        weight: u64,
        is_read: bool,
        rng: &mut Rng,
    ) -> Option<usize> {
        if !self.sampled(hash) {
            return None;
        }
        let follows_its_read = !is_read && self.last_read == Some(hash);
        self.last_read = is_read.then_some(hash);
        if follows_its_read {
            return None;
        }
        #[cfg(test)]
        {
            self.replayed += 1;
        }
        let key = hash.to_le_bytes();
        let mut outcome = 0;
        for (i, g) in self.ghosts.iter_mut().enumerate() {
            if g.engine.replay(&mut g.store, &key, weight, is_read, rng) && is_read {
                outcome |= 1 << i;
            }
            self.outgrown |=
                self.estimate_bound > 0.0 && g.engine.len() as f64 >= self.estimate_bound;
        }
        is_read.then_some(outcome)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_throughs_fill_is_not_replayed_and_changes_no_outcome() {
        // A full-size simulator (rate 1): every request is sampled.
        let mut sim = Simulator::new(9, 1e12, 100.0, 100.0).unwrap();
        let mut rng = Rng::new(1);
        let key = |i: u64| i.wrapping_mul(GOLDEN_RATIO);
        // A read that misses everywhere, then its fill: one replay.
        assert_eq!(sim.replay(key(1), 10, true, &mut rng), Some(0));
        assert_eq!(sim.replay(key(1), 10, false, &mut rng), None);
        assert_eq!(sim.replayed, 1);
        // Every ghost holds the key: the next read hits in all nine.
        assert_eq!(sim.replay(key(1), 10, true, &mut rng), Some(0x1ff));
        // A write of another key, or of the read key after another
        // request, is replayed.
        sim.replay(key(2), 10, false, &mut rng);
        sim.replay(key(1), 10, false, &mut rng);
        assert_eq!(sim.replayed, 4);
        assert_eq!(sim.replay(key(2), 10, true, &mut rng), Some(0x1ff));
    }
}
