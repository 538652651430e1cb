// cachedFetch's freshness rules (RFC 9111): whether a response may be stored
// and for how long, and a stored response's current age.

import { httpDate, parseCdnCacheControl } from "./fetch-fields.js";
import { storablePartial } from "./fetch-range.js";

/** The final statuses RFC 9110 §15 defines, which this cache understands
 * (for must-understand, RFC 9111 §5.2.2.3); 304 is not among them: a 304
 * is never stored as a response of its own. */
const UNDERSTOOD = new Set([200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 305, 307, 308, 400, 401, 402, 403, 404, 405,
  406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505]);
/** Final statuses run from 200 to 599 (1xx are interim). */
const FINAL_MIN = 200;
const FINAL_MAX = 599;
/** Statuses cacheable by default: heuristic freshness is allowed (RFC 9110 §15.1). */
const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Heuristic freshness is this fraction of the time since Last-Modified (RFC 9111 §4.2.2). */
const HEURISTIC_DIVISOR = 10;

/** The comma-separated members of a Cache-Control value; a comma inside a
 * quoted string (`no-cache="a, b"`) separates nothing. */
function members(value) {
  if (!value.includes('"')) return value.split(",");
  const out = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

/** Parses a Cache-Control-style header into a Map of lowercased directives:
 * true for one without a value, else its value (a quoted string unquoted). */
export function parseCacheControl(value) {
  const out = new Map();
  if (!value) return out;
  for (const part of members(value)) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name) continue;
    let v = eq < 0 ? true : part.slice(eq + 1).trim();
    if (typeof v === "string" && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    const prior = out.get(name);
    if (prior === undefined) out.set(name, v); // the first occurrence wins…
    // …but no-cache and private restrict more each time they appear (two
    // Cache-Control lines arrive joined): an unqualified one anywhere is
    // the whole response's, and qualified ones name all their fields.
    else if (FIELD_LISTS.has(name) && prior !== true) out.set(name, v === true ? true : `${prior},${v}`);
  }
  return out;
}

/** Directives whose qualified form lists header fields (RFC 9111 §5.2.2.4, §5.2.2.7). */
const FIELD_LISTS = new Set(["no-cache", "private"]);
/** A field name (RFC 9110 §5.1). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Fields a stored response cannot go without: its variants (Vary), how its
 * body reads (Content-*), and its own freshness. A copy stripped of one
 * would answer other variants or be misread, so a list naming one is read
 * as unqualified. */
const NEEDED_FIELDS = new Set([
  "vary", "content-type", "content-encoding", "content-length", "content-range", "transfer-encoding",
  "cache-control", "expires", "date", "age",
]);

/** The field names a qualified no-cache or private lists (lowercased), or
 * null for the unqualified form, or a list naming nothing, anything not a
 * field name (a stray quote…) or a field the stored response needs
 * (NEEDED_FIELDS): read as unqualified, which restricts more. */
export function qualifiedFields(cc, name) {
  const v = cc.get(name);
  if (typeof v !== "string") return null;
  const names = v.split(",").map((n) => n.trim().toLowerCase()).filter(Boolean);
  return names.length && names.every((n) => FIELD_NAME.test(n) && !NEEDED_FIELDS.has(n)) ? names : null;
}

/** The request's Cache-Control; without one, a `no-cache` member of Pragma
 * (any case, in a list; not `x-no-cache`) is read as no-cache (RFC 9111 §5.4). */
export function requestCacheControl(request) {
  const cc = request.headers.get("cache-control");
  if (cc !== null) return parseCacheControl(cc);
  const pragma = request.headers.get("pragma");
  return parseCacheControl(pragma !== null && parseCacheControl(pragma).has("no-cache") ? "no-cache" : null);
}

/** The largest delta-seconds a cache must keep: larger values count as this
 * one (RFC 9111 §1.2.2), so an origin's huge max-age is a long life, not an
 * error. */
const MAX_DELTA_SECONDS = 2 ** 31;

/** delta-seconds → ms (clamped to MAX_DELTA_SECONDS), or undefined when absent/invalid. */
export function seconds(cc, name) {
  const v = cc.get(name);
  if (typeof v !== "string" || !/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), MAX_DELTA_SECONDS) * 1000;
}

/** An Age header's value in ms (RFC 9111 §5.1): the first of several
 * values counts; one that is not a non-negative integer is ignored (0),
 * unless others follow it: then the response counts as stale. */
export function ageOf(value) {
  if (value === null) return 0;
  const parts = value.split(",");
  const first = parts[0].trim();
  if (/^\d+$/.test(first)) return Math.min(Number(first), MAX_DELTA_SECONDS) * 1000;
  return parts.length > 1 ? MAX_DELTA_SECONDS * 1000 : 0;
}

/** The header names a response's Vary lists, lowercased and sorted; ["*"]
 * when one is `*` or no field name (`"accept"`, `a b`): no request can be
 * known to match such a response (RFC 9111 §4.1), so it is never stored. */
export function varyNames(headers) {
  const names = (headers.get("vary") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
  return names.every((n) => FIELD_NAME.test(n)) ? names : ["*"];
}

/** Whether a request carries credentials: its response may be personal. */
export function isPersonal(request) {
  return request.headers.has("authorization") || request.headers.has("cookie");
}

/** Whether a stored response may answer a request with Authorization (RFC 9111 §3.5):
 * its Cache-Control has the directive public, s-maxage or must-revalidate
 * (by name: x-publication-id=3 is none of them). */
export function servesAuthorized(meta) {
  if (meta.mustRevalidate) return true;
  const cc = parseCacheControl(meta.headers.filter(([k]) => k === "cache-control").map(([, v]) => v).join(","));
  return cc.has("public") || cc.has("s-maxage");
}

/** Whether the status allows storing (RFC 9111 §3): a final one other than
 * 304, and a 206 only of one byte range (fetch-range.js); with
 * must-understand, one this cache understands, and then no-store is
 * overridden. */
function statusRefused(response, cc) {
  const status = response.status;
  if (status < FINAL_MIN || status > FINAL_MAX || status === 304) return true;
  if (status === 206 && !storablePartial(response.headers)) return true;
  if (cc.has("must-understand")) return !UNDERSTOOD.has(status);
  return cc.has("no-store");
}

/** Whether heuristics (and the ttl default) may give the response a lifetime (RFC 9111 §4.2.2). */
function heuristicAllowed(response, cc) {
  return HEURISTIC.has(response.status) || cc.has("public");
}

/** Preconditions the cache forwards without evaluating them (RFC 9111 §4.3.2): a 412 may be their outcome. */
const ORIGIN_PRECONDITIONS = ["if-match", "if-unmodified-since"];

/** Whether the response is a 412 answering the client's own If-Match or
 * If-Unmodified-Since: the outcome of that request's precondition, which
 * says nothing of the URL's stored or storable response (RFC 9110 §13.2.1). */
export function failedPrecondition(request, response) {
  return response.status === 412 && ORIGIN_PRECONDITIONS.some((h) => request.headers.has(h));
}

/** Whether the response's directives forbid storing it for this request. */
function refused(request, response, cc) {
  if (request.method !== "GET" || statusRefused(response, cc)) return true;
  if (failedPrecondition(request, response)) return true;
  // A qualified private="field" limits only those fields to one user: the
  // rest is stored without them (RFC 9111 §5.2.2.7).
  if ((cc.has("private") && !qualifiedFields(cc, "private")) || parseCacheControl(request.headers.get("cache-control")).has("no-store")) return true;
  if (response.headers.has("set-cookie")) return true;
  if (request.headers.has("authorization") && !(cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate"))) return true;
  // A credentialed request's response is shared only when the origin says
  // so explicitly; the ttl default and heuristics never apply to it.
  return isPersonal(request) && !(cc.has("public") || cc.has("s-maxage") || cc.has("max-age"));
}

/** A freshness directive's lifetime in ms: undefined when absent, 0 (stale)
 * when its value is not delta-seconds (RFC 9111 §4.2.1: a response with
 * invalid freshness information is better taken as stale). */
function directiveLifetime(cc, name) {
  return cc.has(name) ? (seconds(cc, name) ?? 0) : undefined;
}

/** Freshness lifetime in ms from the headers, the ttl default or heuristics;
 * undefined if none applies. `date`: the Date header, else the time the
 * response was received (RFC 9110 §6.6.1). */
function lifetimeOf(response, cc, cdn, date, config, personal) {
  const headers = response.headers;
  let lifetime;
  if (config.respect) {
    lifetime = directiveLifetime(cc, "s-maxage") ?? directiveLifetime(cc, "max-age");
    if (lifetime === undefined && !cdn && headers.has("expires")) {
      const expires = httpDate(headers.get("expires"), date);
      lifetime = expires === undefined ? 0 : Math.max(0, expires - date);
    }
  }
  if (personal) return lifetime;
  if (lifetime !== undefined || !heuristicAllowed(response, cc)) return lifetime;
  if (config.ttl > 0) return config.ttl;
  if (config.respect) {
    const lastModified = httpDate(headers.get("last-modified"));
    if (lastModified !== undefined && date > lastModified) lifetime = Math.floor((date - lastModified) / HEURISTIC_DIVISOR);
  }
  return lifetime;
}

/** Responses their fetch marked as never to be stored, whatever their
 * headers say (edgecache/hono's `statuses` does: the client still gets the
 * handler's own headers). */
export const unstorable = new WeakSet();

/**
 * Freshness lifetime (ms) and directives of a response received at
 * `resTime` (the cache's clock), or null if it must not be stored. `strip`:
 * the header fields a qualified no-cache or private names, which the
 * stored copy goes without (RFC 9111 §3.1, §5.2.2.4, §5.2.2.7).
 */
export function policyOf(request, response, config, resTime) {
  if (unstorable.has(response)) return null;
  const headers = response.headers;
  const cdnValue = headers.get("cdn-cache-control");
  const cdn = config.respect && cdnValue !== null ? parseCdnCacheControl(cdnValue) : null;
  const cc = cdn ?? parseCacheControl(config.respect ? headers.get("cache-control") : null);
  if (refused(request, response, cc)) return null;
  const vary = varyNames(headers);
  if (vary.includes("*")) return null;
  const date = httpDate(headers.get("date"));
  const explicit = lifetimeOf(response, cc, cdn, date ?? resTime, config, isPersonal(request));
  // Without a lifetime from anywhere, only a heuristically cacheable response is kept for revalidation.
  if (explicit === undefined && !heuristicAllowed(response, cc)) return null;
  const lifetime = explicit ?? 0;
  const validators = headers.has("etag") || headers.has("last-modified");
  if (lifetime === 0 && !validators) return null;
  return {
    lifetime,
    vary,
    noCache: cc.has("no-cache") && !qualifiedFields(cc, "no-cache"),
    mustRevalidate: cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage"),
    immutable: cc.has("immutable"),
    swr: seconds(cc, "stale-while-revalidate") ?? config.swr,
    sie: seconds(cc, "stale-if-error") ?? config.sie,
    validators,
    date,
    strip: [...(qualifiedFields(cc, "no-cache") ?? []), ...(qualifiedFields(cc, "private") ?? [])],
  };
}

/** A stored response's current age in ms (RFC 9111 §4.2.3). */
export function currentAge(meta, now) {
  const apparent = Math.max(0, meta.resTime - (meta.date ?? meta.resTime));
  const corrected = meta.age + (meta.resTime - meta.reqTime);
  return Math.max(apparent, corrected) + (now - meta.resTime);
}
