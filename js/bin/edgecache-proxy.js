#!/usr/bin/env node
// edgecache-proxy: a caching reverse proxy for Node on top of cachedFetch.
//
//   edgecache-proxy --origin URL --port N [--host 127.0.0.1] [--max-memory BYTES] [--policy P]
//                   [--ttl MS] [--key-header NAME]... [--max-body-size BYTES]
//                   [--sort-query] [--drop-query PATTERN]... | [--cache-key FILE]
//                   [--tag TAG]... [--tag-header Cache-Tag|Surrogate-Key] [--cdn-cache-control]
//
// Cache keys: --sort-query and --drop-query (a parameter name, or a pattern
// with `*` such as utm_*) make the key from the URL with its query
// parameters sorted and those dropped (cachedFetch's sortQuery/dropQuery);
// --cache-key FILE instead loads a module whose default export is the
// cacheKey(request) function. The origin always gets the client's URL.
// Downstream: --tag tags what is stored; --tag-header sends those tags to a
// CDN in front, and --cdn-cache-control sends CDN-Cache-Control (cachedFetch's
// `downstream` option).
//
// What reaches the origin: the method, the request's path and query (never
// another host: an absolute-form target naming another host gets 400, as
// does a request with two Host lines or a Host that is not host[:port]), the
// body (a GET or HEAD with a non-empty body gets 400; Content-Length and
// Transfer-Encoding go only with the body they frame), and the request
// headers except hop-by-hop ones, those the Connection
// header names, Expect (the proxy answers 100-continue itself) and the
// routing headers a client could use to poison a shared page (X-Original-URL,
// X-Rewrite-URL, X-HTTP-Method-Override, X-Host, X-Forwarded-Scheme, the
// client-IP headers and kin: DROPPED below). X-Forwarded-For/-Host/-Proto
// and Forwarded are always set by the proxy from the connection and the Host
// header, never taken from the client; the Host header is part of the cache
// key, and --key-header adds more. Bytes pass unchanged both ways (no decoding
// of bodies, latin-1 header values kept), with backpressure; a client that
// goes away cancels the origin request, and an origin that fails mid-body
// makes the proxy drop the client connection so the truncation shows.
// The proxy names itself in Via (RFC 9110 §7.6.3) on every answer and on
// every request it forwards (a 103 included; a 102 has no fields). Interim responses from the origin (102
// Processing, 103 Early Hints) go to
// the client whose request the origin is answering, before its final
// response; they never reach cachedFetch, so nothing of them is stored.
//
// Connections: the proxy reads each one itself first (proxy-connection.js,
// with the strict reader of proxy-request.js): a fresh hit is written
// straight to the socket as node:http would write it (proxy-answer.js), any
// other request that reader takes is answered by handle() below on a
// node:http ServerResponse, and the first request it does not take (a
// body, HTTP/1.0, an absolute-form target, an unusual header line...)
// hands the connection, with its unanswered bytes, to node:http's server.
// A connection with nothing read or written for the keep-alive timeout
// plus a second (found by a check each second), while no answer is
// pending, is closed, and one whose head
// is not complete within node:http's headersTimeout gets 408. With
// EDGECACHE_PROXY_COUNTS=1 the proxy prints on SIGUSR2 how many requests
// each way took, and EDGECACHE_PROXY_HEADERS_TIMEOUT_MS sets that
// headersTimeout (both for tests).
import { createServer, request as httpRequest, Agent as HttpAgent, ServerResponse } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { isIPv6 } from "node:net";
import { Readable, pipeline } from "node:stream";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Cache, cachedFetch, dropQuery, POLICIES, sortQuery } from "../dist/node.js";
import { freshHit } from "../dist/fetch-hit.js";
import { fastPath } from "../dist/proxy-connection.js";
import { hitBytes } from "../dist/proxy-answer.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
  "te", "trailer", "transfer-encoding", "upgrade", "host"]);
/** Request headers never forwarded: the proxy sets the X-Forwarded family
 * itself, answers Expect itself, and drops headers that re-route a request
 * at the origin without being part of the cache key. */
const DROPPED = new Set(["expect", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
  "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-scheme", "x-forwarded-ssl", "x-forwarded-server",
  "front-end-https", "x-host", "x-original-host", "x-real-ip", "true-client-ip", "x-client-ip",
  "x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"]);
/** Message framing: set upstream only for a body actually sent (see handle),
 * so a header never describes bytes the origin would take from the next
 * request on a kept-alive connection. */
const FRAMING = new Set(["content-length", "transfer-encoding"]);
/** The final statuses a Response can carry (RFC 9110 §15); anything else
 * from the origin (101 to a plain request, 600, 999) is a bad gateway. */
const FINAL_STATUS_MIN = 200;
const FINAL_STATUS_MAX = 599;
/** The most the proxy hands the socket at once (see pump); a fresh hit up
 * to this size is written in one piece (see writeHit). */
const WRITE_CHUNK_BYTES = 64 * 1024;
/** The client responses of the requests being handled, by the id handle()
 * puts in CLIENT_ID of what it asks cachedFetch for (and originFetch takes
 * out): the origin's interim responses to a request go to the client whose
 * request it leads (see interim). A header rather than AsyncLocalStorage,
 * whose async hooks would run for every write of every hit. */
const clients = new Map();
const CLIENT_ID = "x-edgecache-proxy-client";
let lastClientId = 0;
/** Request targets whose origin URL is remembered (see targetOf); past
 * this many distinct ones the memo starts over. */
const TARGET_MEMO_SIZE = 10_000;
/** The longest request target the memo remembers. An entry holds the target,
 * the URL and its key, about three times this in characters, so the memo stays
 * under about TARGET_MEMO_SIZE × 3 × 256 characters (~8 MB at two bytes each),
 * outside --max-memory; longer targets are parsed again each time. */
const TARGET_MEMO_MAX_LENGTH = 256;
/** Marks a request the connection's reader found no fresh hit for: handle()
 * does not look again. */
const CHECKED = Symbol("checked");
/** An idle connection is closed this long after the keep-alive timeout it
 * announces, as node:http does. */
const KEEP_ALIVE_GRACE_MS = 1000;
/** HTTP whitespace, which a Headers object strips from both ends of a value. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** The proxy's name in Via (RFC 9110 §7.6.3: a proxy names itself on every
 * message it forwards, after the protocol version it received it in). */
const VIA_NAME = "edgecache";
/** Via on every answer: the proxy receives the origin's answers in HTTP/1.1. */
const VIA = `1.1 ${VIA_NAME}`;
const USAGE = "usage: edgecache-proxy --origin URL --port N [--host 127.0.0.1] [--max-memory BYTES] [--policy P] [--ttl MS] [--key-header NAME]... [--max-body-size BYTES] [--sort-query] [--drop-query PATTERN]... [--cache-key FILE] [--tag TAG]... [--tag-header Cache-Tag|Surrogate-Key] [--cdn-cache-control]";

function usage(message) {
  if (message) console.error(`edgecache-proxy: ${message}`);
  console.error(USAGE);
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const out = { host: "127.0.0.1", maxMemory: 64 * 1024 * 1024, policy: "allkeys-adaptive", ttl: 0, keyHeaders: [], dropQuery: [], tags: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h") usage();
    else if (a === "--origin") out.origin = next();
    else if (a === "--port") out.port = Number(next());
    else if (a === "--host") out.host = next();
    else if (a === "--max-memory") out.maxMemory = Number(next());
    else if (a === "--policy") out.policy = next();
    else if (a === "--ttl") out.ttl = Number(next());
    else if (a === "--key-header") out.keyHeaders.push(next().toLowerCase());
    else if (a === "--max-body-size") out.maxBodySize = Number(next());
    else if (a === "--sort-query") out.sortQuery = true;
    else if (a === "--drop-query") out.dropQuery.push(next());
    else if (a === "--cache-key") out.cacheKeyFile = next();
    else if (a === "--tag") out.tags.push(next());
    else if (a === "--tag-header") out.tagHeader = next();
    else if (a === "--cdn-cache-control") out.cdnCacheControl = true;
    else usage(`unknown argument ${a}`);
  }
  if (!out.origin) usage("--origin is required");
  try {
    out.origin = new URL(out.origin);
  } catch {
    usage(`--origin is not a URL: ${out.origin}`);
  }
  if (out.origin.protocol !== "http:" && out.origin.protocol !== "https:") usage("--origin must be an http: or https: URL");
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) usage("--port must be 0–65535");
  if (!(out.maxMemory > 0)) usage("--max-memory must be a positive number of bytes");
  if (out.maxBodySize !== undefined && !(Number.isSafeInteger(out.maxBodySize) && out.maxBodySize >= 0)) usage("--max-body-size must be a whole number of bytes");
  if (!POLICIES.includes(out.policy)) usage(`--policy must be one of ${POLICIES.join(", ")}`);
  if (!out.keyHeaders.every((h) => /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(h))) usage("--key-header must be a header name");
  if (out.cacheKeyFile !== undefined && (out.sortQuery || out.dropQuery.length)) usage("--cache-key replaces --sort-query and --drop-query: give one or the other");
  return out;
}

/** The cacheKey the arguments ask for, or undefined for the URL. */
async function cacheKeyOf(args) {
  if (args.cacheKeyFile !== undefined) {
    let module;
    try {
      module = await import(pathToFileURL(resolve(args.cacheKeyFile)).href);
    } catch (err) {
      usage(`--cache-key could not load ${args.cacheKeyFile}: ${err?.message ?? err}`);
    }
    if (typeof module.default !== "function") usage(`--cache-key ${args.cacheKeyFile} must export a function cacheKey(request) as its default`);
    return module.default;
  }
  let drop;
  try {
    drop = args.dropQuery.length ? dropQuery(args.dropQuery) : undefined;
  } catch {
    usage("--drop-query must be a parameter name or a pattern such as utm_*");
  }
  if (!drop && !args.sortQuery) return undefined;
  return (request) => {
    const url = drop ? drop(request) : request;
    return args.sortQuery ? sortQuery(url) : url;
  };
}

/** The header names a Connection header lists (RFC 9110 §7.6.1). */
function connectionNamed(value) {
  return new Set((value ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** A web stream over a Node Readable that reads only when asked (so a slow
 * reader holds the source back) and destroys the source when cancelled. */
function toWebStream(readable) {
  let wake = null;
  let failure = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  readable.on("readable", notify).on("end", notify).on("close", notify).on("error", (err) => {
    failure = err;
    notify();
  });
  return new ReadableStream({
    async pull(controller) {
      for (;;) {
        if (failure) return controller.error(failure);
        const chunk = readable.read();
        if (chunk !== null) return controller.enqueue(chunk);
        if (readable.readableEnded) return controller.close();
        if (readable.destroyed) return controller.error(new Error("the connection closed before the end of the body"));
        await new Promise((resolve) => (wake = resolve));
      }
    },
    cancel() {
      readable.destroy();
    },
  }, { highWaterMark: 0 });
}

/**
 * The origin fetch cachedFetch calls: node:http rather than fetch(), so header
 * values keep their bytes, bodies are not decoded, `*` can be the target, and
 * a cancelled body closes the origin connection.
 */
function originFetch(request, target) {
  const url = new URL(request.url);
  const headers = {};
  for (const [k, v] of request.headers) if ((request.body || !FRAMING.has(k)) && k !== CLIENT_ID) headers[k] = v;
  headers.host = url.host;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({
      protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ""), port: url.port,
      method: request.method, path: target ?? url.pathname + url.search, headers,
      agent: url.protocol === "https:" ? httpsAgent : httpAgent, signal: request.signal,
    });
    req.on("error", (err) => reject(req.reusedSocket && CLOSED_SOCKET_CODES.has(err.code) ? Object.assign(err, { [CLOSED_SOCKET]: true }) : err));
    const to = clients.get(request.headers.get(CLIENT_ID));
    if (to) req.on("information", (info) => interim(to, info));
    req.on("response", (res) => {
      // An event handler must not throw: that would end the process.
      try {
        resolve(fromOrigin(request, res));
      } catch (err) {
        res.destroy();
        reject(err);
      }
    });
    if (request.body) pipeline(Readable.fromWeb(request.body), req, () => {});
    else req.end();
  });
}

/** Passes a 102 or 103 on to the client `res` while its final response has
 * not started: a collapsed waiter, or a client already answered from the
 * cache (a background revalidation), gets none. Node writes a 103 only with
 * a valid Link; other 1xx (100 belongs to the proxy's own request) are dropped. */
function interim(res, info) {
  // An HTTP/1.0 client gets no 1xx (RFC 9110 §15.2).
  if (res.headersSent || res.destroyed || res.req.httpVersion === "1.0") return;
  if (info.statusCode === 102) return void res.writeProcessing();
  if (info.statusCode !== 103) return;
  const hints = {};
  for (let i = 0; i < info.rawHeaders.length; i += 2) {
    const name = info.rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    hints[name] = name in hints ? [].concat(hints[name], info.rawHeaders[i + 1]) : info.rawHeaders[i + 1];
  }
  // A forwarded message names the proxy in Via, after the origin's entries.
  hints.via = hints.via === undefined ? VIA : [].concat(hints.via, VIA).join(", ");
  try {
    res.writeEarlyHints(hints);
  } catch {
    // A Link Node refuses to write: the hint is dropped, the final response is not.
  }
}

/** Marks an origin error on a kept-alive connection that the origin had
 * closed, with no answer: the request may be sent again (see originFetchAgain). */
const CLOSED_SOCKET = Symbol("closedSocket");
const CLOSED_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE"]);
/** Methods a closed kept-alive connection may resend: safe ones, without a body. */
const RESENDABLE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * originFetch, sent once more when the kept-alive connection it went out
 * on turned out closed by the origin without an answer (an
 * origin closes idle connections after its keep-alive timeout, and one can
 * close as the proxy reuses it): what nginx and Varnish do for such a
 * request too. Only a safe request without a body, and only once.
 */
async function originFetchAgain(request) {
  try {
    return await originFetch(request);
  } catch (err) {
    if (!err?.[CLOSED_SOCKET] || !RESENDABLE.has(request.method) || request.body || request.signal.aborted) throw err;
    return originFetch(request);
  }
}

/** The origin's answer as a Response, without hop-by-hop or Connection-named headers. */
function fromOrigin(request, res) {
  const status = res.statusCode;
  if (!(status >= FINAL_STATUS_MIN && status <= FINAL_STATUS_MAX)) throw new Error(`the origin answered with status ${status}`);
  const named = connectionNamed(res.headers.connection);
  const headers = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) headers.append(name, res.rawHeaders[i + 1]);
  }
  const bodyless = request.method === "HEAD" || status === 204 || status === 304;
  if (bodyless) res.resume();
  return new Response(bodyless ? null : toWebStream(res), { status, statusText: res.statusMessage, headers });
}

const targets = new Map();

/** upstreamTarget's answer with the URL as the cache keys it (no fragment),
 * `{ url, key }`, remembered for short origin-form targets (a path: the answer
 * depends on nothing else; short: the memo is bounded in bytes). */
function targetOf(method, target) {
  const known = targets.get(target);
  if (known !== undefined) return known;
  const url = upstreamTarget(method, target);
  const out = url === null || url === "*" ? url : { url, key: url.hash ? url.href.slice(0, -url.hash.length) : url.href };
  if (target.startsWith("/") && target.length <= TARGET_MEMO_MAX_LENGTH) {
    if (targets.size >= TARGET_MEMO_SIZE) targets.clear();
    targets.set(target, out);
  }
  return out;
}

/** The origin URL for a request target: the origin plus the path and query
 * only, `*` for OPTIONS *, or null when the target names another host. */
function upstreamTarget(method, target) {
  if (target === "*") return method === "OPTIONS" ? "*" : null;
  let path = target;
  if (!target.startsWith("/")) {
    let absolute;
    try {
      absolute = new URL(target);
    } catch {
      return null;
    }
    if (absolute.host !== args.origin.host && absolute.host !== ownHost()) return null;
    path = absolute.pathname + absolute.search;
  }
  const url = new URL(args.origin.origin + path);
  return url.origin === args.origin.origin ? url : null;
}

function ownHost() {
  return `${args.host}:${server.address().port}`;
}

/** A Forwarded parameter value: a token, or else a quoted string (RFC 7239 §4). */
function forwardedValue(value) {
  return /^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** A Forwarded node (the `for` address): an IPv6 literal goes in brackets (RFC 7239 §6). */
function forwardedNode(address) {
  return forwardedValue(isIPv6(address) ? `[${address}]` : address);
}

/** The headers forwarded to the origin (see the top of this file), as a
 * Map of lower-case names to values combined as a Headers object would
 * (trimmed, repeats joined with ", ", Cookie lines with "; "), from the
 * request's `raw` header lines, its Connection and Host values (or
 * undefined) and its socket. */
function forwardedFields(raw, connection, host, socket) {
  const named = connection === undefined ? null : connectionNamed(connection);
  const fields = new Map();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || DROPPED.has(name) || FRAMING.has(name) || named?.has(name)) continue;
    const value = raw[i + 1].replace(EDGE_WHITESPACE, "");
    const prior = fields.get(name);
    fields.set(name, prior === undefined ? value : `${prior}${name === "cookie" ? "; " : ", "}${value}`);
  }
  const client = clientOf(socket);
  host ??= ownHost();
  fields.set("x-forwarded-for", client.address);
  fields.set("x-forwarded-host", host);
  fields.set("x-forwarded-proto", "http");
  if (host !== lastHost.host) lastHost = { host, value: forwardedValue(host) };
  fields.set("forwarded", `for=${client.node};host=${lastHost.value};proto=http`);
  return fields;
}

/** The Forwarded host value of the last Host seen (nearly always the same one). */
let lastHost = { host: null, value: null };
const CLIENT = Symbol("client");

/** The connection's client address, and as a Forwarded node, worked out
 * once per connection rather than per request. */
function clientOf(socket) {
  if (socket[CLIENT] === undefined) {
    const address = socket.remoteAddress ?? "unknown";
    socket[CLIENT] = { address, node: forwardedNode(address) };
  }
  return socket[CLIENT];
}

/** What cachedFetch's hit shortcut reads of the forwarded headers. */
function fieldsView(fields) {
  return { get: (name) => fields.get(name.toLowerCase()) ?? null, has: (name) => fields.has(name.toLowerCase()) };
}

/** The headers the proxy sets itself, whatever the client sent. */
const SET_HERE = new Set(["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded"]);

/** fieldsView(forwardedFields(raw, connection, host, socket)) of the
 * request `of()` was last given, worked out only as far as the hit shortcut
 * asks: whether a header the client did not send is forwarded is answered
 * from the names of its lines, and X-Forwarded-Host is the Host; anything
 * else builds the fields. One object for every hit: the shortcut reads it
 * while it runs and keeps nothing of it. The shortcut asks with lower-case
 * names. */
const hitFields = {
  request: null,
  socket: null,
  fields: null,
  of(request, socket) {
    this.request = request;
    this.socket = socket;
    this.fields = null;
    return this;
  },
  all() {
    const r = this.request;
    return (this.fields ??= forwardedFields(r.raw, r.connection, r.host, this.socket));
  },
  get(lower) {
    if (lower === "x-forwarded-host" && this.fields === null) return this.request.host ?? ownHost();
    return this.all().get(lower) ?? null;
  },
  has(lower) {
    if (SET_HERE.has(lower)) return true;
    const raw = this.request.raw;
    for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lower.length && raw[i].toLowerCase() === lower) return this.all().has(lower);
    return false;
  },
};

/** A fresh hit, head and body in one write. */
function writeHit(req, res, hit) {
  const { head } = hit;
  res.writeHead(head.status, head.statusText, [...head.headers, "age", String(hit.age), "cache-status", head.cacheStatus, "via", VIA]);
  if (hit.body === null || req.method === "HEAD") res.end();
  else res.end(hit.body);
}

/** Resolves once `res` has its turn on the connection (node:http queues
 * the answers to pipelined requests until those before them are written)
 * and the socket can take more; false if the connection is gone. A client
 * that pipelines requests faster than it reads then holds about one
 * answer, not one per request it sent. A queued answer whose connection
 * closes never gets its turn: the promise is dropped with it. */
async function turnOf(res) {
  if (res.socket === null) await new Promise((resolve) => res.once("socket", resolve));
  const socket = res.socket;
  if (socket.writableNeedDrain && !socket.destroyed) {
    await new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done).off("close", done);
        resolve();
      };
      socket.on("drain", done).on("close", done);
    });
  }
  return !socket.destroyed;
}

/** Sends the response's head and streams its body with backpressure; a body
 * that fails midway destroys the client connection. */
function writeResponse(req, res, response) {
  for (const [k, v] of response.headers) if (k !== "set-cookie") res.setHeader(k, v);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("set-cookie", cookies);
  // A list field: the proxy's own entry goes after the origin's.
  const via = response.headers.get("via");
  res.setHeader("via", via === null ? VIA : `${via}, ${VIA}`);
  res.writeHead(response.status, response.statusText);
  if (!response.body || req.method === "HEAD") {
    response.body?.cancel().catch(() => {});
    return res.end();
  }
  pump(response.body.getReader(), res).catch((err) => {
    res.destroy(err);
  });
}

/** Resolves once `res` can take more, or has closed. */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
  });
}

/** Writes a body at most WRITE_CHUNK_BYTES at a time, waiting for `drain`
 * whenever the socket is full: a paused client holds one chunk, not the
 * body. A client that goes away cancels the body. */
async function pump(reader, res) {
  const gone = () => reader.cancel().catch(() => {});
  res.on("close", gone);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return void res.end();
      for (let at = 0; at < value.length; at += WRITE_CHUNK_BYTES) {
        if (res.destroyed) return;
        const chunk = value.subarray(at, at + WRITE_CHUNK_BYTES);
        if (!res.write(chunk)) await drained(res);
      }
    }
  } finally {
    res.off("close", gone);
  }
}

/** Whether the request has a body: framing present, and for GET and HEAD
 * (whose body has no meaning a cache could key on) a non-empty one. */
function carriesBody(req) {
  const length = req.headers["content-length"];
  const chunked = req.headers["transfer-encoding"] !== undefined;
  if (req.method === "GET" || req.method === "HEAD") return chunked || Number(length) > 0;
  return chunked || length !== undefined;
}

function refuse(res, message) {
  res.writeHead(400, { "content-type": "text/plain", connection: "close" });
  res.end(`edgecache-proxy: ${message}\n`);
}

/** A Host value: uri-host [":" port] (RFC 9110 §7.2, RFC 3986 §3.2.2), so
 * no userinfo; an IP literal in brackets. */
const HOST_VALUE = /^(?:\[[0-9A-Za-z:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

/** Whether the request has more than one Host line, or one with a value
 * that is not a host: a server must refuse it (RFC 9112 §3.2), not key the
 * page on one reading of it while a proxy in front reads another. */
function badHost(req) {
  let lines = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === "host") lines++;
  return lines > 1 || (lines === 1 && !HOST_VALUE.test(req.headers.host));
}

async function handle(req, res) {
  if (badHost(req)) return refuse(res, "the request must have one Host, a host[:port]");
  const target = targetOf(req.method, req.url);
  if (!target) return refuse(res, "the request target must be a path on the origin");
  const hasBody = carriesBody(req);
  if (hasBody && (req.method === "GET" || req.method === "HEAD")) return refuse(res, `a ${req.method} request must not have a body`);
  const fields = forwardedFields(req.rawHeaders, req.headers.connection, req.headers.host, req.socket);
  // A request from the connection's own reader has been looked up already.
  if (!hasBody && target !== "*" && req[CHECKED] !== true) {
    // Looked up when its answer can be written: the cache as it is then.
    if ((res.socket === null || res.socket.writableNeedDrain) && !(await turnOf(res))) return;
    // A fresh hit is written here; anything else (or a failure, which the
    // full path then reports) goes through cachedFetch below.
    let hit;
    try {
      hit = cfetch[freshHit]({ method: req.method, url: target.key, headers: fieldsView(fields) }, WRITE_CHUNK_BYTES);
    } catch {
      hit = undefined;
    }
    if (hit !== undefined) return writeHit(req, res, hit);
  }
  // The client going away aborts the origin request (or leaves its collapsed flight).
  const controller = new AbortController();
  const clientId = String(++lastClientId);
  clients.set(clientId, res);
  res.on("close", () => {
    clients.delete(clientId);
    if (!res.writableFinished) controller.abort();
  });
  const via = fields.get("via");
  const ownVia = `${req.httpVersion} ${VIA_NAME}`;
  fields.set("via", via === undefined ? ownVia : `${via}, ${ownVia}`);
  try {
    const headers = new Headers([...fields]);
    // Replaces any the client sent: never forwarded (see originFetch).
    headers.set(CLIENT_ID, clientId);
    // Node's parser has checked the framing: a body is sent with its one
    // Content-Length, or chunked when the client sent it chunked.
    const length = req.headers["content-length"];
    if (hasBody && length !== undefined && req.headers["transfer-encoding"] === undefined) headers.set("content-length", length);
    const init = { method: req.method, headers, redirect: "manual", signal: controller.signal };
    if (hasBody) Object.assign(init, { body: toWebStream(req), duplex: "half" });
    const response = await (target === "*" ? originFetch(new Request(args.origin.origin, init), "*") : cfetch(target.url, init));
    writeResponse(req, res, response);
  } catch (err) {
    if (res.headersSent || controller.signal.aborted) return res.destroy();
    res.writeHead(502, { "content-type": "text/plain", "cache-status": "edgecache; fwd=uri-miss; detail=origin-error" });
    res.end(`edgecache-proxy: origin error: ${err?.message ?? err}\n`);
  }
}

const args = parseArgs(process.argv.slice(2));
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });
const cache = new Cache({ maxMemory: args.maxMemory, policy: args.policy });
const cacheKey = await cacheKeyOf(args);
const cfetch = fetchOf(cache, {
  ttl: args.ttl,
  fetch: (request) => originFetchAgain(request),
  // X-Forwarded-Host is the client's Host: an origin may build the page from it.
  keyHeaders: ["x-forwarded-host", ...args.keyHeaders],
  ...(args.maxBodySize !== undefined && { maxBodySize: args.maxBodySize }),
  ...(cacheKey && { cacheKey }),
  tags: args.tags,
  ...((args.tagHeader !== undefined || args.cdnCacheControl) && {
    downstream: { ...(args.tagHeader !== undefined && { tagHeader: args.tagHeader }), cdnCacheControl: args.cdnCacheControl ?? false },
  }),
});

/** cachedFetch, or the usage message naming the flag behind an option it refuses. */
function fetchOf(cache, options) {
  try {
    return cachedFetch(cache, options);
  } catch (err) {
    const flag = /^downstream\.tagHeader/.test(err.message) ? "--tag-header" : /^tags/.test(err.message) ? "--tag" : /^ttl /.test(err.message) ? "--ttl" : "an option";
    usage(`${flag}: ${err.message}`);
  }
}
/** The bytes of a fresh hit for a request the fast path read, or undefined
 * (see proxy-connection.js): the same target and forwarded headers as
 * handle() works out, the same shortcut, node:http's bytes. */
function fastAnswer(socket, request) {
  const target = targetOf(request.method, request.target);
  if (target === null) return undefined;
  let hit;
  try {
    hit = cfetch[freshHit]({ method: request.method, url: target.key, headers: hitFields.of(request, socket) }, WRITE_CHUNK_BYTES);
  } catch {
    return undefined;
  } finally {
    // Holds no request or socket past the shortcut.
    hitFields.of(null, null);
  }
  // No fresh hit: handle() need not look again (a hit node:http is to write, it does).
  request.checked = hit === undefined;
  return hit === undefined ? undefined : hitBytes(hit, request.method === "HEAD", request.close, keepAliveSeconds, VIA);
}

/**
 * Answers a request the connection's reader took but no fresh hit answers
 * (see proxy-connection.js) through handle(), as node:http's server would:
 * a ServerResponse on the socket, set up as the server sets up its own.
 * `done(last)` runs once the answer is written.
 */
function fullAnswer(socket, request, done) {
  const headers = { host: request.host };
  if (request.connection !== undefined) headers.connection = request.connection;
  // What handle() and ServerResponse read of a request: one without a body.
  const req = {
    method: request.method, url: request.target, httpVersion: "1.1", httpVersionMajor: 1, httpVersionMinor: 1,
    headers, rawHeaders: request.raw, socket, [CHECKED]: request.checked === true,
  };
  const res = new ServerResponse(req, { highWaterMark: socket.writableHighWaterMark });
  res._keepAliveTimeout = server.keepAliveTimeout;
  res.shouldKeepAlive = !request.close;
  res.on("finish", () => {
    res.detachSocket(socket);
    process.nextTick(() => {
      res.destroyed = true;
      res.emit("close");
    });
    done(res._last);
  });
  res.assignSocket(socket);
  serve(req, res);
}

// handle() answers its own errors; a throw it did not foresee drops this
// one connection rather than rejecting into the process.
const serve = (req, res) => handle(req, res).catch(() => res.destroy());
const server = createServer(serve);
// For tests: a shorter headersTimeout (node:http's default is 60 s).
if (process.env.EDGECACHE_PROXY_HEADERS_TIMEOUT_MS) server.headersTimeout = Number(process.env.EDGECACHE_PROXY_HEADERS_TIMEOUT_MS);
const keepAliveSeconds = Math.floor(server.keepAliveTimeout / 1000);
// Every connection starts with the proxy's own reader, which hands it to
// node:http's connection listener at the first request it does not take.
const httpConnections = server.listeners("connection");
if (httpConnections.length !== 1) throw new Error("node:http's server has no single connection listener to hand connections to");
server.removeListener("connection", httpConnections[0]);
const fast = fastPath({
  answer: fastAnswer,
  respond: fullAnswer,
  handOff: (socket) => httpConnections[0].call(server, socket),
  keepAliveMs: server.keepAliveTimeout + KEEP_ALIVE_GRACE_MS,
  headersTimeoutMs: server.headersTimeout,
});
server.on("connection", fast.onConnection);
// For tests: how many requests each path took.
if (process.env.EDGECACHE_PROXY_COUNTS === "1") process.on("SIGUSR2", () => console.log(`counts ${JSON.stringify(fast.counts)}`));

server.listen(args.port, args.host, () => {
  console.log(`edgecache-proxy listening on http://${ownHost()} → ${args.origin.href}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    fast.closeIdle();
  });
}
