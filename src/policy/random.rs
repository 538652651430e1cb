//! Uniform random eviction: a dense array of candidate slots (`link[0]` holds
//! an entry's position), so removal and a uniform pick are both O(1).

use crate::rng::Rng;
use crate::store::{Store, NONE};
use alloc::vec::Vec;

#[derive(Default)]
pub(crate) struct RandomSet {
    slots: Vec<u32>,
}

impl RandomSet {
    pub fn reserve(&mut self) -> Result<(), crate::CacheError> {
        self.slots.try_reserve(1)?;
        Ok(())
    }
    pub fn on_insert(&mut self, store: &mut Store, slot: u32) {
        store.set_link_at(slot, 0, self.slots.len() as u32);
        self.slots.push(slot);
    }
    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        let pos = store.at(slot).link[0];
        if pos == NONE {
            return;
        }
        store.set_link_at(slot, 0, NONE);
        let pos = pos as usize;
        if pos < self.slots.len() {
            self.slots.swap_remove(pos);
            if let Some(&moved) = self.slots.get(pos) {
                store.set_link_at(moved, 0, pos as u32);
            }
        }
    }
    pub fn victim(&self, rng: &mut Rng) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots
            .get(rng.below(self.slots.len() as u64) as usize)
            .copied()
    }
    #[cfg(any(test, feature = "std"))]
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}
