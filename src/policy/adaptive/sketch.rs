//! A count-min sketch of 4-bit counters (TinyLFU's frequency estimate), with
//! periodic halving so that old popularity fades.
//!
//! Four rows of counters in one table of 64-bit words (sixteen counters
//! each). A large table (over `SPREAD_MAX_WORDS`, past what a first-level
//! cache holds) is laid out in blocks of one cache line, as Caffeine lays
//! out its sketch: a key's four counters sit in one 64-byte block, one per
//! pair of words, so an increment or an estimate touches one cache line
//! instead of four. A small table, which stays in the cache anyway, spreads
//! each row's counter over the whole table: with only a few blocks, keys that
//! share a block would share too much (on the small LIRS traces the blocked
//! layout moved hit ratios by up to 1.5 points either way, `bench/REPLAY.md`).

use alloc::vec::Vec;

pub(crate) struct Sketch {
    /// The words, from `base` on (the allocation has room to start them on
    /// a 64-byte boundary).
    table: Vec<u64>,
    base: usize,
    /// Counters in the table minus one (spread layout).
    mask: u64,
    /// Blocks in the table minus one, or `None` for the spread layout.
    block_mask: Option<u64>,
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
/// Tables of at most this many words (16 KiB) spread each row over the
/// whole table; larger ones keep a key's counters in one block.
const SPREAD_MAX_WORDS: usize = 2048;
/// A block: one 64-byte cache line.
const WORDS_PER_BLOCK: usize = 8;
const BLOCK_ALIGN_WORDS: usize = WORDS_PER_BLOCK - 1;
/// Counters are halved every this many increments per entry of capacity
/// (Caffeine's sample size).
const SAMPLE_FACTOR: u64 = 10;
/// Rows of the count-min sketch.
const ROWS: usize = 4;
/// One seed per row of the spread layout.
const SEEDS: [u64; ROWS] = [
    0x97cb_3127_cc9d_9a4d,
    0xc3a5_c85c_97cb_3127,
    0xb492_b66f_be98_f273,
    0x9ae1_6a3b_2f90_404f,
];
/// Odd multipliers that spread the key's hash over the block index and over
/// the counters' places within the block (blocked layout).
const BLOCK_SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;
const COUNTER_SPREAD: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// A key's four counters in the spread layout: for each row, the word and the
/// counter's shift in it.
type Places = [(usize, u32); ROWS];

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            table: Vec::new(),
            base: 0,
            mask: 0,
            block_mask: None,
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
        let blocked = words > SPREAD_MAX_WORDS;
        let slack = if blocked { BLOCK_ALIGN_WORDS } else { 0 };
        let mut table = Vec::new();
        if table.try_reserve_exact(words + slack).is_err() {
            return; // keep the old (smaller) sketch rather than fail a write
        }
        table.resize(words + slack, 0);
        // Words to skip so that blocks start on a 64-byte boundary.
        self.base = if blocked {
            table.as_ptr().align_offset(WORDS_PER_BLOCK * 8).min(slack)
        } else {
            0
        };
        self.table = table;
        self.mask = counters - 1;
        self.block_mask = blocked.then(|| (words / WORDS_PER_BLOCK) as u64 - 1);
        self.additions = 0;
        self.sample_size = SAMPLE_FACTOR * entries.max(MIN_WORDS) as u64;
    }

    /// Where `hash`'s four counters are in the spread layout.
    fn spread_places(&self, hash: u64) -> Places {
        let mut at = [(0, 0); ROWS];
        for (row, place) in at.iter_mut().enumerate() {
            let h = (hash ^ SEEDS[row]).wrapping_mul(SEEDS[(row + 1) % ROWS]);
            let counter = (h ^ (h >> 32)) & self.mask;
            *place = (
                (counter / COUNTERS_PER_WORD) as usize,
                ((counter % COUNTERS_PER_WORD) * COUNTER_BITS) as u32,
            );
        }
        at
    }

    /// The first word of `hash`'s block and the 20 bits that place its
    /// counters in it, 5 per row: 1 for the word of the row's pair, 4 for
    /// the counter in that word.
    fn locate(&self, hash: u64, block_mask: u64) -> (usize, u64) {
        // The block from the high half of one product, the counters from the
        // top 20 bits of a second.
        let spread = hash.wrapping_mul(BLOCK_SPREAD);
        let block = ((spread >> 32) & block_mask) as usize;
        let select = (spread ^ (spread >> 29)).wrapping_mul(COUNTER_SPREAD) >> 44;
        (self.base + block * WORDS_PER_BLOCK, select)
    }

    /// Row `row`'s counter in a block: its word (0–7) and its shift.
    fn block_place(select: u64, row: usize) -> (usize, u32) {
        let bits = select >> (5 * row);
        let word = (2 * row + (bits & 1) as usize) % WORDS_PER_BLOCK;
        (word, (((bits >> 1) & 15) * COUNTER_BITS) as u32)
    }

    fn block(&self, start: usize) -> Option<&[u64; WORDS_PER_BLOCK]> {
        self.table
            .get(start..start + WORDS_PER_BLOCK)?
            .try_into()
            .ok()
    }

    /// Estimated frequency of `hash`, 0–15.
    pub fn frequency(&self, hash: u64) -> u8 {
        let mut min = COUNTER_MAX;
        if let Some(block_mask) = self.block_mask {
            let (start, select) = self.locate(hash, block_mask);
            let Some(block) = self.block(start) else {
                return 0;
            };
            for row in 0..ROWS {
                let (word, shift) = Self::block_place(select, row);
                min = min.min((block[word] >> shift) & COUNTER_MAX);
            }
        } else {
            if self.table.is_empty() {
                return 0;
            }
            for (word, shift) in self.spread_places(hash) {
                let c = self
                    .table
                    .get(word)
                    .map_or(0, |w| (w >> shift) & COUNTER_MAX);
                min = min.min(c);
            }
        }
        min as u8
    }

    /// Raises the counter at `shift` in `w` unless it is at the maximum;
    /// returns 1 if it did.
    fn raise(w: &mut u64, shift: u32) -> u64 {
        let below_max = u64::from((*w >> shift) & COUNTER_MAX != COUNTER_MAX);
        *w += below_max << shift;
        below_max
    }

    /// Records one access of `hash`.
    pub fn increment(&mut self, hash: u64) {
        // Every counter below the maximum is raised, as Caffeine does, not
        // only the smallest ones ("conservative update"), which keeps less of
        // a looping trace (`bench/REPLAY.md`).
        let mut added = 0;
        if let Some(block_mask) = self.block_mask {
            let (start, select) = self.locate(hash, block_mask);
            let Some(block) = self
                .table
                .get_mut(start..start + WORDS_PER_BLOCK)
                .and_then(|b| <&mut [u64; WORDS_PER_BLOCK]>::try_from(b).ok())
            else {
                return;
            };
            for row in 0..ROWS {
                let (word, shift) = Self::block_place(select, row);
                added |= Self::raise(&mut block[word], shift);
            }
        } else {
            for (word, shift) in self.spread_places(hash) {
                if let Some(w) = self.table.get_mut(word) {
                    added |= Self::raise(w, shift);
                }
            }
        }
        if added == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GOLDEN_RATIO;

    #[test]
    fn a_large_tables_counters_for_a_key_share_one_cache_line() {
        let mut s = Sketch::new();
        s.ensure_capacity(100_000);
        assert!(s.block_mask.is_some());
        let start = s.table.as_ptr() as usize + 8 * s.base;
        assert_eq!(start % 64, 0, "blocks start on a cache line");
        for i in 0..1000u64 {
            let block_mask = s.block_mask.unwrap_or(0);
            let (start, select) = s.locate(i.wrapping_mul(GOLDEN_RATIO), block_mask);
            assert_eq!((start - s.base) % WORDS_PER_BLOCK, 0);
            assert!(start + WORDS_PER_BLOCK <= s.table.len());
            for row in 0..ROWS {
                let (word, shift) = Sketch::block_place(select, row);
                assert_eq!(word / 2, row, "row {row}'s pair of words");
                assert!(shift < 64 && shift % 4 == 0);
            }
        }
        // A small table spreads the rows (the layout the replay was tuned on).
        let mut small = Sketch::new();
        small.ensure_capacity(500);
        assert!(small.block_mask.is_none());
    }

    #[test]
    fn counts_up_to_fifteen_and_halves() {
        for entries in [64, 100_000] {
            let mut s = Sketch::new();
            s.ensure_capacity(entries);
            let hot = 12_345u64.wrapping_mul(GOLDEN_RATIO);
            let cold = 54_321u64.wrapping_mul(GOLDEN_RATIO);
            for n in 1..=20u8 {
                s.increment(hot);
                assert_eq!(s.frequency(hot), n.min(15));
            }
            assert_eq!(s.frequency(cold), 0);
            // 10 additions per entry of capacity halve every counter.
            let mut i = 100u64;
            loop {
                let before = s.additions;
                s.increment(i.wrapping_mul(GOLDEN_RATIO));
                i += 1;
                if s.additions < before {
                    break;
                }
            }
            // (An increment that finds all four counters saturated adds
            // nothing.)
            let increments = i - 100 + 15;
            let additions = 10 * entries as u64;
            assert!(
                (additions..additions + 16).contains(&increments),
                "halved after {increments} increments"
            );
            assert_eq!(s.frequency(hot), 7);
        }
    }
}
