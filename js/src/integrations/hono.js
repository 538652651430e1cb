// edgecache/hono: a Hono middleware that answers through cachedFetch, with the
// app's own handlers as the origin. It imports nothing from hono (it only uses
// the Context it is called with) nor any runtime entry: the Cache passed in
// brings its runtime's build, and cachedFetch comes from the same files.
import { cachedFetch } from "../fetch.js";
import { unstorable } from "../fetch-freshness.js";

const MODULE = "edgecache/hono";
/** A custom key becomes the path of this URL, the one cachedFetch keys and invalidates by. */
const KEY_URL = "https://edgecache.invalid/key/";
/** What a bypassed credentialed read says in Cache-Status (RFC 9211 fwd=bypass). */
const BYPASS_STATUS = "edgecache; fwd=bypass; detail=credentials";
/** What a read of a method left out of `methods` says in Cache-Status. */
const BYPASS_METHOD = "edgecache; fwd=bypass; detail=method";
/** The methods cachedFetch can store answers for, and the default of `methods`. */
const CACHEABLE_METHODS = Object.freeze(["GET", "HEAD"]);
/** Final statuses (RFC 9110 §15): what `statuses` may list. */
const FINAL_STATUS_MIN = 200;
const FINAL_STATUS_MAX = 599;

/**
 * Caches the responses of the routes after it with cachedFetch's semantics:
 * freshness from the handler's Cache-Control, Vary, Cache-Status, concurrent
 * misses collapsed onto one handler call, stale-while-revalidate through
 * c.executionCtx.waitUntil where there is one. Responses with Set-Cookie are
 * never stored. A GET or HEAD with Cookie or Authorization bypasses the cache
 * (the handler answers it, nothing is stored) unless `cacheCredentialed` is
 * true: then cachedFetch's rules apply (stored only when the handler's
 * Cache-Control allows it explicitly). Other methods always go through, so a
 * successful POST invalidates its URL. `key(c)` replaces the URL as the key;
 * `tags` (an array, or a function of the context) tag what is stored.
 * `methods` (default GET and HEAD) are the reads the cache answers: a GET or
 * HEAD left out bypasses it. `statuses` (an array of final statuses, or a
 * function of the status) narrows which answers are stored; cachedFetch's
 * own rules (explicit freshness, or a heuristically cacheable status) still
 * apply to those it lets through.
 */
export function edgeCache(options) {
  if (options === null || typeof options !== "object") throw new TypeError(`${MODULE}: options must be an object with a cache`);
  const { key, tags, cacheCredentialed = false, methods = CACHEABLE_METHODS, statuses, ...fetchOptions } = options;
  const reads = methodsOption(methods);
  const storable = statusesOption(statuses);
  const { cache, ...rest } = fetchOptions;
  if (key !== undefined && typeof key !== "function") throw new TypeError(`${MODULE}: options.key must be a function of the context`);
  if (typeof cacheCredentialed !== "boolean") throw new TypeError(`${MODULE}: options.cacheCredentialed must be a boolean`);
  if (rest.fetch !== undefined || rest.waitUntil !== undefined) {
    throw new TypeError(`${MODULE}: options.fetch and options.waitUntil come from the app and its context; leave them out`);
  }
  // Validates the cachedFetch options once, now, rather than on every request.
  cachedFetch(cache, { ...rest, tags: typeof tags === "function" ? [] : tags });
  return async function edgeCacheMiddleware(c, next) {
    const method = c.req.raw.method;
    const read = method === "GET" || method === "HEAD";
    const bypass = read && !reads.has(method) ? BYPASS_METHOD
      : !cacheCredentialed && isCredentialedRead(c.req.raw) ? BYPASS_STATUS : undefined;
    if (bypass !== undefined) {
      await next();
      const answer = withStatus(c.res, bypass);
      c.res = undefined;
      c.res = answer;
      return;
    }
    const cfetch = cachedFetch(cache, {
      ...rest,
      tags: typeof tags === "function" ? tags(c) : tags,
      waitUntil: waitUntilOf(c),
      fetch: async () => {
        const res = await runHandler(c, next);
        if (storable !== undefined && !storable(res.status)) keptOut(res);
        return res;
      },
    });
    const response = await cfetch(keyedRequest(c, key));
    // Dropped first so Hono does not merge the handler's headers into the cached answer twice.
    c.res = undefined;
    c.res = response;
  };
}

/** The set of read methods the cache answers, from `methods`. */
function methodsOption(methods) {
  if (!Array.isArray(methods)) throw new TypeError(`${MODULE}: options.methods must be an array of "GET" and/or "HEAD"; got ${typeof methods}`);
  const set = new Set();
  for (const m of methods) {
    const name = typeof m === "string" ? m.toUpperCase() : m;
    if (!CACHEABLE_METHODS.includes(name)) {
      throw new TypeError(`${MODULE}: options.methods may list only "GET" and "HEAD" (the methods whose answers a cache stores); got ${JSON.stringify(m) ?? String(m)}`);
    }
    set.add(name);
  }
  return set;
}

/** `statuses` as a predicate on a status, or undefined for cachedFetch's rules alone. */
function statusesOption(statuses) {
  if (statuses === undefined) return undefined;
  if (typeof statuses === "function") {
    return (status) => {
      const verdict = statuses(status);
      if (typeof verdict !== "boolean") throw new TypeError(`${MODULE}: options.statuses must return a boolean; got ${typeof verdict}`);
      return verdict;
    };
  }
  if (!Array.isArray(statuses)) throw new TypeError(`${MODULE}: options.statuses must be an array of statuses or a function of the status; got ${typeof statuses}`);
  for (const s of statuses) {
    if (typeof s !== "number" || !Number.isInteger(s)) throw new TypeError(`${MODULE}: options.statuses must list integer statuses; got ${JSON.stringify(s) ?? String(s)}`);
    if (s < FINAL_STATUS_MIN || s > FINAL_STATUS_MAX) throw new RangeError(`${MODULE}: options.statuses must list final statuses (${FINAL_STATUS_MIN}–${FINAL_STATUS_MAX}); got ${s}`);
  }
  const set = new Set(statuses);
  return (status) => set.has(status);
}

/** Marks the handler's answer for cachedFetch never to store, whatever gives
 * it a lifetime (Cache-Control, CDN-Cache-Control, `ttl`); its headers reach
 * the client untouched. */
function keptOut(res) {
  unstorable.add(res);
}

/** A copy of `res` with a Cache-Status entry (its own headers may be immutable, as fetch()'s are). */
function withStatus(res, status) {
  const headers = new Headers(res.headers);
  headers.append("cache-status", status);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

function isCredentialedRead(request) {
  const read = request.method === "GET" || request.method === "HEAD";
  return read && (request.headers.has("cookie") || request.headers.has("authorization"));
}

/** Runs the routes after the middleware once (Hono allows one next() per request); their response. */
async function runHandler(c, next) {
  // A background revalidation runs after the answer was set: let Hono set the handler's response again.
  c.finalized = false;
  await next();
  return c.res;
}

/** The context's waitUntil, or undefined where the runtime gives none (Node, Deno). */
function waitUntilOf(c) {
  try {
    const ctx = c.executionCtx;
    return typeof ctx?.waitUntil === "function" ? (p) => ctx.waitUntil(p) : undefined;
  } catch {
    return undefined;
  }
}

/** The request cachedFetch sees: the app's own, or the same one at the custom key's URL. */
function keyedRequest(c, key) {
  if (key === undefined) return c.req.raw;
  const k = key(c);
  if (typeof k !== "string") throw new TypeError(`${MODULE}: options.key must return a string; got ${typeof k}`);
  return new Request(KEY_URL + encodeURIComponent(k), c.req.raw);
}
