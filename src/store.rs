//! The slab of entry records and its hash index.
//!
//! A record is 20 bytes: the handle of the entry's bytes in the [`Arena`], its
//! expiry-heap position with two flag bits, two policy links and policy
//! state. (The generation that side tables use to tell a reused slot from the
//! entry they meant lives with those side tables, in the cache's extras: only
//! entries with tags or `dependsOn` edges are named by them.) Records live in
//! fixed blocks of 1024 (a growing slab never copies itself, so there is no
//! doubling spike in linear memory), and slots freed by removals are reused
//! first. The index is a `hashbrown::HashTable` of slot numbers in 64 shards,
//! hashed with the cache's seeded [`KeyHasher`]. A keys-only store (the
//! mini-simulation's ghosts) keeps 8-byte keys in an array by slot instead of
//! the arena.
//!
//! Slot numbers come only from this slab (its index and free list), never
//! from the caller; accessors still return a harmless sentinel for an
//! out-of-range slot rather than panic, because a panic in the wasm build
//! traps and poisons every cache in the isolate.

use crate::arena::{Arena, Handle};
use crate::error::CacheError;
use crate::key::KeyHasher;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashTable;

/// "No slot" in links and positions.
pub(crate) const NONE: u32 = u32::MAX;

/// Bytes charged per entry beyond its chunk in the arena
/// ([`crate::entry_bytes`] minus this constant: key and value with a 2-byte header, rounded up to
/// the size class): the 20-byte record and 10 bytes for its share of the
/// index (a `u32` slot and a control byte per bucket; the staggered shards
/// keep the load between about 57 % and 77 % of the buckets once the cache
/// holds a few thousand entries, 6.5 to 8.7 bytes per entry).
///
/// So an entry is charged `chunk_size(key, value) + 30`: for a 17-byte key
/// and an 8-byte value, `28 + 30 = 58` bytes.
pub const ENTRY_OVERHEAD: usize = 30;

/// The most entries that can have a TTL at once (the expiry-heap position
/// has 30 bits in the record).
pub(crate) const MAX_TTL_ENTRIES: usize = POS_MASK as usize - 1;

const BLOCK_BITS: u32 = 10;
const SHARDS: usize = 64;

/// The shard comes from hash bits 32–41: hashbrown takes its 7-bit control
/// tag from the top bits and the bucket from the low ones, and a shard chosen
/// from either would leave its table with tags or buckets that all look alike
/// (top bits cost 50 % more time per operation, measured).
#[inline]
fn shard_of(hash: u64) -> usize {
    SHARD_TABLE
        .get((hash >> 32) as usize & (SHARD_TABLE.len() - 1))
        .map_or(0, |&s| s as usize)
}

/// Which shard each of 1,024 hash buckets goes to. Shard `i` gets a share of
/// the keys proportional to 2^(i/64), so the shards' sizes spread evenly (in
/// log scale) over one doubling: they reach hashbrown's 7⁄8 load, and double,
/// one at a time instead of all at once. The index's load factor then stays
/// near its average (about 63 %) at every cache size, where equal shards swung
/// between 44 % and 87 % together (and sat at 44 %, 11 bytes per entry, for
/// the 1.87 M-entry stock data set).
static SHARD_TABLE: [u8; 1024] = shard_table();

const fn shard_table() -> [u8; 1024] {
    // Weights 2^(i/64) in 20-bit fixed point: 2^(1/64) ≈ 1.0108893.
    let mut weights = [0u64; SHARDS];
    let mut w: u64 = 1 << 20;
    let mut i = 0;
    let mut total = 0;
    while i < SHARDS {
        weights[i] = w;
        total += w;
        w = w * 10_108_893 / 10_000_000;
        i += 1;
    }
    // Bucket b goes to the shard whose cumulative share covers (b + ½)/1024.
    let mut table = [0u8; 1024];
    let (mut shard, mut cumulative) = (0, weights[0]);
    let mut b = 0;
    while b < 1024 {
        let point = (2 * b as u64 + 1) * total / 2048;
        while cumulative <= point && shard + 1 < SHARDS {
            shard += 1;
            cumulative += weights[shard];
        }
        table[b] = shard as u8;
        b += 1;
    }
    table
}
const BLOCK: usize = 1 << BLOCK_BITS;
const LIVE: u32 = 1 << 31;
const EXTRA: u32 = 1 << 30;
/// The expiry-heap position's bits in `Entry::state`; all ones is "none".
const POS_MASK: u32 = EXTRA - 1;

/// One cached entry's record: 20 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// Where `key ‖ value` lives in the arena.
    pub handle: Handle,
    /// The LIVE and EXTRA flags and, in the low 30 bits, the position in
    /// the expiry heap (all ones when the entry has no TTL). A heap of 2³⁰
    /// nodes would need 24 GiB, six times what wasm32 can address.
    state: u32,
    /// Policy-defined links (list neighbours, array position).
    pub link: [u32; 2],
    /// Policy-defined state (LFU counter and clock, region and weight).
    pub meta: u32,
}

impl Entry {
    const EMPTY: Entry = Entry {
        handle: 0,
        state: POS_MASK,
        link: [NONE, NONE],
        meta: 0,
    };

    /// Whether the slot holds an entry.
    #[inline]
    pub fn live(&self) -> bool {
        self.state & LIVE != 0
    }

    /// Whether the entry has tags or `dependsOn` edges in the side table.
    #[inline]
    pub fn extra(&self) -> bool {
        self.state & EXTRA != 0
    }

    pub fn set_extra(&mut self, on: bool) {
        if on {
            self.state |= EXTRA;
        } else {
            self.state &= !EXTRA;
        }
    }

    /// Position in the expiry heap, or `NONE` when the entry has no TTL.
    #[inline]
    pub fn ttl_pos(&self) -> u32 {
        match self.state & POS_MASK {
            POS_MASK => NONE,
            pos => pos,
        }
    }

    /// Sets the expiry-heap position (`NONE`: no TTL).
    #[inline]
    pub fn set_ttl_pos(&mut self, pos: u32) {
        self.state = (self.state & !POS_MASK) | pos.min(POS_MASK);
    }
}

/// Slab + index + the entries' bytes.
pub(crate) struct Store {
    blocks: Vec<Box<[Entry]>>,
    slots: usize,
    free_head: u32,
    /// The index, in 64 shards of unequal shares of the hash: each shard grows (and
    /// briefly holds two tables) on its own, so the index never needs two
    /// copies of itself at once in linear memory.
    index: Vec<HashTable<u32>>,
    bytes: Bytes,
    hasher: KeyHasher,
    len: usize,
    sentinel: Entry,
}

/// Where the entries' bytes live.
enum Bytes {
    /// Keys and values in the arena: every cache.
    Arena(Arena),
    /// 8-byte keys and no values, in an array by slot: the mini-simulation's
    /// ghosts, each of which would otherwise take at least a 64 KiB arena
    /// page however few keys it holds.
    Keys8(Vec<[u8; 8]>),
}

impl Bytes {
    /// `(key, value)` of the entry in `slot` whose arena handle is `handle`.
    #[inline]
    fn get(&self, slot: u32, handle: Handle) -> (&[u8], &[u8]) {
        match self {
            Bytes::Arena(arena) => arena.get(handle),
            Bytes::Keys8(keys) => (keys.get(slot as usize).map_or(&[][..], |k| &k[..]), &[]),
        }
    }

    /// Stores the bytes of the entry going into `slot`; returns its handle.
    fn alloc(&mut self, slot: u32, key: &[u8], value: &[u8]) -> Result<Handle, CacheError> {
        match self {
            Bytes::Arena(arena) => arena.alloc(key, value),
            Bytes::Keys8(keys) => {
                let (Ok(k), true) = (<[u8; 8]>::try_from(key), value.is_empty()) else {
                    return Err(CacheError::InvalidArgument(
                        "internal: a keys-only store takes 8-byte keys and no value",
                    ));
                };
                let i = slot as usize;
                if i >= keys.len() {
                    keys.try_reserve(i + 1 - keys.len())?;
                    keys.resize(i + 1, [0; 8]);
                }
                if let Some(at) = keys.get_mut(i) {
                    *at = k;
                }
                Ok(0)
            }
        }
    }

    fn free(&mut self, handle: Handle) {
        if let Bytes::Arena(arena) = self {
            arena.free(handle);
        }
    }
}

/// The key in `slot`, from the parts of a [`Store`] that a resizing index
/// can borrow while the index itself is borrowed mutably.
fn key_in<'a>(blocks: &'a [Box<[Entry]>], bytes: &'a Bytes, slot: u32) -> &'a [u8] {
    blocks
        .get((slot >> BLOCK_BITS) as usize)
        .and_then(|b| b.get(slot as usize & (BLOCK - 1)))
        .map_or(&[][..], |e| bytes.get(slot, e.handle).0)
}

impl Store {
    pub fn new(seed: u64) -> Store {
        Store::with_bytes(seed, Bytes::Arena(Arena::default()))
    }

    /// A store of 8-byte keys without values (the mini-simulation's ghosts).
    pub fn keys_only(seed: u64) -> Store {
        Store::with_bytes(seed, Bytes::Keys8(Vec::new()))
    }

    fn with_bytes(seed: u64, bytes: Bytes) -> Store {
        Store {
            blocks: Vec::new(),
            slots: 0,
            free_head: NONE,
            index: (0..SHARDS).map(|_| HashTable::new()).collect(),
            bytes,
            hasher: KeyHasher::new(seed),
            len: 0,
            sentinel: Entry::EMPTY,
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> Option<&HashTable<u32>> {
        self.index.get(shard_of(hash))
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries the index can hold before some shard grows.
    #[cfg(test)]
    fn index_capacity(&self) -> usize {
        self.index.iter().map(HashTable::capacity).sum()
    }

    #[inline]
    pub fn at(&self, slot: u32) -> &Entry {
        self.blocks
            .get((slot >> BLOCK_BITS) as usize)
            .and_then(|b| b.get(slot as usize & (BLOCK - 1)))
            .unwrap_or(&self.sentinel)
    }

    #[inline]
    pub fn at_mut(&mut self, slot: u32) -> &mut Entry {
        match self
            .blocks
            .get_mut((slot >> BLOCK_BITS) as usize)
            .and_then(|b| b.get_mut(slot as usize & (BLOCK - 1)))
        {
            Some(e) => e,
            None => {
                self.sentinel = Entry::EMPTY;
                &mut self.sentinel
            }
        }
    }

    /// `(key, value)` of a live slot; empty for a free one.
    #[inline]
    fn key_value(&self, slot: u32) -> (&[u8], &[u8]) {
        let e = self.at(slot);
        if !e.live() {
            return (&[], &[]);
        }
        self.bytes.get(slot, e.handle)
    }

    /// The key of a live slot.
    #[inline]
    pub fn key(&self, slot: u32) -> &[u8] {
        self.key_value(slot).0
    }

    /// The value of a live slot.
    #[inline]
    pub fn value(&self, slot: u32) -> &[u8] {
        self.key_value(slot).1
    }

    /// Bytes the slot's chunk occupies in the arena.
    pub fn chunk_size(&self, slot: u32) -> usize {
        let (k, v) = self.bytes.get(slot, self.at(slot).handle);
        Arena::chunk_size(k.len(), v.len())
    }

    /// The live slot holding `key`, if any.
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        self.shard(hash)
            .and_then(|t| t.find(hash, |&s| self.key(s) == key))
            .copied()
    }

    /// Stores a new entry (the key must not be present).
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] when the slab, the index or the arena
    /// cannot grow; nothing is changed then.
    pub fn insert(&mut self, hash: u64, key: &[u8], value: &[u8]) -> Result<u32, CacheError> {
        {
            let (blocks, bytes, hasher) = (&self.blocks, &self.bytes, &self.hasher);
            let Some(shard) = self.index.get_mut(shard_of(hash)) else {
                return Err(CacheError::AllocFailed);
            };
            shard.try_reserve(1, |&s| hasher.hash(key_in(blocks, bytes, s)))?;
        }
        if self.free_head == NONE && self.slots == self.blocks.len() * BLOCK {
            self.blocks.try_reserve(1)?;
            let mut block = Vec::new();
            block.try_reserve_exact(BLOCK)?;
            block.resize(BLOCK, Entry::EMPTY);
            self.blocks.push(block.into_boxed_slice());
        }
        let reuse = self.free_head != NONE;
        let slot = if reuse {
            self.free_head
        } else {
            self.slots as u32
        };
        let handle = self.bytes.alloc(slot, key, value)?;
        if reuse {
            self.free_head = self.at(slot).link[0];
        } else {
            self.slots += 1;
        }
        *self.at_mut(slot) = Entry {
            handle,
            state: LIVE | POS_MASK,
            link: [NONE, NONE],
            meta: 0,
        };
        let (blocks, bytes, hasher) = (&self.blocks, &self.bytes, &self.hasher);
        let Some(shard) = self.index.get_mut(shard_of(hash)) else {
            return Err(CacheError::AllocFailed);
        };
        shard.insert_unique(hash, slot, |&s| hasher.hash(key_in(blocks, bytes, s)));
        self.len += 1;
        Ok(slot)
    }

    /// Frees a live slot: drops it from the index, releases its bytes, and
    /// puts the slot on the free list. Policy and expiry links must already be
    /// cleared by the caller.
    pub fn remove(&mut self, slot: u32) {
        if !self.at(slot).live() {
            return;
        }
        let hash = self.hash(self.key(slot));
        if let Some(Ok(found)) = self
            .index
            .get_mut(shard_of(hash))
            .map(|t| t.find_entry(hash, |&s| s == slot))
        {
            found.remove();
        }
        let handle = self.at(slot).handle;
        self.bytes.free(handle);
        let free_head = self.free_head;
        *self.at_mut(slot) = Entry {
            link: [free_head, NONE],
            ..Entry::EMPTY
        };
        self.free_head = slot;
        self.len -= 1;
    }

    /// Drops every entry and releases the memory.
    pub fn clear(&mut self) {
        self.blocks = Vec::new();
        self.slots = 0;
        self.index = (0..SHARDS).map(|_| HashTable::new()).collect();
        self.bytes = match self.bytes {
            Bytes::Arena(_) => Bytes::Arena(Arena::default()),
            Bytes::Keys8(_) => Bytes::Keys8(Vec::new()),
        };
        self.free_head = NONE;
        self.len = 0;
    }

    /// Every live slot, in slab order (tests and `validate` only).
    #[cfg(any(test, feature = "std"))]
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.slots as u32).filter(|&s| self.at(s).live())
    }

    /// Checks the index against the slab.
    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self) {
        assert_eq!(
            self.index.iter().map(|t| t.len()).sum::<usize>(),
            self.len,
            "index size"
        );
        assert_eq!(self.live_slots().count(), self.len, "live count");
        for slot in self.live_slots() {
            let key = self.key(slot);
            assert_eq!(
                self.find(self.hash(key), key),
                Some(slot),
                "index finds slot"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{shard_table, Store, SHARDS};
    use alloc::vec;

    #[test]
    fn a_keys_only_store_finds_removes_and_reuses_slots() {
        let mut store = Store::keys_only(4);
        let key = |i: u64| i.to_le_bytes();
        let mut slots = vec![];
        for i in 0..3000 {
            let k = key(i);
            slots.push(store.insert(store.hash(&k), &k, &[]).unwrap());
        }
        for i in (0..3000).step_by(2) {
            store.remove(slots[i as usize]);
        }
        for i in 0..3000 {
            let k = key(i);
            let found = store.find(store.hash(&k), &k);
            assert_eq!(found.is_some(), i % 2 == 1, "key {i}");
            if let Some(s) = found {
                assert_eq!(store.key(s), &k[..]);
                assert!(store.value(s).is_empty());
            }
        }
        // Freed slots are reused, and hold their new keys.
        let k = key(9999);
        let s = store.insert(store.hash(&k), &k, &[]).unwrap();
        assert!(s < 3000);
        assert_eq!(store.find(store.hash(&k), &k), Some(s));
        assert!(store.insert(0, b"short", &[]).is_err());
        assert!(store.insert(0, &key(1), b"v").is_err());
        assert_eq!(store.len(), 1501);
        store.validate();
    }

    #[test]
    fn shard_shares_grow_from_one_to_two() {
        let mut counts = vec![0usize; SHARDS];
        for s in shard_table() {
            counts[s as usize] += 1;
        }
        assert!(counts.windows(2).all(|w| w[0] <= w[1] + 1), "{counts:?}");
        let (first, last) = (counts[0] as f64, counts[SHARDS - 1] as f64);
        assert!(
            first >= 10.0 && (1.8..2.2).contains(&(last / first)),
            "{counts:?}"
        );
    }

    #[test]
    fn the_index_never_sits_at_its_minimum_load() {
        // Equal shards all double together: right after, the index is half
        // empty. Staggered shards keep its load near the average throughout.
        let mut store = Store::new(9);
        let mut lowest = 1.0f64;
        for i in 0u32..140_000 {
            let key = i.to_le_bytes();
            let hash = store.hash(&key);
            store.insert(hash, &key, &[]).unwrap();
            if i >= 20_000 && i % 500 == 0 {
                let load = store.len() as f64 / store.index_capacity() as f64;
                lowest = lowest.min(load);
            }
        }
        assert!(lowest > 0.6, "lowest load {lowest}");
    }
}
