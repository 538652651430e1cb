// cachedFetch's shortcut for the commonest request a shared cache sees: a
// plain GET or HEAD answered by a fresh response in this isolate's memory.
// A server in front of cachedFetch (edgecache-proxy) asks it first, with the
// request as a method, a URL and a header getter, and writes the answer
// itself; without a Request, a Headers, a Response or a stream per hit. Any
// other request gets undefined and goes through cachedFetch as usual, which
// answers it (the same way, for the requests this one answers).

import { currentAge } from "./fetch-freshness.js";
import { lookup } from "./fetch-storage.js";

/** The key under which a cachedFetch function keeps its shortcut:
 * `cfetch[freshHit]({ method, url, headers })`. Not part of the API. */
export const freshHit = Symbol("edgecache.freshHit");

/** Request headers that change what cachedFetch answers from a stored
 * response (request Cache-Control and Pragma, validators, ranges,
 * credentials): a request with any of them takes the full path. Whatever
 * cachedFetch comes to read from a request on a hit belongs here. */
export const FULL_PATH_HEADERS = ["cache-control", "pragma", "if-none-match", "if-modified-since", "if-match",
  "if-unmodified-since", "if-range", "range", "authorization", "cookie"];

const HIT_STATUS = "edgecache; hit";

/**
 * A fresh L1 hit for `request` ({ method, url: normalised, without a
 * fragment, headers: { get(name), has(name) } with lower-case names as
 * cachedFetch would forward them }), as { status, statusText, headers:
 * [name, value, …] (flat, with Age and Cache-Status), body: Uint8Array | null },
 * or undefined when the full path must answer. `maxBody`: larger bodies
 * take the full path, which streams them in chunks.
 */
export function storedHit(ctx, request, maxBody) {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  // A user's cacheKey takes a Request, and downstream headers a Response:
  // such a cachedFetch answers every request on its full path.
  if (ctx.config.cacheKey || ctx.config.downstream) return undefined;
  const headers = request.headers;
  for (const name of FULL_PATH_HEADERS) if (headers.has(name)) return undefined;
  const entry = lookup(ctx, request.url, request);
  if (entry === undefined) return undefined;
  const meta = entry.meta;
  const now = ctx.io.now();
  const age = currentAge(meta, now);
  // A stored part of a body (206) is never a whole answer to a plain GET.
  if (!(age < meta.lifetime) || meta.noCache || meta.status === 206) return undefined;
  const bodyless = request.method === "HEAD" || meta.status === 204 || meta.status === 304;
  if (!bodyless && entry.body.length > maxBody) return undefined;
  const out = [];
  let prior = null;
  for (const [k, v] of meta.headers) {
    if (k === "cache-status") prior = v;
    else if (k !== "age") out.push(k, v);
  }
  out.push("age", String(Math.floor(Math.max(0, age) / 1000)), "cache-status", prior ? `${prior}, ${HIT_STATUS}` : HIT_STATUS);
  return { status: meta.status, statusText: meta.statusText, headers: out, body: bodyless ? null : entry.body };
}
