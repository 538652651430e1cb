//! The slab of entries and its hash index.
//!
//! Each entry keeps its key and value in one allocation (`key ‖ value`) and a
//! fixed record of policy links and bookkeeping; the index is a
//! `hashbrown::HashTable` of slot numbers, hashed with the cache's seeded
//! [`KeyHasher`]. Slots freed by removals are reused first, so the slab does
//! not grow under churn at a steady budget.
//!
//! Slot numbers come only from this slab (its index and free list), never
//! from the caller; accessors still return a harmless sentinel for an
//! out-of-range slot rather than panic, because a panic in the wasm build
//! traps and poisons every cache in the isolate.

use crate::error::CacheError;
use crate::key::KeyHasher;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashTable;

/// "No slot" in links and positions.
pub(crate) const NONE: u32 = u32::MAX;

/// Bytes charged per entry beyond its key and value bytes.
///
/// On wasm32 the entry record is 36 bytes; the index adds one `u32` slot and
/// one control byte per bucket at a load of ⅞ to 7⁄16 (6–12 bytes); the
/// allocator adds a 4-byte header and rounds the `key ‖ value` block up to 8
/// bytes. 56 covers all of that, so `stats().bytes` never under-counts the
/// linear memory an entry holds. Tags and `dependsOn` edges are charged on
/// top (see [`crate::deps`]).
pub const ENTRY_OVERHEAD: usize = 56;

/// One cached entry.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `key ‖ value`.
    pub data: Box<[u8]>,
    pub key_len: u32,
    /// Position in the expiry heap, or `NONE` when the entry has no TTL.
    pub ttl_pos: u32,
    /// Policy-defined links (list neighbours, array position).
    pub link: [u32; 2],
    /// Policy-defined state (LFU counter and clock, queue membership).
    pub meta: u32,
    /// Bumped each time the slot is reused, so that side tables can hold
    /// `(slot, gen)` references that go stale safely.
    pub gen: u32,
    /// Whether the entry has tags or `dependsOn` edges in the side table.
    pub extra: bool,
    pub live: bool,
}

impl Entry {
    fn empty() -> Entry {
        Entry {
            data: Box::new([]) as Box<[u8]>,
            key_len: 0,
            ttl_pos: NONE,
            link: [NONE, NONE],
            meta: 0,
            gen: 0,
            extra: false,
            live: false,
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        self.data.get(..self.key_len as usize).unwrap_or(&[])
    }

    #[inline]
    pub fn value(&self) -> &[u8] {
        self.data.get(self.key_len as usize..).unwrap_or(&[])
    }
}

/// Slab + index.
pub(crate) struct Store {
    entries: Vec<Entry>,
    free_head: u32,
    index: HashTable<u32>,
    hasher: KeyHasher,
    len: usize,
    sentinel: Entry,
}

impl Store {
    pub fn new(seed: u64) -> Store {
        Store {
            entries: Vec::new(),
            free_head: NONE,
            index: HashTable::new(),
            hasher: KeyHasher::new(seed),
            len: 0,
            sentinel: Entry::empty(),
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn at(&self, slot: u32) -> &Entry {
        self.entries.get(slot as usize).unwrap_or(&self.sentinel)
    }

    #[inline]
    pub fn at_mut(&mut self, slot: u32) -> &mut Entry {
        match self.entries.get_mut(slot as usize) {
            Some(e) => e,
            None => {
                self.sentinel = Entry::empty();
                &mut self.sentinel
            }
        }
    }

    /// The live slot holding `key`, if any.
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let entries = &self.entries;
        self.index
            .find(hash, |&s| {
                entries.get(s as usize).is_some_and(|e| e.key() == key)
            })
            .copied()
    }

    /// Stores a new entry (the key must not be present).
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] when the slab or the index cannot grow.
    pub fn insert(&mut self, hash: u64, data: Box<[u8]>, key_len: u32) -> Result<u32, CacheError> {
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.index.try_reserve(1, |&s| {
            hasher.hash(entries.get(s as usize).map_or(&[][..], |e| e.key()))
        })?;
        let slot = if self.free_head != NONE {
            let slot = self.free_head;
            self.free_head = self.at(slot).link[0];
            slot
        } else {
            self.entries.try_reserve(1)?;
            self.entries.push(Entry::empty());
            (self.entries.len() - 1) as u32
        };
        let e = self.at_mut(slot);
        e.data = data;
        e.key_len = key_len;
        e.ttl_pos = NONE;
        e.link = [NONE, NONE];
        e.meta = 0;
        e.gen = e.gen.wrapping_add(1);
        e.extra = false;
        e.live = true;
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.index.insert_unique(hash, slot, |&s| {
            hasher.hash(entries.get(s as usize).map_or(&[][..], |e| e.key()))
        });
        self.len += 1;
        Ok(slot)
    }

    /// Frees a live slot: drops it from the index, releases its bytes, and
    /// puts the slot on the free list. Policy and expiry links must already be
    /// cleared by the caller.
    pub fn remove(&mut self, slot: u32) {
        let hash = self.hash(self.at(slot).key());
        if let Ok(found) = self.index.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        let free_head = self.free_head;
        let e = self.at_mut(slot);
        if !e.live {
            return;
        }
        e.data = Box::new([]);
        e.key_len = 0;
        e.live = false;
        e.extra = false;
        e.ttl_pos = NONE;
        e.link = [free_head, NONE];
        self.free_head = slot;
        self.len -= 1;
    }

    /// Drops every entry and releases the memory.
    pub fn clear(&mut self) {
        self.entries = Vec::new();
        self.index = HashTable::new();
        self.free_head = NONE;
        self.len = 0;
    }

    /// Every live slot, in slab order (tests and `validate` only).
    #[cfg(any(test, feature = "std"))]
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.live)
            .map(|(i, _)| i as u32)
    }

    /// Checks the index against the slab.
    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self) {
        assert_eq!(self.index.len(), self.len, "index size");
        let live = self.entries.iter().filter(|e| e.live).count();
        assert_eq!(live, self.len, "live count");
        for slot in self.live_slots() {
            let e = self.at(slot);
            assert_eq!(
                self.find(self.hash(e.key()), e.key()),
                Some(slot),
                "index finds slot"
            );
        }
    }
}
