// cachedFetch's storage: entries as bytes in the cache, and reading a body
// up to the size worth storing.
//
// Stored per key base (the primary key — the URL, or what the cacheKey
// option makes of the request — plus keyHeaders' values when set):
// ["cf-vary", base] → the response's Vary header names, and
// ["cf", base, vary signature] → metadata + body. Both carry the tag
// "cf-url:" + primary key, so an unsafe request invalidates every variant
// in O(1).

import { ageOf, currentAge } from "./fetch-freshness.js";
import { sharedBytes } from "./fetch-body.js";
import { varySignature } from "./fetch-vary.js";

/** Response headers never stored (hop-by-hop; those of the proxy the cache
 * forwards through, RFC 9111 §3.1; and Set-Cookie, which is never shared). */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authentication-info",
  "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "set-cookie"]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Bytes of the little-endian metadata length that starts a stored entry. */
export const META_LENGTH_BYTES = 4;

/** The stored metadata's fields, in the order they are written: a positional
 * array is about half the size of the same object as JSON text. */
const META_FIELDS = ["status", "statusText", "headers", "reqTime", "resTime", "date", "age", "lifetime",
  "noCache", "mustRevalidate", "swr", "sie", "etag", "lastModified", "immutable", "tags", "decoded"];

function encodeEntry(meta, body) {
  const m = encoder.encode(JSON.stringify(META_FIELDS.map((f) => meta[f] ?? null)));
  const out = new Uint8Array(META_LENGTH_BYTES + m.length + body.length);
  new DataView(out.buffer).setUint32(0, m.length, true);
  out.set(m, META_LENGTH_BYTES);
  out.set(body, META_LENGTH_BYTES + m.length);
  return out;
}

function decodeEntry(bytes) {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const values = JSON.parse(decoder.decode(bytes.subarray(META_LENGTH_BYTES, META_LENGTH_BYTES + n)));
  const meta = {};
  META_FIELDS.forEach((f, i) => {
    if (values[i] !== null) meta[f] = values[i];
  });
  return { meta, body: bytes.subarray(META_LENGTH_BYTES + n) };
}

/** The part of the key before Vary: the primary key, plus keyHeaders' values. */
export function keyOf(ctx, url, request) {
  const names = ctx.config.keyHeaders;
  return names.length ? `${url}\n${varySignature(names, request.headers)}` : url;
}

/** A response's headers as stored: without hop-by-hop ones, Set-Cookie, and
 * the headers its Connection names (RFC 9111 §3.1). */
export function storedHeaders(headers) {
  const named = new Set((headers.get("connection") ?? "").split(",").map((n) => n.trim().toLowerCase()));
  const out = [];
  for (const [k, v] of headers) if (!HOP_BY_HOP.has(k) && !named.has(k)) out.push([k, v]);
  return out;
}

/** A response's metadata, built once for storing and for answering. A
 * response without a valid Date gets one, the time it was received (RFC
 * 9110 §6.6.1): hits then tell its age, and If-Modified-Since has a date to
 * compare with (RFC 9111 §4.3.2). */
export function entryMeta(response, policy, reqTime, resTime) {
  let headers = storedHeaders(response.headers);
  if (policy.date === undefined) {
    headers = headers.filter(([k]) => k !== "date");
    headers.push(["date", new Date(resTime).toUTCString()]);
  }
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    reqTime,
    resTime,
    date: policy.date,
    age: ageOf(response.headers.get("age")),
    lifetime: policy.lifetime,
    noCache: policy.noCache,
    mustRevalidate: policy.mustRevalidate,
    swr: policy.swr,
    sie: policy.sie,
    etag: response.headers.get("etag"),
    lastModified: response.headers.get("last-modified"),
    immutable: policy.immutable || undefined,
  };
}

/** The metadata as it is shared: without the header fields a qualified
 * no-cache or private names (`policy.strip`); the response's own requester
 * gets them, everyone else gets the stored copy without them. */
export function sharedMeta(meta, policy) {
  if (!policy.strip.length) return meta;
  const strip = new Set(policy.strip);
  return { ...meta, headers: meta.headers.filter(([k]) => !strip.has(k)) };
}

/** Stores an entry for as long as it is fresh plus its stale windows (or
 * keepForRevalidation, if longer); false when refused. */
export function store(ctx, url, request, policy, meta, body) {
  const { cache, io } = ctx;
  const remaining = policy.lifetime - currentAge(meta, meta.resTime);
  // Stale, it is kept a while: to be revalidated, and for requests that
  // accept it stale (max-stale, stale-if-error in the request).
  const keep = Math.max(0, remaining) + Math.max(policy.swr, policy.sie, ctx.config.keepForRevalidation);
  if (keep <= 0) return false;
  const opts = { ttl: Math.ceil(keep), tags: [`cf-url:${url}`, ...ctx.config.tags] };
  // The entry remembers its tags: its answers can name them to a CDN (fetch-downstream.js).
  if (ctx.config.tags.length) meta.tags = ctx.config.tags;
  const base = keyOf(ctx, url, request);
  const varyRecord = policy.vary.length ? JSON.stringify(policy.vary) : null;
  // What is stored varies on: the Vary record's names, or none for an entry
  // without Vary (null), or nothing is stored (undefined).
  const known = io.getRaw(["cf-vary", base]);
  const storedVary = known !== undefined ? decoder.decode(known) : io.getRaw(["cf", base, ""]) !== undefined ? null : undefined;
  // A response that varies otherwise than what is stored (not at all, or on
  // other headers, or where the stored one did not) replaces every variant
  // and the entry without Vary: one left behind would be answered again (a
  // hit looks for the entry without Vary first, lookupStored), though a newer
  // response replaced it. They are found by the URL's tag (O(1); the URL's
  // entries under other key bases go too: a rare change).
  if (storedVary !== undefined && storedVary !== varyRecord) cache.invalidateTag(`cf-url:${url}`);
  if (varyRecord !== null) io.setRaw(["cf-vary", base], encoder.encode(varyRecord), opts);
  return io.setRaw(["cf", base, varySignature(policy.vary, request.headers)], encodeEntry(meta, body), opts);
}

/** Removes the stored entry for this request's variant (here and in the tier). */
export function forget(ctx, url, request) {
  const base = keyOf(ctx, url, request);
  const varyBytes = ctx.io.getRaw(["cf-vary", base]);
  const vary = varyBytes ? JSON.parse(decoder.decode(varyBytes)) : [];
  ctx.cache.delete(["cf", base, varySignature(vary, request.headers)]);
}

/** The stored entry for this request's variant, or undefined. */
export function lookup(ctx, url, request) {
  const { io } = ctx;
  const base = keyOf(ctx, url, request);
  const varyBytes = io.getRaw(["cf-vary", base]);
  const vary = varyBytes ? JSON.parse(decoder.decode(varyBytes)) : [];
  const signature = varySignature(vary, request.headers);
  const raw = io.getRaw(["cf", base, signature]);
  return raw ? decodeEntry(sharedBytes(ctx.shared, `${base}\n\n${signature}`, raw)) : undefined;
}

/** Raw bytes under `key`: L1's, else the tier's (`shared`: read from the tier). */
async function readThrough(io, key) {
  const here = io.getRaw(key);
  if (here !== undefined) return { bytes: here, shared: false };
  const bytes = await io.tierRaw(key);
  return bytes === undefined ? undefined : { bytes, shared: true };
}

/**
 * The stored entry for this request's variant read through to the cache's
 * tier, or undefined; an entry from the tier says so (`shared`). The Vary
 * names and the entry without Vary are read at once: most responses have no
 * Vary, and then the second read is the answer.
 */
export async function lookupShared(ctx, url, request) {
  const base = keyOf(ctx, url, request);
  const [varyRead, plainRead] = await Promise.all([readThrough(ctx.io, ["cf-vary", base]), readThrough(ctx.io, ["cf", base, ""])]);
  const vary = varyRead ? JSON.parse(decoder.decode(varyRead.bytes)) : [];
  const read = vary.length ? await readThrough(ctx.io, ["cf", base, varySignature(vary, request.headers)]) : plainRead;
  return read ? { ...decodeEntry(read.bytes), shared: read.shared } : undefined;
}

/** A stream of what was read so far followed by the rest of the reader. */
function resumed(chunks, reader) {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(ch);
    },
    async pull(c) {
      const next = await reader.read();
      if (next.done) c.close();
      else c.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function concat(chunks, size) {
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    bytes.set(ch, at);
    at += ch.length;
  }
  return bytes;
}

/** Reads a body up to `limit` bytes, each taken from `budget`; past either,
 * gives back what it took and hands back a stream of all of it instead. */
export async function readLimited(response, limit, budget) {
  const length = Number(response.headers.get("content-length"));
  if (Number.isFinite(length) && length > limit) return { stream: response.body, detail: "too-large" };
  if (!response.body) return { bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    let next;
    try {
      next = await reader.read();
    } catch (err) {
      budget.give(size);
      throw err;
    }
    const { done, value } = next;
    if (done) return { bytes: concat(chunks, size) };
    chunks.push(value);
    // Too big to store, or no room to buffer it: pass it through, starting with what was read.
    const tooLarge = size + value.length > limit;
    if (tooLarge || !budget.take(value.length)) {
      budget.give(size);
      return { stream: resumed(chunks, reader), detail: tooLarge ? "too-large" : "buffers-full" };
    }
    size += value.length;
  }
}

/**
 * What `reader.visit(mem, at, length)` returns for the stored bytes of this
 * request's variant under key base `base` (keyOf's), read in place (see the cache's visitRaw; `at` is where
 * the entry starts: its metadata length, the metadata, then the body), or
 * undefined. `plainKey`: the cache's encoding of ["cf", base, ""]. `reader.base` and `reader.signature` are set to the entry's
 * name (its key is ["cf", base, signature]) before it is read. Without a
 * tier the entry without Vary is read first: store() removes it when a
 * response with Vary replaces it, so most hits are one read. (A tier can
 * fill L1 with an older entry without Vary beside a newer Vary record.)
 */
export function lookupStored(ctx, base, request, reader, plainKey) {
  const { io } = ctx;
  reader.base = base;
  if (!io.tiered) {
    reader.signature = "";
    const plain = io.visitEncoded(plainKey, reader.visit);
    if (plain !== undefined) return plain;
  }
  const varyBytes = io.getRaw(["cf-vary", base]);
  if (varyBytes === undefined && !io.tiered) return undefined;
  const vary = varyBytes ? JSON.parse(decoder.decode(varyBytes)) : [];
  reader.signature = varySignature(vary, request.headers);
  return io.visitRaw(["cf", base, reader.signature], reader.visit);
}

/** The entry ({ meta, body }) in stored bytes. */
export function decodeStored(bytes) {
  return decodeEntry(bytes);
}
