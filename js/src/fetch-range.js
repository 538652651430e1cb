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

import { bytesStream } from "./fetch-body.js";
import { httpDate } from "./fetch-fields.js";

const RANGE = "range";
const IF_RANGE = "if-range";
/** A Last-Modified is a strong validator when the response's Date is at
 * least this much later (RFC 9110 §8.8.2.2). */
const STRONG_DATE_MS = 1000;

/** Answers built from stored bytes: the bytes and the release of what they hold. */
const fromStore = new WeakMap();

/** Marks `response` as answered from the stored `bytes`; `release` runs once its body is done. */
export function storedAnswer(response, bytes, release) {
  fromStore.set(response, { bytes, release });
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

/** Whether the body is content-coded: its ranges count bytes a fetch() body no longer has. */
function contentCoded(headers) {
  const coding = headers.get("content-encoding");
  return coding !== null && coding.trim().toLowerCase() !== "identity" && coding.trim() !== "";
}

/**
 * The answer to a GET with `range`, from the whole answer `response`: a 206
 * or 416 cut from stored bytes, the whole response, or (when `response` was
 * not stored) the origin's own answer to the ranged request, from `refetch`.
 */
export async function answerRange(response, range, refetch) {
  const stored = fromStore.get(response);
  if (response.status !== 200) return response;
  if (!stored) {
    await response.body?.cancel();
    const again = await refetch();
    const out = new Response(again.body, again);
    out.headers.set("cache-status", response.headers.get("cache-status"));
    return out;
  }
  const length = stored.bytes.length;
  const spec = byteRange(range.range, length);
  if (spec === null || contentCoded(response.headers) || !ifRangeHolds(range.ifRange, response.headers)) return response;
  const headers = new Headers(response.headers);
  if (spec === "unsatisfiable") {
    stored.release?.();
    headers.delete("content-type");
    headers.set("content-length", "0");
    headers.set("content-range", `bytes */${length}`);
    return new Response(null, { status: 416, statusText: "Range Not Satisfiable", headers });
  }
  headers.set("content-range", `bytes ${spec.start}-${spec.end}/${length}`);
  headers.set("content-length", String(spec.end - spec.start + 1));
  const body = bytesStream(stored.bytes.subarray(spec.start, spec.end + 1), stored.release);
  return new Response(body, { status: 206, statusText: "Partial Content", headers });
}
