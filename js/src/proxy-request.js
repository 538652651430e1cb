// edgecache-proxy's strict HTTP/1.1 request reader for its fast path (see
// proxy-connection.js). It accepts only the plainest request a cache hit
// answers: `GET` or `HEAD`, an origin-form target (a path), `HTTP/1.1`,
// well-formed header lines of visible ASCII, one Host of a plain host[:port]
// form, no body framing, no Expect or Upgrade, Connection at most
// `close` or `keep-alive`, within size limits. Anything else is NOT_FAST:
// node:http then reads the same bytes with its own parser, and answers
// (or refuses) them as it does any request.

/** The head is not complete yet: wait for more bytes. */
export const INCOMPLETE = 0;
/** Not a request this reader takes: hand the bytes to node:http. */
export const NOT_FAST = 1;

/** The longest head read here (node:http's default limit is 16 KiB). */
export const MAX_HEAD_BYTES = 8 * 1024;
/** The most header lines read here. */
const MAX_HEADERS = 64;
const CRLF = "\r\n";
const HEAD_END = Buffer.from("\r\n\r\n");
/** A target: "/" then visible ASCII. */
const TARGET = /^\/[\x21-\x7e]*$/;
/** A header line: a token, a colon, optional spaces, then a value of visible
 * ASCII with single spaces or tabs inside it and none at its ends. */
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[\x21-\x7e](?:[\x21-\x7e \t]*[\x21-\x7e])?)?)$/;
/** A Host of letters, digits, dots and dashes, or a bracketed IPv6
 * literal, with an optional port. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
/** Request headers that make the request one for node:http: body framing,
 * 100-continue and protocol switches. */
const HANDED_OFF = new Set(["content-length", "transfer-encoding", "expect", "upgrade", "http2-settings"]);
const PREFIXES = ["GET /", "HEAD /"].map((p) => Buffer.from(p, "latin1"));

/**
 * Whether `buf[at..]` could still start a request this reader takes (a
 * prefix of `GET /` or `HEAD /`): otherwise node:http can have the bytes
 * at once, with no need to wait for the whole head.
 */
function mayBeFast(buf, at) {
  const n = buf.length - at;
  for (const p of PREFIXES) {
    const m = Math.min(n, p.length);
    let i = 0;
    while (i < m && buf[at + i] === p[i]) i++;
    if (i === m) return true;
  }
  return false;
}

/** Whether `buf[at..]` holds a line feed without a carriage return before
 * it: a head that may never hold CRLFCRLF, which node:http refuses at once
 * rather than wait for more. */
function bareLf(buf, at) {
  for (let lf = buf.indexOf(10, at); lf >= 0; lf = buf.indexOf(10, lf + 1)) if (lf === at || buf[lf - 1] !== 13) return true;
  return false;
}

/**
 * Reads one request head from `buf` starting at `at`: INCOMPLETE, NOT_FAST,
 * or `{ method, target, raw: [name, value, …] (as sent), host, connection
 * (its value, or undefined), close, next }` where `next` is the offset just
 * past the head (no body follows).
 */
export function readRequest(buf, at) {
  if (!mayBeFast(buf, at)) return NOT_FAST;
  const end = buf.indexOf(HEAD_END, at);
  if (end < 0) return buf.length - at > MAX_HEAD_BYTES || bareLf(buf, at) ? NOT_FAST : INCOMPLETE;
  if (end - at > MAX_HEAD_BYTES) return NOT_FAST;
  const head = buf.latin1Slice(at, end + 2);
  const lineEnd = head.indexOf(CRLF);
  const line = head.slice(0, lineEnd);
  const sp = line.indexOf(" ");
  const method = line.slice(0, sp);
  if (!line.endsWith(" HTTP/1.1")) return NOT_FAST;
  const target = line.slice(sp + 1, line.length - 9);
  if (!TARGET.test(target)) return NOT_FAST;
  const raw = [];
  let host;
  let connection;
  for (let from = lineEnd + 2; from < head.length;) {
    const to = head.indexOf(CRLF, from);
    const field = FIELD.exec(head.slice(from, to));
    if (field === null || raw.length >= MAX_HEADERS * 2) return NOT_FAST;
    const name = field[1];
    const value = field[2];
    const lower = name.toLowerCase();
    if (HANDED_OFF.has(lower)) return NOT_FAST;
    if (lower === "host") {
      if (host !== undefined || !HOST.test(value)) return NOT_FAST;
      host = value;
    } else if (lower === "connection") {
      const token = value.toLowerCase();
      if (connection !== undefined || (token !== "close" && token !== "keep-alive")) return NOT_FAST;
      connection = value;
    }
    raw.push(name, value);
    from = to + 2;
  }
  if (host === undefined) return NOT_FAST;
  const close = connection !== undefined && connection.length === 5;
  return { method, target, raw, host, connection, close, next: end + 4 };
}
