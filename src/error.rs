//! Errors with stable codes. A refused write is not an error: see
//! [`crate::SetOutcome`].

use core::fmt;

/// What went wrong. `code()` is stable across versions; `Display` says what to
/// do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheError {
    /// A configuration value is out of range; the text names it.
    InvalidConfig(&'static str),
    /// An argument of one call is out of range; the text names it.
    InvalidArgument(&'static str),
    /// The allocator could not provide memory (wasm linear memory is full).
    AllocFailed,
    /// An unknown policy name.
    UnknownPolicy,
    /// A snapshot given to `load` is truncated, corrupt or of another
    /// version; nothing was loaded.
    InvalidSnapshot(crate::snapshot::SnapshotError),
    /// An internal check failed: a bug of edgecache, not of the caller; the
    /// text says which check.
    Internal(&'static str),
}

impl CacheError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::InvalidConfig(_) => "INVALID_CONFIG",
            CacheError::InvalidArgument(_) => "INVALID_ARGUMENT",
            CacheError::AllocFailed => "ALLOC_FAILED",
            CacheError::UnknownPolicy => "UNKNOWN_POLICY",
            CacheError::InvalidSnapshot(_) => "INVALID_SNAPSHOT",
            CacheError::Internal(_) => "INTERNAL",
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            CacheError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            CacheError::AllocFailed => {
                write!(f, "out of memory: lower maxMemory so the cache fits the isolate")
            }
            CacheError::UnknownPolicy => write!(
                f,
                "unknown policy: use one of allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, \
                 volatile-lfu, volatile-random, volatile-ttl, noeviction, allkeys-adaptive"
            ),
            CacheError::InvalidSnapshot(e) => write!(f, "{e}"),
            CacheError::Internal(what) => write!(
                f,
                "internal fault ({what}); this is a bug in edgecache, please report it"
            ),
        }
    }
}

impl From<hashbrown::TryReserveError> for CacheError {
    fn from(_: hashbrown::TryReserveError) -> Self {
        CacheError::AllocFailed
    }
}

impl From<alloc::collections::TryReserveError> for CacheError {
    fn from(_: alloc::collections::TryReserveError) -> Self {
        CacheError::AllocFailed
    }
}
