//! The tuner: when the simulator starts, which structure the cache starts
//! with, and when it switches to a ghost's structure.
//!
//! **Where it starts.** A large cache starts as S3-FIFO, the structure that
//! is never far from the best on any shared trace. A cache small enough for
//! its ghosts to be full-size (at most 2,048 entries) starts at a 1 % window:
//! on such caches the looping LIRS traces favour a small window, and
//! S3-FIFO would cost points before the evidence to leave it was in. A cache
//! with only a byte budget learns its size in entries when it is half full,
//! before anything is evicted, and takes the small start then if it applies.
//! The ghosts start at that moment.
//!
//! **When it switches.** For each sampled read the ghosts' hits form a 9-bit
//! outcome, counted in a 512-bin histogram since the start. Every half
//! ghost-capacity of sampled reads, each ghost is compared with the current
//! structure on the reads where exactly one of the two hit (McNemar's test:
//! reads where both hit or both missed say nothing about which is better).
//! The cache adopts the ghost with the largest lead if that lead is
//! significant (more than three standard deviations of a fair coin over
//! those reads) and larger than 0.3 × the ghost's capacity, an estimate of
//! what the switch costs while the real cache's contents re-form. The first
//! condition ignores noise on short or low-hit traces; the second keeps a
//! large cache from leaving S3-FIFO for an early, small, real lead.
//! `bench/REPLAY.md` has the rules and thresholds that were measured.

use super::engine::Structure;
use super::simulator::{Simulator, ESTIMATE_SLACK, GHOST_ENTRIES, STRUCTURES};
use crate::rng::Rng;
use alloc::vec::Vec;

/// Where a large cache starts: S3-FIFO.
const S3FIFO: usize = 8;
/// Where a cache with full-size ghosts starts: a 1 % window.
const SMALL_START: usize = 1;
/// A ghost's lead must be this many standard deviations of the reads where
/// it and the current structure disagree...
const SIGNIFICANCE: f64 = 3.0;
/// ...and this many times the ghost's capacity in entries.
const SWITCH_COST: f64 = 0.3;
/// The simulator starts when the cache holds this share of its capacity.
pub(super) const START_FILL: f64 = 0.5;
/// At least this many sampled reads between decisions: half a ghost
/// capacity is fewer for caches under 512 entries, whose decisions would
/// otherwise come as often as every few dozen reads.
const MIN_PERIOD: f64 = 256.0;
/// Bins of the outcome histogram: one per subset of ghosts that hit.
const OUTCOMES: usize = 1 << STRUCTURES.len();

pub(super) struct Tuner {
    seed: u64,
    /// The ghosts, from the start on (`None` before it, or if they could not
    /// be allocated).
    sim: Option<Simulator>,
    started: bool,
    /// Index in [`STRUCTURES`] of the structure the cache has.
    current: usize,
    /// Sampled reads by outcome: bit `i` set when ghost `i` hit.
    outcomes: Vec<u64>,
    /// Sampled reads since the last decision, and how many make a period.
    reads: u64,
    period: u64,
    /// Entries a ghost holds (estimated, for a byte budget).
    ghost_entries: f64,
    /// The cache's size in entries the ghosts were made for.
    entries: f64,
}

impl Tuner {
    /// A tuner for a cache of `max_entries` (0: a byte budget only, its size
    /// in entries unknown until it is half full).
    pub fn new(seed: u64, max_entries: usize) -> Tuner {
        Tuner {
            seed,
            sim: None,
            started: false,
            current: start_for(max_entries as f64),
            outcomes: Vec::new(),
            reads: 0,
            period: 0,
            ghost_entries: 0.0,
            entries: 0.0,
        }
    }

    /// The structure the cache should have now.
    pub fn structure(&self) -> Structure {
        STRUCTURES
            .get(self.current)
            .copied()
            .unwrap_or(Structure::S3Fifo)
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Starts the ghosts for a cache of `max_bytes`, `max_entries` (0: none)
    /// and about `entries` entries, and returns the structure to continue
    /// with.
    pub fn start(&mut self, max_bytes: f64, max_entries: f64, entries: f64) -> Structure {
        self.started = true;
        if self.make_ghosts(max_bytes, max_entries, entries) {
            // Nothing was evicted yet, so the start can still change for free
            // (a byte-budget cache only now knows its size in entries).
            self.current = start_for(entries);
        }
        self.structure()
    }

    /// Byte budget only: whether the ghosts outgrew the estimate of the
    /// cache's size in entries they were made for.
    pub fn outgrown(&self) -> bool {
        self.sim.as_ref().is_some_and(Simulator::outgrown)
    }

    /// Makes the ghosts again, empty, for a byte-budget cache now estimated
    /// at `entries` entries, if that is `ESTIMATE_SLACK` times the estimate
    /// they were made for (the structure stays: the cache has evicted by now).
    pub fn resize(&mut self, max_bytes: f64, entries: f64) {
        if entries >= ESTIMATE_SLACK * self.entries {
            self.make_ghosts(max_bytes, 0.0, entries);
        }
    }

    /// Makes the ghosts and an empty histogram; false (and no simulation) if
    /// they cannot be allocated.
    fn make_ghosts(&mut self, max_bytes: f64, max_entries: f64, entries: f64) -> bool {
        self.sim = None;
        let mut outcomes = Vec::new();
        if outcomes.try_reserve_exact(OUTCOMES).is_err() {
            return false;
        }
        let Some(sim) = Simulator::new(self.seed, max_bytes, max_entries, entries) else {
            return false;
        };
        outcomes.resize(OUTCOMES, 0);
        self.outcomes = outcomes;
        self.reads = 0;
        self.entries = entries;
        self.ghost_entries = sim.ghost_entries();
        // A decision every half ghost-cache of sampled reads, so that even
        // short traces see several.
        self.period = (self.ghost_entries / 2.0).max(MIN_PERIOD) as u64;
        self.sim = Some(sim);
        true
    }

    /// Has the simulator replay one request. Returns the structure to adopt
    /// at the end of each period.
    pub fn record(
        &mut self,
        hash: u64,
        weight: u64,
        is_read: bool,
        rng: &mut Rng,
    ) -> Option<Structure> {
        let outcome = self.sim.as_mut()?.replay(hash, weight, is_read, rng)?;
        if let Some(count) = self.outcomes.get_mut(outcome) {
            *count += 1;
        }
        self.reads += 1;
        if self.reads < self.period {
            return None;
        }
        self.reads = 0;
        self.current = self.decide();
        Some(self.structure())
    }

    /// The ghost with the largest significant lead over the current
    /// structure, or the current one.
    fn decide(&self) -> usize {
        let current = self.current;
        let (mut best, mut best_lead) = (current, 0.0);
        for i in (0..STRUCTURES.len()).filter(|&i| i != current) {
            // Reads only ghost `i` hit, and reads only the current one hit.
            let (mut wins, mut losses) = (0u64, 0u64);
            for (outcome, &count) in self.outcomes.iter().enumerate() {
                match ((outcome >> i) & 1, (outcome >> current) & 1) {
                    (1, 0) => wins += count,
                    (0, 1) => losses += count,
                    _ => {}
                }
            }
            let lead = wins as f64 - losses as f64;
            let disagreements = (wins + losses) as f64;
            if lead > best_lead
                && lead * lead > SIGNIFICANCE * SIGNIFICANCE * disagreements
                && lead > SWITCH_COST * self.ghost_entries
            {
                (best, best_lead) = (i, lead);
            }
        }
        best
    }
}

/// Where a cache of about `entries` entries (0: not known yet) starts: a 1 %
/// window when its ghosts are full size, else S3-FIFO.
fn start_for(entries: f64) -> usize {
    if entries > 0.0 && entries <= GHOST_ENTRIES {
        SMALL_START
    } else {
        S3FIFO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GOLDEN_RATIO;

    #[test]
    fn ghosts_made_for_a_low_estimate_stay_bounded_until_remade() {
        // A byte-budget cache half full of one huge value estimates its size
        // at one entry; then come 20,000 small writes. Unbounded, each ghost
        // would hold the whole budget of them (10,000 entries).
        let mut t = Tuner::new(3, 0);
        t.start(1e6, 0.0, 1.0);
        let mut rng = Rng::new(5);
        let mut write = |t: &mut Tuner, from: u64| {
            for i in from..from + 20_000 {
                t.record(i.wrapping_mul(GOLDEN_RATIO), 100, false, &mut rng);
            }
        };
        write(&mut t, 0);
        let largest = t.sim.as_ref().map_or(0, Simulator::largest_ghost);
        assert!(largest <= 2, "a ghost holds {largest} entries");
        assert!(t.outgrown());
        t.resize(1e6, 1.5); // not twice the estimate: the ghosts stay
        assert!(t.outgrown());
        t.resize(1e6, 10_000.0);
        assert!(!t.outgrown(), "remade for the new estimate");
        write(&mut t, 20_000);
        let largest = t.sim.as_ref().map_or(0, Simulator::largest_ghost);
        assert!(largest <= 2 * 2048, "a ghost holds {largest} entries");
    }
}
