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
// decodes nothing) keeps its Content-Encoding and bytes.

/** The codings fetch() decodes. */
const DECODED_BY_FETCH = new Set(["gzip", "x-gzip", "deflate", "br"]);

/**
 * Whether the `length` bytes read are the decoded content of a coded
 * response: its Content-Encoding lists codings fetch() decodes and its
 * Content-Length (the coded size) differs from them, or, without a
 * Content-Length, the fetch is the runtime's own (`runtimeFetch`).
 */
export function decodedByFetch(headers, length, runtimeFetch) {
  const coding = headers.get("content-encoding");
  if (coding === null) return false;
  const codings = coding.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c && c !== "identity");
  if (codings.length === 0 || !codings.every((c) => DECODED_BY_FETCH.has(c))) return false;
  const declared = headers.get("content-length");
  return declared === null ? runtimeFetch : Number(declared) !== length;
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
