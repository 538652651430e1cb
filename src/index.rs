//! The key index: a hash table of slots whose buckets are cache lines.
//!
//! A lookup in a Swiss table (hashbrown) reads a control byte in one array
//! and then the slot in another: two dependent cache misses before the
//! entry's own chunk, on a cache too large for the CPU's caches. Here a
//! bucket is one 64-byte line holding 12 one-byte tags, an overflow count and
//! 12 slots, so a lookup misses once in the index (as F14 in folly lays out
//! its chunks). A key goes to its home bucket (chosen by multiplying 32 hash
//! bits by the bucket count, so the count need not be a power of two) or, if
//! that is full, to the next bucket with room; the overflow count of every
//! bucket it passed says whether a lookup must look further.
//!
//! Tables grow by half when 90 % of their places are taken, so the load
//! stays between 60 % and 90 % (the store staggers 64 of them so that their
//! average load holds at every size). At the average (about 74 %) that is
//! 7.2 bytes per entry (7.15 measured for 1.87 M entries).
//!
//! The table stores no key and no full hash: growing rehashes every key
//! through a closure that reads it from the store, as a Swiss table does.

use crate::arena::PAGE_FOOTPRINT;
use crate::error::CacheError;
use alloc::vec::Vec;

/// Places per bucket.
const WIDTH: usize = 12;
/// Tag of an empty place.
const EMPTY: u8 = 0;
/// A table grows when this share of its places (in 1/1024) is taken.
const MAX_LOAD: usize = 922; // 0.9
/// Buckets in the memory an arena page takes ([`PAGE_FOOTPRINT`], 8 KiB):
/// large tables come in multiples of it.
const PAGE_BUCKETS: usize = PAGE_FOOTPRINT / core::mem::size_of::<Bucket>();
/// Overflow counts stick at this value (it then only means "look further").
const STICKY: u8 = u8::MAX;

/// One cache line: tags, the count of entries that passed this bucket for a
/// later one, and the slots.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    tags: [u8; WIDTH],
    overflow: u8,
    _pad: [u8; 3],
    slots: [u32; WIDTH],
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        tags: [EMPTY; WIDTH],
        overflow: 0,
        _pad: [0; 3],
        slots: [0; WIDTH],
    };

    /// The places whose tag is `tag`, as a bit set: a superset, which may
    /// include a place just above a true match (the caller checks each).
    /// Eight and four tags at a time, as hashbrown's portable groups do.
    #[inline]
    fn matches(&self, tag: u8) -> u32 {
        let [a, b, c, d, e, f, g, h, i, j, k, l] = self.tags;
        let lo = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        let hi = u64::from(u32::from_le_bytes([i, j, k, l]));
        let spread = 0x0101_0101_0101_0101 * u64::from(tag);
        byte_mask(zero_bytes(lo ^ spread))
            | byte_mask(zero_bytes((hi ^ spread) | 0xFFFF_FFFF_0000_0000)) << 8
    }
}

/// The high bit of every byte of `x` that is zero (and possibly of a byte
/// just above one that is).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
}

/// Bit `k` set for each byte `k` whose high bit is set in `m` (only high
/// bits may be set).
#[inline]
fn byte_mask(m: u64) -> u32 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// The tag of a hash: its top byte, never the empty tag.
#[inline]
fn tag_of(hash: u64) -> u8 {
    match (hash >> 56) as u8 {
        EMPTY => 1,
        t => t,
    }
}

/// The home bucket of a hash among `n`.
#[inline]
fn home(hash: u64, n: usize) -> usize {
    ((hash as u32 as u64 * n as u64) >> 32) as usize
}

/// The bucket after `b` of `n`, wrapping around.
#[inline]
fn after(b: usize, n: usize) -> usize {
    if b + 1 == n {
        0
    } else {
        b + 1
    }
}

/// The buckets a table of `n` buckets grows to.
fn grown(n: usize) -> usize {
    let grown = (n + n / 2).max(n + 1);
    if grown > 2 * PAGE_BUCKETS {
        // Whole multiples of 8 KiB: the table freed by the next growth
        // then leaves a hole that arena pages (8 KiB less 16) fill with
        // nothing left over. Rounding stretches two steps (576 → 640 and
        // 960 → 1,024 buckets) and none after: 1.5 × a multiple of 256 is
        // a multiple of 128.
        return grown.div_ceil(PAGE_BUCKETS) * PAGE_BUCKETS;
    }
    grown
}

/// What a growing table asks of its store for each slot it moves: the
/// slot's hash, then (for a store that keeps it, see [`Table::insert_at_home`])
/// where it went. A closure `Fn(u32) -> u64` is the hash alone.
pub(crate) trait Rehash {
    /// The hash of `slot`'s key.
    fn hash(&mut self, slot: u32) -> u64;
    /// `slot` now lies at `(bucket, place)`, its home bucket, or past it (`None`).
    #[inline]
    fn placed(&mut self, _slot: u32, _home: Option<(usize, usize)>) {}
}

impl<F: Fn(u32) -> u64> Rehash for F {
    #[inline]
    fn hash(&mut self, slot: u32) -> u64 {
        self(slot)
    }
}

/// One table of the index.
#[derive(Default)]
pub(crate) struct Table {
    buckets: Vec<Bucket>,
    len: usize,
}

impl Table {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries the table holds before it grows.
    pub fn capacity(&self) -> usize {
        self.buckets.len() * WIDTH * MAX_LOAD / 1024
    }

    /// The slot with this hash for which `eq` holds.
    #[inline(always)]
    pub fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (b, i) = self.locate(hash, eq)?;
        self.buckets.get(b)?.slots.get(i).copied()
    }

    /// The bucket and place of the slot with this hash for which `eq` holds.
    #[inline(always)]
    fn locate(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(usize, usize)> {
        let n = self.buckets.len();
        let tag = tag_of(hash);
        let mut b = home(hash, n);
        for _ in 0..n {
            let bucket = self.buckets.get(b)?;
            let mut set = bucket.matches(tag);
            while set != 0 {
                let i = set.trailing_zeros() as usize;
                set &= set - 1;
                // The mask may name a place just above a match: check its tag,
                // or a stale slot in an empty place could be compared.
                if bucket.tags.get(i) == Some(&tag) && bucket.slots.get(i).is_some_and(|&s| eq(s)) {
                    return Some((b, i));
                }
            }
            if bucket.overflow == 0 {
                return None;
            }
            b = after(b, n);
        }
        None
    }

    /// Makes room for one more entry, growing by half (rehashing every slot
    /// with `hash_of`) when the table is at its maximum load.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; the table is unchanged then.
    pub fn reserve_one(&mut self, mut hash_of: impl Rehash) -> Result<(), CacheError> {
        if self.len < self.capacity() {
            return Ok(());
        }
        self.grow(&mut hash_of)
    }

    /// Grows (through the same sizes as [`Table::reserve_one`]) until the
    /// table holds `entries` before it grows again: a bulk insert then
    /// rehashes nothing.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; the table keeps what it reached.
    pub fn reserve_for(
        &mut self,
        entries: usize,
        mut hash_of: impl Rehash,
    ) -> Result<(), CacheError> {
        // Straight to the size the steps reach: one table allocated and
        // filled, not one per step.
        let mut n = self.buckets.len();
        while (n as u64) * (WIDTH * MAX_LOAD) as u64 / 1024 < entries as u64 {
            n = grown(n);
        }
        if n > self.buckets.len() {
            self.grow_to(n, &mut hash_of)?;
        }
        Ok(())
    }

    fn grow(&mut self, hash_of: &mut impl Rehash) -> Result<(), CacheError> {
        self.grow_to(grown(self.buckets.len()), hash_of)
    }

    fn grow_to(&mut self, grown: usize, hash_of: &mut impl Rehash) -> Result<(), CacheError> {
        let mut next = Table::default();
        next.buckets.try_reserve_exact(grown)?;
        next.buckets.resize(grown, Bucket::EMPTY);
        for bucket in &self.buckets {
            for (&t, &slot) in bucket.tags.iter().zip(&bucket.slots) {
                if t != EMPTY {
                    let home = next.insert_at_home(hash_of.hash(slot), slot);
                    hash_of.placed(slot, home);
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// Adds a slot whose key is not in the table; room must be reserved
    /// (below the maximum load a bucket with room is always found).
    pub fn insert(&mut self, hash: u64, slot: u32) {
        self.insert_at_home(hash, slot);
    }

    /// [`Table::insert`], which tells where the slot went, `(bucket,
    /// place)`, when that is its home bucket ([`Table::remove_at`] can then
    /// remove it without its hash).
    pub fn insert_at_home(&mut self, hash: u64, slot: u32) -> Option<(usize, usize)> {
        let n = self.buckets.len();
        let tag = tag_of(hash);
        let first = home(hash, n);
        let mut b = first;
        for _ in 0..n {
            let bucket = self.buckets.get_mut(b)?;
            let free = bucket.matches(EMPTY);
            if free != 0 {
                let i = free.trailing_zeros() as usize;
                if let (Some(t), Some(s)) = (bucket.tags.get_mut(i), bucket.slots.get_mut(i)) {
                    *t = tag;
                    *s = slot;
                }
                self.len += 1;
                return (b == first).then_some((b, i));
            }
            bucket.overflow = bucket.overflow.saturating_add(1);
            b = after(b, n);
        }
        None
    }

    /// Removes `slot` from place `place` of bucket `bucket`, if it is
    /// there; false (and nothing changed) if not. For a slot in its home
    /// bucket this is [`Table::remove`]; for one past it (placed there by a
    /// growth since its place was told), the buckets it passed keep their
    /// overflow counts, which only sends some lookups one bucket further.
    #[inline]
    pub fn remove_at(&mut self, bucket: usize, place: usize, slot: u32) -> bool {
        let Some(b) = self.buckets.get_mut(bucket) else {
            return false;
        };
        match (b.tags.get_mut(place), b.slots.get(place)) {
            (Some(t), Some(&s)) if *t != EMPTY && s == slot => {
                *t = EMPTY;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Buckets in the table (a bulk insert orders its slots by
    /// [`Table::home_bucket`] among them).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The bucket a slot with this hash goes to first.
    #[inline]
    pub fn home_bucket(&self, hash: u64) -> usize {
        home(hash, self.buckets.len())
    }

    /// Removes `slot`, whose key has this hash; false if it is not there.
    pub fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let Some((b, i)) = self.locate(hash, |s| s == slot) else {
            return false;
        };
        if let Some(t) = self
            .buckets
            .get_mut(b)
            .and_then(|bucket| bucket.tags.get_mut(i))
        {
            *t = EMPTY;
        }
        self.len -= 1;
        // The buckets it passed no longer overflow on its account.
        let n = self.buckets.len();
        let mut p = home(hash, n);
        while p != b {
            if let Some(passed) = self.buckets.get_mut(p) {
                if passed.overflow != STICKY {
                    passed.overflow = passed.overflow.saturating_sub(1);
                }
            }
            p = after(p, n);
        }
        true
    }

    /// Every slot in the table (tests and `validate`).
    /// Every slot the table holds.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flat_map(|b| {
            b.tags
                .iter()
                .zip(&b.slots)
                .filter(|(&t, _)| t != EMPTY)
                .map(|(_, &s)| s)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GOLDEN_RATIO;
    use alloc::collections::BTreeSet;

    /// A poor hash on purpose (many shared homes and tags) for slot `s`.
    fn crowded(s: u32) -> u64 {
        u64::from(s % 97).wrapping_mul(GOLDEN_RATIO) ^ u64::from(s % 3) << 56
    }

    #[test]
    fn finds_what_it_holds_through_growth_removal_and_overflow() {
        let mut t = Table::default();
        let mut model = BTreeSet::new();
        let mut rng = crate::rng::Rng::new(5);
        for step in 0..60_000u32 {
            let s = (rng.next_u64() % 5_000) as u32;
            if model.remove(&s) {
                assert!(t.remove(crowded(s), s), "step {step}");
            } else {
                t.reserve_one(crowded).unwrap();
                t.insert(crowded(s), s);
                model.insert(s);
            }
            if step % 997 == 0 {
                for s in 0..5_000u32 {
                    let found = t.find(crowded(s), |x| x == s);
                    assert_eq!(found.is_some(), model.contains(&s), "slot {s} at {step}");
                }
                assert_eq!(t.len(), model.len());
                assert_eq!(t.slots().count(), model.len());
            }
        }
        assert!(!t.remove(crowded(99_999), 99_999));
    }

    #[test]
    fn overflow_counts_return_to_zero() {
        // Fill, then empty: every bucket's overflow count is back to 0, so
        // a miss stops at its home bucket again.
        let mut t = Table::default();
        let hasher = crate::key::KeyHasher::new(1);
        let hash = |s: u32| hasher.hash(&s.to_le_bytes());
        for s in 0..10_000 {
            t.reserve_one(hash).unwrap();
            t.insert(hash(s), s);
        }
        assert!(t.buckets.iter().any(|b| b.overflow > 0));
        for s in 0..10_000 {
            assert!(t.remove(hash(s), s));
        }
        assert!(t.buckets.iter().all(|b| b.overflow == 0));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn matches_finds_every_equal_tag() {
        let mut b = Bucket::EMPTY;
        b.tags = [5, 0, 5, 7, 255, 1, 5, 0, 9, 5, 0, 255];
        for tag in [0u8, 1, 5, 7, 9, 255, 3] {
            let exact: u32 = (0..WIDTH)
                .filter(|&i| b.tags[i] == tag)
                .map(|i| 1 << i)
                .sum();
            let got = b.matches(tag);
            assert_eq!(got & exact, exact, "tag {tag}: every match");
            assert_eq!(got >> WIDTH, 0, "tag {tag}: only the 12 places");
        }
        assert_eq!(Bucket::EMPTY.matches(EMPTY), (1 << WIDTH) - 1);
        assert_eq!(Bucket::EMPTY.matches(3), 0);
    }

    #[test]
    fn a_bucket_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<Bucket>(), 64);
        assert_eq!(core::mem::align_of::<Bucket>(), 64);
    }
}
