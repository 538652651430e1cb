//! Exact LRU: one list, hits move an entry to the tail, the head is the victim.

use super::list::List;
use crate::store::Store;

#[derive(Default)]
pub(crate) struct Lru {
    pub list: List,
}

impl Lru {
    /// Appends a new entry and marks it tracked.
    pub fn on_insert_tracked(&mut self, store: &mut Store, slot: u32) {
        self.list.push_tail_tracked(store, slot);
    }
    pub fn on_access(&mut self, store: &mut Store, slot: u32) {
        self.list.move_to_tail(store, slot);
    }
    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        self.list.unlink(store, slot);
    }
    /// Visits every entry, least recently used first.
    pub fn for_each_lru_first(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        self.list.for_each(store, f);
    }
    pub fn victim(&self) -> Option<u32> {
        (self.list.len > 0).then_some(self.list.head)
    }
}
