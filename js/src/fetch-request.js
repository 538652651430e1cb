// cachedFetch's request directives (RFC 9111 §5.2.1, RFC 5861 §4): what
// the client says about the stored responses it accepts.
//
// - no-cache (or `Pragma: no-cache` without Cache-Control), and max-age=0:
//   validate with the origin first (a fresh `immutable` response excepted,
//   RFC 8246);
// - max-age=N: only a response at most N seconds old, and not a stale one
//   unless max-stale says so too;
// - min-fresh=N: only a response that stays fresh for N more seconds;
// - max-stale[=N]: a stale response too (at most N seconds stale), unless
//   the response forbids serving it stale (no-cache, must-revalidate,
//   proxy-revalidate, s-maxage: §4.2.4);
// - only-if-cached: a stored response that meets the above, else 504;
// - no-store: nothing of this exchange is stored, but a stored response that
//   meets the above may answer it (§5.2.1.5);
// - stale-if-error=N: a stale response (at most N seconds stale) may answer
//   when the origin fails, as the response's own stale-if-error allows.
// A value that is not delta-seconds makes its directive count as absent.

import { requestCacheControl, seconds } from "./fetch-freshness.js";

/** The request's cache directives; `client` is the request as the client sent it (with Range). */
export function requestDirectives(request, client = request) {
  const cc = requestCacheControl(request);
  const maxStale = cc.get("max-stale");
  return {
    noCache: cc.has("no-cache"),
    noStore: cc.has("no-store"),
    onlyIfCached: cc.has("only-if-cached"),
    maxAge: seconds(cc, "max-age"),
    minFresh: seconds(cc, "min-fresh"),
    maxStale: maxStale === true ? Infinity : seconds(cc, "max-stale"),
    staleIfError: seconds(cc, "stale-if-error") ?? 0,
    client,
  };
}

/** Whether the client's max-age and min-fresh accept a response of `age`
 * ms with `meta.lifetime`; max-age=0 always asks for validation. */
export function acceptsAge(meta, age, req) {
  if (req.maxAge !== undefined && (req.maxAge === 0 || age > req.maxAge)) return false;
  return req.minFresh === undefined || meta.lifetime - age >= req.minFresh;
}

/**
 * How a stored response of `age` ms may answer the request without the
 * origin: "fresh", "max-stale" (stale, as the client allows), or null when
 * it must be validated (or the request forwarded).
 */
export function reuse(meta, age, req) {
  if (meta.noCache) return null;
  const fresh = age < meta.lifetime;
  // A fresh immutable response is current whatever a reload asks (RFC 8246).
  if (fresh && meta.immutable && req.minFresh === undefined) return "fresh";
  if (req.noCache || !acceptsAge(meta, age, req)) return null;
  if (fresh) return "fresh";
  if (req.maxStale === undefined || meta.mustRevalidate) return null;
  return age - meta.lifetime <= req.maxStale ? "max-stale" : null;
}

/** What the cache answers when only-if-cached finds nothing it may use (§5.2.1.7). */
export function notCached() {
  return new Response(null, { status: 504, statusText: "Gateway Timeout", headers: { "cache-status": "edgecache; detail=only-if-cached" } });
}
