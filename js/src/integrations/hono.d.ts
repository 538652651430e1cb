import type { Cache, CachedFetchOptions } from "../index.d.ts";

/** The part of a Hono `Context` the middleware reads (a real one fits). */
export interface HonoContextLike {
  req: { raw: Request; url: string; path: string; method: string };
}

export interface EdgeCacheOptions<C extends HonoContextLike = any> extends Omit<CachedFetchOptions, "fetch" | "waitUntil" | "tags"> {
  /** The cache the responses are stored in. */
  cache: Cache<any>;
  /** The cache key instead of the URL (misses on one key collapse; a successful POST to a URL with that key invalidates it). */
  key?: (c: C) => string;
  /** Tags for what is stored, for `cache.invalidateTag`. */
  tags?: readonly string[] | ((c: C) => readonly string[]);
  /** Let GET/HEAD with Cookie or Authorization through cachedFetch's rules (stored only when the handler's
   * Cache-Control says so explicitly) instead of bypassing the cache. @default false */
  cacheCredentialed?: boolean;
  /** The read methods the cache answers; a GET or HEAD left out bypasses it (Cache-Status
   * `fwd=bypass; detail=method`). Only "GET" and "HEAD" (any case). @default ["GET", "HEAD"] */
  methods?: readonly ("GET" | "HEAD" | "get" | "head")[];
  /** Which answers may be stored: final statuses (200–599), or a function of the status returning a
   * boolean. cachedFetch's own rules still apply to what it lets through. @default cachedFetch's rules alone */
  statuses?: readonly number[] | ((status: number) => boolean);
}

/**
 * A Hono middleware that caches the responses of the routes after it with cachedFetch's semantics
 * (Cache-Control, Vary, Cache-Status, request collapsing, stale-while-revalidate through
 * `c.executionCtx.waitUntil` where there is one).
 */
export declare function edgeCache<C extends HonoContextLike = any>(options: EdgeCacheOptions<C>): (c: C, next: () => Promise<void>) => Promise<void>;
