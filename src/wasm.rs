//! wasm-bindgen bindings: bytes in, bytes out, no cache logic, never panics.
//!
//! Calls carry no `&[u8]` arguments: the JS layer writes keys, tags,
//! `dependsOn` keys and small values straight into this cache's I/O buffer
//! in linear memory (`io(len)` returns its address) and passes lengths. The
//! buffer never grows past [`MAX_STAGED`]: a value that would not fit beside
//! its key is not staged at all but written straight into its place in the
//! store (`set_in_place` allocates the entry, after every check, and reports
//! the value's address). Reads leave the value where it lies in the store and
//! report its address and length in a small result block (`out_ptr()`): no
//! allocation and no copy on either side of the boundary until the JS codec
//! decodes the bytes.
//!
//! A value of [`crate::BLOCK`] bytes or more lies in several pieces (whole
//! pages and a tail, see [`crate::Value`]). For such a value the result
//! block's last word is the number of pieces and its first the address of a
//! list of `(address, length)` pairs, in order: JS gathers a read's pieces
//! into one array before decoding, and fills an in-place write's pieces from
//! its bytes. The list lives in a buffer of this cache that grows to the
//! largest such value's list (8 bytes per 8 KiB block: at most about
//! maxMemory / 1,000).
//!
//! **The lifetime rule.** An address this module hands to JS (a value in the
//! result block, the I/O buffer's) is valid only until the next call into
//! this module that may free, reuse or grow memory: any call on any cache of
//! the isolate except `out_ptr` and `stats`. JS reads or fills it at once, and
//! takes a fresh view of memory (`runtime.js` `bytes()`) after every call, as
//! growing memory detaches the old one.
//!
//! Status codes and limits cross the boundary once, from [`constants`]: the
//! JS layer reads its numbers from there instead of repeating them.
//!
//! The core cache is created on first use, not in the constructor, because
//! its seed comes from `crypto.getRandomValues`, which Workers forbid at
//! global scope: `new Cache()` at the top of a Worker module must not throw.

use crate::expiry::MAX_TTL_MS;
use crate::{
    Cache, CacheError, Config, Lookup, Policy, SetOptions, SetOutcome, Snapshot, Value, BLOCK,
};
use alloc::boxed::Box;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsValue>;

/// A read found nothing usable (`get`, `peek`).
pub const MISS: i32 = -1;
/// A read found a fresh value (`get`, `peek`).
pub const FRESH: i32 = 0;
/// A read found a value inside its stale window (`get` with `accept_stale`).
pub const STALE: i32 = 1;
/// A write was stored.
pub const STORED: i32 = 0;
/// A write was refused: the entry alone is larger than the budget.
pub const TOO_LARGE: i32 = 1;
/// A write was refused: the policy could make no room.
pub const NO_ROOM: i32 = 2;
/// Internal fault: a hot call's lengths do not match the I/O buffer.
pub const BAD_LAYOUT: i32 = -2;
/// Internal fault: a hot call before `init()`.
pub const NOT_READY: i32 = -3;
/// A write ran out of wasm memory.
pub const ALLOC_FAILED: i32 = -4;
/// A write's TTL is above [`MAX_TTL_MS`].
pub const INVALID_TTL: i32 = -5;
/// A write's stale window is above [`MAX_TTL_MS`].
pub const INVALID_WINDOW: i32 = -6;

/// The most bytes the I/O buffer holds: a key, tags and `dependsOn` keys
/// longer than this together are refused (a read of such a key is a miss),
/// and a value that does not fit beside them is written in place instead.
pub const MAX_STAGED: usize = 64 * 1024;

/// Every status code and limit the JS layer uses, as one object:
/// `{ MISS, FRESH, …, MAX_STAGED, MAX_TTL_MS, OUT_PIECES }`. The one definition of the
/// numbers that cross the boundary.
#[wasm_bindgen]
pub fn constants() -> JsValue {
    let o = js_sys::Object::new();
    let pairs: [(&str, f64); 14] = [
        ("MISS", MISS.into()),
        ("FRESH", FRESH.into()),
        ("STALE", STALE.into()),
        ("STORED", STORED.into()),
        ("TOO_LARGE", TOO_LARGE.into()),
        ("NO_ROOM", NO_ROOM.into()),
        ("BAD_LAYOUT", BAD_LAYOUT.into()),
        ("NOT_READY", NOT_READY.into()),
        ("ALLOC_FAILED", ALLOC_FAILED.into()),
        ("INVALID_TTL", INVALID_TTL.into()),
        ("INVALID_WINDOW", INVALID_WINDOW.into()),
        ("MAX_STAGED", MAX_STAGED as f64),
        ("MAX_TTL_MS", MAX_TTL_MS as f64),
        ("OUT_PIECES", OUT_PIECES as f64),
    ];
    for (name, value) in pairs {
        let _ = js_sys::Reflect::set(&o, &name.into(), &value.into());
    }
    o.into()
}

/// A `RangeError`, `TypeError` or `Error` instance (so `instanceof` holds in
/// every runtime) carrying the error's stable `code`.
fn js_err(e: CacheError) -> JsValue {
    let msg = alloc::format!("edgecache: {e}");
    let err: js_sys::Error = match e {
        CacheError::InvalidConfig(_) | CacheError::InvalidArgument(_) | CacheError::AllocFailed => {
            js_sys::RangeError::new(&msg).into()
        }
        CacheError::UnknownPolicy | CacheError::InvalidSnapshot(_) => {
            js_sys::TypeError::new(&msg).into()
        }
        _ => js_sys::Error::new(&msg),
    };
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// An internal fault (a bug of edgecache, not of the caller) as an `Error`.
fn internal_fault(what: &str) -> JsValue {
    js_sys::Error::new(&alloc::format!(
        "edgecache internal fault: {what}; this is a bug in edgecache, please report it"
    ))
    .into()
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

/// What a length names in the I/O buffer.
enum Staged<'a> {
    /// The staged bytes.
    Bytes(&'a [u8]),
    /// More than [`MAX_STAGED`]: the JS layer staged nothing, and no write can
    /// have stored such a key or tag.
    TooLong,
    /// Past the staged bytes: an internal fault.
    Bad,
}

fn staged(io: &[u8], len: usize) -> Staged<'_> {
    if len > MAX_STAGED {
        return Staged::TooLong;
    }
    io.get(..len).map_or(Staged::Bad, Staged::Bytes)
}

/// A write's tags and `dependsOn` keys, as slices of the I/O buffer.
type Extras<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// The tags and then the deps a write staged from `pos` on, or `None` for a
/// layout that does not match the counts.
fn take_extras(
    io: &[u8],
    mut pos: usize,
    tag_count: usize,
    dep_count: usize,
) -> Option<Extras<'_>> {
    let tags = take_list(io, &mut pos, tag_count)?;
    let deps = take_list(io, &mut pos, dep_count)?;
    Some((tags, deps))
}

/// A write's options from the JS numbers: `ttl`/`grace` < 0 take the
/// defaults; `load_ms` 0 records no load time.
fn write_options<'a>(
    ttl: f64,
    grace: f64,
    tags: &'a [&'a [u8]],
    deps: &'a [&'a [u8]],
    load_ms: u32,
) -> SetOptions<'a> {
    SetOptions {
        ttl_ms: (ttl >= 0.0).then(|| non_negative(ttl)),
        grace_ms: (grace >= 0.0).then(|| non_negative(grace)),
        tags,
        depends_on: deps,
        load_ms: (load_ms > 0).then_some(load_ms),
    }
}

/// Reads `count` tags or `dependsOn` keys, each a little-endian `u32`
/// length and its bytes, from `io` at `*pos`; `None` past the buffer.
fn take_list<'a>(io: &'a [u8], pos: &mut usize, count: usize) -> Option<Vec<&'a [u8]>> {
    let mut list = Vec::new();
    list.try_reserve_exact(count).ok()?;
    for _ in 0..count {
        let start = pos.checked_add(4)?;
        let len_bytes: [u8; 4] = io.get(*pos..start).and_then(|b| b.try_into().ok())?;
        let end = start.checked_add(u32::from_le_bytes(len_bytes) as usize)?;
        list.push(io.get(start..end)?);
        *pos = end;
    }
    Some(list)
}

/// The status of a write's outcome.
fn write_status(result: Result<SetOutcome, CacheError>) -> i32 {
    match result {
        Ok(SetOutcome::Stored) => STORED,
        Ok(SetOutcome::TooLarge) => TOO_LARGE,
        Ok(SetOutcome::NoRoom) => NO_ROOM,
        Err(CacheError::AllocFailed) => ALLOC_FAILED,
        Err(CacheError::InvalidArgument(what)) if what == crate::cache::TTL_TOO_LARGE => {
            INVALID_TTL
        }
        Err(CacheError::InvalidArgument(what)) if what == crate::cache::WINDOW_TOO_LARGE => {
            INVALID_WINDOW
        }
        Err(_) => BAD_LAYOUT,
    }
}

/// Appends a piece's `(address, length)` to the list, within its reserved
/// capacity (never allocating, so never failing once the room is there).
fn push_pair(pieces: &mut Vec<u32>, piece: &[u8]) {
    if pieces.capacity() - pieces.len() >= PAIR {
        pieces.push(piece.as_ptr() as usize as u32);
        pieces.push(piece.len() as u32);
    }
}

/// One cache instance as JS sees it.
#[wasm_bindgen]
pub struct WasmCache {
    config: Config,
    seed: Option<u64>,
    inner: Option<Cache>,
    io: Vec<u8>,
    /// `[value address, value length, expired_at low, expired_at high,
    /// pieces]`: with `pieces` > 0, the address is that of `pieces`' list.
    out: Box<[u32; OUT_WORDS]>,
    /// The `(address, length)` pairs of the reported value's pieces, when
    /// it lies in blocks.
    pieces: Vec<u32>,
    /// The load time the next writes record (`load_time`), 0 for none.
    load_ms: u32,
}

/// Words in the result block.
const OUT_WORDS: usize = 5;
/// The result block's word that counts the reported value's pieces (0: one
/// slice at the first word's address).
pub const OUT_PIECES: usize = 4;

/// Bytes of one piece's `(address, length)` pair in the pieces list, in words.
const PAIR: usize = 2;

/// Words the pieces list needs for a `value_len`-byte value (an upper bound).
fn pieces_words(value_len: usize) -> usize {
    PAIR * (value_len / BLOCK + 1)
}

#[wasm_bindgen]
impl WasmCache {
    /// Validates options; the core itself is built on first use.
    ///
    /// # Errors
    /// A `TypeError` for options of the wrong shape or an unknown policy, a
    /// `RangeError` for a value out of range (both carry a `code`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> JsResult<WasmCache> {
        let o: Options = serde_wasm_bindgen::from_value(options).map_err(|e| {
            JsValue::from(js_sys::TypeError::new(&alloc::format!(
                "edgecache: options: {e}"
            )))
        })?;
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
            out: Box::new([0; OUT_WORDS]),
            pieces: Vec::new(),
            load_ms: 0,
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

    /// Makes the I/O buffer at least `len` bytes (at most [`MAX_STAGED`])
    /// and returns its address.
    pub fn io(&mut self, len: usize) -> JsResult<usize> {
        if len > MAX_STAGED {
            return Err(internal_fault(
                "an I/O buffer above MAX_STAGED was asked for",
            ));
        }
        if self.io.len() < len {
            self.io
                .try_reserve_exact(len - self.io.len())
                .map_err(|_| js_err(CacheError::AllocFailed))?;
            self.io.resize(len, 0);
        }
        Ok(self.io.as_ptr() as usize)
    }

    /// Address of the result block `[ptr, len, expired_at_lo, expired_at_hi,
    /// pieces]`.
    pub fn out_ptr(&self) -> usize {
        self.out.as_ptr() as usize
    }

    /// Reports a read's value: its address, or for a value in blocks, the
    /// list of its pieces. False when the list cannot grow (out of memory).
    fn report(
        out: &mut [u32; OUT_WORDS],
        pieces: &mut Vec<u32>,
        value: Value<'_>,
        expired_at: u64,
    ) -> bool {
        out[2] = expired_at as u32;
        out[3] = (expired_at >> 32) as u32;
        if let Some(v) = value.as_slice() {
            out[0] = v.as_ptr() as usize as u32;
            out[1] = v.len() as u32;
            out[OUT_PIECES] = 0;
            return true;
        }
        out[1] = value.len() as u32;
        pieces.clear();
        if pieces.try_reserve(pieces_words(value.len())).is_err() {
            return false;
        }
        for p in value.pieces() {
            push_pair(pieces, p);
        }
        out[0] = pieces.as_ptr() as usize as u32;
        out[OUT_PIECES] = (pieces.len() / PAIR) as u32;
        true
    }

    /// Reads the key in `io[..key_len]`: [`MISS`], [`FRESH`] or [`STALE`]
    /// (value in the result block); [`BAD_LAYOUT`] or [`NOT_READY`] on
    /// misuse. A key longer than [`MAX_STAGED`] is a miss.
    pub fn get(&mut self, key_len: usize, now: f64, accept_stale: bool) -> i32 {
        let Some(cache) = self.inner.as_mut() else {
            return NOT_READY;
        };
        let key = match staged(&self.io, key_len) {
            Staged::Bytes(k) => k,
            Staged::TooLong => {
                cache.count_miss();
                return MISS;
            }
            Staged::Bad => return BAD_LAYOUT,
        };
        let (out, pieces) = (&mut self.out, &mut self.pieces);
        match cache.get(key, non_negative(now), accept_stale) {
            Lookup::Fresh(v) if Self::report(out, pieces, v, 0) => FRESH,
            Lookup::Stale { value, expired_at } if Self::report(out, pieces, value, expired_at) => {
                STALE
            }
            Lookup::Miss => MISS,
            _ => ALLOC_FAILED,
        }
    }

    /// Like `get` without recency, frequency or stats change; fresh values only.
    pub fn peek(&mut self, key_len: usize, now: f64) -> i32 {
        let Some(cache) = self.inner.as_ref() else {
            return NOT_READY;
        };
        let key = match staged(&self.io, key_len) {
            Staged::Bytes(k) => k,
            Staged::TooLong => return MISS,
            Staged::Bad => return BAD_LAYOUT,
        };
        match cache.peek(key, non_negative(now)) {
            Some(v) if Self::report(&mut self.out, &mut self.pieces, v, 0) => FRESH,
            Some(_) => ALLOC_FAILED,
            None => MISS,
        }
    }

    /// 1 when a fresh value is cached, 0 when not.
    pub fn has(&mut self, key_len: usize, now: f64) -> i32 {
        let Some(cache) = self.inner.as_ref() else {
            return NOT_READY;
        };
        match staged(&self.io, key_len) {
            Staged::Bytes(key) => i32::from(cache.has(key, non_negative(now))),
            Staged::TooLong => 0,
            Staged::Bad => BAD_LAYOUT,
        }
    }

    /// Writes: `io` holds `key ‖ value ‖ tags ‖ deps`, each tag and dep as a
    /// little-endian `u32` length and its bytes. `ttl`/`grace` < 0 take the
    /// defaults. Returns [`STORED`], [`TOO_LARGE`] or [`NO_ROOM`];
    /// [`INVALID_TTL`], [`INVALID_WINDOW`], [`ALLOC_FAILED`], [`BAD_LAYOUT`]
    /// or [`NOT_READY`] otherwise.
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
        let (Some(key), Some(end)) = (io.get(..key_len), key_len.checked_add(value_len)) else {
            return BAD_LAYOUT;
        };
        let Some(value) = io.get(key_len..end) else {
            return BAD_LAYOUT;
        };
        let Some((tags, deps)) = take_extras(io, end, tag_count, dep_count) else {
            return BAD_LAYOUT;
        };
        let opts = write_options(ttl, grace, &tags, &deps, self.load_ms);
        write_status(cache.set(key, value, &opts, non_negative(now)))
    }

    /// A write whose value is not staged: `io` holds `key ‖ tags ‖ deps` as
    /// for `set`. Every check runs first; only a stored write allocates the
    /// entry, with `value_len` zero bytes for its value, whose address (or
    /// list of pieces, as for a read) the result block then holds. The JS
    /// layer copies the value there before any other call (the lifetime rule
    /// in the module doc). Returns as `set`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_in_place(
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
        let Some((tags, deps)) = take_extras(io, key_len, tag_count, dep_count) else {
            return BAD_LAYOUT;
        };
        let opts = write_options(ttl, grace, &tags, &deps, self.load_ms);
        // Room for the pieces list first: once the entry is stored, its
        // pieces must be reported. A value over the budget is refused
        // before `fill` runs and needs none.
        let pieces = &mut self.pieces;
        pieces.clear();
        if value_len <= self.config.max_bytes
            && pieces.try_reserve(pieces_words(value_len)).is_err()
        {
            return ALLOC_FAILED;
        }
        let fill = |_at: usize, v: &mut [u8]| {
            v.fill(0);
            push_pair(pieces, v);
        };
        let status = write_status(cache.set_with(key, value_len, &opts, non_negative(now), fill));
        let out = &mut self.out;
        out.fill(0);
        out[1] = value_len as u32;
        match self.pieces.as_slice() {
            [] => {}
            [addr, _] if value_len < BLOCK => out[0] = *addr,
            list => {
                out[0] = list.as_ptr() as usize as u32;
                out[OUT_PIECES] = (list.len() / PAIR) as u32;
            }
        }
        status
    }

    /// Sets how long the load whose result the next writes store took, in
    /// ms (early refresh's `delta`, kept with the entry); 0 records none.
    /// The JS layer sets it around one load's write and clears it after, so
    /// the write calls keep their arguments.
    pub fn load_time(&mut self, ms: f64) {
        self.load_ms = non_negative(ms.ceil()).min(u64::from(u32::MAX)) as u32;
    }

    /// 1 when a read of the key in `io[..key_len]` at `now` should start an
    /// early refresh with eagerness `beta` (XFetch, [`crate::xfetch`]), 0
    /// when not; [`BAD_LAYOUT`] or [`NOT_READY`] on misuse.
    pub fn refresh_due(&mut self, key_len: usize, now: f64, beta: f64) -> i32 {
        let Some(cache) = self.inner.as_mut() else {
            return NOT_READY;
        };
        match staged(&self.io, key_len) {
            Staged::Bytes(key) => i32::from(cache.refresh_due(key, non_negative(now), beta)),
            Staged::TooLong => 0,
            Staged::Bad => BAD_LAYOUT,
        }
    }

    /// Counts a write the JS layer refused because its key, tags and
    /// `dependsOn` keys are longer than [`MAX_STAGED`] together.
    pub fn refuse(&mut self) {
        if let Some(c) = self.inner.as_mut() {
            c.count_refused();
        }
    }

    /// Deletes the key in `io[..key_len]` and its dependents: 1 if a fresh
    /// value was there, 0 if not.
    pub fn delete(&mut self, key_len: usize, now: f64) -> i32 {
        let Some(cache) = self.inner.as_mut() else {
            return NOT_READY;
        };
        match staged(&self.io, key_len) {
            Staged::Bytes(key) => i32::from(cache.delete(key, non_negative(now))),
            Staged::TooLong => 0,
            Staged::Bad => BAD_LAYOUT,
        }
    }

    /// Invalidates the key in `io[..key_len]` and its dependents; how many were removed.
    pub fn invalidate(&mut self, key_len: usize, now: f64) -> JsResult<u32> {
        let cache = self
            .inner
            .as_mut()
            .ok_or_else(|| internal_fault("a call before init"))?;
        match staged(&self.io, key_len) {
            Staged::Bytes(key) => Ok(cache.invalidate(key, non_negative(now)) as u32),
            Staged::TooLong => Ok(0),
            Staged::Bad => Err(internal_fault("a key length past the I/O buffer")),
        }
    }

    /// Invalidates the tag in `io[..tag_len]`; how many entries carried it.
    pub fn invalidate_tag(&mut self, tag_len: usize) -> JsResult<u32> {
        let cache = self
            .inner
            .as_mut()
            .ok_or_else(|| internal_fault("a call before init"))?;
        match staged(&self.io, tag_len) {
            Staged::Bytes(tag) => Ok(cache.invalidate_tag(tag) as u32),
            Staged::TooLong => Ok(0),
            Staged::Bad => Err(internal_fault("a tag length past the I/O buffer")),
        }
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

/// A snapshot staged in linear memory for [`WasmCache::load`]: JS hands
/// its bytes over in pieces (`append`), `check()` validates them completely
/// (a `TypeError` naming what is wrong) and reports the header, then `load`
/// applies them. Freed by JS right after (`free()`), so the copy lives only
/// for the load.
#[wasm_bindgen]
pub struct WasmSnapshot {
    bytes: Vec<u8>,
    checked: bool,
    /// What the check summed for the load (see `Snapshot::plain_totals`).
    totals: Option<crate::PlainTotals>,
}

#[wasm_bindgen]
impl WasmSnapshot {
    /// Room for a `len`-byte snapshot, empty.
    ///
    /// # Errors
    /// A `RangeError` when linear memory cannot hold it.
    #[wasm_bindgen(constructor)]
    pub fn new(len: usize) -> JsResult<WasmSnapshot> {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len)
            .map_err(|_| js_err(CacheError::AllocFailed))?;
        Ok(WasmSnapshot {
            bytes,
            checked: false,
            totals: None,
        })
    }

    /// Copies the snapshot's next bytes in after those appended before. A
    /// piece at a time (JS sends pieces of `SNAPSHOT_PIECE` bytes), each
    /// zeroed and then overwritten while it is in the CPU's cache: one
    /// copy of the whole would zero it all, out to memory, and copy over
    /// it again.
    ///
    /// # Errors
    /// An internal fault for more bytes than `new` made room for.
    pub fn append(&mut self, piece: &js_sys::Uint8Array) -> JsResult<()> {
        let at = self.bytes.len();
        let end = at.checked_add(piece.length() as usize);
        let Some(end) = end.filter(|&e| e <= self.bytes.capacity() && !self.checked) else {
            return Err(internal_fault("a snapshot piece past its length"));
        };
        self.bytes.resize(end, 0);
        match self.bytes.get_mut(at..) {
            Some(dst) => piece.copy_to(dst),
            None => return Err(internal_fault("a snapshot piece past its length")),
        }
        Ok(())
    }

    /// Checks the bytes completely; returns `{ codec, codecState, takenAt,
    /// entries }`.
    ///
    /// # Errors
    /// A `TypeError` naming what is wrong (code `INVALID_SNAPSHOT`).
    pub fn check(&mut self) -> JsResult<JsValue> {
        let snap = Snapshot::parse(&self.bytes).map_err(|e| js_err(e.into()))?;
        let h = snap.header();
        let o = js_sys::Object::new();
        let state = js_sys::Uint8Array::from(h.codec_state);
        let fields: [(&str, JsValue); 4] = [
            ("codec", h.codec.into()),
            ("codecState", state.into()),
            ("takenAt", (h.taken_at as f64).into()),
            ("entries", (h.entries as f64).into()),
        ];
        for (name, value) in fields {
            let _ = js_sys::Reflect::set(&o, &name.into(), &value);
        }
        self.checked = true;
        self.totals = snap.plain_totals();
        Ok(o.into())
    }
}

/// A plain snapshot read in pieces for [`WasmCache::load`]'s common case
/// (`crate::snapshot_stream`): JS hands each piece to `check_piece`, asks
/// `checked()`, then hands the pieces again to `WasmCache::load_piece`
/// between `load_begin` and `load_end`. Only one piece is in linear memory
/// at a time. Any refusal (not plain, or not valid) sends JS to the staged
/// way ([`WasmSnapshot`]), which names what is wrong.
#[wasm_bindgen]
pub struct WasmSnapshotStream {
    stream: crate::snapshot_stream::PlainStream,
    totals: Option<crate::PlainTotals>,
    load: Option<crate::PlainLoad>,
}

#[wasm_bindgen]
impl WasmSnapshotStream {
    /// A reader for a `len`-byte snapshot.
    #[wasm_bindgen(constructor)]
    pub fn new(len: f64) -> WasmSnapshotStream {
        WasmSnapshotStream {
            stream: crate::snapshot_stream::PlainStream::new(len as u64),
            totals: None,
            load: None,
        }
    }

    /// Checks the snapshot's next bytes; false once it refuses them.
    pub fn check_piece(&mut self, piece: &js_sys::Uint8Array) -> bool {
        let Some(dst) = self.stream.room(piece.length() as usize) else {
            return false;
        };
        piece.copy_to(dst);
        self.stream.take(|_, _| Ok::<(), ()>(())).is_ok()
    }

    /// After every piece was checked: `{ codec, codecState, takenAt,
    /// entries }` when the whole snapshot passed, else `null`.
    pub fn checked(&mut self) -> JsValue {
        let Some((h, totals)) = self.stream.checked() else {
            return JsValue::NULL;
        };
        let o = js_sys::Object::new();
        let state = js_sys::Uint8Array::from(h.codec_state.as_slice());
        let fields: [(&str, JsValue); 4] = [
            ("codec", h.codec.as_str().into()),
            ("codecState", state.into()),
            ("takenAt", (h.taken_at as f64).into()),
            ("entries", (h.entries as f64).into()),
        ];
        for (name, value) in fields {
            let _ = js_sys::Reflect::set(&o, &name.into(), &value);
        }
        self.totals = Some(totals);
        o.into()
    }
}

#[wasm_bindgen]
impl WasmCache {
    /// The live entries as a snapshot (`Cache::dump`), written straight into
    /// a new `Uint8Array` in pieces: linear memory never holds a copy.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out; a `RangeError` for a codec name
    /// over 255 bytes.
    pub fn dump(
        &mut self,
        now: f64,
        codec: &str,
        codec_state: &[u8],
    ) -> JsResult<js_sys::Uint8Array> {
        let cache = self.core()?;
        // Both closures reach the output: `size` makes it, `sink` fills it.
        let out: core::cell::RefCell<Option<js_sys::Uint8Array>> = core::cell::RefCell::new(None);
        let mut at: u32 = 0;
        let mut size = |len: u64| -> Result<u64, CacheError> {
            let len32 = u32::try_from(len).map_err(|_| CacheError::AllocFailed)?;
            *out.borrow_mut() = Some(js_sys::Uint8Array::new_with_length(len32));
            Ok(len)
        };
        let mut sink = |piece: &[u8]| -> Result<(), CacheError> {
            let out = out.borrow();
            let Some(arr) = out.as_ref() else {
                return Err(CacheError::Internal("a snapshot piece before its size"));
            };
            let end = at
                .checked_add(piece.len() as u32)
                .filter(|&e| e <= arr.length())
                .ok_or(CacheError::Internal("a snapshot longer than counted"))?;
            arr.subarray(at, end).copy_from(piece);
            at = end;
            Ok(())
        };
        cache
            .dump_to(non_negative(now), codec, codec_state, &mut size, &mut sink)
            .map_err(js_err)?;
        let out = out.into_inner();
        out.ok_or_else(|| internal_fault("a snapshot without output"))
    }

    /// The tags of the live entries (`Cache::live_tags`), as UTF-8 bytes
    /// joined by NUL-free length prefixes: `u32` LE length, then the bytes.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out.
    pub fn live_tags(&mut self, now: f64) -> JsResult<Vec<u8>> {
        let cache = self.core()?;
        let tags = cache.live_tags(non_negative(now)).map_err(js_err)?;
        let mut out = Vec::new();
        let len: usize = tags.iter().map(|t| t.len() + 4).sum();
        out.try_reserve_exact(len)
            .map_err(|_| js_err(CacheError::AllocFailed))?;
        for t in tags {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t);
        }
        Ok(out)
    }

    /// Loads a checked snapshot (`Cache::load_snapshot`); returns how many
    /// entries were loaded.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out part way; an internal fault for a
    /// snapshot that was not checked.
    pub fn load(&mut self, snapshot: &WasmSnapshot, now: f64) -> JsResult<u32> {
        if !snapshot.checked {
            return Err(internal_fault("a snapshot loaded before check()"));
        }
        let mut snap = Snapshot::reopen(&snapshot.bytes).map_err(|e| js_err(e.into()))?;
        snap.set_plain_totals(snapshot.totals);
        let cache = self.core()?;
        let n = cache
            .load_snapshot(&snap, non_negative(now))
            .map_err(js_err)?;
        Ok(n as u32)
    }
}

#[wasm_bindgen]
impl WasmCache {
    /// Starts applying a checked stream (`Cache::begin_plain_load`); false
    /// (nothing changed) when it does not go the plain way: JS then loads
    /// it staged.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out; an internal fault for a stream
    /// not checked.
    pub fn load_begin(&mut self, s: &mut WasmSnapshotStream, now: f64) -> JsResult<bool> {
        let Some(totals) = s.totals else {
            return Err(internal_fault("a snapshot stream loaded before checked()"));
        };
        let entries = s.stream.entries();
        let cache = self.core()?;
        s.load = cache
            .begin_plain_load(&totals, entries, non_negative(now))
            .map_err(js_err)?;
        Ok(s.load.is_some())
    }

    /// Stores the entries of the stream's next piece.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out part way (call `load_end` to
    /// keep what was stored); an internal fault out of order.
    pub fn load_piece(
        &mut self,
        s: &mut WasmSnapshotStream,
        piece: &js_sys::Uint8Array,
        now: f64,
    ) -> JsResult<()> {
        let now = non_negative(now);
        let cache = self.core()?;
        let Some(load) = s.load.as_mut() else {
            return Err(internal_fault("a snapshot piece outside a load"));
        };
        let Some(dst) = s.stream.room(piece.length() as usize) else {
            return Err(internal_fault("a snapshot piece past its length"));
        };
        piece.copy_to(dst);
        s.stream
            .take(|key, value| cache.plain_load_entry(load, key, value, now))
            .map_err(|stop| match stop {
                crate::snapshot_stream::StreamStop::Failed(e) => js_err(e),
                crate::snapshot_stream::StreamStop::Refused => {
                    internal_fault("a checked snapshot changed")
                }
            })
    }

    /// Ends the load: indexes what it stored; returns how many entries it
    /// loaded.
    ///
    /// # Errors
    /// A `RangeError` when memory runs out; an internal fault for a load
    /// not begun, or one that did not read every entry (what it stored
    /// stays).
    pub fn load_end(&mut self, s: &mut WasmSnapshotStream) -> JsResult<u32> {
        let cache = self.core()?;
        let Some(load) = s.load.take() else {
            return Err(internal_fault("a snapshot load not begun"));
        };
        let n = cache.end_plain_load(load).map_err(js_err)?;
        if !s.stream.applied() {
            return Err(internal_fault("a snapshot load ended early"));
        }
        Ok(n as u32)
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

    /// How many pieces the last reported value lies in (0: one slice at
    /// its address).
    pub fn last_pieces(&self) -> u32 {
        self.out[OUT_PIECES]
    }
}
