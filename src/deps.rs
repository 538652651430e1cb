//! Russian-doll dependencies: `dependsOn` edges from a child key (cached or
//! not) to the entries built from it.
//!
//! Each child key is interned once as a node holding `(slot, gen)` references
//! to its dependents. A reference whose entry has gone (or whose slot was
//! reused, so `gen` differs) is stale; a node compacts itself when half its
//! references are stale, and is freed when none is left, so edges never
//! outlive their entries for long. The cascade itself lives in
//! [`crate::Cache`]: it takes a node's dependents, removes them, then follows
//! their keys, with a worklist instead of recursion (deep dolls cannot
//! overflow the stack) and nodes removed as they are taken (cycles end).

use crate::error::CacheError;
use crate::key::KeyHasher;
use crate::store::Store;
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashTable;

/// Bytes charged to an entry per `dependsOn` edge, on top of the child key's
/// length: the reference, the node's share and the entry's back-pointer.
pub const EDGE_OVERHEAD: usize = 24;

/// A reference to an entry that goes stale when the slot is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ref {
    pub slot: u32,
    pub gen: u32,
}

impl Ref {
    pub fn is_live(&self, store: &Store) -> bool {
        let e = store.at(self.slot);
        e.live() && e.gen() == self.gen
    }
}

/// A handle to a node, stale once the node is freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeRef {
    id: u32,
    gen: u32,
}

struct Node {
    key: Box<[u8]>,
    dependents: Vec<Ref>,
    stale: u32,
    gen: u32,
    live: bool,
}

#[derive(Default)]
pub(crate) struct Deps {
    nodes: Vec<Node>,
    free: Vec<u32>,
    index: HashTable<u32>,
}

impl Deps {
    fn node_key(nodes: &[Node], id: u32) -> &[u8] {
        nodes.get(id as usize).map_or(&[][..], |n| &n.key)
    }

    fn find(&self, hasher: &KeyHasher, key: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(hasher.hash(key), |&id| {
                nodes.get(id as usize).is_some_and(|n| *n.key == *key)
            })
            .copied()
    }

    /// Records that `parent` was built from `child`.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn add(
        &mut self,
        hasher: &KeyHasher,
        child: &[u8],
        parent: Ref,
    ) -> Result<NodeRef, CacheError> {
        let id = match self.find(hasher, child) {
            Some(id) => id,
            None => {
                let nodes = &self.nodes;
                self.index
                    .try_reserve(1, |&id| hasher.hash(Self::node_key(nodes, id)))?;
                let mut key = Vec::new();
                key.try_reserve_exact(child.len())?;
                key.extend_from_slice(child);
                let id = match self.free.pop() {
                    Some(id) => id,
                    None => {
                        self.nodes.try_reserve(1)?;
                        self.nodes.push(Node {
                            key: Box::new([]),
                            dependents: Vec::new(),
                            stale: 0,
                            gen: 0,
                            live: false,
                        });
                        (self.nodes.len() - 1) as u32
                    }
                };
                if let Some(n) = self.nodes.get_mut(id as usize) {
                    n.key = key.into_boxed_slice();
                    n.dependents = Vec::new();
                    n.stale = 0;
                    n.gen = n.gen.wrapping_add(1);
                    n.live = true;
                }
                let nodes = &self.nodes;
                self.index.insert_unique(hasher.hash(child), id, |&id| {
                    hasher.hash(Self::node_key(nodes, id))
                });
                id
            }
        };
        let Some(node) = self.nodes.get_mut(id as usize) else {
            return Err(CacheError::AllocFailed);
        };
        node.dependents.try_reserve(1)?;
        node.dependents.push(parent);
        Ok(NodeRef { id, gen: node.gen })
    }

    /// A dependent was removed: count its reference stale, compact or free the node.
    pub fn release(&mut self, hasher: &KeyHasher, node: NodeRef, store: &Store) {
        let Some(n) = self.nodes.get_mut(node.id as usize) else {
            return;
        };
        if !n.live || n.gen != node.gen {
            return;
        }
        n.stale += 1;
        if (n.stale as usize) * 2 >= n.dependents.len() {
            n.dependents.retain(|r| r.is_live(store));
            n.stale = 0;
            if n.dependents.is_empty() {
                self.free_node(hasher, node.id);
            }
        }
    }

    /// Removes the node of `child` and returns its dependents (some may be stale).
    pub fn take(&mut self, hasher: &KeyHasher, child: &[u8]) -> Vec<Ref> {
        let Some(id) = self.find(hasher, child) else {
            return Vec::new();
        };
        let out = match self.nodes.get_mut(id as usize) {
            Some(n) => core::mem::take(&mut n.dependents),
            None => Vec::new(),
        };
        self.free_node(hasher, id);
        out
    }

    fn free_node(&mut self, hasher: &KeyHasher, id: u32) {
        let Some(n) = self.nodes.get_mut(id as usize) else {
            return;
        };
        let hash = hasher.hash(&n.key);
        n.key = Box::new([]);
        n.dependents = Vec::new();
        n.live = false;
        if let Ok(e) = self.index.find_entry(hash, |&x| x == id) {
            e.remove();
        }
        // A free list that cannot grow just leaks the slot; never fail here.
        if self.free.try_reserve(1).is_ok() {
            self.free.push(id);
        }
    }

    pub fn clear(&mut self) {
        *self = Deps::default();
    }

    /// Whether no key has dependents (the common case: cascades cost nothing).
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
