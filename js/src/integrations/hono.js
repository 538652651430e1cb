// edgecache/hono: a Hono middleware that answers through cachedFetch, with the
// app's own handlers as the origin. It imports nothing from hono (it only uses
// the Context it is called with) nor any runtime entry: the Cache passed in
// brings its runtime's build, and cachedFetch comes from the same files.
import { cachedFetch } from "../fetch.js";

const MODULE = "edgecache/hono";
/** A custom key becomes the path of this URL, the one cachedFetch keys and invalidates by. */
const KEY_URL = "https://edgecache.invalid/key/";
/** What a bypassed credentialed read says in Cache-Status (RFC 9211 fwd=bypass). */
const BYPASS_STATUS = "edgecache; fwd=bypass; detail=credentials";

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
 */
export function edgeCache(options) {
  if (options === null || typeof options !== "object") throw new TypeError(`${MODULE}: options must be an object with a cache`);
  const { key, tags, cacheCredentialed = false, ...fetchOptions } = options;
  const { cache, ...rest } = fetchOptions;
  if (key !== undefined && typeof key !== "function") throw new TypeError(`${MODULE}: options.key must be a function of the context`);
  if (typeof cacheCredentialed !== "boolean") throw new TypeError(`${MODULE}: options.cacheCredentialed must be a boolean`);
  if (rest.fetch !== undefined || rest.waitUntil !== undefined) {
    throw new TypeError(`${MODULE}: options.fetch and options.waitUntil come from the app and its context; leave them out`);
  }
  // Validates the cachedFetch options once, now, rather than on every request.
  cachedFetch(cache, { ...rest, tags: typeof tags === "function" ? [] : tags });
  return async function edgeCacheMiddleware(c, next) {
    if (!cacheCredentialed && isCredentialedRead(c.req.raw)) {
      await next();
      const answer = withStatus(c.res, BYPASS_STATUS);
      c.res = undefined;
      c.res = answer;
      return;
    }
    const cfetch = cachedFetch(cache, {
      ...rest,
      tags: typeof tags === "function" ? tags(c) : tags,
      waitUntil: waitUntilOf(c),
      fetch: () => runHandler(c, next),
    });
    const response = await cfetch(keyedRequest(c, key));
    // Dropped first so Hono does not merge the handler's headers into the cached answer twice.
    c.res = undefined;
    c.res = response;
  };
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
