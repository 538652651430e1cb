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
use crate::key::KeyHasher;
use crate::store::Store;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashTable;

/// Bytes charged to an entry per tag, on top of the tag's length.
pub const TAG_OVERHEAD: usize = 24;

/// A tag as an entry remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TagRef {
    id: u32,
    gen: u64,
}

struct Tag {
    name: Box<[u8]>,
    gen: u64,
    live: u32,
    members: Vec<Ref>,
    stale: u32,
    in_use: bool,
}

#[derive(Default)]
pub(crate) struct Tags {
    tags: Vec<Tag>,
    free: Vec<u32>,
    index: HashTable<u32>,
    next_gen: u64,
}

impl Tags {
    fn name_of(tags: &[Tag], id: u32) -> &[u8] {
        tags.get(id as usize).map_or(&[][..], |t| &t.name)
    }

    fn find(&self, hasher: &KeyHasher, name: &[u8]) -> Option<u32> {
        let tags = &self.tags;
        self.index
            .find(hasher.hash(name), |&id| {
                tags.get(id as usize).is_some_and(|t| *t.name == *name)
            })
            .copied()
    }

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
        let id = match self.find(hasher, name) {
            Some(id) => id,
            None => {
                let tags = &self.tags;
                self.index
                    .try_reserve(1, |&id| hasher.hash(Self::name_of(tags, id)))?;
                let mut boxed = Vec::new();
                boxed.try_reserve_exact(name.len())?;
                boxed.extend_from_slice(name);
                let id = match self.free.pop() {
                    Some(id) => id,
                    None => {
                        self.tags.try_reserve(1)?;
                        self.tags.push(Tag {
                            name: Box::new([]),
                            gen: 0,
                            live: 0,
                            members: Vec::new(),
                            stale: 0,
                            in_use: false,
                        });
                        (self.tags.len() - 1) as u32
                    }
                };
                self.next_gen += 1;
                let gen = self.next_gen;
                if let Some(t) = self.tags.get_mut(id as usize) {
                    *t = Tag {
                        name: boxed.into_boxed_slice(),
                        gen,
                        live: 0,
                        members: Vec::new(),
                        stale: 0,
                        in_use: true,
                    };
                }
                let tags = &self.tags;
                self.index.insert_unique(hasher.hash(name), id, |&id| {
                    hasher.hash(Self::name_of(tags, id))
                });
                id
            }
        };
        let Some(t) = self.tags.get_mut(id as usize) else {
            return Err(CacheError::AllocFailed);
        };
        t.members.try_reserve(1)?;
        t.members.push(member);
        t.live += 1;
        Ok(TagRef { id, gen: t.gen })
    }

    /// Whether every tag of an entry is still at the generation it was set with.
    pub fn all_current(&self, refs: &[TagRef]) -> bool {
        refs.iter().all(|r| {
            self.tags
                .get(r.id as usize)
                .is_some_and(|t| t.in_use && t.gen == r.gen)
        })
    }

    /// An entry left the cache: drop it from the live count of each tag it is
    /// still current in, compacting or freeing the tag.
    pub fn detach(&mut self, hasher: &KeyHasher, refs: &[TagRef], store: &Store) {
        for r in refs {
            let Some(t) = self.tags.get_mut(r.id as usize) else {
                continue;
            };
            if !t.in_use || t.gen != r.gen {
                continue;
            }
            t.live = t.live.saturating_sub(1);
            t.stale += 1;
            if t.live == 0 {
                self.free_tag(hasher, r.id);
            } else if (t.stale as usize) * 2 >= t.members.len() {
                t.members.retain(|m| m.is_live(store));
                t.stale = 0;
            }
        }
    }

    /// Kills every entry now under `name`: returns how many were live and their
    /// references (for the garbage queue). O(1): nothing is walked.
    pub fn invalidate(&mut self, hasher: &KeyHasher, name: &[u8]) -> (u32, Vec<Ref>) {
        let Some(id) = self.find(hasher, name) else {
            return (0, Vec::new());
        };
        let Some(t) = self.tags.get_mut(id as usize) else {
            return (0, Vec::new());
        };
        let live = t.live;
        let members = core::mem::take(&mut t.members);
        self.free_tag(hasher, id);
        (live, members)
    }

    fn free_tag(&mut self, hasher: &KeyHasher, id: u32) {
        let Some(t) = self.tags.get_mut(id as usize) else {
            return;
        };
        let hash = hasher.hash(&t.name);
        self.next_gen += 1;
        t.gen = self.next_gen; // no old TagRef can match again
        t.in_use = false;
        t.name = Box::new([]);
        t.members = Vec::new();
        t.live = 0;
        t.stale = 0;
        if let Ok(e) = self.index.find_entry(hash, |&x| x == id) {
            e.remove();
        }
        if self.free.try_reserve(1).is_ok() {
            self.free.push(id);
        }
    }

    pub fn clear(&mut self) {
        let next_gen = self.next_gen + 1;
        *self = Tags::default();
        self.next_gen = next_gen;
    }

    /// Live entries under `name`.
    pub fn live(&self, hasher: &KeyHasher, name: &[u8]) -> u32 {
        self.find(hasher, name)
            .and_then(|id| self.tags.get(id as usize))
            .map_or(0, |t| t.live)
    }
}
