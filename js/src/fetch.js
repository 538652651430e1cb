// cachedFetch: a shared HTTP cache (RFC 9111) in front of an origin, on a
// Cache. Bodies, status and headers are stored as bytes in wasm memory;
// freshness is computed here from the stored metadata with the cache's clock.
// The rules live in fetch-freshness.js, the stored form in fetch-storage.js,
// request collapsing in fetch-collapse.js, bodies in memory in
// fetch-body.js, clients' conditional requests in fetch-conditional.js, the
// request's cache directives in fetch-request.js,
// header parsing in fetch-fields.js, primary keys in fetch-key.js, Vary's
// secondary keys in fetch-vary.js, reusable POST answers in fetch-post.js,
// headers for a CDN in front in fetch-downstream.js, Range requests in
// fetch-range.js, content codings in fetch-coding.js; this file answers a
// request.

import { Cache, internals, ms } from "./cache.js";
import { describe } from "./keys.js";
import { ageOf, currentAge, failedPrecondition, isPersonal, policyOf, servesAuthorized, unstorable, varyNames } from "./fetch-freshness.js";
import { entryMeta, forget, keyOf, lookup, lookupShared, readLimited, sharedMeta, store, storedHeaders } from "./fetch-storage.js";
import { acceptsAge, notCached, requestDirectives, reuse } from "./fetch-request.js";
import { join, sharesOutcome } from "./fetch-collapse.js";
import { bytesStream, hold, missBudget } from "./fetch-body.js";
import { answerConditional, conditionsOf, sameRepresentation, unconditional } from "./fetch-conditional.js";
import { cacheKeyOption, primaryKey, primaryKeyOfUrl } from "./fetch-key.js";
import { addDownstream, downstreamOption } from "./fetch-downstream.js";
import { getAnsweredByPost } from "./fetch-post.js";
import { answerRange, combined, completionRequest, rangeOf, storedAnswer, withoutRange } from "./fetch-range.js";
import { asDecoded, decodedByFetch, weakTag } from "./fetch-coding.js";
import { freshHit, storedHit } from "./fetch-hit.js";

export { parseCacheControl } from "./fetch-freshness.js";

const NAME = "edgecache";
/** Methods known safe (RFC 9110 §9.2.1): every other one invalidates its URL (RFC 9111 §4.4). */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
/** Statuses that count as the origin failing, for stale-if-error (RFC 5861 §4). */
const ERROR_STATUSES = new Set([500, 502, 503, 504]);
/** Headers a 304 must not overwrite in the stored response (RFC 9111 §3.2). */
const KEEP_ON_304 = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);
/** The default maxBodySize is this share of maxMemory: a few concurrent
 * misses buffering bodies for storing stay within the budget's order. */
const DEFAULT_BODY_SHARE = 8;
/** Concurrent misses together buffer at most this share of maxMemory for
 * storing (or maxBodySize, if larger); past it a miss is passed through. */
const MISS_BUFFER_SHARE = 4;
const DEFAULT_KEEP_FOR_REVALIDATION = 300_000;
/** In-flight origin requests per cache, shared by every cachedFetch on it (a
 * Worker makes one per request, to pass that request's waitUntil). */
const flights = new WeakMap();
/** Answers built from a shared stored entry → that entry's metadata (for the downstream headers). */
const fromSharedEntry = new WeakMap();
/** Answers that are the origin's answer to the client's own request (with its Range). */
const forwarded = new WeakSet();

function appendStatus(headers, status) {
  const prior = headers.get("cache-status");
  headers.set("cache-status", prior ? `${prior}, ${status}` : status);
}

function byteOption(options, name, fallback) {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw new TypeError(`${name} must be a number of bytes; got ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a whole number of bytes ≥ 0; got ${v}`);
  return v;
}

function headerNamesOption(options, name) {
  const v = options[name] ?? [];
  if (!Array.isArray(v) || !v.every((n) => typeof n === "string" && n.length > 0)) {
    throw new TypeError(`${name} must be an array of header names; got ${describe(v)}`);
  }
  return v.map((n) => n.toLowerCase()).sort();
}

function tagsOption(options) {
  const v = options.tags ?? [];
  if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) {
    throw new TypeError(`tags must be an array of strings; got ${describe(v)}`);
  }
  return [...v];
}

/** Validates the options once; the context every request of this cachedFetch shares. */
function contextOf(cache, options) {
  if (!(cache instanceof Cache)) throw new TypeError(`cache must be a Cache; got ${describe(cache)}`);
  if (options === null || typeof options !== "object") throw new TypeError(`options must be an object; got ${describe(options)}`);
  const option = (name, fallback) => ms(options[name], name) ?? fallback;
  const respect = options.respectCacheControl ?? true;
  if (typeof respect !== "boolean") throw new TypeError(`respectCacheControl must be a boolean; got ${describe(respect)}`);
  const waitUntil = options.waitUntil;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
  const config = {
    ttl: option("ttl", 0),
    swr: option("staleWhileRevalidate", 0),
    sie: option("staleIfError", 0),
    keepForRevalidation: option("keepForRevalidation", DEFAULT_KEEP_FOR_REVALIDATION),
    respect,
    keyHeaders: headerNamesOption(options, "keyHeaders"),
    tags: tagsOption(options),
    cacheKey: cacheKeyOption(options),
  };
  config.downstream = downstreamOption(options, config.tags);
  const io = cache[internals]();
  config.maxBodySize = byteOption(options, "maxBodySize", Math.floor(io.maxMemory / DEFAULT_BODY_SHARE));
  const upstream = options.fetch ?? ((req) => globalThis.fetch(req));
  if (typeof upstream !== "function") throw new TypeError(`fetch must be a function; got ${describe(upstream)}`);
  if (!flights.has(cache)) flights.set(cache, { inflight: new Map(), refreshing: new Map(), shared: new Map(), buffering: { bytes: 0 } });
  const state = flights.get(cache);
  const budget = missBudget(state.buffering, Math.max(config.maxBodySize, Math.floor(io.maxMemory / MISS_BUFFER_SHARE)));
  // The runtime's fetch() decodes content codings (see fetch-coding.js).
  const runtimeFetch = options.fetch === undefined;
  return { cache, io, config, upstream, runtimeFetch, waitUntil, budget, ...state };
}

/** A response from a stored entry; `onDone` runs once its body is read or cancelled. */
function fromStored(request, entry, status, now, onDone) {
  const headers = new Headers(entry.meta.headers);
  headers.set("age", String(Math.floor(Math.max(0, currentAge(entry.meta, now)) / 1000)));
  appendStatus(headers, status);
  const bodyless = request.method === "HEAD" || entry.meta.status === 204 || entry.meta.status === 304;
  if (bodyless) onDone?.();
  const response = new Response(bodyless ? null : bytesStream(entry.body, onDone), { status: entry.meta.status, statusText: entry.meta.statusText, headers });
  if (!entry.personal) fromSharedEntry.set(response, entry.meta);
  return storedAnswer(response, entry.body, onDone);
}

function passThrough(response, status) {
  const out = new Response(response.body, response);
  appendStatus(out.headers, status);
  return out;
}

function withValidators(request, meta, signal) {
  const headers = new Headers(request.headers);
  if (meta.etag) headers.set("if-none-match", meta.etag);
  if (meta.lastModified) headers.set("if-modified-since", meta.lastModified);
  return new Request(request.url, { method: "GET", headers, redirect: request.redirect, signal: signal ?? request.signal });
}

/** A 304 refreshes the stored response's headers and freshness (RFC 9111
 * §4.3.4), unless it may carry what belongs to one user: a 304 with
 * Set-Cookie, or one answering Cookie or Authorization, goes (with its
 * Set-Cookie) to its requester only and leaves the shared entry as it was.
 * A 304 marked unstorable leaves it as it was too; one whose directives
 * forbid storing the updated response removes it. */
function revalidated(ctx, url, request, conditional, response, reqTime, resTime) {
  const meta = conditional.meta;
  const merged = new Headers(meta.headers);
  for (const [k, v] of storedHeaders(response.headers)) if (!KEEP_ON_304.has(k)) merged.set(k, v);
  if (meta.decoded && merged.has("etag")) merged.set("etag", weakTag(merged.get("etag")));
  // A 304 without Date was generated when it was received (RFC 9110 §6.6.1);
  // the stored Date is the old response's, which would age the new one.
  if (!response.headers.has("date")) merged.set("date", new Date(resTime).toUTCString());
  // The refreshed response's age is the 304's (RFC 9111 §4.2.3), not the old one's.
  if (!response.headers.has("age")) merged.delete("age");
  const cookies = response.headers.getSetCookie();
  const personal = cookies.length > 0 || isPersonal(request);
  const synthetic = new Response(null, { status: meta.status, statusText: meta.statusText, headers: merged });
  const policy = personal || unstorable.has(response) ? null : policyOf(request, synthetic, ctx.config, resTime);
  // The stored response updated with a 304 that forbids storing it
  // (no-store, private…) may no longer be kept (RFC 9111 §3.2, §4.3.4).
  if (!policy && !personal && !unstorable.has(response)) forget(ctx, url, request);
  let shared = null;
  if (policy) {
    // The validator sent upstream stays the origin's (the stored ETag may be weakened).
    const updated = { ...entryMeta(synthetic, policy, reqTime, resTime), etag: response.headers.get("etag") ?? meta.etag, decoded: meta.decoded };
    shared = sharedMeta(updated, policy);
    store(ctx, url, request, policy, shared, conditional.body);
  }
  const headers = [...merged, ...cookies.map((c) => ["set-cookie", c])];
  // Refreshed into something not to be stored (the 304 made it private,
  // no-store…): like a miss that is not stored, it is its requester's only,
  // for collapsed waiters and a CDN in front alike.
  const unshared = personal || policy === null;
  const own = { meta: { ...meta, headers, reqTime, resTime, date: policy?.date ?? meta.date, age: ageOf(response.headers.get("age")), lifetime: policy?.lifetime ?? 0 }, body: conditional.body,
    personal: unshared || policy.strip.length > 0 };
  const entry = shared ? { meta: { ...own.meta, headers: shared.headers }, body: conditional.body } : own;
  return { kind: "entry", entry, own, vary: varyNames(merged), request, personal: unshared, status: `${NAME}; fwd=stale; fwd-status=304${policy ? "; stored" : ""}` };
}

/** A full response to a revalidation says the stored one is no longer
 * current (RFC 9111 §4.3.3): when it is not stored in its place, the stored
 * one is removed. Not for a 5xx (the origin failing says nothing of the
 * stored response), nor for an answer to credentials or with Set-Cookie
 * (it may be that user's own version), nor for a 412 to the client's own
 * If-Match or If-Unmodified-Since. */
function forgetReplaced(ctx, url, request, response) {
  if (response.status >= 500 || isPersonal(request) || response.headers.has("set-cookie")) return;
  if (failedPrecondition(request, response)) return;
  forget(ctx, url, request);
}

/** One origin round trip whose outcome every waiter can rebuild a response from. */
async function fetchAndStore(ctx, url, request, conditional, signal) {
  const { io } = ctx;
  const reqTime = io.now();
  const forwarded = conditional ? withValidators(request, conditional.meta, signal) : signal ? new Request(request, { signal }) : request;
  let response = await ctx.upstream(forwarded);
  let resTime = io.now();
  if (conditional && response.status === 304) {
    if (sameRepresentation(conditional.meta, response.headers)) return revalidated(ctx, url, request, conditional, response, reqTime, resTime);
    // A 304 naming another representation (another ETag or Last-Modified)
    // must not update the stored one (RFC 9111 §4.3.4): the whole one is asked for.
    response = await ctx.upstream(signal ? new Request(request, { signal }) : request);
    resTime = io.now();
  }
  // A followed redirect's answer belongs to another URL: never stored under this one.
  const policy = response.redirected ? null : policyOf(request, response, ctx.config, resTime);
  const fwd = conditional ? `fwd=stale; fwd-status=${response.status}` : "fwd=uri-miss";
  if (!policy) {
    if (conditional) forgetReplaced(ctx, url, request, response);
    return { kind: "response", response, status: `${NAME}; ${fwd}` };
  }
  const read = await readLimited(response, ctx.config.maxBodySize, ctx.budget);
  if (read.stream) {
    if (conditional) forgetReplaced(ctx, url, request, response);
    return { kind: "response", response: new Response(read.stream, response), status: `${NAME}; ${fwd}; detail=${read.detail}` };
  }
  const meta = entryMeta(response, policy, reqTime, resTime);
  if (decodedByFetch(response.headers, read.bytes, ctx.runtimeFetch)) {
    Object.assign(meta, { headers: asDecoded(meta.headers, read.bytes.length), decoded: true });
  }
  const shared = sharedMeta(meta, policy);
  const stored = store(ctx, url, request, policy, shared, read.bytes);
  // The buffer counts against the miss budget until the answer made from it is read.
  const release = hold(ctx.budget, read.bytes.length, read.bytes);
  // With fields only its requester may have, the answer says nothing to a CDN in front (downstream).
  const own = { meta, body: read.bytes, personal: shared !== meta };
  return { kind: "entry", entry: { meta: shared, body: read.bytes }, own, vary: policy.vary, request, release, status: `${NAME}; ${fwd}${stored ? "; stored" : ""}` };
}

/** A miss or a revalidation: joins (or leads) the flight for collapseKey. */
async function answer(ctx, url, request, conditional, collapseKey) {
  const { outcome: pending, leader } = join(ctx.inflight, collapseKey, request, (signal) => fetchAndStore(ctx, url, request, conditional, signal));
  const outcome = await pending;
  // The leader gets the response as the origin sent it; waiters get the shared copy.
  if (leader && outcome.kind === "entry") return fromStored(request, outcome.own ?? outcome.entry, outcome.status, ctx.io.now(), outcome.release);
  if (leader) return passThrough(outcome.response, outcome.status);
  if (!outcome.personal && sharesOutcome(outcome, request)) return fromStored(request, outcome.entry, `${outcome.status}; collapsed`, ctx.io.now());
  if (outcome.kind === "entry") {
    // Another variant: this waiter fetches (and stores) its own.
    const own = await fetchAndStore(ctx, url, request, conditional);
    return own.kind === "entry" ? fromStored(request, own.own ?? own.entry, own.status, ctx.io.now(), own.release) : passThrough(own.response, own.status);
  }
  // Not shareable (private, Set-Cookie, too large…): this waiter asks the origin itself.
  return passThrough(await ctx.upstream(request), `${NAME}; fwd=uri-miss`);
}

/** A Location or Content-Location value resolved against the request's URL,
 * when it names a URL of the same origin (RFC 9111 §4.4); null otherwise,
 * for a value that is no URL reference, and for one with userinfo, which a
 * recipient treats as an error (RFC 9110 §4.2.4; no Request, hence no
 * cacheKey call, can be made of it). The answer passes through all the same. */
function sameOriginTarget(value, base, origin) {
  if (!value) return null;
  let target;
  try {
    target = new URL(value, base);
  } catch {
    return null;
  }
  if (target.username !== "" || target.password !== "") return null;
  return target.origin === origin ? target.href : null;
}

/** The key a GET for `target` is stored under, or null when the cacheKey
 * function refuses it: then no GET for it was ever stored (it would have been
 * refused the same way), and the unsafe answer, which the origin has already
 * applied, must not be lost over it. */
function keyOfTarget(cacheKey, target, headers) {
  try {
    return primaryKeyOfUrl(cacheKey, target, headers);
  } catch {
    return null;
  }
}

/** Methods other than GET and HEAD go to the origin; a successful unsafe one
 * invalidates its URL and the same-origin Location/Content-Location, in
 * this isolate and, through the cache's tier, in every other. */
async function forwardUnsafe(ctx, request) {
  const { cacheKey } = ctx.config;
  // Each URL's key is that of a GET for it: what the entry there is stored
  // under. This one is made before the request goes out, so a cacheKey that
  // throws rejects it before it has any effect.
  const key = primaryKeyOfUrl(cacheKey, request.url, request.headers);
  const reqTime = ctx.io.now();
  const response = await ctx.upstream(request);
  if (!SAFE.has(request.method) && response.status < 400) {
    const origin = new URL(request.url).origin;
    ctx.cache.invalidateTag(`cf-url:${key}`);
    for (const h of ["location", "content-location"]) {
      const target = sameOriginTarget(response.headers.get(h), request.url, origin);
      const targetKey = target && keyOfTarget(cacheKey, target, request.headers);
      if (targetKey) ctx.cache.invalidateTag(`cf-url:${targetKey}`);
    }
  }
  const get = getAnsweredByPost(request, response, ctx.config.respect);
  if (get) return storePostAnswer(ctx, request, key, get, response, reqTime);
  return passThrough(response, `${NAME}; fwd=method`);
}

/** Stores a reusable POST answer as the GET's entry (see fetch-post.js) and answers the POST with it. */
async function storePostAnswer(ctx, request, key, get, response, reqTime) {
  const resTime = ctx.io.now();
  const policy = policyOf(get, response, ctx.config, resTime);
  if (!policy) return passThrough(response, `${NAME}; fwd=method`);
  const read = await readLimited(response, ctx.config.maxBodySize, ctx.budget);
  if (read.stream) return passThrough(new Response(read.stream, response), `${NAME}; fwd=method; detail=${read.detail}`);
  const meta = entryMeta(response, policy, reqTime, resTime);
  const stored = store(ctx, key, get, policy, sharedMeta(meta, policy), read.bytes);
  const release = hold(ctx.budget, read.bytes.length, read.bytes);
  return fromStored(request, { meta, body: read.bytes }, `${NAME}; fwd=method${stored ? "; stored" : ""}`, ctx.io.now(), release);
}

/** Starts one background revalidation per URL, handed to waitUntil. */
function refreshInBackground(ctx, url, getRequest, entry) {
  if (ctx.refreshing.has(url)) return;
  const p = fetchAndStore(ctx, url, getRequest, entry).then((outcome) => (outcome.release?.(), outcome.response?.body?.cancel()), () => undefined).finally(() => ctx.refreshing.delete(url));
  ctx.refreshing.set(url, p);
  if (ctx.waitUntil) ctx.waitUntil(p);
}

/** The origin's answer to the client's own request, passed through unstored
 * (a request with no-store that nothing stored could answer). */
async function forwardUnstored(ctx, req) {
  const response = passThrough(await ctx.upstream(req.client), `${NAME}; fwd=request`);
  forwarded.add(response);
  return response;
}

/** What the cache generates when the origin cannot be reached and the stored
 * response may not be served stale (must-revalidate, proxy-revalidate,
 * s-maxage: RFC 9111 §5.2.2.2). */
function gatewayTimeout() {
  return new Response(null, { status: 504, statusText: "Gateway Timeout", headers: { "cache-status": `${NAME}; fwd=stale; detail=origin-unreachable` } });
}

/** Answers from a stored entry: a hit (fresh, or stale as the client's
 * max-stale allows), stale-while-revalidate, or a revalidation in the
 * foreground that stale-if-error may answer for. `req`: the request's
 * directives (fetch-request.js). */
async function fromEntry(ctx, request, url, entry, req, collapseKey) {
  const now = ctx.io.now();
  const meta = entry.meta;
  const age = currentAge(meta, now);
  // Fresh or stale, a stored page answers Authorization only when the
  // origin allowed it (RFC 9111 §3.5).
  const mayAnswer = !(request.headers.has("authorization") && !servesAuthorized(meta));
  const use = mayAnswer ? reuse(meta, age, req) : null;
  if (use === "fresh") return fromStored(request, entry, entry.shared ? `${NAME}; hit; detail=l2` : `${NAME}; hit`, now);
  if (use === "max-stale") return fromStored(request, entry, `${NAME}; hit; detail=max-stale`, now);
  const getRequest = request.method === "HEAD" ? new Request(request, { method: "GET" }) : request;
  const staleness = age - meta.lifetime;
  const mayServeStale = mayAnswer && !meta.noCache && !meta.mustRevalidate && !req.noCache && acceptsAge(meta, age, req);
  if (mayServeStale && staleness >= 0 && staleness < meta.swr) {
    if (!req.noStore) refreshInBackground(ctx, url, getRequest, entry);
    return fromStored(request, entry, `${NAME}; hit; detail=stale-while-revalidate`, now);
  }
  if (req.onlyIfCached) return notCached();
  if (req.noStore) return forwardUnstored(ctx, req);
  // Nothing the origin forbids serving stale is served stale on its errors
  // (RFC 9111 §4.2.4); the response's stale-if-error or the request's allows it.
  const staleIfError = mayAnswer && !meta.noCache && !meta.mustRevalidate && staleness < Math.max(meta.sie, req.staleIfError);
  const staleAnswer = () => fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, ctx.io.now());
  let response;
  try {
    response = await answer(ctx, url, getRequest, entry, `reval ${collapseKey}`);
  } catch (err) {
    if (staleIfError) return staleAnswer();
    if (meta.mustRevalidate && staleness >= 0 && !request.signal.aborted) return gatewayTimeout();
    throw err;
  }
  if (ERROR_STATUSES.has(response.status) && staleIfError) {
    await response.body?.cancel();
    return staleAnswer();
  }
  if (request.method !== "HEAD") return response;
  await response.body?.cancel();
  const head = new Response(null, response);
  if (fromSharedEntry.has(response)) fromSharedEntry.set(head, fromSharedEntry.get(response));
  return head;
}

/** An L1 miss on a cache with a tier: the tier's entry, unless this isolate
 * already asks the origin (then the miss joins that request). After the
 * read, L1 again: a request of this isolate may have stored it meanwhile. */
async function lookupThrough(ctx, url, request, collapseKey) {
  if (!ctx.io.tiered || ctx.inflight.has(collapseKey)) return undefined;
  return (await lookupShared(ctx, url, request)) ?? lookup(ctx, url, request);
}

/**
 * A fetch() with a shared HTTP cache in front of the origin.
 * @param {Cache} cache
 * @param {import("./index.d.ts").CachedFetchOptions} [options]
 */
export function cachedFetch(cache, options = {}) {
  const ctx = contextOf(cache, options);
  const cfetch = async function cfetch(input, init) {
    // Redirects are not followed upstream unless the caller says so: a shared
    // cache stores and returns the 3xx itself.
    const request = new Request(input, { redirect: "manual", ...init });
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return downstream(ctx, await forwardUnsafe(ctx, request));
    const req = requestDirectives(request);
    // The cache fetches and stores whole representations; a range is cut
    // from the answer, or asked of the origin when that was not stored.
    const range = rangeOf(request);
    const whole = range ? withoutRange(request) : request;
    const response = await wholeAnswer(ctx, whole, req);
    // Only a Range request or a stored partial response needs fetch-range.js.
    if ((!range && response.status !== 206) || forwarded.has(response)) return response;
    const how = {
      head: method === "HEAD",
      refetch: async () => passThrough(await ctx.upstream(request), `${NAME}; fwd=uri-miss`),
      complete: async (part, bytes, headers) => {
        // Completing a stored part asks the origin, which these requests forbid.
        if (req.onlyIfCached) return notCached();
        if (req.noStore) return forwardUnstored(ctx, req);
        const conditions = conditionsOf(whole);
        const completed = await completeAnswer(ctx, whole, part, bytes, headers);
        return conditions ? answerConditional(completed, conditions) : completed;
      },
    };
    return answerRange(response, range, how);
  };
  // A server's shortcut for fresh hits (see fetch-hit.js).
  cfetch[freshHit] = (request, maxBody) => storedHit(ctx, request, maxBody);
  return cfetch;
}

/** A stored partial response made whole (RFC 9111 §3.4): the origin is
 * asked for what it lacks, and the whole response is stored and answered.
 * Concurrent completions of one URL collapse like misses (see answer). */
async function completeAnswer(ctx, request, part, bytes, headers) {
  const ask = completionRequest(request, part, headers);
  const upstream = async (forwarded) => combined(part, bytes, headers, await ctx.upstream(new Request(ask, { signal: forwarded.signal })));
  const url = primaryKey(ctx.config.cacheKey, request);
  const response = await answer({ ...ctx, upstream }, url, request, null, `partial ${keyOf(ctx, url, request)}`);
  response.headers.set("cache-status", response.headers.get("cache-status").replace("fwd=uri-miss", "fwd=partial"));
  return downstream(ctx, response);
}

/** A GET or HEAD without Range answered in full, or 304 to the client's validators. */
function wholeAnswer(ctx, request, req) {
  const conditions = conditionsOf(request);
  if (!conditions) return cachedAnswer(ctx, request, req).then((response) => downstream(ctx, response));
  // The cache fetches full responses; the client's validators are evaluated
  // against the answer (RFC 9111 §4.3.2).
  return cachedAnswer(ctx, unconditional(request), req, request).then((response) => answerConditional(downstream(ctx, response), conditions));
}

/** The answer with the downstream option's headers, when it was built from a shared stored entry. */
function downstream(ctx, response) {
  const meta = ctx.config.downstream && fromSharedEntry.get(response);
  return meta ? addDownstream(ctx.config.downstream, response, meta) : response;
}

/** A GET or HEAD answered from the cache or through it; `original` (the
 * request with the client's validators) is what a HEAD miss forwards. */
async function cachedAnswer(ctx, request, req, original = request) {
  const url = primaryKey(ctx.config.cacheKey, request);
  // Misses collapse on method + key (+ keyHeaders); Vary and credentials
  // decide afterwards whether a waiter may take the leader's answer.
  const collapseKey = `${request.method} ${keyOf(ctx, url, request)}`;
  const entry = lookup(ctx, url, request) ?? (await lookupThrough(ctx, url, request, collapseKey));
  if (entry) return fromEntry(ctx, request, url, entry, req, collapseKey);
  if (req.onlyIfCached) return notCached();
  if (req.noStore) return forwardUnstored(ctx, req);
  // A HEAD miss is forwarded as a HEAD: nothing to store, no body to drain.
  if (request.method === "HEAD") return passThrough(await ctx.upstream(original), `${NAME}; fwd=uri-miss`);
  return answer(ctx, url, request, null, collapseKey);
}
