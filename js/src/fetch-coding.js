// cachedFetch's content codings (RFC 9110 §8.4, RFC 9111 §3.1): a stored
// response's Content-Encoding must describe the bytes stored with it. The
// runtime's fetch() (Node, Deno, workerd, browsers) hands back decoded
// content but keeps the origin's Content-Encoding and Content-Length (the
// Fetch standard); replayed as they are, a Worker returning the answer would
// be fine (workerd codes it again), but Deno.serve or a Node server copying
// the headers would send decoded bytes labelled gzip. So a body the fetch
// decoded is stored as what it is: without Content-Encoding, with its own
// Content-Length, and with its ETag weakened (the strong one names the coded
// bytes, RFC 9110 §8.8.1). A body still coded (the proxy's node:http fetch
// decodes nothing) keeps its Content-Encoding and bytes. Which one a body is
// shows in its Content-Length, else in whose fetch it came from and in its
// first bytes (see decodedByFetch).

/** The codings fetch() decodes. */
const DECODED_BY_FETCH = new Set(["gzip", "x-gzip", "deflate", "br"]);

/**
 * Whether the `bytes` read are the decoded content of a coded response: its
 * Content-Encoding lists codings fetch() decodes and its Content-Length (the
 * coded size) differs from their length. Without a Content-Length the fetch
 * being the runtime's own (`runtimeFetch`) says so, and else the bytes do
 * where they can: a body whose outermost coding is gzip but which lacks the
 * gzip magic, or deflate but lacks a zlib header, was decoded (a `fetch`
 * option wrapping fetch()); br has no such header, so it counts as coded.
 */
export function decodedByFetch(headers, bytes, runtimeFetch) {
  const coding = headers.get("content-encoding");
  if (coding === null) return false;
  const codings = coding.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c && c !== "identity");
  if (codings.length === 0 || !codings.every((c) => DECODED_BY_FETCH.has(c))) return false;
  const declared = headers.get("content-length");
  if (declared !== null) return Number(declared) !== bytes.length;
  return runtimeFetch || lacksHeaderOf(codings[codings.length - 1], bytes);
}

/** Whether `bytes` cannot be `coding`'s output: gzip starts with 1f 8b
 * (RFC 1952 §2.3.1), deflate with a zlib header (RFC 1950 §2.2: method 8,
 * and the first two bytes a multiple of 31); false for codings without one. */
function lacksHeaderOf(coding, bytes) {
  if (coding === "gzip" || coding === "x-gzip") return !(bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b);
  if (coding === "deflate") return !(bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0);
  return false;
}

/** A weak form of an entity tag (RFC 9110 §8.8.3). */
export function weakTag(etag) {
  return etag === null || etag.startsWith("W/") ? etag : `W/${etag}`;
}

/** Stored headers (`[name, value]` pairs) describing `length` bytes of decoded content. */
export function asDecoded(headers, length) {
  const out = [];
  for (const [k, v] of headers) {
    if (k === "content-encoding" || k === "content-length") continue;
    out.push([k, k === "etag" ? weakTag(v) : v]);
  }
  out.push(["content-length", String(length)]);
  return out;
}
