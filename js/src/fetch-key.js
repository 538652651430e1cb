// cachedFetch's primary cache key: the request URL without its fragment, or
// what the `cacheKey(request)` option makes of the request; and the
// built-ins that make keys from URLs, so that query parameters the origin
// ignores (marketing tags, their order) do not split the cache.
//
// The key only names the stored entry: the origin is always sent the
// client's own request. Query strings are handled as the raw `name=value`
// pieces between `&`s (names compared decoded), never re-encoded, so `?a`
// and `?a=` or `%7E` and `~` stay as distinct as the origin may find them.

import { describe } from "./keys.js";

/** Query parameters that only attribute a visit to a campaign (Google, Meta,
 * Microsoft, Mailchimp, HubSpot, TikTok, X, Yandex…): pages never depend
 * on them, so `dropQuery(MARKETING_QUERY_PARAMS)` keeps them out of keys. */
export const MARKETING_QUERY_PARAMS = Object.freeze(["utm_*", "fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid",
  "mc_cid", "mc_eid", "_hsenc", "_hsmi", "igshid", "ttclid", "twclid", "yclid", "_ga", "_gl"]);

/** The URL of a Request, URL or string, as a new URL without fragment; a TypeError naming `name` otherwise. */
function urlOf(input, name) {
  let url;
  if (input instanceof Request) url = new URL(input.url);
  else if (input instanceof URL) url = new URL(input.href);
  else if (typeof input === "string") url = new URL(input);
  else throw new TypeError(`${name} takes a Request, a URL or a URL string; got ${describe(input)}`);
  url.hash = "";
  return url;
}

/** The `name=value` pieces of a query, empty ones (`a=1&&b=2`) left out. */
function pieces(url) {
  return url.search.slice(1).split("&").filter(Boolean);
}

function withPieces(url, list) {
  url.search = list.length ? `?${list.join("&")}` : "";
  return url;
}

/** A piece's parameter name, decoded as application/x-www-form-urlencoded does. */
function nameOf(piece) {
  const eq = piece.indexOf("=");
  const raw = (eq < 0 ? piece : piece.slice(0, eq)).replace(/\+/g, " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The URL with its query parameters sorted by name (a stable sort: repeated
 * names keep their values' order, which an origin may read as a list). A
 * `cacheKey` itself: `cachedFetch(cache, { cacheKey: sortQuery })`.
 * @param {Request | URL | string} input
 */
export function sortQuery(input) {
  const url = urlOf(input, "sortQuery");
  const named = pieces(url).map((piece) => ({ piece, name: nameOf(piece) }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return withPieces(url, named.map((n) => n.piece));
}

function patternOf(p) {
  const parts = p.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`);
}

/**
 * A cacheKey that drops the query parameters whose names match `patterns`
 * (exact names, or with `*` for any run of characters: `utm_*`).
 * @param {readonly string[]} patterns
 */
export function dropQuery(patterns) {
  if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === "string" && p.length > 0)) {
    throw new TypeError(`dropQuery takes an array of parameter names or patterns such as "utm_*"; got ${describe(patterns)}`);
  }
  const exact = new Set(patterns.filter((p) => !p.includes("*")));
  const wild = patterns.filter((p) => p.includes("*")).map(patternOf);
  const dropped = (name) => exact.has(name) || wild.some((re) => re.test(name));
  return function dropQueryKey(input) {
    const url = urlOf(input, "dropQuery");
    return withPieces(url, pieces(url).filter((piece) => !dropped(nameOf(piece))));
  };
}

/** The `cacheKey` option: a function of the request, or undefined. */
export function cacheKeyOption(options) {
  const v = options.cacheKey;
  if (v !== undefined && typeof v !== "function") throw new TypeError(`cacheKey must be a function of the request; got ${describe(v)}`);
  return v;
}

/** The primary key of a request: its URL without fragment, or what `cacheKey` returns for it. */
export function primaryKey(cacheKey, request) {
  if (!cacheKey) return withoutFragment(request.url);
  const k = cacheKey(request);
  if (typeof k === "string") return k;
  if (k instanceof URL) return withoutFragment(k.href);
  if (k instanceof Request) return withoutFragment(k.url);
  throw new TypeError(`cacheKey must return a string, a URL or a Request; got ${describe(k)}`);
}

/** The primary key of a GET for `href` with `headers`: what an unsafe request invalidates there. */
export function primaryKeyOfUrl(cacheKey, href, headers) {
  return cacheKey ? primaryKey(cacheKey, new Request(href, { headers })) : withoutFragment(href);
}

function withoutFragment(href) {
  const at = href.indexOf("#");
  return at < 0 ? href : href.slice(0, at);
}
