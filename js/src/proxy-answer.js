// The bytes of a fresh hit on edgecache-proxy's fast path: what node:http's
// ServerResponse writes for `writeHead(status, statusText, headers)` then
// `end(body)` in answer to an HTTP/1.1 request (see _storeHeader in Node's
// lib/_http_outgoing.js), so that a hit reads the same whichever path
// answers it, apart from Date. An entry node:http would write in some other
// way (or refuse) gets undefined: node:http answers it.

import { STATUS_CODES } from "node:http";

const CRLF = "\r\n";
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What node:http refuses in a header value or status message. */
const INVALID_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const NON_ASCII = /[\x80-\xff]/;
/** Response headers that change how node:http frames or ends an answer:
 * none of them is stored (cachedFetch drops hop-by-hop headers), but an
 * entry with one is left to node:http. */
const FRAMING = new Set(["connection", "keep-alive", "transfer-encoding", "trailer", "expect"]);
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/** The Date header value for a second since the epoch, as node:http writes
 * it: made once a second. */
let dateSecond = -1;
let dateValue = "";
function utcDate(second) {
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/** What every answer from one stored head shares, worked out once per head
 * (fetch-hit.js hands out the same head object for as long as the stored
 * response is the same), or null when node:http is to write it. */
const prepared = new WeakMap();

/**
 * For a head { status, statusText, headers, cacheStatus } and the `via`
 * value the server adds: `start`, the bytes up to the Age value;
 * `afterAge`, the text from the end of the Age value (Cache-Status, Via) up
 * to node:http's own headers; `date`, whether node:http adds Date;
 * `length`, the Content-Length value if any; `via`; `last`, headBytes' last
 * answer. Null when node:http would write the head some other way or
 * refuse it.
 */
function prepare(head, via) {
  const { status, headers } = head;
  const message = typeof head.statusText === "string" ? head.statusText : STATUS_CODES[status] || "unknown";
  if (INVALID_CHAR.test(message) || INVALID_CHAR.test(head.cacheStatus) || INVALID_CHAR.test(via)) return null;
  let text = `HTTP/1.1 ${status} ${message}${CRLF}`;
  let date = true;
  let length;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (!TOKEN.test(name) || INVALID_CHAR.test(value)) return null;
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) return null;
    if (lower === "date") date = false;
    else if (lower === "content-length") {
      if (length !== undefined) return null;
      length = value;
    } else if (lower === "content-disposition" && length !== undefined && NON_ASCII.test(value)) return null;
    text += `${name}: ${value}${CRLF}`;
  }
  return { start: Buffer.from(`${text}age: `, "latin1"), afterAge: `${CRLF}cache-status: ${head.cacheStatus}${CRLF}via: ${via}${CRLF}`, date, via, length, last: null };
}

/** The head bytes of the last answer from a prepared head, up to its body,
 * and what they were made for, and the last whole answer (`answer`, for
 * `body`): hits on the same stored response within the same second share
 * them. */
function headBytes(p, age, second, close, keepAliveSeconds, bodyLength) {
  const last = p.last;
  if (last !== null && last.age === age && last.second === second && last.close === close &&
    last.bodyLength === bodyLength && last.keepAliveSeconds === keepAliveSeconds) return last;
  let tail = `${age}${p.afterAge}`;
  if (p.date) tail += `Date: ${utcDate(second)}${CRLF}`;
  tail += close ? `Connection: close${CRLF}` : `Connection: keep-alive${CRLF}Keep-Alive: timeout=${keepAliveSeconds}${CRLF}`;
  let chunked = false;
  if (bodyLength >= 0 && p.length === undefined) {
    // Without a Content-Length node:http sends the body as one chunk (and
    // an empty one in a way not copied here).
    if (bodyLength === 0) return null;
    chunked = true;
    tail += `Transfer-Encoding: chunked${CRLF}${CRLF}${bodyLength.toString(16)}${CRLF}`;
  } else {
    // node:http would send a body that disagrees with its Content-Length as it is.
    if (bodyLength >= 0 && p.length !== String(bodyLength)) return null;
    tail += CRLF;
  }
  const bytes = Buffer.allocUnsafeSlow(p.start.length + tail.length);
  bytes.set(p.start, 0);
  bytes.latin1Write(tail, p.start.length);
  p.last = { age, second, close, bodyLength, keepAliveSeconds, bytes, chunked, body: null, answer: null };
  return p.last;
}

/**
 * The answer to an HTTP/1.1 request for `hit` (fetch-hit.js's storedHit:
 * { head, age, body }), as one Buffer; `isHead`: a HEAD request; `close`:
 * the request said `Connection: close`; `keepAliveSeconds`: the server's
 * keep-alive timeout; `via`: the Via value the server adds after the
 * stored headers and Cache-Status. Undefined when node:http would write it some other way.
 */
export function hitBytes(hit, isHead, close, keepAliveSeconds, via) {
  const { head, body } = hit;
  let p = prepared.get(head);
  if (p === undefined || (p !== null && p.via !== via)) prepared.set(head, (p = prepare(head, via)));
  if (p === null) return undefined;
  const status = head.status;
  const hasBody = !isHead && status !== 204 && status !== 304 && body !== null;
  const second = p.date ? Math.floor(Date.now() / 1000) : 0;
  const h = headBytes(p, hit.age, second, close, keepAliveSeconds, hasBody ? body.length : -1);
  if (h === null) return undefined;
  // Never changed once made: the same bytes may be written more than once.
  if (!hasBody) return h.bytes;
  // storedHit hands out the same body for as long as the stored response is the same.
  if (h.body === body) return h.answer;
  const out = Buffer.allocUnsafe(h.bytes.length + body.length + (h.chunked ? CRLF.length + LAST_CHUNK.length : 0));
  out.set(h.bytes, 0);
  let at = h.bytes.length;
  out.set(body, at);
  if (h.chunked) {
    at += body.length;
    at += out.latin1Write(CRLF, at);
    out.set(LAST_CHUNK, at);
  }
  h.body = body;
  h.answer = out;
  return out;
}
