//! wasm-bindgen bindings: bytes in, bytes out, no cache logic, never panics.
//!
//! Calls carry no `&[u8]` arguments: the JS layer writes keys, values, tags
//! and `dependsOn` keys straight into this cache's I/O buffer in linear
//! memory (`io(len)` returns its address) and passes lengths. Reads leave the
//! value where it lies in the store and report its address and length in a
//! small result block (`out_ptr()`): no allocation and no copy on either side
//! of the boundary until the JS codec decodes the bytes.
//!
//! The core cache is created on first use, not in the constructor, because
//! its seed comes from `crypto.getRandomValues`, which Workers forbid at
//! global scope: `new Cache()` at the top of a Worker module must not throw.

use crate::{Cache, CacheError, Config, Lookup, Policy, SetOptions, SetOutcome};
use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsValue>;

/// Status of a hot call whose arguments do not match the I/O buffer.
pub const BAD_LAYOUT: i32 = -2;
/// Status of a hot call before `init()`.
pub const NOT_READY: i32 = -3;
/// Status of a write that ran out of memory.
pub const ALLOC_FAILED: i32 = -4;

fn js_err(e: CacheError) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name(match e {
        CacheError::InvalidConfig(_) | CacheError::InvalidArgument(_) => "RangeError",
        _ => "Error",
    });
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Constructor options (already validated by the JS layer; checked again here).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    max_memory: f64,
    #[serde(default)]
    max_entries: f64,
    #[serde(default)]
    policy: Option<alloc::string::String>,
    #[serde(default)]
    ttl: f64,
    #[serde(default)]
    jitter: f64,
    #[serde(default)]
    grace: f64,
    /// Fixed seed (tests and the demo); drawn from `getrandom` when absent.
    #[serde(default)]
    seed: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsOut {
    hits: f64,
    misses: f64,
    stale_hits: f64,
    sets: f64,
    rejected: f64,
    evictions: f64,
    expirations: f64,
    invalidations: f64,
    deletes: f64,
    replacements: f64,
    entries: f64,
    bytes: f64,
    max_memory: f64,
    hit_ratio: f64,
    window_share: Option<f64>,
}

/// A JS number as a non-negative integer (milliseconds, counts): NaN,
/// negatives and fractions below 1 become 0, which the core's checks refuse
/// where 0 is not allowed.
fn non_negative(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x as u64
    } else {
        0
    }
}

/// One cache instance as JS sees it.
#[wasm_bindgen]
pub struct WasmCache {
    config: Config,
    seed: Option<u64>,
    inner: Option<Cache>,
    io: Vec<u8>,
    /// `[value address, value length, expired_at low, expired_at high]`.
    out: Box<[u32; 4]>,
}

#[wasm_bindgen]
impl WasmCache {
    /// Validates options; the core itself is built on first use.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> JsResult<WasmCache> {
        let o: Options = serde_wasm_bindgen::from_value(options)?;
        let policy = match &o.policy {
            Some(name) => name.parse::<Policy>().map_err(js_err)?,
            None => Policy::AllKeysLru,
        };
        let config = Config {
            max_bytes: o.max_memory.min(usize::MAX as f64) as usize,
            max_entries: non_negative(o.max_entries) as usize,
            policy,
            default_ttl_ms: non_negative(o.ttl),
            jitter: o.jitter,
            default_grace_ms: non_negative(o.grace),
        };
        config.validate().map_err(js_err)?;
        Ok(WasmCache {
            config,
            seed: o.seed.map(|s| s as u64),
            inner: None,
            io: Vec::new(),
            out: Box::new([0; 4]),
        })
    }

    /// Builds the core on first use (draws the seed). The JS layer calls this
    /// once before anything else; the hot calls below then need no `Result`.
    pub fn init(&mut self) -> JsResult<()> {
        self.core().map(|_| ())
    }

    fn core(&mut self) -> JsResult<&mut Cache> {
        if self.inner.is_none() {
            let seed = match self.seed {
                Some(s) => s,
                None => getrandom::u64().map_err(|e| {
                    JsValue::from(js_sys::Error::new(&alloc::format!(
                        "edgecache: no randomness for the hash seed ({e}); in Workers, first use the cache inside a handler"
                    )))
                })?,
            };
            self.inner = Some(Cache::new(self.config.clone(), seed).map_err(js_err)?);
        }
        match self.inner.as_mut() {
            Some(c) => Ok(c),
            None => Err(js_err(CacheError::AllocFailed)),
        }
    }

    /// Makes the I/O buffer at least `len` bytes and returns its address.
    pub fn io(&mut self, len: usize) -> JsResult<usize> {
        if self.io.len() < len {
            self.io
                .try_reserve(len - self.io.len())
                .map_err(|_| js_err(CacheError::AllocFailed))?;
            self.io.resize(len, 0);
        }
        Ok(self.io.as_ptr() as usize)
    }

    /// Address of the result block `[ptr, len, expired_at_lo, expired_at_hi]`.
    pub fn out_ptr(&self) -> usize {
        self.out.as_ptr() as usize
    }

    fn report(out: &mut [u32; 4], value: &[u8], expired_at: u64) {
        out[0] = value.as_ptr() as usize as u32;
        out[1] = value.len() as u32;
        out[2] = expired_at as u32;
        out[3] = (expired_at >> 32) as u32;
    }

    /// Reads the key in `io[..key_len]`: −1 miss, 0 fresh, 1 stale (value in
    /// the result block); [`BAD_LAYOUT`] or [`NOT_READY`] on misuse.
    pub fn get(&mut self, key_len: usize, now: f64, accept_stale: bool) -> i32 {
        let (Some(cache), Some(key)) = (self.inner.as_mut(), self.io.get(..key_len)) else {
            return self.misuse();
        };
        match cache.get(key, non_negative(now), accept_stale) {
            Lookup::Fresh(v) => {
                Self::report(&mut self.out, v, 0);
                0
            }
            Lookup::Stale { value, expired_at } => {
                Self::report(&mut self.out, value, expired_at);
                1
            }
            Lookup::Miss => -1,
        }
    }

    fn misuse(&self) -> i32 {
        if self.inner.is_none() {
            NOT_READY
        } else {
            BAD_LAYOUT
        }
    }

    /// Like `get` without recency, frequency or stats change; fresh values only.
    pub fn peek(&mut self, key_len: usize, now: f64) -> i32 {
        let (Some(cache), Some(key)) = (self.inner.as_ref(), self.io.get(..key_len)) else {
            return self.misuse();
        };
        match cache.peek(key, non_negative(now)) {
            Some(v) => {
                Self::report(&mut self.out, v, 0);
                0
            }
            None => -1,
        }
    }

    /// 1 when a fresh value is cached, 0 when not.
    pub fn has(&mut self, key_len: usize, now: f64) -> i32 {
        let (Some(cache), Some(key)) = (self.inner.as_ref(), self.io.get(..key_len)) else {
            return self.misuse();
        };
        i32::from(cache.has(key, non_negative(now)))
    }

    /// Writes: `io` holds `key ‖ value ‖ tags ‖ deps`, each tag and dep as a
    /// little-endian `u32` length and its bytes. `ttl`/`grace` < 0 take the
    /// defaults. Returns 0 stored, 1 too large, 2 no room; [`ALLOC_FAILED`],
    /// [`BAD_LAYOUT`] or [`NOT_READY`] otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn set(
        &mut self,
        key_len: usize,
        value_len: usize,
        ttl: f64,
        grace: f64,
        tag_count: usize,
        dep_count: usize,
        now: f64,
    ) -> i32 {
        let Some(cache) = self.inner.as_mut() else {
            return NOT_READY;
        };
        let io = &self.io;
        let Some(key) = io.get(..key_len) else {
            return BAD_LAYOUT;
        };
        let Some(end) = key_len.checked_add(value_len) else {
            return BAD_LAYOUT;
        };
        let Some(value) = io.get(key_len..end) else {
            return BAD_LAYOUT;
        };
        let mut pos = end;
        let mut take_list = |count: usize| -> Option<Vec<&[u8]>> {
            let mut list = Vec::new();
            list.try_reserve_exact(count).ok()?;
            for _ in 0..count {
                let start = pos.checked_add(4)?;
                let len_bytes: [u8; 4] = io.get(pos..start).and_then(|b| b.try_into().ok())?;
                let len = u32::from_le_bytes(len_bytes) as usize;
                let item = io.get(start..start.checked_add(len)?)?;
                list.push(item);
                pos = start + len;
            }
            Some(list)
        };
        let Some(tags) = take_list(tag_count) else {
            return BAD_LAYOUT;
        };
        let Some(deps) = take_list(dep_count) else {
            return BAD_LAYOUT;
        };
        let opts = SetOptions {
            ttl_ms: (ttl >= 0.0).then(|| non_negative(ttl)),
            grace_ms: (grace >= 0.0).then(|| non_negative(grace)),
            tags: &tags,
            depends_on: &deps,
        };
        match cache.set(key, value, &opts, non_negative(now)) {
            Ok(SetOutcome::Stored) => 0,
            Ok(SetOutcome::TooLarge) => 1,
            Ok(SetOutcome::NoRoom) => 2,
            Err(CacheError::AllocFailed) => ALLOC_FAILED,
            Err(_) => BAD_LAYOUT,
        }
    }

    /// Deletes the key in `io[..key_len]` and its dependents: 1 if a fresh
    /// value was there, 0 if not.
    pub fn delete(&mut self, key_len: usize, now: f64) -> i32 {
        let (Some(cache), Some(key)) = (self.inner.as_mut(), self.io.get(..key_len)) else {
            return self.misuse();
        };
        i32::from(cache.delete(key, non_negative(now)))
    }

    /// Invalidates the key in `io[..key_len]` and its dependents; how many were removed.
    pub fn invalidate(&mut self, key_len: usize, now: f64) -> JsResult<u32> {
        let _ = self.core()?;
        let (Some(cache), Some(key)) = (self.inner.as_mut(), self.io.get(..key_len)) else {
            return Err(js_err(CacheError::InvalidArgument("key length")));
        };
        Ok(cache.invalidate(key, non_negative(now)) as u32)
    }

    /// Invalidates the tag in `io[..tag_len]`; how many entries carried it.
    pub fn invalidate_tag(&mut self, tag_len: usize) -> JsResult<u32> {
        let _ = self.core()?;
        let (Some(cache), Some(tag)) = (self.inner.as_mut(), self.io.get(..tag_len)) else {
            return Err(js_err(CacheError::InvalidArgument("tag length")));
        };
        Ok(cache.invalidate_tag(tag) as u32)
    }

    /// Drops every entry, keeps the configuration (and the I/O buffer, whose
    /// address the JS layer keeps).
    pub fn clear(&mut self) {
        if let Some(c) = self.inner.as_mut() {
            c.clear();
        }
    }

    /// Counters as a plain object.
    pub fn stats(&self) -> JsResult<JsValue> {
        let s = self.inner.as_ref().map(|c| c.stats()).unwrap_or_default();
        let out = StatsOut {
            hits: s.hits as f64,
            misses: s.misses as f64,
            stale_hits: s.stale_hits as f64,
            sets: s.sets as f64,
            rejected: s.rejected as f64,
            evictions: s.evictions as f64,
            expirations: s.expirations as f64,
            invalidations: s.invalidations as f64,
            deletes: s.deletes as f64,
            replacements: s.replacements as f64,
            entries: s.entries as f64,
            bytes: s.bytes as f64,
            max_memory: self.config.max_bytes as f64,
            hit_ratio: s.hit_ratio(),
            window_share: self.inner.as_ref().and_then(|c| c.window_share()),
        };
        let ser = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        Ok(out.serialize(&ser)?)
    }
}

/// Rust-side access for the bindings' own tests (`tests/web.rs`); not exported to JS.
impl WasmCache {
    /// The I/O buffer, as JS would fill it.
    pub fn io_mut(&mut self) -> &mut Vec<u8> {
        &mut self.io
    }

    /// The last reported `(value address, value length)`.
    pub fn last_value(&self) -> (u32, u32) {
        (self.out[0], self.out[1])
    }
}
