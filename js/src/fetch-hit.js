// cachedFetch's shortcut for the commonest request a shared cache sees: a
// plain GET or HEAD answered by a fresh response in this isolate's memory.
// A server in front of cachedFetch (edgecache-proxy) asks it first, with the
// request as a method, a URL and a header getter, and writes the answer
// itself; without a Request, a Headers, a Response or a stream per hit. Any
// other request gets undefined and goes through cachedFetch as usual, which
// answers it (the same way, for the requests this one answers).

import { currentAge } from "./fetch-freshness.js";
import { decodeStored, lookupStored, META_LENGTH_BYTES, storedMetaBytes } from "./fetch-storage.js";

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
/** Entries whose decoded metadata is kept (see metaOf), in each of the two
 * maps; past this many a map starts over. Each holds its encoded metadata
 * and what was decoded from it, a few hundred bytes to a few KB for typical
 * headers, outside the cache's budget. */
const MEMO_ENTRIES = 4096;
/** Per cachedFetch context: { plain: key base → memo of the entry without
 * Vary, variants: `${base}\n\n${signature}` → memo of a Vary variant }, each
 * memo { bytes: its encoded metadata, words: the same as 32-bit words, meta, head }. Most entries have no Vary:
 * their memo is found by the base string itself, with no key built per hit. */
const memos = new WeakMap();

/** The stored response's head as a hit answers it: the status, the headers
 * without Age and Cache-Status (flat: [name, value, …]), and the
 * Cache-Status value a hit carries. */
function headOf(meta) {
  const headers = [];
  let prior = null;
  for (const [k, v] of meta.headers) {
    if (k === "cache-status") prior = v;
    else if (k !== "age") headers.push(k, v);
  }
  return { status: meta.status, statusText: meta.statusText, headers, cacheStatus: prior ? `${prior}, ${HIT_STATUS}` : HIT_STATUS };
}

/** Whether the stored entry's encoded metadata is `known.bytes`, compared in
 * place: four bytes at a time where it is aligned, with no view built
 * (subarray is among the dearest steps of a hit). */
function sameMeta(known, stored) {
  const { bytes, metaEnd } = stored;
  const from = metaEnd - known.bytes.length;
  if (from !== META_LENGTH_BYTES) return false;
  const words = known.words;
  let i = 0;
  if ((bytes.byteOffset + from) % 4 === 0) {
    const got = new Uint32Array(bytes.buffer, bytes.byteOffset + from, words.length);
    for (; i < words.length; i++) if (got[i] !== words[i]) return false;
    i *= 4;
  }
  const want = known.bytes;
  for (; i < want.length; i++) if (bytes[from + i] !== want[i]) return false;
  return true;
}

/** The metadata of a stored entry and its head, decoded once for as long as
 * the entry's encoded metadata stays the same (compared byte for byte), so
 * that the same head object comes back for every hit on it. */
function metaOf(ctx, stored) {
  let memo = memos.get(ctx);
  if (memo === undefined) memos.set(ctx, (memo = { plain: new Map(), variants: new Map() }));
  const plain = stored.signature === "";
  const map = plain ? memo.plain : memo.variants;
  const id = plain ? stored.base : `${stored.base}\n\n${stored.signature}`;
  const known = map.get(id);
  if (known !== undefined && sameMeta(known, stored)) return known;
  const { meta } = decodeStored(stored);
  const bytes = storedMetaBytes(stored).slice();
  const fresh = { bytes, words: new Uint32Array(bytes.buffer, 0, bytes.length >>> 2), meta, head: headOf(meta) };
  if (known === undefined && map.size >= MEMO_ENTRIES) map.clear();
  map.set(id, fresh);
  return fresh;
}

/**
 * A fresh L1 hit for `request` ({ method, url: normalised, without a
 * fragment, headers: { get(name), has(name) } with lower-case names as
 * cachedFetch would forward them }), as { head: { status, statusText,
 * headers: [name, value, …] (flat, without Age and Cache-Status),
 * cacheStatus }, age: in seconds, body: Uint8Array | null }, or undefined
 * when the full path must answer. `head` is the same object for every hit
 * on the same stored response (a server may keep what it derives from it);
 * it must not be changed. `maxBody`: larger bodies take the full path,
 * which streams them in chunks.
 */
export function storedHit(ctx, request, maxBody) {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  // A user's cacheKey takes a Request, and downstream headers a Response:
  // such a cachedFetch answers every request on its full path.
  if (ctx.config.cacheKey || ctx.config.downstream) return undefined;
  const headers = request.headers;
  for (const name of FULL_PATH_HEADERS) if (headers.has(name)) return undefined;
  const stored = lookupStored(ctx, request.url, request);
  if (stored === undefined) return undefined;
  const { meta, head } = metaOf(ctx, stored);
  const age = currentAge(meta, ctx.io.now());
  // A stored part of a body (206) is never a whole answer to a plain GET.
  if (!(age < meta.lifetime) || meta.noCache || meta.status === 206) return undefined;
  const bodyless = request.method === "HEAD" || meta.status === 204 || meta.status === 304;
  if (!bodyless && stored.bytes.length - stored.metaEnd > maxBody) return undefined;
  return { head, age: Math.floor(Math.max(0, age) / 1000), body: bodyless ? null : stored.bytes.subarray(stored.metaEnd) };
}
