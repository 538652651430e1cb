// cachedFetch's downstream headers: what a CDN in front of the cache (a
// Worker behind Cloudflare, the proxy behind Fastly) needs to cache an
// answer as long as this cache does and to purge it by the same tags.
//
// `tagHeader` sends the tags the stored entry was stored with in Cache-Tag
// (Cloudflare, Akamai: comma-separated) or Surrogate-Key (Fastly:
// space-separated), after any the origin sent. `cdnCacheControl` sends
// CDN-Cache-Control (RFC 9213) with the entry's freshness lifetime and stale
// windows; the Age header the answer carries tells the CDN how much of it is
// used up, so max-age is the lifetime, not what remains (a CDN subtracts Age
// itself, RFC 9111 §4.2.3). Only answers built from a shared stored entry
// get them: a pass-through or a personal answer says nothing to a CDN.

import { describe } from "./keys.js";

/** The tag headers and how each separates tags. */
const TAG_HEADERS = new Map([["cache-tag", ","], ["surrogate-key", " "]]);
const KNOWN = new Set(["tagHeader", "cdnCacheControl"]);
/** A tag a header can carry: visible ASCII, inner spaces allowed (not in Surrogate-Key). */
const VISIBLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Whether `tag` can be sent in a header separating tags with `separator`. */
function sendable(tag, separator) {
  return VISIBLE.test(tag) && !tag.includes(separator);
}

/** The `downstream` option, validated against `tags`; null when absent. */
export function downstreamOption(options, tags) {
  const v = options.downstream;
  if (v === undefined) return null;
  if (v === null || typeof v !== "object") throw new TypeError(`downstream must be an object like { tagHeader: "Cache-Tag", cdnCacheControl: true }; got ${describe(v)}`);
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) throw new TypeError(`downstream.${k} is not an option (tagHeader, cdnCacheControl)`);
  const cdn = v.cdnCacheControl ?? false;
  if (typeof cdn !== "boolean") throw new TypeError(`downstream.cdnCacheControl must be a boolean; got ${describe(cdn)}`);
  let tagHeader = null;
  if (v.tagHeader !== undefined) {
    if (typeof v.tagHeader !== "string") throw new TypeError(`downstream.tagHeader must be "Cache-Tag" or "Surrogate-Key"; got ${describe(v.tagHeader)}`);
    tagHeader = v.tagHeader.toLowerCase();
    if (!TAG_HEADERS.has(tagHeader)) throw new RangeError(`downstream.tagHeader must be "Cache-Tag" or "Surrogate-Key"; got "${v.tagHeader}"`);
    const bad = tags.find((t) => !sendable(t, TAG_HEADERS.get(tagHeader)));
    if (bad !== undefined) throw new RangeError(`tags: "${bad}" cannot be sent in ${v.tagHeader} (visible ASCII, no "${TAG_HEADERS.get(tagHeader)}")`);
  }
  return tagHeader || cdn ? { tagHeader, cdnCacheControl: cdn } : null;
}

/** CDN-Cache-Control for a stored entry's metadata. */
function cdnCacheControl(meta) {
  const seconds = (ms) => Math.floor(ms / 1000);
  const out = [`max-age=${seconds(meta.lifetime)}`];
  if (meta.noCache) out.push("no-cache");
  if (meta.mustRevalidate) out.push("must-revalidate");
  if (meta.swr > 0) out.push(`stale-while-revalidate=${seconds(meta.swr)}`);
  if (meta.sie > 0) out.push(`stale-if-error=${seconds(meta.sie)}`);
  return out.join(", ");
}

/** Adds the downstream headers to `response`, an answer built from the stored entry with `meta`. */
export function addDownstream(downstream, response, meta) {
  const headers = response.headers;
  if (downstream.cdnCacheControl) headers.set("cdn-cache-control", cdnCacheControl(meta));
  if (downstream.tagHeader && meta.tags?.length) {
    const separator = TAG_HEADERS.get(downstream.tagHeader);
    const tags = meta.tags.filter((t) => sendable(t, separator));
    const prior = headers.get(downstream.tagHeader);
    if (tags.length) headers.set(downstream.tagHeader, [...(prior ? [prior] : []), ...tags].join(separator));
  }
  return response;
}
