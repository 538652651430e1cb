//! Byte strings interned to small reusable ids, each carrying a value: the
//! child keys of `dependsOn` edges ([`crate::deps`]) and tag names
//! ([`crate::tags`]). Freed ids are reused; the value survives reuse so that
//! its owner can keep a generation in it.

use crate::error::CacheError;
use crate::key::KeyHasher;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashTable;

struct Slot<T> {
    name: Box<[u8]>,
    value: T,
    live: bool,
}

pub(crate) struct Interner<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    index: HashTable<u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<T: Default> Interner<T> {
    fn name_of(slots: &[Slot<T>], id: u32) -> &[u8] {
        slots.get(id as usize).map_or(&[][..], |s| &s.name)
    }

    /// The id of `name`, if interned.
    pub fn find(&self, hasher: &KeyHasher, name: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hasher.hash(name), |&id| {
                slots
                    .get(id as usize)
                    .is_some_and(|s| s.live && *s.name == *name)
            })
            .copied()
    }

    /// The id of `name`, interning it if needed; `fresh` prepares the value
    /// of a newly interned name (a reused id keeps its old value until then).
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; nothing is interned then.
    pub fn intern(
        &mut self,
        hasher: &KeyHasher,
        name: &[u8],
        fresh: impl FnOnce(&mut T),
    ) -> Result<u32, CacheError> {
        if let Some(id) = self.find(hasher, name) {
            return Ok(id);
        }
        let slots = &self.slots;
        self.index
            .try_reserve(1, |&id| hasher.hash(Self::name_of(slots, id)))?;
        let mut boxed = Vec::new();
        boxed.try_reserve_exact(name.len())?;
        boxed.extend_from_slice(name);
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.try_reserve(1)?;
                self.slots.push(Slot {
                    name: Box::new([]),
                    value: T::default(),
                    live: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return Err(CacheError::AllocFailed);
        };
        slot.name = boxed.into_boxed_slice();
        slot.live = true;
        fresh(&mut slot.value);
        let slots = &self.slots;
        self.index.insert_unique(hasher.hash(name), id, |&id| {
            hasher.hash(Self::name_of(slots, id))
        });
        Ok(id)
    }

    /// The name of a live id.
    pub fn name(&self, id: u32) -> Option<&[u8]> {
        self.slots
            .get(id as usize)
            .filter(|s| s.live)
            .map(|s| &s.name[..])
    }

    /// The value of a live id.
    pub fn get(&self, id: u32) -> Option<&T> {
        self.slots
            .get(id as usize)
            .filter(|s| s.live)
            .map(|s| &s.value)
    }

    /// The value of a live id, mutably.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.slots
            .get_mut(id as usize)
            .filter(|s| s.live)
            .map(|s| &mut s.value)
    }

    /// Frees a live id; `release` tidies its value (which stays for reuse).
    pub fn remove(&mut self, hasher: &KeyHasher, id: u32, release: impl FnOnce(&mut T)) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        if !slot.live {
            return;
        }
        let hash = hasher.hash(&slot.name);
        slot.name = Box::new([]);
        slot.live = false;
        release(&mut slot.value);
        if let Ok(e) = self.index.find_entry(hash, |&x| x == id) {
            e.remove();
        }
        // A free list that cannot grow just leaks the id; never fail here.
        if self.free.try_reserve(1).is_ok() {
            self.free.push(id);
        }
    }

    /// Whether nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
