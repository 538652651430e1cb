//! A count-min sketch of 4-bit counters (TinyLFU's frequency estimate), with
//! periodic halving so that old popularity fades.

use alloc::vec;
use alloc::vec::Vec;

pub(crate) struct Sketch {
    table: Vec<u64>,
    mask: u64,
    additions: u64,
    sample_size: u64,
}

/// Bits per counter, counters per 64-bit word, and the count a counter
/// saturates at.
const COUNTER_BITS: u64 = 4;
const COUNTERS_PER_WORD: u64 = 64 / COUNTER_BITS;
const COUNTER_MAX: u64 = (1 << COUNTER_BITS) - 1;
/// Every counter's top bit cleared: a word shifted right by one and masked
/// with this halves each of its counters.
const HALVE_MASK: u64 = 0x7777_7777_7777_7777;
/// The table has one word per entry, between these bounds (rounded up to
/// a power of two).
const MIN_WORDS: usize = 8;
const MAX_WORDS: usize = 1 << 24;
/// Counters are halved every this many increments per entry of capacity
/// (Caffeine's sample size).
const SAMPLE_FACTOR: u64 = 10;

/// One seed per row of the count-min sketch.
const SEEDS: [u64; 4] = [
    0x97cb_3127_cc9d_9a4d,
    0xc3a5_c85c_97cb_3127,
    0xb492_b66f_be98_f273,
    0x9ae1_6a3b_2f90_404f,
];

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            table: Vec::new(),
            mask: 0,
            additions: 0,
            sample_size: 0,
        }
    }

    /// Sizes the sketch for a cache of about `entries` entries (resets it when
    /// it grows): one 64-bit word of sixteen 4-bit counters per entry, and a
    /// halving every 10 × `entries` increments, as Caffeine sizes its sketch.
    pub fn ensure_capacity(&mut self, entries: usize) {
        let words = entries.clamp(MIN_WORDS, MAX_WORDS).next_power_of_two();
        let counters = words as u64 * COUNTERS_PER_WORD;
        if counters <= self.mask + 1 && !self.table.is_empty() {
            return;
        }
        let mut table = Vec::new();
        if table.try_reserve_exact(words).is_err() {
            return; // keep the old (smaller) sketch rather than fail a write
        }
        table.extend(vec![0u64; words]);
        self.table = table;
        self.mask = counters - 1;
        self.additions = 0;
        self.sample_size = SAMPLE_FACTOR * entries.max(MIN_WORDS) as u64;
    }

    fn index(&self, hash: u64, i: usize) -> (usize, u32) {
        let rows = SEEDS.len();
        let h = (hash ^ SEEDS[i % rows]).wrapping_mul(SEEDS[(i + 1) % rows]);
        let h = h ^ (h >> 32);
        let counter = h & self.mask;
        (
            (counter / COUNTERS_PER_WORD) as usize,
            ((counter % COUNTERS_PER_WORD) * COUNTER_BITS) as u32,
        )
    }

    /// Estimated frequency of `hash`, 0–15.
    pub fn frequency(&self, hash: u64) -> u8 {
        if self.table.is_empty() {
            return 0;
        }
        let mut min = COUNTER_MAX;
        for i in 0..SEEDS.len() {
            let (word, shift) = self.index(hash, i);
            let c = self
                .table
                .get(word)
                .map_or(0, |w| (w >> shift) & COUNTER_MAX);
            min = min.min(c);
        }
        min as u8
    }

    /// Records one access of `hash`.
    pub fn increment(&mut self, hash: u64) {
        if self.table.is_empty() {
            return;
        }
        // Every counter below the maximum is raised, as Caffeine does, not
        // only the smallest ones ("conservative update"), which keeps less of
        // a looping trace (`bench/REPLAY.md`).
        let mut added = false;
        for i in 0..SEEDS.len() {
            let (word, shift) = self.index(hash, i);
            if let Some(w) = self.table.get_mut(word) {
                if (*w >> shift) & COUNTER_MAX < COUNTER_MAX {
                    *w += 1 << shift;
                    added = true;
                }
            }
        }
        if !added {
            return;
        }
        self.additions += 1;
        if self.additions >= self.sample_size {
            self.halve();
        }
    }

    fn halve(&mut self) {
        for w in &mut self.table {
            *w = (*w >> 1) & HALVE_MASK;
        }
        self.additions /= 2;
    }
}
