//! Appending a load's plain entries (no TTL) to the policy without the
//! general insert (see [`crate::store::Store::append_short`]): under an
//! LRU list the store writes each entry's record already linked after the
//! list's tail, so the policy only moves its tail and counts the entry;
//! a policy that does not track entries without a TTL has nothing to do.
//! The entries end up exactly as [`PolicyState::insert`] leaves them.

use super::{Family, PolicyState};
use crate::store::{Store, NONE};

/// How a plain entry is appended to a policy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PlainAppend {
    /// Stored untracked, unlinked; the policy is not told.
    Untracked,
    /// Stored tracked, its links `[tail, NONE]` (the list's tail now), then
    /// [`PolicyState::appended_to_lru`].
    Lru { tail: u32 },
    /// Stored unlinked, then [`PolicyState::insert`].
    General,
}

impl PolicyState {
    /// How an entry without a TTL is appended now.
    #[inline]
    pub fn plain_append(&self) -> PlainAppend {
        if !self.tracks(false) {
            return PlainAppend::Untracked;
        }
        match &self.family {
            Family::Lru(p) => PlainAppend::Lru { tail: p.list.tail },
            _ => PlainAppend::General,
        }
    }

    /// Takes `slot`, stored tracked with the links [`PlainAppend::Lru`]
    /// gave, as the list's new tail: links the old tail to it and counts
    /// it. Does nothing under another family.
    #[inline]
    pub fn appended_to_lru(&mut self, store: &mut Store, slot: u32, charge: u64) {
        let Family::Lru(p) = &mut self.family else {
            return;
        };
        let list = &mut p.list;
        if list.tail == NONE {
            list.head = slot;
        } else {
            store.set_link_at(list.tail, 1, slot);
        }
        list.tail = slot;
        list.len += 1;
        self.tracked_bytes += charge;
        self.tracked_len += 1;
    }
}
