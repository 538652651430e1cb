//! Tags with O(1) invalidation by generation counters.
//!
//! Each tag has a generation drawn from one counter that only grows, and an
//! entry records `(tag, generation)` when it is set. `invalidate_tag` bumps
//! the tag's generation (every older entry of the tag is dead from that
//! instant: reads check the generation) and hands the tag's member list to the
//! cache's garbage queue in one move; the budget reclaims that garbage first,
//! and each call reclaims a few. Because generations never repeat, a tag
//! record can be freed as soon as it has no live member, and its slot reused
//! by another name, without reviving anything.

use crate::deps::Ref;
use crate::error::CacheError;
use crate::interner::Interner;
use crate::key::KeyHasher;
use alloc::vec::Vec;

/// Bytes charged to an entry per tag, on top of the tag's length.
pub const TAG_OVERHEAD: usize = 24;

/// A tag as an entry remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TagRef {
    id: u32,
    gen: u64,
}

#[derive(Default)]
struct Tag {
    gen: u64,
    live: u32,
    members: Vec<Ref>,
    stale: u32,
}

#[derive(Default)]
pub(crate) struct Tags {
    tags: Interner<Tag>,
    next_gen: u64,
}

impl Tags {
    /// Puts the entry `member` under tag `name`.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn attach(
        &mut self,
        hasher: &KeyHasher,
        name: &[u8],
        member: Ref,
    ) -> Result<TagRef, CacheError> {
        let next_gen = &mut self.next_gen;
        let id = self.tags.intern(hasher, name, |t| {
            *next_gen += 1;
            *t = Tag {
                gen: *next_gen,
                ..Tag::default()
            };
        })?;
        let Some(t) = self.tags.get_mut(id) else {
            return Err(CacheError::AllocFailed);
        };
        t.members.try_reserve(1)?;
        t.members.push(member);
        t.live += 1;
        Ok(TagRef { id, gen: t.gen })
    }

    /// The name of a tag an entry holds, while that tag is current.
    pub fn name(&self, r: &TagRef) -> Option<&[u8]> {
        let t = self.tags.get(r.id)?;
        if t.gen != r.gen {
            return None;
        }
        self.tags.name(r.id)
    }

    /// Whether every tag of an entry is still at the generation it was set with.
    pub fn all_current(&self, refs: &[TagRef]) -> bool {
        refs.iter()
            .all(|r| self.tags.get(r.id).is_some_and(|t| t.gen == r.gen))
    }

    /// An entry left the cache: drop it from the live count of each tag it is
    /// still current in, compacting or freeing the tag.
    pub fn detach(&mut self, hasher: &KeyHasher, refs: &[TagRef], is_live: impl Fn(&Ref) -> bool) {
        for r in refs {
            let Some(t) = self.tags.get_mut(r.id) else {
                continue;
            };
            if t.gen != r.gen {
                continue;
            }
            t.live = t.live.saturating_sub(1);
            t.stale += 1;
            if t.live == 0 {
                self.free_tag(hasher, r.id);
            } else if (t.stale as usize) * 2 >= t.members.len() {
                t.members.retain(|m| is_live(m));
                t.stale = 0;
            }
        }
    }

    /// Kills every entry now under `name`: returns how many were live and their
    /// references (for the garbage queue). O(1): nothing is walked.
    pub fn invalidate(&mut self, hasher: &KeyHasher, name: &[u8]) -> (u32, Vec<Ref>) {
        let Some(id) = self.tags.find(hasher, name) else {
            return (0, Vec::new());
        };
        let Some(t) = self.tags.get_mut(id) else {
            return (0, Vec::new());
        };
        let live = t.live;
        let members = core::mem::take(&mut t.members);
        self.free_tag(hasher, id);
        (live, members)
    }

    fn free_tag(&mut self, hasher: &KeyHasher, id: u32) {
        let next_gen = &mut self.next_gen;
        self.tags.remove(hasher, id, |t| {
            *next_gen += 1;
            // No old TagRef can match again, whoever reuses the id.
            *t = Tag {
                gen: *next_gen,
                ..Tag::default()
            };
        });
    }

    pub fn clear(&mut self) {
        let next_gen = self.next_gen + 1;
        *self = Tags::default();
        self.next_gen = next_gen;
    }
}
