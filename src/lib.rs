//! # edgecache core
//!
//! A byte-budgeted, `no_std` + `alloc` cache engine: the heart of the
//! `edgecache` npm package for Cloudflare Workers, Deno, Node and browsers.
//! It knows nothing of JavaScript, clocks or I/O: the host passes `now` (ms)
//! into every call that needs time, and a seed at construction.
//!
//! ## Keys
//! Keys are bytes in an injective encoding of strings, numbers and composite
//! (Russian-doll) keys ([`Key`]); `17`, `"17"` and `["17"]` are three keys.
//! Lookups hash with a per-cache seed ([`KeyHasher`]), so keys taken from
//! URLs cannot be chosen to collide.
//!
//! ## Expiry
//! A TTL `d` set at `t` is fresh while `now < t + d`. Jitter draws `d`
//! uniformly from `[ttl·(1−jitter), ttl]`: it only shortens, so `ttl` remains
//! the bound on a value's age, and keys written together stop expiring
//! together. After expiry an entry can be read as stale for its grace window
//! (stale-while-revalidate / stale-if-error); then it is garbage. Expired
//! entries are reclaimed a few per call and on demand by writes, never by a
//! scan of the whole cache (see [`expiry`]).
//!
//! ## Early refresh
//! A write may record how long the load that produced its value took
//! ([`SetOptions::load_ms`]); [`Cache::refresh_due`] then answers XFetch's
//! question for a read of that fresh entry (see [`xfetch`]): refresh it now,
//! ahead of its expiry? The load time lives in the entry's side-table record
//! and goes with it; entries that record none pay nothing.
//!
//! ## Policies
//!
//! | name | evicts |
//! |---|---|
//! | `allkeys-lru` | the least recently used entry (exact, not sampled) |
//! | `allkeys-lfu` | the least frequently used entry (Redis's log counter, factor 10, decay 1/min, start 5) |
//! | `allkeys-random` | a uniformly random entry |
//! | `volatile-lru` / `-lfu` / `-random` | as above, among entries with a TTL |
//! | `volatile-ttl` | the entry with a TTL that expires soonest |
//! | `noeviction` | nothing: writes that do not fit are refused |
//! | `allkeys-adaptive` | S3-FIFO or W-TinyLFU and its window, picked by a sampled mini-simulation (admission-filtered, scan-resistant; `bench/REPLAY.md`) |
//!
//! A write that the policy cannot make room for is refused and counted
//! ([`SetOutcome`]), and nothing already cached is removed by it.
//!
//! ## Russian-doll invalidation and tags
//! `depends_on` records that an entry was built from other keys (cached or
//! not). Any explicit change to a key (a write, `delete`, `invalidate`)
//! removes everything built on it, transitively; eviction and expiry are not
//! changes and cascade nothing. Tags invalidate in O(1) by generation
//! counters ([`tags`]).
//!
//! ## Memory accounting
//! `bytes = Σ (entry_bytes(key, value) [+ TTL_OVERHEAD if it has a TTL]
//! + Σ_tags (len + TAG_OVERHEAD) + Σ_deps (len + EDGE_OVERHEAD)
//!   [+ LOAD_TIME_OVERHEAD if it records a load time])`, and after
//! every call `bytes ≤ max_bytes` and `entries ≤ max_entries` (when set).
//! [`entry_bytes`] is the entry's chunk in the byte arena (its record, a
//! header, the key and the value, rounded up to its size class) plus
//! [`INDEX_OVERHEAD`] for its share of the index.
//!
//! ## Features
//! `wasm` builds the wasm-bindgen bindings (`src/wasm.rs`); `std` exposes
//! `validate()` for tests and fuzzing outside this crate.

#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod arena;
mod cache;
mod checksum;
mod config;
pub mod deps;
mod error;
pub mod expiry;
mod index;
mod interner;
mod key;
mod policy;
mod rng;
mod runs;
mod snapshot;
pub mod snapshot_stream;
mod stats;
mod store;
pub mod tags;
#[cfg(feature = "wasm")]
pub mod wasm;
pub mod xfetch;

pub use arena::{Value, BLOCK};
pub use cache::{
    write_charge, Cache, Lookup, OldEntry, PlainLoad, Room, SetOptions, SetOutcome,
    LOAD_TIME_OVERHEAD,
};
pub use config::{Config, Policy};
pub use error::CacheError;
pub use key::{Key, KeyHasher, KeyPart, KIND_NUM, KIND_PARTS, KIND_STR, KIND_UTF16};
pub use policy::{LFU_DECAY_MINUTES, LFU_INIT_VAL, LFU_LOG_FACTOR};
pub use rng::Rng;
pub use snapshot::{
    Header as SnapshotHeader, PlainTotals, Snapshot, SnapshotEntry, SnapshotError, SNAPSHOT_MAGIC,
    SNAPSHOT_VERSION,
};
pub use stats::{RemovalCause, Stats};
pub use store::INDEX_OVERHEAD;

/// The checksum a snapshot ends with, of `content` (every byte before it):
/// for tools that build or repair snapshots, and the fuzz target.
pub fn snapshot_checksum(content: &[u8]) -> u64 {
    checksum::checksum(content)
}

/// Bytes the budget charges for an entry with this key and value under this
/// policy (before TTL, tag and dependency extras): its arena chunk (a
/// 12-byte record, or 16 for the policies that keep per-entry state, then a
/// header, the key and the value, rounded up to a size class) plus
/// [`INDEX_OVERHEAD`].
///
/// ```
/// use edgecache::Policy;
/// // a 17-byte key and an 8-byte value: a 38-byte chunk + 7
/// assert_eq!(edgecache::entry_bytes(Policy::AllKeysLru, 17, 8), 45);
/// assert_eq!(edgecache::entry_bytes(Policy::AllKeysLfu, 17, 8), 49);
/// ```
pub fn entry_bytes(policy: Policy, key_len: usize, value_len: usize) -> usize {
    store::entry_charge(policy.keeps_meta(), key_len, value_len)
}
