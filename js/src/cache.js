// Cache: the public class. Validates every argument before anything changes,
// encodes keys and values into the wasm I/O buffer, and keeps what only JS
// can do: the clock, codecs, single-flight loads and their counters.

import { WasmCache, ready, bytes, words, memorySize, STATUS, MAX_STAGED, MAX_TTL_MS } from "./runtime.js";
import { Writer, checkKey, encodeKey, keyId, describe } from "./keys.js";
import { makeCodec, bytesCodec } from "./codecs.js";

export const POLICIES = Object.freeze([
  "allkeys-lru", "allkeys-lfu", "allkeys-random",
  "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
  "noeviction", "allkeys-adaptive",
]);

const DEFAULT_MAX_MEMORY = 32 * 1024 * 1024;

/**
 * Internal door for cachedFetch (not public API): raw bytes that bypass the
 * cache's codec, and the cache's clock.
 */
export const internals = Symbol("edgecache.internals");
let memoIds = 0;

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
  if (n <= 64) {
    // Short payloads: a loop beats allocating a subarray view per write.
    for (let i = 0; i < n; i++) mem[at + i] = src[i];
  } else {
    mem.set(src.subarray(0, n), at);
  }
}

/** The kind byte that starts a string key's encoding (`src/key.rs`). */
const KIND_STR = 1;

/** Validates an optional number of milliseconds (undefined passes through). */
export function ms(value, name) {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds; got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite, non-negative number of milliseconds; got ${value}`);
  return value;
}

function checkTags(tags, name = "tags") {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new TypeError(`${name} must be an array of strings; got ${describe(tags)}`);
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== "string") throw new TypeError(`${name}[${i}] must be a string; got ${describe(tags[i])}`);
  }
  return tags;
}

function checkDeps(deps, name = "dependsOn") {
  if (deps === undefined) return [];
  if (!Array.isArray(deps)) throw new TypeError(`${name} must be an array of keys; got ${describe(deps)}`);
  for (let i = 0; i < deps.length; i++) checkKey(deps[i], `${name}[${i}]`);
  return deps;
}

export class Cache {
  #inner;
  #codec;
  #now;
  #w = new Writer();
  #out;
  #ioPtr = 0;
  #ioCap = 0;
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
  #inflight = new Map();
  #loads = 0;
  #coalesced = 0;
  #loadErrors = 0;

  /**
   * @param {import("./index.d.ts").CacheOptions} [options]
   */
  constructor(options = {}) {
    ready();
    if (!isObject(options)) throw new TypeError(`options must be an object; got ${describe(options)}`);
    const {
      maxMemory = DEFAULT_MAX_MEMORY, maxEntries = 0, policy = "allkeys-lru", ttl = 0, jitter = 0,
      staleWhileRevalidate = 0, staleIfError = 0, codec = "json", now = Date.now, seed,
    } = options;
    if (typeof maxMemory !== "number") throw new TypeError(`maxMemory must be a number of bytes; got ${describe(maxMemory)}`);
    if (!Number.isFinite(maxMemory) || maxMemory < 1) throw new RangeError(`maxMemory must be a positive number of bytes; got ${maxMemory}`);
    if (typeof maxEntries !== "number") throw new TypeError(`maxEntries must be a number; got ${describe(maxEntries)}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a non-negative integer; got ${maxEntries}`);
    if (typeof policy !== "string" || !POLICIES.includes(policy)) {
      throw new TypeError(`policy must be one of ${POLICIES.join(", ")}; got ${typeof policy === "string" ? JSON.stringify(policy) : describe(policy)}`);
    }
    ms(ttl, "ttl");
    if (typeof jitter !== "number") throw new TypeError(`jitter must be a number; got ${describe(jitter)}`);
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter must be in [0, 1); got ${jitter}`);
    ms(staleWhileRevalidate, "staleWhileRevalidate");
    ms(staleIfError, "staleIfError");
    if (typeof now !== "function") throw new TypeError(`now must be a function returning milliseconds; got ${describe(now)}`);
    if (seed !== undefined && (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0)) {
      throw new TypeError(`seed must be a non-negative safe integer; got ${describe(seed)}`);
    }
    this.#codec = makeCodec(codec);
    this.#now = now;
    this.#swr = staleWhileRevalidate;
    this.#sie = staleIfError;
    this.#maxMemory = maxMemory;
    this.#timeless = ttl === 0 && !policy.endsWith("-lfu");
    this.#noOpts = Object.freeze({ ttl: -1, grace: -1, tags: [], deps: [], swr: staleWhileRevalidate, sie: staleIfError });
    this.#inner = new WasmCache({
      maxMemory, maxEntries, policy, ttl, jitter, grace: Math.max(staleWhileRevalidate, staleIfError), seed,
    });
    this.#out = this.#inner.out_ptr() >>> 2;
  }

  // ----- plumbing -----

  #live() {
    if (this.#freed) throw new Error("edgecache: this Cache was freed; create a new one");
    if (!this.#ready) {
      // First use: the core draws its seed now (Workers forbid that at global scope).
      this.#inner.init();
      this.#ready = true;
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
    if (w.len > MAX_STAGED) return;
    this.#ensureIo(w.len);
    copyInto(bytes(), this.#ioPtr, w.buf, w.len);
  }

  /** Writes the key's encoding into the I/O buffer; returns its length (a
   * length above MAX_STAGED: not staged, and a miss). */
  #stageKey(k) {
    if (typeof k === "string" && k.length < MAX_STAGED) {
      // Fast path: ASCII strings go straight into wasm memory, no copy.
      const n = k.length;
      if (n + 1 > this.#ioCap) this.#ensureIo(n + 1);
      const mem = bytes();
      mem[this.#ioPtr] = KIND_STR;
      if (putAscii(mem, this.#ioPtr + 1, k) >= 0) return n + 1;
    }
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    this.#stage();
    return w.len;
  }

  #stageTag(tag) {
    const w = this.#w;
    w.len = 0;
    w.utf8(tag);
    this.#stage();
    return w.len;
  }

  /** Decodes the value the last read reported (with `codec`, or the cache's).
   * The reported address is valid only until the next call into wasm that
   * may free, reuse or grow memory (src/wasm.rs): it is read here at once. */
  #read(codec = this.#codec) {
    const out = words();
    return codec.decodeAt(bytes(), out[this.#out], out[this.#out + 1]);
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
    let stored;
    if (typeof k === "string" && k.length <= 64 && o.tags.length === 0 && o.deps.length === 0) {
      stored = this.#writePlain(k, v, o, codec);
    }
    if (stored === undefined) stored = this.#writeGeneral(k, v, o, codec);
    if (!fromLoad) this.#supersede(k);
    return stored;
  }

  #writeGeneral(k, v, o, codec) {
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    const keyLen = w.len;
    codec.encode(w, v);
    const valueLen = w.len - keyLen;
    for (const t of o.tags) w.prefixed(() => w.utf8(t));
    for (const d of o.deps) w.prefixed(() => encodeKey(w, d));
    if (w.len <= MAX_STAGED) {
      this.#stage();
      return this.#store(keyLen, valueLen, o, o.tags.length, o.deps.length);
    }
    // Too long to stage: key ‖ tags ‖ deps go to the I/O buffer if they fit
    // it, and the value straight into its place in the store.
    const metaLen = w.len - valueLen;
    if (metaLen > MAX_STAGED) return this.#refuse();
    this.#ensureIo(metaLen);
    const mem = bytes();
    mem.set(w.buf.subarray(0, keyLen), this.#ioPtr);
    mem.set(w.buf.subarray(keyLen + valueLen, w.len), this.#ioPtr + keyLen);
    return this.#storeInPlace(keyLen, w.buf.subarray(keyLen, keyLen + valueLen), o, o.tags.length, o.deps.length);
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
  #writePlain(k, v, o, codec) {
    const n = k.length;
    const tag = codec.stringTag;
    const direct = typeof v === "string" && tag !== undefined && v.length <= 100;
    const w = this.#w;
    let m;
    if (direct) {
      m = (tag < 0 ? 0 : 2) + v.length; // json: the string tag and a 1-byte length
    } else {
      // Check the key before the codec runs: it must encode the value only once.
      for (let i = 0; i < n; i++) if (k.charCodeAt(i) >= 0x80) return undefined;
      w.len = 0;
      codec.encode(w, v);
      m = w.len;
      if (1 + n + m > MAX_STAGED) {
        // Too long to stage beside the key: the value goes straight into its place.
        this.#ensureIo(1 + n);
        const mem = bytes();
        mem[this.#ioPtr] = KIND_STR;
        putAscii(mem, this.#ioPtr + 1, k);
        return this.#storeInPlace(1 + n, w.buf.subarray(0, m), o, 0, 0);
      }
    }
    this.#ensureIo(1 + n + m);
    const mem = bytes();
    mem[this.#ioPtr] = KIND_STR;
    let p = putAscii(mem, this.#ioPtr + 1, k);
    if (p < 0) return undefined;
    if (!direct) {
      copyInto(mem, p, w.buf, m);
    } else {
      if (tag >= 0) {
        mem[p++] = tag;
        mem[p++] = v.length;
      }
      if (putAscii(mem, p, v) < 0) return undefined;
    }
    return this.#store(1 + n, m, o, 0, 0);
  }

  /** Stores what the I/O buffer holds. */
  #store(keyLen, valueLen, o, tagCount, depCount) {
    if (o.ttl > 0) this.#timeless = false;
    // While no entry can expire (no TTL yet, not LFU) a write needs no clock either.
    const now = this.#readTime();
    const r = this.#inner.set(keyLen, valueLen, o.ttl, o.grace, tagCount, depCount, now);
    if (r < 0) this.#fail(r);
    return r === STATUS.STORED;
  }

  /** Stores the key, tags and deps the I/O buffer holds with `value`, which
   * the core places after every check: a refused write never copies it into
   * wasm memory. */
  #storeInPlace(keyLen, value, o, tagCount, depCount) {
    if (o.ttl > 0) this.#timeless = false;
    const now = this.#readTime();
    const r = this.#inner.set_in_place(keyLen, value.length, o.ttl, o.grace, tagCount, depCount, now);
    if (r < 0) this.#fail(r);
    if (r !== STATUS.STORED) return false;
    // The reported address is valid until the next call into wasm: fill it now.
    bytes().set(value, words()[this.#out]);
    return true;
  }

  /** A change of `key` (or of `tag`) means a load in flight for it, or built
   * on it, must not store its result. */
  #supersede(key, tag) {
    if (this.#inflight.size === 0) return;
    const id = key === undefined ? undefined : keyId(key);
    for (const [fid, f] of this.#inflight) {
      if (fid === id || (id !== undefined && f.depIds.includes(id)) || (tag !== undefined && f.tags.includes(tag))) {
        f.superseded = true;
      }
    }
  }

  [internals]() {
    return {
      now: () => this.#time(),
      maxMemory: this.#maxMemory,
      /** Stores bytes as they are. */
      setRaw: (key, bytes, options) => {
        this.#live();
        return this.#write(key, bytes, this.#writeOpts(options, "set"), { codec: bytesCodec });
      },
      /** A copy of the stored bytes, or undefined. */
      getRaw: (key) => {
        this.#live();
        const n = this.#stageKey(key);
        const r = this.#inner.get(n, this.#time(), false);
        if (r === STATUS.FRESH) return this.#read(bytesCodec);
        if (r === STATUS.MISS) return undefined;
        return this.#fail(r);
      },
    };
  }

  // ----- the contract -----

  /** Stores `value` under `key`. Returns false when the write is refused. */
  set(key, value, options) {
    this.#live();
    checkKey(key);
    const o = this.#writeOpts(options, "set");
    return this.#write(key, value, o);
  }

  /** A fresh decoded copy of the value, or undefined. */
  get(key) {
    this.#live();
    checkKey(key);
    const n = this.#stageKey(key);
    const r = this.#inner.get(n, this.#readTime(), false);
    if (r === STATUS.FRESH) return this.#read();
    if (r === STATUS.MISS) return undefined;
    return this.#fail(r);
  }

  /** Like get(), without changing recency, frequency or stats. */
  peek(key) {
    this.#live();
    checkKey(key);
    const n = this.#stageKey(key);
    const r = this.#inner.peek(n, this.#readTime());
    if (r === STATUS.FRESH) return this.#read();
    if (r === STATUS.MISS) return undefined;
    return this.#fail(r);
  }

  /** Whether a fresh value is cached; changes nothing. */
  has(key) {
    this.#live();
    checkKey(key);
    const n = this.#stageKey(key);
    const r = this.#inner.has(n, this.#readTime());
    if (r < 0) this.#fail(r);
    return r === 1;
  }

  /** Removes `key` and every entry built on it. True if a fresh value was there. */
  delete(key) {
    this.#live();
    checkKey(key);
    const n = this.#stageKey(key);
    const r = this.#inner.delete(n, this.#readTime());
    if (r < 0) this.#fail(r);
    this.#supersede(key);
    return r === 1;
  }

  /** Removes `key` and, transitively, its dependents. Returns how many entries went. */
  invalidate(key) {
    this.#live();
    checkKey(key);
    const n = this.#stageKey(key);
    const r = this.#inner.invalidate(n, this.#readTime());
    this.#supersede(key);
    return r;
  }

  /** Invalidates every entry set with `tag` before this call. O(1). */
  invalidateTag(tag) {
    this.#live();
    if (typeof tag !== "string") throw new TypeError(`tag must be a string; got ${describe(tag)}`);
    const n = this.#stageTag(tag);
    const r = this.#inner.invalidate_tag(n);
    this.#supersede(undefined, tag);
    return r;
  }

  /** Cache-aside with single-flight loads and stale windows. */
  async getOrLoad(key, loader, options) {
    this.#live();
    checkKey(key);
    if (typeof loader !== "function") throw new TypeError(`loader must be a function; got ${describe(loader)}`);
    const o = this.#writeOpts(options, "getOrLoad");
    const waitUntil = options?.waitUntil;
    if (waitUntil !== undefined && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
    const n = this.#stageKey(key);
    const now = this.#time();
    const r = this.#inner.get(n, now, true);
    if (r === 0) return this.#read();
    if (r < -1) this.#fail(r);
    const id = keyId(key);
    if (r === 1) {
      const stale = this.#read();
      const age = now - this.#expiredAt();
      if (age < o.swr) {
        if (!this.#inflight.has(id)) {
          const p = this.#load(id, key, loader, o, stale);
          p.catch(() => {}); // a failed background refresh keeps the stale value
          if (waitUntil) waitUntil(p);
        }
        return stale;
      }
      if (age < o.sie) {
        try {
          return await this.#load(id, key, loader, o, stale);
        } catch {
          return stale;
        }
      }
      return this.#load(id, key, loader, o, stale);
    }
    return this.#load(id, key, loader, o, undefined);
  }

  #load(id, key, loader, o, stale) {
    const existing = this.#inflight.get(id);
    if (existing !== undefined) {
      this.#coalesced++;
      return existing.promise;
    }
    this.#loads++;
    const flight = {
      controller: new AbortController(),
      superseded: false,
      tags: o.tags,
      depIds: o.deps.map(keyId),
      promise: null,
    };
    this.#inflight.set(id, flight);
    flight.promise = Promise.resolve()
      .then(() => loader({ key, stale, signal: flight.controller.signal }))
      .then(
        (value) => {
          if (this.#inflight.get(id) === flight) this.#inflight.delete(id);
          if (value === undefined) {
            this.#loadErrors++;
            throw new TypeError("loader resolved to undefined; resolve null to cache an absence");
          }
          if (!flight.superseded && !this.#freed) this.#write(key, value, o, { fromLoad: true });
          return value;
        },
        (err) => {
          if (this.#inflight.get(id) === flight) this.#inflight.delete(id);
          this.#loadErrors++;
          throw err;
        },
      );
    return flight.promise;
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
    this.#write(key, value, o);
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
    });
    let stored = 0;
    await Promise.all(list.map(async ([k, v, opts]) => {
      const o = this.#writeOpts(opts, "prewarm");
      if (typeof v === "function") {
        try {
          await this.#load(keyId(k), k, v, o, undefined);
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

  /** Counters, sizes and the hit ratio. */
  stats() {
    if (this.#freed) this.#live();
    const s = this.#inner.stats();
    return {
      hits: s.hits,
      misses: s.misses,
      staleHits: s.staleHits,
      sets: s.sets,
      rejected: s.rejected,
      evictions: s.evictions,
      expirations: s.expirations,
      invalidations: s.invalidations,
      deletes: s.deletes,
      replacements: s.replacements,
      loads: this.#loads,
      coalesced: this.#coalesced,
      loadErrors: this.#loadErrors,
      entries: s.entries,
      bytes: s.bytes,
      maxMemory: this.#maxMemory,
      hitRatio: s.hitRatio,
      wasmMemory: memorySize(),
      ...(s.windowShare !== undefined && s.windowShare !== null ? { windowShare: s.windowShare } : {}),
    };
  }

  /** Drops every entry; keeps the configuration. */
  clear() {
    this.#live();
    this.#inner.clear();
    for (const f of this.#inflight.values()) f.superseded = true;
  }

  /** Releases the instance; later calls throw. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    for (const f of this.#inflight.values()) {
      f.superseded = true;
      f.controller.abort(new Error("edgecache: the Cache was freed"));
    }
    this.#inflight.clear();
    this.#inner.free();
  }
}

/** cache.memoize(fn, options) as a function. */
export function memoize(cache, fn, options) {
  if (!(cache instanceof Cache)) throw new TypeError(`cache must be a Cache; got ${describe(cache)}`);
  return cache.memoize(fn, options);
}
