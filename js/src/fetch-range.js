// cachedFetch's answers to Range requests (RFC 9110 §14, RFC 9111 §3.3):
// the cache asks the origin for whole representations (it removes Range and
// If-Range from what it forwards), stores them as any other response, and
// cuts the client's range out of the stored bytes:
// - one byte range (`bytes=0-99`, `bytes=100-`, `bytes=-50`) of a stored
//   200 → 206 with Content-Range; one that starts past the end → 416 with
//   `Content-Range: bytes */length`;
// - several ranges, a unit other than bytes, a Range that does not parse,
//   an If-Range that does not match (strongly), a status other than 200, or
//   a content-coded response → the whole 200 (a server may always ignore
//   Range, §14.2; no multipart/byteranges, whose many small parts cost more
//   than the body they save). A fetch() body is decoded content, while the
//   range of a content-coded response counts its encoded bytes: those are
//   never cut.
// - an answer that was not stored (private, no-store, too large…) is asked
//   of the origin again with the client's Range and If-Range, and that
//   answer passes through: a client seeking into a large or uncacheable
//   file never costs the download of what precedes its range.
// A 206 the origin sends anyway (one range, `Content-Range: bytes a-b/n`,
// not content-coded, with all its bytes) is stored like a 200 (RFC 9111
// §3.3) and answers the ranges inside it; any other request completes it
// first (§3.4): the missing bytes before or after it are asked with one
// Range and `If-Range: <its strong ETag>`, the two parts make the whole 200
// that is stored and answered from (concurrent completions collapse into
// one); without a strong ETag, or with bytes missing on both sides, the
// whole representation is asked for instead.

import { bytesStream } from "./fetch-body.js";
import { httpDate } from "./fetch-fields.js";

const RANGE = "range";
const IF_RANGE = "if-range";
/** A Last-Modified is a strong validator when the response's Date is at
 * least this much later (RFC 9110 §8.8.2.2). */
const STRONG_DATE_MS = 1000;

/** On an answer built from stored bytes: the bytes and the release of what
 * they hold. A symbol-keyed property costs a hit about nothing; a WeakMap
 * entry cost 6–8 % of a hit's CPU time. */
const STORED = Symbol("edgecache stored bytes");

/** Marks `response` as answered from the stored `bytes`; `release` runs once its body is done. */
export function storedAnswer(response, bytes, release) {
  response[STORED] = { bytes, release };
  return response;
}

/** The client's Range and If-Range on a GET, or null (RFC 9110 §14.2: GET only). */
export function rangeOf(request) {
  const range = request.headers.get(RANGE);
  if (request.method !== "GET" || range === null) return null;
  return { range, ifRange: request.headers.get(IF_RANGE) };
}

/** The request without Range and If-Range: what the cache forwards and stores. */
export function withoutRange(request) {
  const headers = new Headers(request.headers);
  headers.delete(RANGE);
  headers.delete(IF_RANGE);
  return new Request(request, { headers });
}

/**
 * The one byte range `value` asks of `length` bytes as `{ start, end }`
 * (inclusive), `"unsatisfiable"`, or null when the header is to be ignored:
 * it does not parse, is not in bytes, or lists several ranges.
 */
export function byteRange(value, length) {
  const m = /^bytes=(.*)$/i.exec(value.trim());
  if (!m) return null;
  const specs = m[1].split(",").map((s) => s.trim()).filter(Boolean);
  if (specs.length !== 1) return null;
  const spec = /^(?:(\d+)-(\d*)|-(\d+))$/.exec(specs[0]);
  if (!spec) return null;
  const [, first, last, suffix] = spec;
  if (suffix !== undefined) {
    const n = Number(suffix);
    return n === 0 || length === 0 ? "unsatisfiable" : { start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Infinity : Number(last);
  if (end < start) return null;
  return start >= length ? "unsatisfiable" : { start, end: Math.min(end, length - 1) };
}

/** Whether If-Range lets the range apply (RFC 9110 §13.1.5): absent, or a
 * strong ETag equal to the response's, or the response's Last-Modified when
 * that is a strong validator. */
export function ifRangeHolds(ifRange, headers) {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return headers.get("etag")?.trim() === value;
  if (value.startsWith("W/")) return false;
  const since = httpDate(value);
  const modified = httpDate(headers.get("last-modified"));
  const date = httpDate(headers.get("date"));
  return since !== undefined && since === modified && date !== undefined && date - modified >= STRONG_DATE_MS;
}

/** A 206's one range: `{ start, end, length }` from `Content-Range: bytes
 * start-end/length`, or null for anything else (`*` length, multipart…). */
export function partialOf(headers) {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers.get("content-range")?.trim() ?? "");
  if (!m || headers.get("content-type")?.toLowerCase().startsWith("multipart/byteranges")) return null;
  const [start, end, length] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return start <= end && end < length ? { start, end, length } : null;
}

/** Whether a 206 may be stored: one range, not content-coded (RFC 9111 §3.3). */
export function storablePartial(headers) {
  return partialOf(headers) !== null && !contentCoded(headers);
}

/** The request for what a stored partial response lacks: one Range with
 * If-Range (its strong ETag), else the whole representation; never
 * conditional (the client's validators are evaluated on the whole answer). */
export function completionRequest(request, part, headers) {
  const etag = headers.get("etag")?.trim();
  const out = new Headers(request.headers);
  for (const name of [RANGE, IF_RANGE, "if-none-match", "if-modified-since"]) out.delete(name);
  if (etag?.startsWith('"')) {
    const missing = part.start === 0 ? `${part.end + 1}-` : part.end === part.length - 1 ? `0-${part.start - 1}` : null;
    if (missing) {
      out.set(RANGE, `bytes=${missing}`);
      out.set(IF_RANGE, etag);
    }
  }
  return new Request(request.url, { method: "GET", headers: out, redirect: request.redirect, signal: request.signal });
}

/**
 * The whole 200 made of a stored partial (`bytes`, `headers`, `part`) and
 * the origin's `response` to its completion request, when that is the
 * missing range of the same representation (same strong ETag and length);
 * the new response's headers but Content-Range replace the stored ones
 * (RFC 9111 §3.4). Otherwise `response` itself.
 */
export async function combined(part, bytes, headers, response) {
  const next = response.status === 206 ? partialOf(response.headers) : null;
  const etag = headers.get("etag");
  const contiguous = next && next.length === part.length && (next.start === part.end + 1 || next.end === part.start - 1);
  if (!contiguous || !etag?.startsWith('"') || response.headers.get("etag") !== etag || contentCoded(response.headers)) return response;
  const rest = new Uint8Array(await response.arrayBuffer());
  if (rest.length !== next.end - next.start + 1) throw new TypeError("the origin's 206 body does not match its Content-Range");
  const whole = new Uint8Array(part.length);
  whole.set(bytes, part.start);
  whole.set(rest, next.start);
  const merged = new Headers(headers);
  // Age and Cache-Status are this answer's: the new response's count.
  merged.delete("age");
  merged.delete("cache-status");
  for (const [k, v] of response.headers) if (k !== "content-range") merged.set(k, v);
  merged.delete("content-range");
  merged.set("content-length", String(part.length));
  return new Response(whole, { status: 200, statusText: "OK", headers: merged });
}

/** Whether the body is content-coded: its ranges count bytes a fetch() body no longer has. */
function contentCoded(headers) {
  const coding = headers.get("content-encoding");
  return coding !== null && coding.trim().toLowerCase() !== "identity" && coding.trim() !== "";
}

/** A 206 cut from `bytes`, which hold `[offset, offset + bytes.length)` of `length`. */
function cut(headers, bytes, offset, spec, length, release) {
  const out = new Headers(headers);
  out.set("content-range", `bytes ${spec.start}-${spec.end}/${length}`);
  out.set("content-length", String(spec.end - spec.start + 1));
  const body = bytesStream(bytes.subarray(spec.start - offset, spec.end - offset + 1), release);
  return new Response(body, { status: 206, statusText: "Partial Content", headers: out });
}

function unsatisfiable(headers, length, release) {
  release?.();
  const out = new Headers(headers);
  out.delete("content-type");
  out.set("content-length", "0");
  out.set("content-range", `bytes */${length}`);
  return new Response(null, { status: 416, statusText: "Range Not Satisfiable", headers: out });
}

/** The range of a stored partial response `response` asks, cut from it when
 * it holds it all; else the answer `complete` makes once it is whole. */
async function fromPartial(response, stored, range, how) {
  const part = partialOf(response.headers);
  const held = stored.bytes.length === (part ? part.end - part.start + 1 : -1);
  if (!held || how.head) {
    // A HEAD, or a stored partial that does not add up: the origin answers.
    stored.release?.();
    await response.body?.cancel();
    return how.refetch();
  }
  if (part.start === 0 && part.end === part.length - 1) {
    // Every byte is here: it is the whole response, labelled 206.
    const headers = new Headers(response.headers);
    headers.delete("content-range");
    const whole = new Response(bytesStream(stored.bytes, stored.release), { status: 200, statusText: "OK", headers });
    return answerRange(storedAnswer(whole, stored.bytes, stored.release), range, { ...how, complete: null });
  }
  const spec = range && ifRangeHolds(range.ifRange, response.headers) ? byteRange(range.range, part.length) : null;
  // The complete length is known: a range past it needs no origin.
  if (spec === "unsatisfiable") return unsatisfiable(response.headers, part.length, stored.release);
  if (spec && spec.start >= part.start && spec.end <= part.end) {
    return cut(response.headers, stored.bytes, part.start, spec, part.length, stored.release);
  }
  stored.release?.();
  const whole = await how.complete(part, stored.bytes, response.headers);
  return answerRange(whole, range, { ...how, complete: null });
}

/**
 * The answer to a GET or HEAD from the whole answer `response`: for a
 * `range`, a 206 or 416 cut from stored bytes, the whole response, or (when
 * `response` was not stored) the origin's own answer to the ranged request,
 * from `how.refetch`; a stored partial response answers only a range inside
 * it, and is completed with `how.complete` for any other request.
 */
export async function answerRange(response, range, how) {
  const stored = response[STORED];
  if (stored && response.status === 206 && how.complete) return fromPartial(response, stored, range, how);
  if (!range || response.status !== 200) return response;
  if (!stored) {
    await response.body?.cancel();
    const again = await how.refetch();
    const out = new Response(again.body, again);
    out.headers.set("cache-status", response.headers.get("cache-status"));
    return out;
  }
  const length = stored.bytes.length;
  const spec = byteRange(range.range, length);
  if (spec === null || contentCoded(response.headers) || !ifRangeHolds(range.ifRange, response.headers)) return response;
  if (spec === "unsatisfiable") return unsatisfiable(response.headers, length, stored.release);
  return cut(response.headers, stored.bytes, 0, spec, length, stored.release);
}
