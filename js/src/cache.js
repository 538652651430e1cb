// Cache: the public class. Validates every argument before anything changes,
// encodes keys and values into the wasm I/O buffer, and keeps what only JS
// can do: the clock, codecs, single-flight loads and their counters.

import { WasmCache, WasmSnapshot, WasmSnapshotStream, ready, bytes, words, memorySize, STATUS, MAX_STAGED, MAX_TTL_MS, OUT_PIECES } from "./runtime.js";
import { Writer, checkKey, encodeKey, encodeTag, decodeTag, keyId, describe, KIND_STR } from "./keys.js";
import { makeCodec, bytesCodec, SHORT_STRING_MAX } from "./codecs.js";
import { TierLink, checkTier } from "./tier/link.js";
import { tierKeyId, tierTagId } from "./tier/ids.js";
import { EntryFormatError } from "./tier/entry.js";
import { TIER_SNAPSHOT_CODEC, frameSnapshot, unframeSnapshot } from "./tier/snapshot.js";
import { checkEarlyRefresh, loadTime } from "./early-refresh.js";

export const POLICIES = Object.freeze([
  "allkeys-lru", "allkeys-lfu", "allkeys-random",
  "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
  "noeviction", "allkeys-adaptive",
]);

const DEFAULT_MAX_MEMORY = 32 * 1024 * 1024;
/** The largest maxEntries: the core counts entries in 32 bits. */
const MAX_ENTRIES = 2 ** 32 - 1;
/** The largest TTL or stale window the core keeps, in ms (read from the core). */
export { MAX_TTL_MS };
/** The largest loadTimeout: setTimeout takes a signed 32-bit delay. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** The stats() fields the JS layer keeps (loads live here) or overrides
 * (maxMemory as given); the others come from the core. */
export const HOST_STATS = Object.freeze(["loads", "coalesced", "loadErrors", "maxMemory", "wasmMemory"]);
/** How long a tier call may take before the call goes on without it (tierTimeout). */
const DEFAULT_TIER_TIMEOUT_MS = 50;
/** How long a cross-isolate load lock is held at most (a Tier's lockTtl overrides it). */
const DEFAULT_LOCK_TTL_MS = 5_000;
/** The codec name cachedFetch's raw bytes carry in the tier: no codec has
 * it, so only raw reads accept them (a getOrLoad of the same key misses). */
const RAW_CODEC_NAME = "raw";
/** A snapshot read from or written to a tier may take this many tierTimeouts. */
const SNAPSHOT_TIMEOUT_FACTOR = 20;
// load() hands a snapshot to wasm in pieces this long: each is copied while
// its destination is in the CPU's cache (src/wasm.rs, WasmSnapshot.append).
const SNAPSHOT_PIECE = 256 * 1024;
/** Why a tier without an invalidation log takes no snapshots: a warm start
 * could not learn what changed after the save, and would serve it. */
const NO_LOG = (where) => `${where} needs a tier with an invalidation log (tier.changes), so that a warm start applies what changed after the save`;
/** The key a snapshot named `name` is stored under in a tier. */
const snapshotKey = (name) => ["\u0000edgecache", "snapshot", name];
/** The stats() fields a cache with a tier adds. */
export const TIER_STATS = Object.freeze(["tierHits", "tierMisses", "tierErrors", "tierDropped"]);
/** Up to this many bytes, copying byte by byte beats making a subarray view. */
const SHORT_COPY_MAX = 64;
/** The codec state of a snapshot whose codec keeps none. */
const NO_STATE = new Uint8Array(0);
/** The longest string key a write takes the plain path for (#writePlain). */
const PLAIN_KEY_MAX = 64;

/**
 * Internal door for cachedFetch (not public API): raw bytes that bypass the
 * cache's codec, and the cache's clock.
 */
export const internals = Symbol("edgecache.internals");
let memoIds = 0;

/** `bytes` as views of SNAPSHOT_PIECE bytes (the last one shorter). */
function* piecesOf(bytes) {
  for (let at = 0; at < bytes.length; at += SNAPSHOT_PIECE) yield bytes.subarray(at, at + SNAPSHOT_PIECE);
}

function isObject(v) {
  return v !== null && typeof v === "object";
}

/** Writes the ASCII string `s` into `mem` at `at`; returns where it ends, or
 * -1 (having written a prefix) at its first character that is not ASCII. */
function putAscii(mem, at, s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    mem[at++] = c;
  }
  return at;
}

/** Copies `src[0..n)` into `mem` at `at`. */
function copyInto(mem, at, src, n) {
  if (n <= SHORT_COPY_MAX) {
    for (let i = 0; i < n; i++) mem[at + i] = src[i];
  } else {
    mem.set(src.subarray(0, n), at);
  }
}

/**
 * Validates an optional number of milliseconds up to `max` (undefined passes
 * through). A value between 0 and 1 becomes 1: the core counts whole
 * milliseconds, and 0 means "none" (no expiry, no window).
 */
export function ms(value, name, max = MAX_TTL_MS) {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds; got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite, non-negative number of milliseconds; got ${value}`);
  if (value > max) throw new RangeError(`${name} must be at most ${max} ms; got ${value}`);
  return value > 0 && value < 1 ? 1 : value;
}

/** A key as error messages show it. */
function show(key) {
  return JSON.stringify(key);
}

/** An error the bindings built with the name of a TypeError or RangeError,
 * as a real instance of that class (`instanceof` holds). */
function realError(err) {
  const Type = err?.name === "RangeError" ? RangeError : err?.name === "TypeError" ? TypeError : undefined;
  if (Type === undefined || err instanceof Type) return err;
  const real = new Type(err.message, { cause: err });
  if (err.code !== undefined) real.code = err.code;
  return real;
}

/** The load whose loader is running synchronously now, if any: a getOrLoad
 * made then comes from inside that load (see Flight). */
let running = null;

/**
 * One load in flight; its waiters share `promise`. `waitsOn` holds the loads
 * its loader started or joined while it ran synchronously (before its first
 * await): the only calls a load can be told apart by without
 * AsyncLocalStorage, which not every runtime has. A getOrLoad that would join
 * a load which waits, through that graph, for the caller's own load would
 * never settle, and is refused instead. A self-wait after an await is not
 * seen; loadTimeout ends it.
 */
class Flight {
  constructor(id, key, o) {
    this.id = id;
    this.key = key;
    this.controller = new AbortController();
    /** A change since it started: its result is not stored. */
    this.superseded = false;
    this.settled = false;
    this.tags = o.tags;
    this.depIds = o.deps.map(keyId);
    this.waitsOn = [];
    this.timer = undefined;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The chain of unsettled loads from this one to `target` through waitsOn,
   * or undefined when it does not wait for `target`. */
  pathTo(target, seen = new Set()) {
    if (this === target) return [this];
    seen.add(this);
    for (const next of this.waitsOn) {
      if (next.settled || seen.has(next)) continue;
      const rest = next.pathTo(target, seen);
      if (rest !== undefined) return [this, ...rest];
    }
    return undefined;
  }

  /** Runs the loader, marking this load as the caller of what it starts. */
  call(loader, context) {
    const outer = running;
    running = this;
    try {
      return loader(context);
    } finally {
      running = outer;
    }
  }
}

/** The tags or dependsOn of a write that gives none (shared: frozen). */
const NONE = Object.freeze([]);

function checkTags(tags, name = "tags") {
  if (tags === undefined) return NONE;
  if (!Array.isArray(tags)) throw new TypeError(`${name} must be an array of strings; got ${describe(tags)}`);
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== "string") throw new TypeError(`${name}[${i}] must be a string; got ${describe(tags[i])}`);
  }
  return tags;
}

function checkDeps(deps, name = "dependsOn") {
  if (deps === undefined) return NONE;
  if (!Array.isArray(deps)) throw new TypeError(`${name} must be an array of keys; got ${describe(deps)}`);
  for (let i = 0; i < deps.length; i++) checkKey(deps[i], `${name}[${i}]`);
  return deps;
}

export class Cache {
  #inner;
  #codec;
  #now;
  #w = new Writer();
  /** A writer for writes made while a value is being encoded into #w (#encode). */
  #spare = undefined;
  #out;
  #ioPtr = 0;
  #ioCap = 0;
  /** The string key whose encoding the I/O buffer starts with (KIND_STR and
   * its ASCII characters), or undefined: a write of the key a read has just
   * staged (read-through, getOrLoad) does not encode it again. */
  #stagedKey = undefined;
  #ready = false;
  #freed = false;
  /** True while no entry can have a TTL and the policy keeps no clock (not
   * LFU): reads then need no clock reading (Date.now() is a fifth of a hit). */
  #timeless;
  #lastTime = 0;
  /** The options of a write that gives none (shared: never mutated). */
  #noOpts;
  #swr;
  #sie;
  #maxMemory;
  /** Loads in flight by keyId. */
  #inflight = new Map();
  /** The default loadTimeout in ms; 0 = none. */
  #loadTimeout;
  #loads = 0;
  #coalesced = 0;
  #loadErrors = 0;
  /** The shared tier (L2), or null. */
  #link = null;
  #ttl;
  #jitter;
  #tierTimeout;
  /** The tier snapshot to load before the first getOrLoad (warmStart), or null. */
  #warmName = null;
  /** That load, once started. */
  #warming = null;
  /** The default earlyRefresh (XFetch's beta); 0 = off. */
  #earlyRefresh;

  /**
   * @param {import("./index.d.ts").CacheOptions} [options]
   */
  constructor(options = {}) {
    ready();
    if (!isObject(options)) throw new TypeError(`options must be an object; got ${describe(options)}`);
    const {
      maxMemory = DEFAULT_MAX_MEMORY, maxEntries = 0, policy = "allkeys-lru", ttl = 0, jitter = 0,
      staleWhileRevalidate = 0, staleIfError = 0, codec = "json", now = Date.now, seed, loadTimeout = 0,
      tier, tierTimeout = DEFAULT_TIER_TIMEOUT_MS, waitUntil, warmStart = false, earlyRefresh = 0,
    } = options;
    if (typeof maxMemory !== "number") throw new TypeError(`maxMemory must be a number of bytes; got ${describe(maxMemory)}`);
    if (!Number.isFinite(maxMemory) || maxMemory < 1) throw new RangeError(`maxMemory must be a positive number of bytes; got ${maxMemory}`);
    if (typeof maxEntries !== "number") throw new TypeError(`maxEntries must be a number; got ${describe(maxEntries)}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 0 || maxEntries > MAX_ENTRIES) {
      throw new RangeError(`maxEntries must be an integer from 0 to ${MAX_ENTRIES}; got ${maxEntries}`);
    }
    if (typeof policy !== "string" || !POLICIES.includes(policy)) {
      throw new TypeError(`policy must be one of ${POLICIES.join(", ")}; got ${typeof policy === "string" ? JSON.stringify(policy) : describe(policy)}`);
    }
    const ttlMs = ms(ttl, "ttl");
    if (typeof jitter !== "number") throw new TypeError(`jitter must be a number; got ${describe(jitter)}`);
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter must be in [0, 1); got ${jitter}`);
    const swr = ms(staleWhileRevalidate, "staleWhileRevalidate");
    const sie = ms(staleIfError, "staleIfError");
    this.#loadTimeout = ms(loadTimeout, "loadTimeout", MAX_TIMEOUT_MS);
    if (typeof now !== "function") throw new TypeError(`now must be a function returning milliseconds; got ${describe(now)}`);
    if (seed !== undefined && (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0)) {
      throw new TypeError(`seed must be a non-negative safe integer; got ${describe(seed)}`);
    }
    if (tier !== undefined) checkTier(tier, describe);
    const tierMs = ms(tierTimeout, "tierTimeout", MAX_TIMEOUT_MS);
    if (tierMs === 0) throw new RangeError("tierTimeout must be at least 1 ms; got 0");
    if (waitUntil !== undefined && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
    if (typeof warmStart !== "boolean" && typeof warmStart !== "string") {
      throw new TypeError(`warmStart must be a boolean or a snapshot name; got ${describe(warmStart)}`);
    }
    if (warmStart !== false && tier === undefined) throw new TypeError("warmStart needs a tier to load the snapshot from");
    if (warmStart !== false && typeof tier.changes !== "function") throw new TypeError(NO_LOG("warmStart"));
    this.#warmName = warmStart === true ? "default" : warmStart === false ? null : warmStart;
    this.#tierTimeout = tierMs;
    this.#earlyRefresh = checkEarlyRefresh(earlyRefresh);
    this.#codec = makeCodec(codec, { portable: tier !== undefined });
    this.#now = now;
    this.#ttl = ttlMs;
    this.#jitter = jitter;
    if (tier !== undefined) {
      this.#link = new TierLink(tier, {
        codecName: this.#codec.name, timeout: tierMs, waitUntil,
        onRemote: (keys, tags) => this.#applyRemote(keys, tags),
        onLost: () => this.#dropLocal(),
      });
    }
    this.#swr = swr;
    this.#sie = sie;
    this.#maxMemory = maxMemory;
    this.#timeless = ttlMs === 0 && !policy.endsWith("-lfu");
    this.#noOpts = Object.freeze({ ttl: -1, grace: -1, tags: NONE, deps: NONE, swr, sie });
    try {
      this.#inner = new WasmCache({ maxMemory, maxEntries, policy, ttl: ttlMs, jitter, grace: Math.max(swr, sie), seed });
    } catch (err) {
      throw realError(err);
    }
    this.#out = this.#inner.out_ptr() >>> 2;
  }

  // ----- plumbing -----

  #live() {
    if (this.#freed) throw new Error("edgecache: this Cache was freed; create a new one");
    if (!this.#ready) {
      // First use: the core draws its seed now (Workers forbid that at global scope).
      this.#inner.init();
      this.#ready = true;
      this.#link?.start();
    }
  }

  /** Makes the wasm I/O buffer at least n bytes (n ≤ MAX_STAGED: it never
   * grows past that); its address is cached. */
  #ensureIo(n) {
    if (n > this.#ioCap) {
      const cap = Math.min(Math.max(n, this.#ioCap * 2, 256), MAX_STAGED);
      this.#ioPtr = this.#inner.io(cap);
      this.#ioCap = cap;
    }
  }

  /** Turns a negative status of a hot call into an error: a RangeError
   * naming the argument for a caller's error, an internal fault otherwise. */
  #fail(code) {
    switch (code) {
      case STATUS.ALLOC_FAILED:
        throw new RangeError("edgecache: out of wasm memory; lower maxMemory so the cache fits the isolate");
      case STATUS.INVALID_TTL:
        throw new RangeError(`ttl must be at most ${MAX_TTL_MS} ms, the largest TTL the cache keeps`);
      case STATUS.INVALID_WINDOW:
        throw new RangeError(`staleWhileRevalidate and staleIfError must be at most ${MAX_TTL_MS} ms, the largest window the cache keeps`);
      default: {
        const name = Object.keys(STATUS).find((k) => STATUS[k] === code) ?? "unknown";
        throw new Error(`edgecache internal fault: status ${code} (${name}) from the wasm core; this is a bug in edgecache, please report it`);
      }
    }
  }

  #time() {
    const t = this.#now();
    if (typeof t !== "number" || !Number.isFinite(t)) throw new TypeError(`now() must return a finite number of milliseconds; got ${describe(t)}`);
    this.#lastTime = t;
    return t;
  }

  /** The time for a read: no clock reading while nothing can expire. */
  #readTime() {
    return this.#timeless ? this.#lastTime : this.#time();
  }

  /** Copies the writer's bytes into the wasm I/O buffer, unless they are
   * longer than MAX_STAGED: then nothing is copied, and the bindings take
   * the length as one that names nothing (a read misses). */
  #stage() {
    const w = this.#w;
    this.#stagedKey = undefined;
    if (w.len > MAX_STAGED) return;
    this.#ensureIo(w.len);
    copyInto(bytes(), this.#ioPtr, w.buf, w.len);
  }

  /** Writes the key's encoding into the I/O buffer; returns its length (a
   * length above MAX_STAGED: not staged, and a miss). */
  #stageKey(k) {
    if (typeof k === "string" && k.length < MAX_STAGED && this.#putKey(k) >= 0) return k.length + 1;
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    this.#stage();
    return w.len;
  }

  /**
   * Writes the string key `k` (shorter than MAX_STAGED) into the I/O buffer
   * if it is ASCII (its own UTF-8, no lone surrogate: KIND_STR and its
   * characters); returns where its bytes end, or -1 (the buffer then holds
   * no key) for a key that is not.
   */
  #putKey(k) {
    const n = k.length;
    if (n + 1 > this.#ioCap) this.#ensureIo(n + 1);
    const mem = bytes();
    const at = this.#ioPtr;
    mem[at] = KIND_STR;
    const end = putAscii(mem, at + 1, k);
    this.#stagedKey = end < 0 ? undefined : k;
    return end;
  }

  #stageTag(tag) {
    const w = this.#w;
    w.len = 0;
    encodeTag(w, tag);
    this.#stage();
    return w.len;
  }

  /** Decodes the value the last read reported (with `codec`, or the cache's).
   * The reported address is valid only until the next call into wasm that
   * may free, reuse or grow memory (src/wasm.rs): it is read here at once.
   * A value in blocks (the result block counts its pieces) is gathered into
   * one array first. */
  #read(codec = this.#codec) {
    const out = words();
    const o = this.#out;
    if (out[o + OUT_PIECES] !== 0) return codec.decodeAt(this.#gather(), 0, out[o + 1]);
    return codec.decodeAt(bytes(), out[o], out[o + 1]);
  }

  /** The reported value's pieces, copied in order into one new array. */
  #gather() {
    const out = words();
    const o = this.#out;
    const mem = bytes();
    const value = new Uint8Array(out[o + 1]);
    const list = out[o] >>> 2;
    let at = 0;
    for (let i = 0; i < out[o + OUT_PIECES]; i++) {
      const ptr = out[list + 2 * i];
      const len = out[list + 2 * i + 1];
      value.set(mem.subarray(ptr, ptr + len), at);
      at += len;
    }
    return value;
  }

  #expiredAt() {
    const out = words();
    return out[this.#out + 2] + out[this.#out + 3] * 2 ** 32;
  }

  /** Validates per-write options into the shape set() needs. */
  #writeOpts(opts, where) {
    if (opts === undefined || opts === null) return this.#noOpts;
    if (!isObject(opts)) throw new TypeError(`${where} options must be an object; got ${describe(opts)}`);
    const ttl = ms(opts.ttl, "ttl");
    const swr = ms(opts.staleWhileRevalidate, "staleWhileRevalidate");
    const sie = ms(opts.staleIfError, "staleIfError");
    const tags = checkTags(opts.tags);
    const deps = checkDeps(opts.dependsOn);
    const grace = swr === undefined && sie === undefined ? -1 : Math.max(swr ?? this.#swr, sie ?? this.#sie);
    return { ttl: ttl ?? -1, grace, tags, deps, swr: swr ?? this.#swr, sie: sie ?? this.#sie };
  }

  /**
   * Encodes key ‖ value ‖ tags ‖ deps into the I/O buffer and stores it.
   * `fromLoad`: the write stores a load's own result, which builds on the
   * values it depends on rather than changing them, so loads in flight that
   * depend on it stay valid.
   */
  #write(k, v, o, { codec = this.#codec, fromLoad = false } = {}) {
    if (v === undefined) throw new TypeError("value must not be undefined (use delete() to remove a key, or null to cache an absence)");
    // The clock before anything is staged: a now() that uses this cache
    // stages its own bytes. While no entry can expire (no TTL yet, not LFU)
    // a write needs no clock.
    if (o.ttl > 0) this.#timeless = false;
    const now = this.#readTime();
    let stored;
    if (typeof k === "string" && k.length <= PLAIN_KEY_MAX && o.tags.length === 0 && o.deps.length === 0) {
      stored = this.#writePlain(k, v, o, codec, now);
    }
    if (stored === undefined) stored = this.#writeGeneral(k, v, o, codec, now);
    if (!fromLoad) this.#supersede(k);
    return stored;
  }

  #writeGeneral(k, v, o, codec, now) {
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    const keyLen = w.len;
    this.#encode(codec, w, v);
    const valueLen = w.len - keyLen;
    for (const t of o.tags) w.prefixed(() => encodeTag(w, t));
    for (const d of o.deps) w.prefixed(() => encodeKey(w, d));
    if (w.len <= MAX_STAGED) {
      this.#stage();
      return this.#store(keyLen, valueLen, o, o.tags.length, o.deps.length, now);
    }
    // Too long to stage: key ‖ tags ‖ deps go to the I/O buffer if they fit
    // it, and the value straight into its place in the store.
    const metaLen = w.len - valueLen;
    if (metaLen > MAX_STAGED) return this.#refuse();
    this.#ensureIo(metaLen);
    this.#stagedKey = undefined;
    const mem = bytes();
    mem.set(w.buf.subarray(0, keyLen), this.#ioPtr);
    mem.set(w.buf.subarray(keyLen + valueLen, w.len), this.#ioPtr + keyLen);
    return this.#storeInPlace(keyLen, w.buf.subarray(keyLen, keyLen + valueLen), o, o.tags.length, o.deps.length, now);
  }

  /**
   * Runs `codec` on `v`, appending to `w` (the cache's writer). A toJSON or a
   * custom codec may use this cache meanwhile: its writes get a writer of
   * their own, so the half-written value in `w` stays whole.
   */
  #encode(codec, w, v) {
    const spare = this.#spare ?? new Writer();
    this.#spare = undefined;
    this.#w = spare;
    try {
      codec.encode(w, v);
    } finally {
      this.#w = w;
      this.#spare = spare;
    }
  }

  /** Counts a write refused for a key, tags and dependsOn longer than the
   * I/O buffer may grow (MAX_STAGED). */
  #refuse() {
    this.#inner.refuse();
    return false;
  }

  /**
   * The common write: a short string key, no tags, no dependsOn. An ASCII key
   * goes straight into wasm memory (ASCII is its own UTF-8 and has no lone
   * surrogate: no writer, no copy, no scan); so does a short ASCII string
   * under the text or json codec. Any other value is encoded by the codec
   * and copied in after the key. The bytes are the general path's (a test
   * compares them). Returns undefined, having stored nothing, for a key or
   * string that is not ASCII.
   */
  #writePlain(k, v, o, codec, now) {
    const n = k.length;
    const header = codec.stringHeader;
    const direct = typeof v === "string" && header !== undefined && v.length <= SHORT_STRING_MAX;
    const w = this.#w;
    let m;
    if (direct) {
      m = header + v.length;
      // One look at the buffer for key and value (the common write of a string).
      this.#ensureIo(1 + n + m);
      if (k !== this.#stagedKey) {
        const mem = bytes();
        mem[this.#ioPtr] = KIND_STR;
        if (putAscii(mem, this.#ioPtr + 1, k) < 0) {
          this.#stagedKey = undefined;
          return undefined;
        }
      }
    } else {
      // The key first (unless a read has just staged it): one that is not
      // ASCII leaves before the codec runs, which must encode a value once.
      if (k !== this.#stagedKey && this.#putKey(k) < 0) return undefined;
      w.len = 0;
      this.#encode(codec, w, v);
      m = w.len;
      // A toJSON may have used this cache, and staged other bytes meanwhile.
      if (k !== this.#stagedKey) this.#putKey(k);
      if (1 + n + m > MAX_STAGED) {
        // Too long to stage beside the key: the value goes straight into its place.
        return this.#storeInPlace(1 + n, w.buf.subarray(0, m), o, 0, 0, now);
      }
    }
    this.#ensureIo(1 + n + m);
    const mem = bytes();
    let p = this.#ioPtr + 1 + n;
    if (!direct) {
      copyInto(mem, p, w.buf, m);
    } else {
      p = codec.putStringHeader(mem, p, v.length);
      if (putAscii(mem, p, v) < 0) {
        this.#stagedKey = undefined;
        return undefined;
      }
    }
    // Forget the key: the next write is most likely of another key, and
    // comparing it with this one would compare their characters.
    this.#stagedKey = undefined;
    return this.#store(1 + n, m, o, 0, 0, now);
  }

  /** Stores what the I/O buffer holds, at `now` (read before staging). */
  #store(keyLen, valueLen, o, tagCount, depCount, now) {
    const r = this.#inner.set(keyLen, valueLen, o.ttl, o.grace, tagCount, depCount, now);
    if (r < 0) this.#fail(r);
    return r === STATUS.STORED;
  }

  /** Stores the key, tags and deps the I/O buffer holds with `value`, which
   * the core places after every check: a refused write never copies it into
   * wasm memory. */
  #storeInPlace(keyLen, value, o, tagCount, depCount, now) {
    const r = this.#inner.set_in_place(keyLen, value.length, o.ttl, o.grace, tagCount, depCount, now);
    if (r < 0) this.#fail(r);
    if (r !== STATUS.STORED) return false;
    // The reported address is valid until the next call into wasm: fill it now.
    const out = words();
    const res = this.#out;
    const mem = bytes();
    const pieces = out[res + OUT_PIECES];
    if (pieces === 0) {
      mem.set(value, out[res]);
      return true;
    }
    // A value in blocks: the result block points at its pieces' (address, length) pairs.
    const list = out[res] >>> 2;
    let at = 0;
    for (let i = 0; i < pieces; i++) {
      const len = out[list + 2 * i + 1];
      mem.set(value.subarray(at, at + len), out[list + 2 * i]);
      at += len;
    }
    return true;
  }

  /**
   * A write on a cache with a tier: the value is encoded once; L1 stores the
   * codec's bytes and the tier gets the same bytes behind its header.
   * `change`: a set or writeThrough (dependents go everywhere), not a load's
   * result. `ack` resolves true once the tier has it (false: dropped).
   */
  #writeTiered(key, value, o, change) {
    if (value === undefined) throw new TypeError("value must not be undefined (use delete() to remove a key, or null to cache an absence)");
    const w = this.#w;
    w.len = 0;
    this.#encode(this.#codec, w, value);
    const encoded = w.buf.slice(0, w.len);
    const stored = this.#write(key, encoded, o, { codec: bytesCodec, fromLoad: !change });
    if (!stored) return { stored, ack: Promise.resolve(false) };
    const ttl = o.ttl >= 0 ? o.ttl : this.#ttl;
    // The tier's copy expires by the same rule as L1's: within [ttl·(1−jitter), ttl].
    const life = ttl > 0 ? ttl * (1 - this.#jitter * Math.random()) : 0;
    const expiresAt = life > 0 ? this.#time() + life : 0;
    const meta = {
      expiresAt, swr: o.swr, sie: o.sie, tags: o.tags, deps: o.deps,
      tagIds: o.tags.map(tierTagId), depIds: o.deps.map(tierKeyId),
    };
    const keep = life > 0 ? Math.ceil(life + Math.max(o.swr, o.sie)) : 0;
    return { stored, ack: this.#link.set(tierKeyId(key), key, encoded, meta, keep, change) };
  }

  /** Invalidations another isolate made, applied here only. */
  #applyRemote(keys, tags) {
    if (this.#freed || !this.#ready) return;
    for (const k of keys) {
      try {
        checkKey(k);
      } catch {
        continue; // not a key this layer sent
      }
      this.#invalidateHere(k);
    }
    for (const t of tags) if (typeof t === "string") this.#invalidateTagHere(t);
  }

  /** The tier's channel was lost: drop what this isolate can no longer vouch for. */
  #dropLocal() {
    if (this.#freed || !this.#ready) return;
    this.#inner.clear();
    for (const f of this.#inflight.values()) f.superseded = true;
    this.#inflight.clear();
  }

  /** A change of `key` (or of `tag`) means a load in flight for it, or built
   * on it, must not store its result; it is detached, so later callers start
   * a new load instead of joining one that may never settle. */
  #supersede(key, tag) {
    if (this.#inflight.size === 0) return;
    const id = key === undefined ? undefined : keyId(key);
    for (const f of this.#inflight.values()) {
      if (f.id === id || (id !== undefined && f.depIds.includes(id)) || (tag !== undefined && f.tags.includes(tag))) {
        f.superseded = true;
        this.#inflight.delete(f.id);
      }
    }
  }

  /** Validates the loadTimeout of a call's options; the cache's when absent. */
  #timeoutOpt(opts) {
    return (isObject(opts) ? ms(opts.loadTimeout, "loadTimeout", MAX_TIMEOUT_MS) : undefined) ?? this.#loadTimeout;
  }

  [internals]() {
    return {
      now: () => this.#time(),
      maxMemory: this.#maxMemory,
      /** Whether there is a tier to read through (tierRaw). */
      tiered: this.#link !== null,
      /** Stores bytes as they are (and queues them for the tier, as raw bytes). */
      setRaw: (key, bytes, options) => {
        this.#live();
        const o = this.#writeOpts(options, "set");
        const stored = this.#write(key, bytes, o, { codec: bytesCodec });
        if (stored && this.#link !== null) this.#sendRaw(key, bytes, o);
        return stored;
      },
      /** A copy of the stored bytes, or undefined. */
      getRaw: (key) => {
        this.#live();
        const now = this.#time();
        const n = this.#stageKey(key);
        const r = this.#inner.get(n, now, false);
        if (r === STATUS.FRESH) return this.#read(bytesCodec);
        if (r === STATUS.MISS) return undefined;
        return this.#fail(r);
      },
      /** What `visit(mem, at, length)` returns for the stored bytes, read in
       * place (`mem[at .. at + length]`, valid only during the call, which
       * must not call into the cache), or undefined: a hit that has seen
       * the same bytes before copies nothing. */
      visitRaw: (key, visit) => {
        this.#live();
        const now = this.#time();
        return this.#visit(this.#stageKey(key), now, visit);
      },
      /** A key's encoding (for visitEncoded), made once by a caller that reads the key often. */
      encodeKey: (key) => {
        checkKey(key);
        const w = new Writer(64);
        encodeKey(w, key);
        return w.buf.slice(0, w.len);
      },
      /** visitRaw for the key `encoded` is the encoding of, without encoding it again. */
      visitEncoded: (encoded, visit) => {
        this.#live();
        const now = this.#time();
        this.#stagedKey = undefined;
        const n = encoded.length;
        // As #stage does: a key too long to stage names nothing.
        if (n <= MAX_STAGED) {
          this.#ensureIo(n);
          copyInto(bytes(), this.#ioPtr, encoded, n);
        }
        return this.#visit(n, now, visit);
      },
      /** The raw bytes the tier holds for `key` (L1 is filled with them), or undefined. */
      tierRaw: (key) => this.#tierRaw(key),
    };
  }

  /** The staged key's stored bytes in place, given to `visit` (see visitRaw). */
  #visit(n, now, visit) {
    const r = this.#inner.get(n, now, false);
    if (r === STATUS.FRESH) return this.#read({ decodeAt: visit });
    if (r === STATUS.MISS) return undefined;
    return this.#fail(r);
  }

  /** Queues raw bytes for the tier. They are not a change of the key (no
   * cascade, no message): an HTTP response replaces its own copy only. */
  #sendRaw(key, bytes, o) {
    const ttl = o.ttl >= 0 ? o.ttl : this.#ttl;
    const meta = {
      expiresAt: ttl > 0 ? this.#time() + ttl : 0, swr: 0, sie: 0, tags: o.tags, deps: o.deps,
      tagIds: o.tags.map(tierTagId), depIds: o.deps.map(tierKeyId),
    };
    this.#link.set(tierKeyId(key), key, bytes, meta, ttl, false, RAW_CODEC_NAME);
  }

  /** An L1 miss read through to the tier: a live raw entry fills L1 with its
   * remaining lifetime and tags (unless a remote invalidation came meanwhile). */
  async #tierRaw(key) {
    this.#live();
    const link = this.#link;
    if (link === null) return undefined;
    const epoch = link.epoch;
    const entry = await link.read(tierKeyId(key), RAW_CODEC_NAME);
    if (entry === undefined || this.#freed) return undefined;
    if (entry.meta.expiresAt !== 0 && this.#time() >= entry.meta.expiresAt) return undefined;
    if (epoch === link.epoch) this.#fill(key, entry);
    return entry.value;
  }

  // ----- the contract -----

  /** Stores `value` under `key`. Returns false when the write is refused. */
  set(key, value, options) {
    this.#live();
    checkKey(key);
    const o = this.#writeOpts(options, "set");
    if (this.#link === null) return this.#write(key, value, o);
    return this.#writeTiered(key, value, o, true).stored;
  }

  /** A fresh decoded copy of the value, or undefined. */
  get(key) {
    this.#live();
    checkKey(key);
    const now = this.#readTime();
    const n = this.#stageKey(key);
    const r = this.#inner.get(n, now, false);
    if (r === STATUS.FRESH) return this.#read();
    if (r === STATUS.MISS) return undefined;
    return this.#fail(r);
  }

  /** Like get(), without changing recency, frequency or stats. */
  peek(key) {
    this.#live();
    checkKey(key);
    const now = this.#readTime();
    const n = this.#stageKey(key);
    const r = this.#inner.peek(n, now);
    if (r === STATUS.FRESH) return this.#read();
    if (r === STATUS.MISS) return undefined;
    return this.#fail(r);
  }

  /** Whether a fresh value is cached; changes nothing. */
  has(key) {
    this.#live();
    checkKey(key);
    const now = this.#readTime();
    const n = this.#stageKey(key);
    const r = this.#inner.has(n, now);
    if (r < 0) this.#fail(r);
    return r === 1;
  }

  /** Removes `key` and every entry built on it. True if a fresh value was there. */
  delete(key) {
    this.#live();
    checkKey(key);
    const now = this.#readTime();
    const n = this.#stageKey(key);
    const r = this.#inner.delete(n, now);
    if (r < 0) this.#fail(r);
    this.#supersede(key);
    this.#link?.invalidate(tierKeyId(key), key);
    return r === 1;
  }

  /** Removes `key` and, transitively, its dependents. Returns how many entries went. */
  invalidate(key) {
    this.#live();
    checkKey(key);
    const r = this.#invalidateHere(key);
    this.#link?.invalidate(tierKeyId(key), key);
    return r;
  }

  /** Invalidates every entry set with `tag` before this call. O(1). */
  invalidateTag(tag) {
    this.#live();
    if (typeof tag !== "string") throw new TypeError(`tag must be a string; got ${describe(tag)}`);
    const r = this.#invalidateTagHere(tag);
    this.#link?.invalidateTag(tierTagId(tag), tag);
    return r;
  }

  /** invalidate() in this isolate only. */
  #invalidateHere(key) {
    const now = this.#readTime();
    const n = this.#stageKey(key);
    const r = this.#inner.invalidate(n, now);
    this.#supersede(key);
    return r;
  }

  /** invalidateTag() in this isolate only. */
  #invalidateTagHere(tag) {
    const n = this.#stageTag(tag);
    const r = this.#inner.invalidate_tag(n);
    this.#supersede(undefined, tag);
    return r;
  }

  /** Resolves when every write and invalidation queued for the tier has been
   * delivered (or dropped, as stats().tierDropped counts). */
  async flush() {
    if (this.#freed) this.#live();
    await this.#link?.flush();
  }

  /** Cache-aside with single-flight loads and stale windows. */
  async getOrLoad(key, loader, options) {
    this.#live();
    checkKey(key);
    if (typeof loader !== "function") throw new TypeError(`loader must be a function; got ${describe(loader)}`);
    const o = this.#writeOpts(options, "getOrLoad");
    const timeout = this.#timeoutOpt(options);
    const waitUntil = options?.waitUntil;
    if (waitUntil !== undefined && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
    const beta = this.#earlyRefreshOpt(options);
    if (this.#warmName !== null) await this.#warmOnce();
    const now = this.#time();
    const n = this.#stageKey(key);
    const r = this.#inner.get(n, now, true);
    if (r === STATUS.FRESH) {
      // XFetch, asked while the key is still staged (a codec's decode may
      // stage another): the core decides from the entry's load time. The
      // question allocates nothing, so the value's address stays valid.
      const due = beta > 0 && this.#refreshDue(n, now, beta);
      const value = this.#read();
      if (due) this.#refreshEarly(key, loader, o, value, timeout, waitUntil, beta);
      return value;
    }
    if (r !== STATUS.MISS && r !== STATUS.STALE) this.#fail(r);
    const id = keyId(key);
    if (r === STATUS.STALE) {
      const stale = this.#read();
      const age = now - this.#expiredAt();
      if (age < o.swr) {
        if (!this.#inflight.has(id)) this.#background(id, key, loader, o, stale, timeout, waitUntil, beta);
        return stale;
      }
      if (age < o.sie) {
        try {
          return await this.#load(id, key, loader, o, stale, timeout, beta);
        } catch {
          return stale;
        }
      }
      return this.#load(id, key, loader, o, stale, timeout, beta);
    }
    return this.#load(id, key, loader, o, undefined, timeout, beta);
  }

  /** Whether the core's XFetch draw asks for an early refresh of the
   * staged key (`n` bytes). */
  #refreshDue(n, now, beta) {
    const due = this.#inner.refresh_due(n, now, beta);
    if (due < 0) this.#fail(due);
    return due !== 0;
  }

  /** Starts an early refresh of a fresh entry the draw found due, unless a
   * load of the key is in flight. */
  #refreshEarly(key, loader, o, value, timeout, waitUntil, beta) {
    const id = keyId(key);
    if (this.#inflight.has(id)) return;
    // With a tier, L2's copy is as old as this one: the early load skips it (still under the tier's lock).
    this.#background(id, key, loader, o, value, timeout, waitUntil, beta).early = true;
  }

  /** A background refresh (stale-while-revalidate, early refresh): the
   * caller does not wait for it (no waitsOn edge); waitUntil gets it.
   * Returns its flight. */
  #background(id, key, loader, o, current, timeout, waitUntil, beta) {
    const flight = this.#start(id, key, loader, o, current, timeout, beta);
    const p = flight.promise;
    p.catch(() => {}); // a failed background refresh keeps the value there is
    if (waitUntil) waitUntil(p);
    return flight;
  }

  /** The earlyRefresh of a call's options; the cache's when absent. */
  #earlyRefreshOpt(opts) {
    return (isObject(opts) ? checkEarlyRefresh(opts.earlyRefresh) : undefined) ?? this.#earlyRefresh;
  }

  /** Joins the load in flight for `id`, or starts one. `beta` > 0: the
   * entry it stores records how long it took (early refresh). */
  #load(id, key, loader, o, stale, timeout, beta = 0) {
    const caller = running;
    let flight = this.#inflight.get(id);
    if (flight !== undefined) {
      const cycle = caller === null ? undefined : flight.pathTo(caller);
      if (cycle !== undefined) return Promise.reject(selfWaitError(key, cycle));
      this.#coalesced++;
    } else {
      flight = this.#start(id, key, loader, o, stale, timeout, beta);
    }
    if (caller !== null) caller.waitsOn.push(flight);
    return flight.promise;
  }

  #start(id, key, loader, o, stale, timeout, beta = 0) {
    this.#loads++;
    const flight = new Flight(id, key, o);
    if (beta > 0) flight.startedAt = this.#time();
    this.#inflight.set(id, flight);
    if (timeout > 0) flight.timer = setTimeout(() => this.#timeOut(flight, timeout), timeout);
    const context = { key, stale, signal: flight.controller.signal };
    Promise.resolve()
      .then(() => (this.#link === null ? flight.call(loader, context) : this.#through(flight, loader, context)))
      .then((value) => this.#loaded(flight, value, o), (err) => this.#failed(flight, err));
    return flight;
  }

  /**
   * A load through the tier: L2 first (not for an early refresh, whose L2
   * copy is the one expiring); on a miss, one isolate at a time
   * calls the loader where the tier has locks (the others wait for its value,
   * or load by themselves once its lock expires).
   */
  async #through(flight, loader, context) {
    const link = this.#link;
    const id = tierKeyId(flight.key);
    const epoch = link.epoch;
    const entry = flight.early ? undefined : await link.lookup(id);
    if (entry) {
      const served = this.#fromTier(flight, entry, epoch, loader, context);
      if (served !== undefined) return served;
    }
    const lockTtl = this.#lockTtl();
    // ifAbsent after a miss: another isolate may have finished its whole
    // load (written L2, released its lock) since the read above; its value is
    // served then, not loaded again. (Not after an entry of no use, nor for
    // an early refresh, which replaces L2's copy.)
    let release = await link.lock(id, lockTtl, entry === null);
    if (release !== null && typeof release === "object") {
      const served = this.#fromTier(flight, release.stored, epoch, loader, context);
      if (served !== undefined) return served;
      release = await link.lock(id, lockTtl); // an entry of no use: lock as for a miss
    }
    if (release === null) {
      const got = await link.awaitHolder(id, lockTtl, Date.now() + lockTtl);
      if (typeof got === "function") {
        release = got;
      } else if (got !== undefined) {
        const served = this.#fromTier(flight, got, epoch, loader, context);
        if (served !== undefined) return served;
      }
    }
    flight.release = release ?? undefined;
    return flight.call(loader, context);
  }

  #lockTtl() {
    const t = this.#link === null ? undefined : this.#link.lockTtl;
    return typeof t === "number" && t > 0 ? t : DEFAULT_LOCK_TTL_MS;
  }

  /**
   * What a load makes of an L2 entry: its value when fresh (L1 is filled
   * with it); when stale within its stale-while-revalidate window, the stale
   * value at once while the loader refreshes it; within stale-if-error, the
   * loader's value or, if the loader fails, the stale one. undefined: the
   * entry is of no use and the loader runs.
   */
  #fromTier(flight, entry, epoch, loader, context) {
    let value;
    try {
      value = this.#codec.decode(entry.value);
    } catch {
      this.#link.counters.tierErrors++;
      return undefined;
    }
    const { meta } = entry;
    const now = this.#time();
    if (meta.expiresAt === 0 || now < meta.expiresAt) {
      // A remote invalidation during the read may concern this value: serve it, keep it out of L1.
      if (epoch === this.#link.epoch) flight.fill = entry;
      return value;
    }
    const late = now - meta.expiresAt;
    const refresh = { ...context, stale: value };
    if (late < meta.swr) {
      flight.resolve(value);
      return flight.call(loader, refresh);
    }
    if (late < meta.sie) {
      return Promise.resolve(flight.call(loader, refresh)).catch(() => {
        flight.fill = null;
        flight.superseded = true; // nothing to store: the stale value answers
        return value;
      });
    }
    return undefined;
  }

  /** Stores an L2 entry in L1 with its remaining lifetime, windows, tags and dependencies. */
  #fill(key, entry) {
    const { meta } = entry;
    const remaining = meta.expiresAt === 0 ? 0 : Math.max(1, Math.ceil(meta.expiresAt - this.#time()));
    const o = { ttl: remaining, grace: Math.max(meta.swr, meta.sie), tags: meta.tags, deps: meta.deps, swr: meta.swr, sie: meta.sie };
    return this.#write(key, entry.value, o, { codec: bytesCodec, fromLoad: true });
  }

  /** Stores a load's result (unless superseded) and hands it to the waiters. */
  #loaded(flight, value, o) {
    if (flight.settled) return; // timed out: nobody waits, nothing is stored
    if (value === undefined) {
      this.#failed(flight, new TypeError("loader resolved to undefined; resolve null to cache an absence"));
      return;
    }
    if (!flight.superseded && !this.#freed) {
      try {
        if (flight.fill) this.#fill(flight.key, flight.fill);
        else this.#writeLoaded(flight, value, o);
      } catch (err) {
        this.#failed(flight, err);
        return;
      }
    }
    if (flight.superseded || flight.fill) flight.release?.();
    this.#settle(flight);
    flight.resolve(value);
  }

  /** Stores a loader's value; with early refresh on, the entry records how
   * long the load took (the core's `load_time`, set around this write only). */
  #writeLoaded(flight, value, o) {
    const timed = flight.startedAt !== undefined;
    if (timed) this.#inner.load_time(loadTime(flight.startedAt, this.#time()));
    try {
      if (this.#link === null) this.#write(flight.key, value, o, { fromLoad: true });
      else this.#writeTiered(flight.key, value, o, false).ack.finally(() => flight.release?.());
    } finally {
      if (timed) this.#inner.load_time(0);
    }
  }

  /** Rejects the waiters of a load with `err`; counted in loadErrors. */
  #failed(flight, err) {
    if (flight.settled) return;
    this.#loadErrors++;
    flight.release?.();
    this.#settle(flight);
    flight.reject(err);
  }

  #settle(flight) {
    flight.settled = true;
    clearTimeout(flight.timer);
    flight.waitsOn.length = 0;
    if (this.#inflight.get(flight.id) === flight) this.#inflight.delete(flight.id);
  }

  /** loadTimeout passed: the waiters get an error, the loader's signal aborts. */
  #timeOut(flight, timeout) {
    const err = new Error(`edgecache: the load of key ${show(flight.key)} did not settle within ${timeout} ms (loadTimeout)`);
    err.name = "TimeoutError";
    this.#failed(flight, err);
    flight.controller.abort(err);
  }

  /** Awaits save(), caches its result (a change: dependents go), returns it. */
  async writeThrough(key, save, options) {
    this.#live();
    checkKey(key);
    if (typeof save !== "function") throw new TypeError(`save must be a function; got ${describe(save)}`);
    const o = this.#writeOpts(options, "writeThrough");
    const value = await save();
    if (value === undefined) throw new TypeError("save resolved to undefined; resolve the stored value (or null)");
    this.#live();
    if (this.#link === null) this.#write(key, value, o);
    else await this.#writeTiered(key, value, o, true).ack;
    return value;
  }

  /** An async function that caches fn's results per arguments. */
  memoize(fn, options = {}) {
    this.#live();
    if (typeof fn !== "function") throw new TypeError(`fn must be a function; got ${describe(fn)}`);
    if (!isObject(options)) throw new TypeError(`memoize options must be an object; got ${describe(options)}`);
    const { key: keyOf, ...rest } = options;
    if (keyOf !== undefined && typeof keyOf !== "function") throw new TypeError(`options.key must be a function of the arguments; got ${describe(keyOf)}`);
    this.#writeOpts(rest, "memoize");
    this.#timeoutOpt(rest);
    this.#earlyRefreshOpt(rest);
    const id = ++memoIds;
    const keyFor = keyOf ?? ((...args) => ["\u0000memoize", id, JSON.stringify(args) ?? ""]);
    return (...args) => this.getOrLoad(keyFor(...args), () => fn(...args), rest);
  }

  /** Stores [key, value | loader] pairs; resolves to how many were stored. */
  async prewarm(entries) {
    this.#live();
    if (entries === null || typeof entries !== "object" || typeof entries[Symbol.iterator] !== "function") {
      throw new TypeError(`entries must be an iterable of [key, value | loader] pairs; got ${describe(entries)}`);
    }
    const list = [...entries];
    list.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length < 2) throw new TypeError(`entries[${i}] must be a [key, value | loader] pair`);
      checkKey(pair[0], `entries[${i}][0]`);
      if (pair[1] === undefined) throw new TypeError(`entries[${i}][1] must not be undefined`);
      this.#writeOpts(pair[2], "prewarm");
      this.#timeoutOpt(pair[2]);
      this.#earlyRefreshOpt(pair[2]);
    });
    let stored = 0;
    await Promise.all(list.map(async ([k, v, opts]) => {
      const o = this.#writeOpts(opts, "prewarm");
      if (typeof v === "function") {
        try {
          await this.#load(keyId(k), k, v, o, undefined, this.#timeoutOpt(opts), this.#earlyRefreshOpt(opts));
          if (this.has(k)) stored++;
        } catch {
          // counted in loadErrors; warming never rejects for one bad loader
        }
      } else if (this.#write(k, v, o)) {
        stored++;
      }
    }));
    return stored;
  }

  /** Counters, sizes and the hit ratio: the core's fields (as src/wasm.rs
   * names them) and those the host keeps (HOST_STATS). */
  stats() {
    if (this.#freed) this.#live();
    const s = this.#inner.stats();
    if (s.windowShare === undefined || s.windowShare === null) delete s.windowShare;
    s.loads = this.#loads;
    s.coalesced = this.#coalesced;
    s.loadErrors = this.#loadErrors;
    s.maxMemory = this.#maxMemory;
    s.wasmMemory = memorySize();
    if (this.#link !== null) Object.assign(s, this.#link.counters);
    return s;
  }

  /**
   * The live entries as a snapshot: least recently used first, each with its
   * absolute expiry, stale window, tags and dependsOn keys, and the codec's
   * state (the json codec's shapes), so that load() in another cache, in
   * another isolate or process, restores them.
   */
  dump() {
    this.#live();
    const state = this.#codec.snapshotState?.() ?? NO_STATE;
    try {
      return this.#inner.dump(this.#time(), this.#codec.name, state);
    } catch (err) {
      throw realError(err);
    }
  }

  /**
   * Restores a snapshot from dump(); returns how many entries were loaded.
   * Entries expired by now, keys already cached, and (when the rest do not
   * fit) the least recently used are skipped. A truncated, corrupt or
   * foreign snapshot throws a TypeError and changes nothing.
   */
  load(snapshot) {
    this.#live();
    if (!(snapshot instanceof Uint8Array)) throw new TypeError(`snapshot must be a Uint8Array from dump(); got ${describe(snapshot)}`);
    const streamed = this.#loadStreamed(snapshot);
    if (streamed !== undefined) return streamed;
    let staged;
    try {
      staged = new WasmSnapshot(snapshot.length);
    } catch (err) {
      throw realError(err);
    }
    try {
      let header;
      try {
        for (const piece of piecesOf(snapshot)) staged.append(piece);
        header = staged.check();
      } catch (err) {
        throw realError(err);
      }
      this.#adoptSnapshotCodec(header)?.();
      let n;
      try {
        n = this.#inner.load(staged, this.#time());
      } catch (err) {
        throw realError(err);
      }
      if (n > 0) this.#timeless = false; // loaded entries may have a TTL
      return n;
    } finally {
      staged.free();
    }
  }

  /** A snapshot header's codec checked against this cache's (a TypeError
   * naming both when they differ); returns what adopts its codec state, if
   * the codec keeps one. */
  #adoptSnapshotCodec(header) {
    if (header.codec !== this.#codec.name) {
      throw new TypeError(`edgecache: snapshot was written with the ${JSON.stringify(header.codec)} codec; this cache uses ${JSON.stringify(this.#codec.name)}`);
    }
    return this.#codec.adoptSnapshotState?.(header.codecState);
  }

  /**
   * load() of a plain snapshot into an empty cache with room for it
   * (src/snapshot_stream.rs): two passes over the bytes in pieces, one
   * piece in linear memory at a time; the first checks all of it, the
   * second applies it. Returns undefined, having changed nothing, for a
   * snapshot it does not take or finds wrong: load() then stages it,
   * which names what is wrong. Bytes another thread may change between
   * the passes (a SharedArrayBuffer's) are always staged.
   */
  #loadStreamed(snapshot) {
    if (typeof SharedArrayBuffer === "function" && snapshot.buffer instanceof SharedArrayBuffer) return undefined;
    const stream = new WasmSnapshotStream(snapshot.length);
    try {
      let header;
      try {
        for (const piece of piecesOf(snapshot)) if (!stream.check_piece(piece)) return undefined;
        header = stream.checked();
      } catch (err) {
        throw realError(err);
      }
      if (header === null) return undefined;
      const adopt = this.#adoptSnapshotCodec(header);
      const now = this.#time();
      let n;
      try {
        if (!this.#inner.load_begin(stream, now)) return undefined;
      } catch (err) {
        throw realError(err);
      }
      adopt?.();
      let failed = null;
      try {
        for (const piece of piecesOf(snapshot)) this.#inner.load_piece(stream, piece, now);
      } catch (err) {
        failed = err;
      }
      try {
        n = this.#inner.load_end(stream);
      } catch (err) {
        failed ??= err;
      }
      if (n > 0 || failed !== null) this.#timeless = false;
      if (failed !== null) throw realError(failed);
      return n;
    } finally {
      stream.free();
    }
  }

  /**
   * Stores a snapshot of this cache in its tier under `name`, for a new
   * isolate to start warm from (loadSnapshot, or the warmStart option).
   * First the invalidations the tier logged that this isolate has not
   * applied yet are applied, and the log's position goes with the snapshot:
   * a load replays the log from there. Resolves true once the tier has it,
   * false when it was dropped or this isolate could not reach the log. The
   * snapshot is stored under the tags its entries carry: invalidating any
   * of them hides it.
   */
  async saveSnapshot(options = {}) {
    this.#live();
    const { name } = this.#snapshotOpts(options, "saveSnapshot");
    const position = await this.#link.catchUp(this.#tierTimeout * SNAPSHOT_TIMEOUT_FACTOR);
    if (position === null || this.#freed) return false;
    // From here to the dump nothing awaits: L1 is as of `position`, or newer.
    const now = this.#time();
    const dumped = this.dump();
    let snapshot;
    try {
      snapshot = frameSnapshot(position, dumped);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      this.#link.counters.tierErrors++; // the tier's position does not fit the frame
      return false;
    }
    const tags = this.#liveTags(now);
    const meta = { expiresAt: 0, swr: 0, sie: 0, tags, deps: [], tagIds: tags.map(tierTagId), depIds: [] };
    const key = snapshotKey(name);
    return this.#link.set(tierKeyId(key), key, snapshot, meta, 0, false, TIER_SNAPSHOT_CODEC);
  }

  /**
   * Loads the snapshot stored in the tier under `name` (by saveSnapshot),
   * then applies every invalidation the tier logged since it was saved, in
   * the same step: nothing changed after the save is served. Resolves to how
   * many entries were loaded (before those invalidations): 0 when the tier
   * has none, is unreachable, holds one this cache cannot read, or its log
   * no longer reaches back to the save (the last three counted in tierErrors).
   */
  async loadSnapshot(options = {}) {
    this.#live();
    const { name } = this.#snapshotOpts(options, "loadSnapshot");
    const link = this.#link;
    const ms = this.#tierTimeout * SNAPSHOT_TIMEOUT_FACTOR;
    const entry = await link.read(tierKeyId(snapshotKey(name)), TIER_SNAPSHOT_CODEC, ms);
    if (entry === undefined || this.#freed) return 0;
    let framed;
    try {
      framed = unframeSnapshot(entry.value);
    } catch (err) {
      if (!(err instanceof EntryFormatError)) throw err;
      link.counters.tierErrors++;
      return 0;
    }
    // Read after the snapshot: it covers every message since the save,
    // those this isolate's subscription delivered while L1 lacked the snapshot too.
    // What reaches L1 after the log was read (a message delivered before its
    // answer, this isolate's own invalidations) is watched and applied again
    // after the load; a loss meanwhile may have taken messages the log's
    // answer does not have.
    const watch = link.watch();
    try {
      const changes = await link.changesSince(framed.position, ms);
      if (changes === null || this.#freed || watch.lost) return 0;
      let n;
      try {
        n = this.load(framed.dump);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        link.counters.tierErrors++;
        return 0;
      }
      link.replay(changes.messages);
      link.replay(watch.messages);
      return n;
    } finally {
      link.unwatch(watch);
    }
  }

  #snapshotOpts(options, where) {
    if (!isObject(options)) throw new TypeError(`${where} options must be an object; got ${describe(options)}`);
    const { name = "default" } = options;
    if (typeof name !== "string") throw new TypeError(`name must be a string; got ${describe(name)}`);
    if (this.#link === null) throw new TypeError(`${where} needs a tier (the cache's tier option)`);
    if (!this.#link.hasLog) throw new TypeError(NO_LOG(where));
    return { name };
  }

  /** The tags a snapshot taken now holds entries of. */
  #liveTags(now) {
    const packed = this.#inner.live_tags(now);
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    const tags = [];
    for (let at = 0; at < packed.length;) {
      const n = view.getUint32(at, true);
      tags.push(decodeTag(packed.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
    return tags;
  }

  /** The warmStart snapshot, loaded once, before the first getOrLoad goes on. */
  #warmOnce() {
    this.#warming ??= this.loadSnapshot({ name: this.#warmName }).catch(() => 0).finally(() => {
      this.#warmName = null;
    });
    return this.#warming;
  }

  /** Drops every entry; keeps the configuration. */
  clear() {
    this.#live();
    this.#inner.clear();
    for (const f of this.#inflight.values()) f.superseded = true;
    this.#inflight.clear();
  }

  /** Releases the instance; later calls throw. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    this.#link?.close();
    for (const f of this.#inflight.values()) {
      f.superseded = true;
      clearTimeout(f.timer);
      f.controller.abort(new Error("edgecache: the Cache was freed"));
    }
    this.#inflight.clear();
    this.#inner.free();
  }
}

/** The error of a getOrLoad that would wait for its own load: `cycle` runs
 * from the load of `key` to the load that called. */
function selfWaitError(key, cycle) {
  const chain = [...cycle.map((f) => show(f.key)), show(key)].join(" → ");
  return new Error(`edgecache: getOrLoad of key ${show(key)} was called by a load that waits for it (${chain}), and would never settle`);
}

/** cache.memoize(fn, options) as a function. */
export function memoize(cache, fn, options) {
  if (!(cache instanceof Cache)) throw new TypeError(`cache must be a Cache; got ${describe(cache)}`);
  return cache.memoize(fn, options);
}
