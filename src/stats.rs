//! Counters and the snapshot type.

/// Why an entry left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalCause {
    /// Its TTL and stale window passed.
    Expired,
    /// The policy chose it to make room.
    Evicted,
    /// `delete` named it.
    Deleted,
    /// A `set` of the same key replaced it.
    Replaced,
    /// `invalidate`, a cascade from a key it depends on, or a tag.
    Invalidated,
}

/// A snapshot of the counters. `loads`, `coalesced` and `load_errors` are
/// kept by the host (they concern loaders, which live there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Fresh hits.
    pub hits: u64,
    /// Misses (absent, expired, or dead by tag).
    pub misses: u64,
    /// Reads that were answered with a value past its TTL, inside its stale window.
    pub stale_hits: u64,
    /// Stored writes.
    pub sets: u64,
    /// Refused writes (too large, or the policy could make no room).
    pub rejected: u64,
    /// Entries removed by the policy to make room.
    pub evictions: u64,
    /// Entries removed because they expired.
    pub expirations: u64,
    /// Entries removed by `invalidate`, a dependency cascade, or a tag.
    pub invalidations: u64,
    /// Entries removed by `delete`.
    pub deletes: u64,
    /// Entries replaced by a write of the same key.
    pub replacements: u64,
    /// Entries in the cache now.
    pub entries: u64,
    /// Bytes charged now: keys + values + overhead (see [`crate::entry_bytes`]).
    pub bytes: u64,
    /// The budget.
    pub max_bytes: u64,
}

impl Stats {
    /// `hits / (hits + misses)`, 0 when both are 0.
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }

    pub(crate) fn count_removal(&mut self, cause: RemovalCause) {
        match cause {
            RemovalCause::Expired => self.expirations += 1,
            RemovalCause::Evicted => self.evictions += 1,
            RemovalCause::Deleted => self.deletes += 1,
            RemovalCause::Replaced => self.replacements += 1,
            RemovalCause::Invalidated => self.invalidations += 1,
        }
    }
}
