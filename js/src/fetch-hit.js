// cachedFetch's shortcut for the commonest request a shared cache sees: a
// plain GET or HEAD answered by a fresh response in this isolate's memory.
// A server in front of cachedFetch (edgecache-proxy) asks it first, with the
// request as a method, a URL and a header getter, and writes the answer
// itself; without a Request, a Headers, a Response or a stream per hit. Any
// other request gets undefined and goes through cachedFetch as usual, which
// answers it (the same way, for the requests this one answers).

import { currentAge } from "./fetch-freshness.js";
import { decodeStored, keyOf, lookupStored } from "./fetch-storage.js";

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
/** The most entries, and bytes of them, whose copy and decoded metadata are
 * kept (see readerOf), outside the cache's budget; past either, the oldest
 * kept go first. */
const MEMO_ENTRIES = 4096;
const MEMO_BYTES = 16 * 1024 * 1024;
/** A key base (the URL and the key headers' values) longer than this is
 * worked out for each request, not kept: the kept ones then hold at most
 * MEMO_ENTRIES × a few times this many characters, whatever the requests. */
const MEMO_BASE_CHARS = 512;
/** A larger entry is decoded for each hit, not kept. */
const MEMO_ENTRY_BYTES = 256 * 1024;
/** Per cachedFetch context, kept on it under MEMO: { plain: key base → memo
 * of the entry without Vary, variants: `${base}\n\n${signature}` → memo of a
 * Vary variant, bytes: their total size, bases: URL → { values: of the key
 * headers, base, plainKey } (see baseOf), reader: what reads a stored entry
 * in place (see readerOf) }, each memo { bytes: a copy of the stored entry,
 * meta, head, body: the body within bytes }. */
const MEMO = Symbol("edgecache.hitMemo");
/** Node's compare of two byte ranges without a view of either (memcmp);
 * elsewhere a loop. */
const nodeCompare = globalThis.Buffer?.prototype.compare;

/** Whether `mem[at .. at + known.length]` holds the bytes of `known`. */
function sameBytes(mem, at, known) {
  const n = known.length;
  if (nodeCompare !== undefined) return nodeCompare.call(mem, known, 0, n, at, at + n) === 0;
  for (let i = 0; i < n; i++) if (mem[at + i] !== known[i]) return false;
  return true;
}

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

/** The context's memo maps and its reader: `reader.visit(mem, at, length)`,
 * given the stored entry in place (lookupStored sets `reader.base` and
 * `reader.signature` first), returns the memo of an entry with these same
 * bytes (compared in place: nothing copied, no view made), or makes one
 * (copied once, its metadata decoded once), so that the same memo, and the
 * same head and body objects, come back for every hit on the same stored
 * response. */
function readerOf(ctx) {
  let memo = ctx[MEMO];
  if (memo !== undefined) return memo.reader;
  memo = { plain: new Map(), variants: new Map(), bytes: 0, bases: new Map(), reader: { base: "", signature: "", visit: null, memo: null } };
  memo.reader.memo = memo;
  const { plain: plainMap, variants, reader } = memo;
  reader.visit = (mem, at, length) => {
    const plain = reader.signature === "";
    const map = plain ? plainMap : variants;
    const id = plain ? reader.base : `${reader.base}\n\n${reader.signature}`;
    const known = map.get(id);
    if (known !== undefined && known.bytes.length === length && sameBytes(mem, at, known.bytes)) return known;
    const bytes = mem.slice(at, at + length);
    const { meta, body } = decodeStored(bytes);
    const fresh = { bytes, meta, head: headOf(meta), body };
    if (length > MEMO_ENTRY_BYTES) return fresh;
    if (known !== undefined) {
      map.delete(id);
      memo.bytes -= known.bytes.length;
    }
    map.set(id, fresh);
    memo.bytes += length;
    while (plainMap.size + variants.size > MEMO_ENTRIES || memo.bytes > MEMO_BYTES) {
      const from = plainMap.size > 0 ? plainMap : variants;
      const [oldest, gone] = from.entries().next().value;
      from.delete(oldest);
      memo.bytes -= gone.bytes.length;
    }
    return fresh;
  };
  ctx[MEMO] = memo;
  return reader;
}

/** keyOf's key base for `url` and the request's `headers`, and the cache's
 * encoding of the key of its entry without Vary: { base, plainKey }, the
 * same for as long as the key headers' values are the same (the base's
 * hash is then kept, and the memos find it at once; the key is not
 * encoded again). */
function baseOf(ctx, memo, url, headers) {
  const names = ctx.config.keyHeaders;
  const known = memo.bases.get(url);
  if (known !== undefined) {
    let same = true;
    for (let i = 0; i < names.length && same; i++) same = headers.get(names[i]) === known.values[i];
    if (same) return known;
  }
  const base = keyOf(ctx, url, { headers });
  const fresh = { values: names.map((n) => headers.get(n)), base, plainKey: ctx.io.encodeKey(["cf", base, ""]) };
  if (base.length > MEMO_BASE_CHARS) return fresh;
  if (memo.bases.size >= MEMO_ENTRIES) memo.bases.clear();
  memo.bases.set(url, fresh);
  return fresh;
}

/**
 * A fresh L1 hit for `request` ({ method, url: normalised, without a
 * fragment, headers: { get(name), has(name) } with lower-case names as
 * cachedFetch would forward them }), as { head: { status, statusText,
 * headers: [name, value, …] (flat, without Age and Cache-Status),
 * cacheStatus }, age: in seconds, body: Uint8Array | null }, or undefined
 * when the full path must answer. `head` and `body` are the same objects
 * for every hit on the same stored response (a server may keep what it
 * derives from them); they must not be changed. `maxBody`: larger bodies
 * take the full path, which streams them in chunks.
 */
export function storedHit(ctx, request, maxBody) {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  // A user's cacheKey takes a Request, and downstream headers a Response:
  // such a cachedFetch answers every request on its full path.
  if (ctx.config.cacheKey || ctx.config.downstream) return undefined;
  const headers = request.headers;
  for (const name of FULL_PATH_HEADERS) if (headers.has(name)) return undefined;
  const reader = readerOf(ctx);
  const { base, plainKey } = baseOf(ctx, reader.memo, request.url, headers);
  const stored = lookupStored(ctx, base, request, reader, plainKey);
  if (stored === undefined) return undefined;
  const { meta, head } = stored;
  const age = currentAge(meta, ctx.io.now());
  // A stored part of a body (206) is never a whole answer to a plain GET.
  if (!(age < meta.lifetime) || meta.noCache || meta.status === 206) return undefined;
  const bodyless = request.method === "HEAD" || meta.status === 204 || meta.status === 304;
  if (!bodyless && stored.body.length > maxBody) return undefined;
  return { head, age: Math.floor(Math.max(0, age) / 1000), body: bodyless ? null : stored.body };
}
