/**
 * edgecache: a per-isolate memory cache for Cloudflare Workers, Deno, Node and
 * browsers. A Rust engine in WebAssembly keeps keys and values as bytes under
 * a hard byte budget.
 */

/** Milliseconds. */
export type Milliseconds = number;
/** Bytes. */
export type Bytes = number;

/** A key: a string, a finite number, or a composite (Russian-doll) key of those. */
export type Key = string | number | ReadonlyArray<string | number>;

/** The eight Redis `maxmemory-policy` names, plus the admission-filtered `allkeys-adaptive`. */
export type Policy =
  | "allkeys-lru"
  | "allkeys-lfu"
  | "allkeys-random"
  | "volatile-lru"
  | "volatile-lfu"
  | "volatile-random"
  | "volatile-ttl"
  | "noeviction"
  | "allkeys-adaptive";

/** A value codec: bytes in wasm memory and back. */
export interface Codec<V = unknown> {
  /** Names the format in snapshots and tier entries ("custom:<name>"), so that a cache refuses
   * another custom codec's bytes; 1 to 100 visible ASCII characters. Without it every custom
   * codec is "custom", and their snapshots cannot be told apart. */
  name?: string;
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

/** A JSON-compatible value (what the default `"json"` codec stores). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

export interface CacheOptions {
  /** Hard budget over keys, values and per-entry overhead. @default 33554432 (32 MiB) */
  maxMemory?: Bytes;
  /** Hard bound on the number of entries, up to 2^32 − 1; 0 = none. @default 0 */
  maxEntries?: number;
  /**
   * Eviction policy. `"allkeys-adaptive"` keeps policy metadata outside `maxMemory`: about 58 KiB
   * for a small cache, about 64 bytes per entry of capacity for a large one (with only a byte
   * budget, per entry held: its memory of evicted keys keeps at most two per entry held, and its
   * sampled simulation a bounded number of keys). @default "allkeys-lru"
   */
  policy?: Policy;
  /**
   * Default TTL; 0 = no expiry. Every time option counts whole ms: a value between 0 and 1 is 1 ms.
   * TTLs and stale windows above 2^53 ms are a RangeError. @default 0
   */
  ttl?: Milliseconds;
  /** Each TTL is drawn uniformly from [ttl·(1−jitter), ttl]; 0 ≤ jitter < 1. @default 0 */
  jitter?: number;
  /** How long an expired entry may still be served while one refresh runs. @default 0 */
  staleWhileRevalidate?: Milliseconds;
  /** How long an expired entry may be served when its refresh fails. @default 0 */
  staleIfError?: Milliseconds;
  /**
   * How long a load (getOrLoad, memoize, prewarm) may take before its waiters are rejected with a
   * TimeoutError naming the key and its loader's signal is aborted; 0 = no limit, at most 2^31 − 1. @default 0
   */
  loadTimeout?: Milliseconds;
  /**
   * Early refresh (XFetch, Vattani et al., VLDB 2015): a getOrLoad/memoize read of a fresh entry
   * starts one background refresh (single flight, handed to waitUntil) when
   * `now − delta·beta·ln(U) ≥ expiry`, where delta is how long the entry's last load took (recorded
   * with the entry by loads that use earlyRefresh) and U is drawn from the cache's seeded generator;
   * the probability rises as expiry nears. beta = earlyRefresh: 0 = off, 1 = the paper's default,
   * higher refreshes earlier. A finite number ≥ 0. Entries with a TTL only. @default 0
   */
  earlyRefresh?: number;
  /** Value codec. The "json" codec stores arrays and objects nested up to 1000 deep. @default "json" */
  codec?: "json" | "text" | "bytes" | Codec<any>;
  /** The clock. @default () => Date.now() */
  now?: () => Milliseconds;
  /** Fixed seed for hashing and randomness (tests, demos); drawn from crypto when absent. */
  seed?: number;
  /**
   * A shared tier (L2) between this cache and the loaders: `redisTier` (edgecache/redis), `kvTier` or
   * `cacheApiTier` (edgecache/cloudflare), `denoKvTier` (edgecache/deno), `memoryTier` (edgecache/memory) or your own. getOrLoad, memoize and prewarm loaders read L1 → L2 → loader;
   * set, delete, invalidate, invalidateTag and writeThrough reach L2 and every other cache on it.
   * With the "json" codec, a tiered cache stores objects without shared shapes (other isolates read its bytes).
   */
  tier?: Tier;
  /** How long a tier read may take before the call goes on without it (writes get ten times this). @default 50 */
  tierTimeout?: Milliseconds;
  /** Receives every background promise of the tier's write queue (Workers: ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * With a tier: the first getOrLoad first loads the snapshot saveSnapshot() stored in the tier
   * (true: the one named "default"; a string: that name), so a new isolate starts warm; the tier's
   * invalidations since the save are applied first. The tier must keep an invalidation log
   * (`Tier.changes`; else a TypeError). @default false
   */
  warmStart?: boolean | string;
}

/** Which snapshot in the tier saveSnapshot and loadSnapshot mean. */
export interface SnapshotOptions {
  /** @default "default" */
  name?: string;
}

/** One operation a cache sends its tier; a tier applies a batch of them in order. */
export type TierOp =
  /** Store `bytes` under `id` for `ttl` ms (0: no expiry), with tag and dependency ids. `change`: a
   * set or writeThrough: remove what depends on `id` and tell the other caches about `key`. */
  | { type: "set"; id: string; key: Key; bytes: Uint8Array; ttl: Milliseconds; tagIds: string[]; depIds: string[]; change: boolean }
  /** Remove `id` and, transitively, what depends on it; tell the other caches about `key`. */
  | { type: "invalidate"; id: string; key: Key }
  /** Hide every entry tagged `id` written before now; tell the other caches about `tag`. */
  | { type: "invalidateTag"; id: string; tag: string };

/** Invalidations one cache made (`origin`), as a tier delivers and logs them. */
export interface TierMessage {
  origin: string;
  keys: Key[];
  tags: string[];
  /**
   * Where the message sits in the tier's log (`Tier.changes`), when it keeps one. A cache takes it to
   * mean that every message up to it has reached it (or that `lost` was called): a tier whose channel
   * comes up late delivers what it missed first (the Redis tier reads it from its log).
   */
  position?: string;
}

/** What a tier tells the caches subscribed to it. */
export interface TierListener {
  /** Invalidations another cache made (`origin` is the one that made them), in the order they were made. */
  invalidate(message: TierMessage): void;
  /** Messages may have been missed: each cache drops its L1. */
  lost(): void;
}

/**
 * A shared tier. Ids are well-formed strings, equal exactly when the keys (or tags) are. A call may
 * reject or be slow: the cache counts it in tierErrors and goes on without it.
 */
export interface Tier {
  /** The entry's bytes, or null when absent, expired, or hidden by a later tag invalidation. */
  get(id: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | null | undefined>;
  /** Applies `ops` in order; resolves once the tier has them and the other caches are told. */
  apply(ops: TierOp[], options: { origin: string; signal?: AbortSignal }): Promise<void>;
  /** Delivers other caches' invalidations; returns a function that stops them. */
  subscribe?(listener: TierListener): (() => void | Promise<void>) | void;
  /**
   * A lock for cross-cache single flight: resolves null when another holds it. With `ifAbsent`, a
   * tier that can check it in the same atomic step resolves `{ stored }` instead of locking when
   * `get(id)` would find an entry (`stored`: its bytes), so a cache whose miss raced with another's
   * whole load serves that load's value instead of loading again. A tier that ignores `ifAbsent`
   * still works: such races then cost one more loader call.
   */
  lock?(id: string, ttl: Milliseconds, options?: { signal?: AbortSignal; ifAbsent?: boolean }): Promise<{ release(): unknown } | { stored: Uint8Array } | null>;
  /** How long a load lock lasts at most (a waiter whose holder died loads after it). @default 5000 */
  lockTtl?: Milliseconds;
  /**
   * The tier's invalidation log: the messages it delivered after position `after`, oldest first, and
   * the position of the last one (the log's head). Without `after`: the head and no messages. Null
   * when the log no longer holds every message after `after` (trimmed, or a position from another
   * epoch of the store). Positions are the tier's own strings; messages carry theirs.
   *
   * Snapshots need it: saveSnapshot stores the position its L1 reflects, and a warm start replays the
   * log from there before serving anything. A tier without it takes no snapshots: saveSnapshot,
   * loadSnapshot and the warmStart option throw a TypeError (a warm start could not learn what
   * changed after the save, and would serve it).
   */
  changes?(after: string | undefined, options?: { signal?: AbortSignal }): Promise<{ position: string; messages: TierMessage[] } | null>;
}

export interface SetOptions {
  /** TTL for this entry; 0 = never expires. @default the cache's ttl */
  ttl?: Milliseconds;
  /** Tags for invalidateTag(). @default [] */
  tags?: string[];
  /** Keys this entry was built from: a change to any of them removes it. @default [] */
  dependsOn?: Key[];
  /** Stale-while-revalidate window for this entry. @default the cache's */
  staleWhileRevalidate?: Milliseconds;
  /** Stale-if-error window for this entry. @default the cache's */
  staleIfError?: Milliseconds;
}

export interface LoadOptions extends SetOptions {
  /** loadTimeout of a load this call starts (a call that joins a load shares its timeout). @default the cache's */
  loadTimeout?: Milliseconds;
  /** Receives the background refresh promise (stale-while-revalidate, early refresh; Workers: ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Early refresh's beta for this call (see CacheOptions.earlyRefresh). @default the cache's */
  earlyRefresh?: number;
}

export interface LoaderContext<V> {
  /** The key being loaded. */
  key: Key;
  /** The stale value being refreshed, if any. */
  stale: V | undefined;
  /** Aborted when the cache is freed or the load's loadTimeout passes. */
  signal: AbortSignal;
}

export type Loader<V> = (context: LoaderContext<V>) => V | Promise<V>;

export interface MemoizeOptions<A extends unknown[]> extends LoadOptions {
  /** Maps the arguments to a key. @default a key from the function's identity and JSON of the arguments */
  key?: (...args: A) => Key;
}

export interface Stats {
  hits: number;
  misses: number;
  staleHits: number;
  sets: number;
  /** Refused writes: larger than maxMemory, no room under the policy, or a key,
   * tags and dependsOn longer than 64 KiB together (such a key is never stored). */
  rejected: number;
  evictions: number;
  expirations: number;
  invalidations: number;
  deletes: number;
  replacements: number;
  /** Loads started by getOrLoad/memoize/prewarm. */
  loads: number;
  /** Callers that joined a load already in flight. */
  coalesced: number;
  loadErrors: number;
  entries: number;
  bytes: Bytes;
  maxMemory: Bytes;
  /** hits / (hits + misses); 0 when both are 0. */
  hitRatio: number;
  /** Byte size of the wasm linear memory (shared by every cache of the isolate;
   * it never shrinks). A refused write does not grow it. */
  wasmMemory: Bytes;
  /** With a tier: loads answered from L2. */
  tierHits?: number;
  /** With a tier: L2 reads that found nothing. */
  tierMisses?: number;
  /** With a tier: L2 calls that failed, timed out or returned bytes that do not parse (each one went on without L2). */
  tierErrors?: number;
  /** With a tier: writes dropped because the tier was down or the queue full (invalidations are never dropped silently). */
  tierDropped?: number;
  /** allkeys-adaptive only: the share of the budget new entries enter (W-TinyLFU's window, or S3-FIFO's small queue: 0.1). */
  windowShare?: number;
}

export declare class Cache<V = any> {
  constructor(options?: CacheOptions);
  /** Stores value under key; false when refused (too large, or no room under the policy). */
  set(key: Key, value: V, options?: SetOptions): boolean;
  /** A fresh decoded copy of the value, or undefined. */
  get(key: Key): V | undefined;
  /** Like get() without changing recency, frequency or stats. */
  peek(key: Key): V | undefined;
  /** Whether a fresh value is cached; changes nothing. */
  has(key: Key): boolean;
  /** Removes key and its dependents; true if a fresh value was there. */
  delete(key: Key): boolean;
  /**
   * Cache-aside: concurrent callers share one load; stale windows apply. A change of the key (set,
   * delete, invalidate, its tags, what it depends on, clear) detaches the load: later callers start a
   * new one and its result is not stored. A loader that waits for its own key (directly or through
   * other loads, when each getOrLoad comes before its loader's first await) gets an Error naming it.
   */
  getOrLoad(key: Key, loader: Loader<V>, options?: LoadOptions): Promise<V>;
  /** Awaits save(), caches its result (dependents are removed), returns it. */
  writeThrough(key: Key, save: () => V | Promise<V>, options?: SetOptions): Promise<V>;
  /** An async function that caches fn's results. */
  memoize<A extends unknown[], R extends V>(fn: (...args: A) => R | Promise<R>, options?: MemoizeOptions<A>): (...args: A) => Promise<R>;
  /** Removes key and, transitively, its dependents; returns how many entries went. */
  invalidate(key: Key): number;
  /** Invalidates every entry set with tag before this call; returns how many. */
  invalidateTag(tag: string): number;
  /** Stores [key, value | loader] pairs; resolves to how many were stored. */
  prewarm(entries: Iterable<readonly [Key, V | Loader<V>] | readonly [Key, V | Loader<V>, Omit<LoadOptions, "waitUntil">]>): Promise<number>;
  stats(): Stats;
  /**
   * The live entries as a snapshot: least recently used first, each with its absolute expiry, stale
   * window, tags and dependsOn keys, plus the codec's state (the json codec's shapes), so that load()
   * restores them in another cache, isolate, process or runtime.
   */
  dump(): Uint8Array;
  /**
   * Restores a snapshot from dump(); returns how many entries were loaded. Skipped: entries expired
   * by now, keys already cached, and when the rest do not all fit, the least recently used. Loading
   * changes no key (no cascade) and counts no write. A truncated, corrupt, foreign-version or
   * foreign-codec snapshot (or json shapes that differ from this cache's) is a TypeError, and
   * nothing changes.
   */
  load(snapshot: Uint8Array): number;
  /**
   * With a tier: stores dump() in it under `name`, with the position of the tier's invalidation log
   * this cache reflects, and under the tags its entries carry (invalidating any of them hides the
   * snapshot). Resolves true once the tier has it, false when it was dropped or the log could not be
   * reached (or no longer reaches back to what this cache reflects: it drops its L1 then, as on a lost
   * channel). A tier without a log (`Tier.changes`) is a TypeError.
   */
  saveSnapshot(options?: SnapshotOptions): Promise<boolean>;
  /**
   * With a tier: loads the snapshot stored under `name` and, in the same step, applies every
   * invalidation the tier logged since its save (deletes, invalidations, writes, cascades, tags), so
   * nothing changed after the save is served. Resolves to how many entries were loaded (0 when there
   * is none, the tier is unreachable, it cannot be read, or the log no longer reaches back to the
   * save: the last three counted in tierErrors).
   */
  loadSnapshot(options?: SnapshotOptions): Promise<number>;
  /** Drops every entry of this cache's L1 (not of its tier); keeps the configuration. */
  clear(): void;
  /** Resolves when every write and invalidation queued for the tier was delivered (or dropped and counted). */
  flush(): Promise<void>;
  /** Releases the instance; later calls throw. */
  free(): void;
}

/** cache.memoize(fn, options) as a function. */
export declare function memoize<V, A extends unknown[], R extends V>(cache: Cache<V>, fn: (...args: A) => R | Promise<R>, options?: MemoizeOptions<A>): (...args: A) => Promise<R>;

/** A composite key as one printable string; equal exactly when the parts are equal. */
export declare function key(...parts: [string | number, ...(string | number)[]]): string;

/** The policy names, in documentation order. */
export declare const POLICIES: readonly Policy[];

export interface CachedFetchOptions {
  /** Freshness for responses that carry none (no max-age, s-maxage or Expires); never applied to a request with Cookie or Authorization. @default 0 */
  ttl?: Milliseconds;
  /** Honour Cache-Control, CDN-Cache-Control and Expires. When false, every storable response gets `ttl`. @default true */
  respectCacheControl?: boolean;
  /** Stale-while-revalidate window for responses whose Cache-Control names none. @default 0 */
  staleWhileRevalidate?: Milliseconds;
  /** Stale-if-error window for responses whose Cache-Control names none. @default 0 */
  staleIfError?: Milliseconds;
  /** How long a stale response is kept: for revalidation, and for requests that accept it stale
   * (`max-stale`, `stale-if-error`). @default 300000 */
  keepForRevalidation?: Milliseconds;
  /** Receives background revalidations (Workers: ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** The origin fetch. @default globalThis.fetch */
  fetch?: (request: Request) => Promise<Response>;
  /** Request headers added to the cache key (and to request collapsing) besides the URL, e.g. a tenant header. @default [] */
  keyHeaders?: readonly string[];
  /** Tags the responses this cachedFetch stores carry, for invalidateTag. @default [] */
  tags?: readonly string[];
  /** The largest body a miss buffers for storing; a larger one passes through unstored. Concurrent misses
   * on one cache buffer at most max(maxBodySize, maxMemory / 4) together; past it a miss passes through
   * unstored too. @default Math.floor(maxMemory / 8) */
  maxBodySize?: Bytes;
  /** The primary cache key instead of the URL (without fragment): a string as it is, a URL or a Request by
   * its URL. It keys storing, lookups, request collapsing, and what an unsafe request invalidates (the key
   * of a GET for its URL, Location and Content-Location). The origin still gets the client's request.
   * E.g. `(r) => sortQuery(dropQuery(MARKETING_QUERY_PARAMS)(r))`. Anything else it returns rejects the
   * request with a TypeError. */
  cacheKey?: (request: Request) => string | URL | Request;
  /** Headers for a CDN in front, on answers built from a shared stored entry. */
  downstream?: DownstreamOptions;
}

export interface DownstreamOptions {
  /** Send the entry's tags in this header, after any the origin sent: `Cache-Tag` comma-separated
   * (Cloudflare, Akamai), `Surrogate-Key` space-separated (Fastly). Tags must be visible ASCII without
   * the separator (a RangeError naming `tags` otherwise). */
  tagHeader?: "Cache-Tag" | "Surrogate-Key" | "cache-tag" | "surrogate-key";
  /** Send `CDN-Cache-Control: max-age=<lifetime>[, no-cache][, must-revalidate][, stale-while-revalidate=…]
   * [, stale-if-error=…]` (RFC 9213); the answer's `Age` says how much of the lifetime is used. @default false */
  cdnCacheControl?: boolean;
}

/** The URL with its query parameters sorted by name (stable: repeated names keep their order), without
 * fragment. The pieces between `&` are kept as sent (never re-encoded); empty ones are dropped. A
 * `cacheKey` itself. */
export declare function sortQuery(input: Request | URL | string): URL;
/** A `cacheKey` that drops the query parameters whose names (decoded) match one of `patterns`: exact
 * names, or with `*` for any run of characters (`utm_*`). */
export declare function dropQuery(patterns: readonly string[]): (input: Request | URL | string) => URL;
/** Campaign-attribution parameters (`utm_*`, `fbclid`, `gclid`, `msclkid`, …) for `dropQuery`. */
export declare const MARKETING_QUERY_PARAMS: readonly string[];

/**
 * A fetch() with a shared HTTP cache (RFC 9111) in front of the origin: it
 * honours Cache-Control, CDN-Cache-Control, Expires, Age and Vary, revalidates
 * with ETag/Last-Modified, collapses concurrent misses, and answers with Age
 * and an RFC 9211 Cache-Status header. A GET with one byte Range is answered
 * 206 (or 416) from the stored whole response, which a ranged miss fetches
 * whole; a 206 from the origin is stored and completed with Range/If-Range.
 * A body fetch() decoded is stored without its Content-Encoding (with its
 * own Content-Length and a weak ETag). Redirects are returned, not followed
 * (`redirect: "manual"` unless `init.redirect` says otherwise; a followed
 * answer is never stored). The request's max-age, min-fresh, max-stale,
 * no-cache, no-store, only-if-cached (504 when nothing stored may answer)
 * and stale-if-error are honoured; a stale must-revalidate, proxy-revalidate
 * or s-maxage response whose origin cannot be reached is answered 504. Over a cache with a `tier`, responses are shared
 * by every cache on it ("edgecache; hit; detail=l2"), and a method not known
 * safe invalidates its URL in all of them.
 */
export declare function cachedFetch(cache: Cache<any>, options?: CachedFetchOptions): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
