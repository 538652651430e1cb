//! Russian-doll dependencies: `dependsOn` edges from a child key (cached or
//! not) to the entries built from it.
//!
//! Each child key is interned once as a node holding `(slot, gen)` references
//! to its dependents (`gen` numbers the entries that have extras, so a slot
//! reused by another entry does not match). A reference whose entry has gone
//! is stale; a node compacts itself when half its
//! references are stale, and is freed when none is left, so edges never
//! outlive their entries for long. The cascade itself lives in
//! [`crate::Cache`]: it takes a node's dependents, removes them, then follows
//! their keys, with a worklist instead of recursion (deep dolls cannot
//! overflow the stack) and nodes removed as they are taken (cycles end).

use crate::error::CacheError;
use crate::interner::Interner;
use crate::key::KeyHasher;
use alloc::vec::Vec;

/// Bytes charged to an entry per `dependsOn` edge, on top of the child key's
/// length: the reference, the node's share and the entry's back-pointer.
pub const EDGE_OVERHEAD: usize = 24;

/// A reference to an entry that goes stale when the slot is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ref {
    pub slot: u32,
    pub gen: u32,
}

/// A handle to a node, stale once the node is freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeRef {
    id: u32,
    gen: u32,
}

#[derive(Default)]
struct Node {
    dependents: Vec<Ref>,
    stale: u32,
    /// Bumped each time the id is reused.
    gen: u32,
}

#[derive(Default)]
pub(crate) struct Deps {
    nodes: Interner<Node>,
}

impl Deps {
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
        let id = self.nodes.intern(hasher, child, |n| {
            n.dependents = Vec::new();
            n.stale = 0;
            n.gen = n.gen.wrapping_add(1);
        })?;
        let Some(node) = self.nodes.get_mut(id) else {
            return Err(CacheError::AllocFailed);
        };
        node.dependents.try_reserve(1)?;
        node.dependents.push(parent);
        Ok(NodeRef { id, gen: node.gen })
    }

    /// A dependent was removed: count its reference stale, compact or free the node.
    pub fn release(&mut self, hasher: &KeyHasher, node: NodeRef, is_live: impl Fn(&Ref) -> bool) {
        let Some(n) = self.nodes.get_mut(node.id) else {
            return;
        };
        if n.gen != node.gen {
            return;
        }
        n.stale += 1;
        if (n.stale as usize) * 2 >= n.dependents.len() {
            n.dependents.retain(|r| is_live(r));
            n.stale = 0;
            if n.dependents.is_empty() {
                self.nodes.remove(hasher, node.id, |_| {});
            }
        }
    }

    /// The child key a dependent's edge names, while its node lives.
    pub fn key(&self, node: &NodeRef) -> Option<&[u8]> {
        let n = self.nodes.get(node.id)?;
        if n.gen != node.gen {
            return None;
        }
        self.nodes.name(node.id)
    }

    /// Removes the node of `child` and returns its dependents (some may be stale).
    pub fn take(&mut self, hasher: &KeyHasher, child: &[u8]) -> Vec<Ref> {
        let Some(id) = self.nodes.find(hasher, child) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.nodes
            .remove(hasher, id, |n| out = core::mem::take(&mut n.dependents));
        out
    }

    pub fn clear(&mut self) {
        *self = Deps::default();
    }

    /// Whether no key has dependents (the common case: cascades cost nothing).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
