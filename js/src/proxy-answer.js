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

/** The Date header value, as node:http writes it: made once a second. */
let dateSecond = -1;
let dateValue = "";
function utcDate(nowMs) {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/**
 * The answer to an HTTP/1.1 request for `hit` (fetch-hit.js's storedHit:
 * { status, statusText, headers: [name, value, …], body }), as one Buffer;
 * `head`: a HEAD request; `close`: the request said `Connection: close`;
 * `keepAliveSeconds`: the server's keep-alive timeout. Undefined when
 * node:http would write it some other way.
 */
export function hitBytes(hit, head, close, keepAliveSeconds) {
  const { status, headers } = hit;
  const message = typeof hit.statusText === "string" ? hit.statusText : STATUS_CODES[status] || "unknown";
  if (INVALID_CHAR.test(message)) return undefined;
  let text = `HTTP/1.1 ${status} ${message}${CRLF}`;
  let date = false;
  let length;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (!TOKEN.test(name) || INVALID_CHAR.test(value)) return undefined;
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) return undefined;
    if (lower === "date") date = true;
    else if (lower === "content-length") {
      if (length !== undefined) return undefined;
      length = value;
    } else if (lower === "content-disposition" && length !== undefined && NON_ASCII.test(value)) return undefined;
    text += `${name}: ${value}${CRLF}`;
  }
  if (!date) text += `Date: ${utcDate(Date.now())}${CRLF}`;
  text += close ? `Connection: close${CRLF}` : `Connection: keep-alive${CRLF}Keep-Alive: timeout=${keepAliveSeconds}${CRLF}`;
  const hasBody = !head && status !== 204 && status !== 304;
  const body = hit.body;
  if (!hasBody || body === null) return Buffer.from(`${text}${CRLF}`, "latin1");
  if (length !== undefined) {
    // node:http would send a body that disagrees with its Content-Length as it is.
    if (length !== String(body.length)) return undefined;
    const out = Buffer.allocUnsafe(Buffer.byteLength(text, "latin1") + 2 + body.length);
    const at = out.latin1Write(`${text}${CRLF}`, 0);
    out.set(body, at);
    return out;
  }
  // Without a Content-Length node:http sends the body as one chunk.
  if (body.length === 0) return undefined;
  const prefix = `${text}Transfer-Encoding: chunked${CRLF}${CRLF}${body.length.toString(16)}${CRLF}`;
  const out = Buffer.allocUnsafe(Buffer.byteLength(prefix, "latin1") + body.length + 2 + LAST_CHUNK.length);
  let at = out.latin1Write(prefix, 0);
  out.set(body, at);
  at += body.length;
  at += out.latin1Write(CRLF, at);
  out.set(LAST_CHUNK, at);
  return out;
}
