//! Configuration: the budget, the policy by its Redis name, TTL defaults.

use crate::error::CacheError;
use core::fmt;
use core::str::FromStr;

/// Eviction policy, spelled as Redis spells `maxmemory-policy`, plus
/// `allkeys-adaptive` (admission-filtered, scan-resistant).
///
/// ```
/// use edgecache::Policy;
/// let p: Policy = "volatile-ttl".parse().unwrap();
/// assert_eq!(p, Policy::VolatileTtl);
/// assert_eq!(p.to_string(), "volatile-ttl");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Evict the least recently used key.
    AllKeysLru,
    /// Evict the least frequently used key (Redis's decaying log counter).
    AllKeysLfu,
    /// Evict a uniformly random key.
    AllKeysRandom,
    /// Evict the least recently used key among keys with a TTL.
    VolatileLru,
    /// Evict the least frequently used key among keys with a TTL.
    VolatileLfu,
    /// Evict a uniformly random key among keys with a TTL.
    VolatileRandom,
    /// Evict the key with a TTL that expires soonest.
    VolatileTtl,
    /// Never evict: refuse writes that do not fit.
    NoEviction,
    /// Beyond Redis: S3-FIFO or W-TinyLFU (and its window), chosen by a
    /// sampled mini-simulation.
    AllKeysAdaptive,
}

impl Policy {
    /// Every policy, in documentation order.
    pub const ALL: [Policy; 9] = [
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::NoEviction,
        Policy::AllKeysAdaptive,
    ];

    /// The Redis spelling.
    pub fn name(self) -> &'static str {
        match self {
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::NoEviction => "noeviction",
            Policy::AllKeysAdaptive => "allkeys-adaptive",
        }
    }

    /// Whether the policy keeps per-entry state beyond its links (LFU's
    /// counter, the adaptive policy's region and weight), and so a record
    /// 4 bytes longer.
    pub(crate) fn keeps_meta(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLfu | Policy::VolatileLfu | Policy::AllKeysAdaptive
        )
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }
}

impl FromStr for Policy {
    type Err = CacheError;
    fn from_str(s: &str) -> Result<Self, CacheError> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or(CacheError::UnknownPolicy)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a cache is built. Validated once by [`crate::Cache::new`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Hard budget in bytes over keys, values and per-entry overhead.
    pub max_bytes: usize,
    /// Hard bound on the number of entries; 0 = none.
    pub max_entries: usize,
    /// Eviction policy.
    pub policy: Policy,
    /// Default TTL in ms for writes that give none; 0 = no expiry.
    pub default_ttl_ms: u64,
    /// Each TTL is drawn uniformly from `[ttl·(1−jitter), ttl]`; `0 ≤ jitter < 1`.
    pub jitter: f64,
    /// Default stale window in ms kept after expiry (stale-while-revalidate /
    /// stale-if-error): the entry stays readable as stale that long.
    pub default_grace_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_bytes: 32 * 1024 * 1024,
            max_entries: 0,
            policy: Policy::AllKeysLru,
            default_ttl_ms: 0,
            jitter: 0.0,
            default_grace_ms: 0,
        }
    }
}

impl Config {
    /// Checks every field.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<(), CacheError> {
        if self.max_bytes == 0 {
            return Err(CacheError::InvalidConfig("maxMemory must be positive"));
        }
        if !(self.jitter >= 0.0 && self.jitter < 1.0) {
            return Err(CacheError::InvalidConfig("jitter must be in [0, 1)"));
        }
        if self.default_ttl_ms > crate::expiry::MAX_TTL_MS {
            return Err(CacheError::InvalidConfig("ttl is too large"));
        }
        if self.default_grace_ms > crate::expiry::MAX_TTL_MS {
            return Err(CacheError::InvalidConfig("stale window is too large"));
        }
        Ok(())
    }
}
