//! An intrusive doubly linked list over entry slots, through the two links of
//! each entry's record (`link[0]` = previous, `link[1]` = next). Head is the oldest end, tail the newest.

use crate::store::{Store, NONE};

#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    pub head: u32,
    pub tail: u32,
    pub len: usize,
}

impl Default for List {
    fn default() -> Self {
        List {
            head: NONE,
            tail: NONE,
            len: 0,
        }
    }
}

impl List {
    pub fn push_tail(&mut self, store: &mut Store, slot: u32) {
        self.push_tail_with(store, slot, Store::set_link);
    }

    /// [`List::push_tail`] of a new entry that also marks it tracked: its
    /// record is written once.
    pub fn push_tail_tracked(&mut self, store: &mut Store, slot: u32) {
        self.push_tail_with(store, slot, Store::link_tracked);
    }

    /// Appends `slot`, whose own links `link` writes.
    #[inline(always)]
    fn push_tail_with(
        &mut self,
        store: &mut Store,
        slot: u32,
        link: impl FnOnce(&mut Store, u32, [u32; 2]),
    ) {
        let tail = self.tail;
        link(store, slot, [tail, NONE]);
        if tail == NONE {
            self.head = slot;
        } else {
            store.set_link_at(tail, 1, slot);
        }
        self.tail = slot;
        self.len += 1;
    }

    pub fn unlink(&mut self, store: &mut Store, slot: u32) {
        let [prev, next] = store.swap_link(slot, [NONE, NONE]);
        if prev == NONE {
            self.head = next;
        } else {
            store.set_link_at(prev, 1, next);
        }
        if next == NONE {
            self.tail = prev;
        } else {
            store.set_link_at(next, 0, prev);
        }
        self.len = self.len.saturating_sub(1);
    }

    /// Unlinks `slot` and appends it: its own record is read and written
    /// once, and each neighbour's once.
    pub fn move_to_tail(&mut self, store: &mut Store, slot: u32) {
        let tail = self.tail;
        if tail == slot {
            return;
        }
        let [prev, next] = store.swap_link(slot, [tail, NONE]);
        if prev == NONE {
            self.head = next;
        } else {
            store.set_link_at(prev, 1, next);
        }
        // `slot` is not the tail, so it has a next entry (the tail, at the latest).
        if next == tail {
            store.set_link(tail, [prev, slot]);
        } else {
            store.set_link_at(next, 0, prev);
            store.set_link_at(tail, 1, slot);
        }
        self.tail = slot;
    }

    /// Visits every slot from head (oldest) to tail. At most `len` steps,
    /// whatever the links say.
    pub fn for_each(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        let mut s = self.head;
        let mut left = self.len;
        while s != NONE && left > 0 {
            let next = store.at(s).link[1];
            f(s);
            s = next;
            left -= 1;
        }
    }

    /// Walks from head to tail (tests only).
    #[cfg(any(test, feature = "std"))]
    pub fn slots(&self, store: &Store) -> alloc::vec::Vec<u32> {
        let mut out = alloc::vec::Vec::new();
        let mut s = self.head;
        while s != NONE {
            out.push(s);
            s = store.at(s).link[1];
            assert!(out.len() <= self.len, "list longer than its length");
        }
        assert_eq!(out.len(), self.len, "list length");
        out
    }
}
