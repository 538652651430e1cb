// cachedFetch's answers to conditional requests from clients (RFC 9111
// §4.3.2, RFC 9110 §13): the cache asks the origin without the client's
// validators (so that what it fetches is a full response it can store),
// then evaluates If-None-Match / If-Modified-Since against the response it
// answers with, and sends 304 Not Modified when the client's copy is current.

import { httpDate } from "./fetch-fields.js";

const IF_NONE_MATCH = "if-none-match";
const IF_MODIFIED_SINCE = "if-modified-since";
const ENTITY_TAG = /(?:W\/)?"[^"]*"/g;

/** The client's validators, or null when the request has none. */
export function conditionsOf(request) {
  const inm = request.headers.get(IF_NONE_MATCH);
  const ims = request.headers.get(IF_MODIFIED_SINCE);
  return inm === null && ims === null ? null : { inm, ims };
}

/** The request without the client's validators. */
export function unconditional(request) {
  const headers = new Headers(request.headers);
  headers.delete(IF_NONE_MATCH);
  headers.delete(IF_MODIFIED_SINCE);
  return new Request(request, { headers });
}

/** The opaque part of an entity tag: weak comparison ignores `W/` (RFC 9110 §8.8.3.2). */
function opaque(tag) {
  return tag.trim().replace(/^W\//, "");
}

/**
 * Whether a 304's validators name the stored response `meta` (RFC 9111
 * §4.3.4): its ETag, when it has one, equals the stored one (strongly, if
 * the 304's is strong; else weakly); without one, its Last-Modified, when
 * both have one, is the stored date. A 304 naming neither is taken to
 * refer to the one response the cache asked about.
 */
export function sameRepresentation(meta, headers) {
  const etag = headers.get("etag")?.trim();
  if (etag) {
    const stored = meta.etag?.trim();
    if (!stored) return false;
    return etag.startsWith("W/") ? opaque(etag) === opaque(stored) : etag === stored;
  }
  const modified = headers.get("last-modified");
  if (modified === null || !meta.lastModified) return true;
  return (httpDate(modified.trim()) ?? modified.trim()) === (httpDate(meta.lastModified.trim()) ?? meta.lastModified.trim());
}

/** Whether If-None-Match (`*` or a list of entity tags) matches the response's ETag. */
function noneMatchFails(inm, etag) {
  if (inm.trim() === "*") return true;
  if (!etag) return false;
  const tag = opaque(etag);
  return (inm.match(ENTITY_TAG) ?? []).some((t) => opaque(t) === tag);
}

/** Whether the response is unmodified since If-Modified-Since: by its
 * Last-Modified, else its Date (RFC 9111 §4.3.2). An invalid date is ignored. */
function notModifiedSince(ims, headers) {
  const since = httpDate(ims.trim());
  if (since === undefined) return false;
  const modified = httpDate(headers.get("last-modified")) ?? httpDate(headers.get("date"));
  return modified !== undefined && modified <= since;
}

/** Whether the client's copy is current; If-None-Match, when present, decides alone. */
function unchanged(conditions, headers) {
  if (conditions.inm !== null) return noneMatchFails(conditions.inm, headers.get("etag"));
  return notModifiedSince(conditions.ims, headers);
}

/** Representation metadata a 304 leaves out (RFC 9110 §15.4.5): Content-*
 * but Content-Location, which the 304 carries as the 200 would. */
function describesBody(name) {
  return name.startsWith("content-") && name !== "content-location";
}

/** `response`, or a 304 with its headers (ETag, Cache-Control, Expires,
 * Vary, Date, Content-Location… as they are, without the body's metadata)
 * when it is a 2xx the client's validators say it already has. */
export async function answerConditional(response, conditions) {
  const full = response.status >= 200 && response.status < 300 && response.status !== 206;
  if (!full || !unchanged(conditions, response.headers)) return response;
  await response.body?.cancel();
  const headers = new Headers();
  for (const [k, v] of response.headers) if (!describesBody(k) && k !== "set-cookie") headers.append(k, v);
  for (const c of response.headers.getSetCookie()) headers.append("set-cookie", c);
  return new Response(null, { status: 304, statusText: "Not Modified", headers });
}
