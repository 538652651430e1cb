// A real origin for the cachedFetch and proxy tests: a Node http server on
// 127.0.0.1 whose response is chosen by the query string, and which counts
// requests.
//
//   ?cc=…        Cache-Control          ?cdn=…     CDN-Cache-Control
//   ?etag=…      ETag (304 on a match)  ?lm=ms     Last-Modified (epoch ms)
//   ?date=ms     Date (none by default: test clocks are not the wall clock)
//   ?expires=ms  Expires                ?age=s     Age (repeated: one Age line each)
//   ?expiresraw=s  Expires: s, as given   ?lmraw=s   Last-Modified: s, as given
//   ?dateraw=s   Date: s, as given
//   ?vary=…      Vary                   ?cookie=1  Set-Cookie
//   ?status=n    status                 ?size=n    body of n bytes ("x"), streamed
//   ?delay=ms    answer after a delay   ?location=… Location  ?clocation=… Content-Location
//   ?selfloc=1   Content-Location: the request target (its own path and query)
//   ?counted=1   X-Origin-Count: n (also on a 304)
//   ?cookie304=1 on a 304 only: Set-Cookie: session=<n>
//   ?etag304=…   on a 304 only: this ETag instead of ?etag's
//   ?noage304=1  on a 304 only: no Age
//   ?cl304=n     on a 304 only: Content-Length: n
//   ?user304=1   on a 304 only: X-User: the request's Cookie, or "anon"
//   ?cc304=…     on a 304 only: this Cache-Control instead of ?cc's
//   ?reflect=h   the body is request header h's value (latin-1 bytes kept)
//   ?echo=1      the body is the request body
//   ?latin=1     X-Latin: the latin-1 bytes "caf\xe9"
//   ?hop=1       Connection: x-hop, and an X-Hop header it names
//   ?slow=ms     with size: one 16 KiB chunk every ms
//   ?resetafter=n  with size: destroy the connection after n body bytes
//   ?digits=n    body of n bytes "0123456789…" with Content-Length (range tests)
//   ?ranges=1    with digits: honour a one-range `Range: bytes=a-b|a-|-n`
//                with a 206 and Content-Range (Accept-Ranges: bytes), unless
//                an If-Range differs from the ETag
//   ?partial=a-b with digits: as ranges=1, and without a Range a 206 of a-b
//   ?etagv=1     ETag: "e<n>", n counting requests for that path+query
//   ?coding=gzip|deflate|br  the body content-coded, with Content-Encoding
//                and the coded Content-Length (with chunked=1, chunked instead)
//   ?hints=1     a 103 Early Hints (Link: </hint.css>; rel=preload) first
//   ?processing=1  a 102 Processing first
//   ?h=name:value  any header, as given (repeated: one line each, after the above)
//   ?h304=name:value  on a 304 only: as ?h
//   ?ifmatch=1   412 (with the headers above) when If-Match is not "*" or the ETag
// Control (answered with Connection: close, so they leave no connection open):
//   /__count?url=<path+query> → {count}, /__total → {count}, /__reset,
//   /__fail?path=/x&mode=500|<any status>|reset|off (per path), /__conns → {open} (client
//   connections open, this one excluded), /__log?match=s → the requests whose
//   raw target contains s: [{method, url, headers: {name: latin-1 hex}}],
//   /__aborted → {count} responses whose client went away before their end,
//   /__sent?url=… → {bytes} body bytes written for that path+query so far.
// The body is `v<n> <method> <path> auth=<authorization> accept=<accept>
// inm=<if-none-match> cookie=<cookie>`, n counting requests for that
// path+query, so tests can tell copies apart.
import { createServer } from "node:http";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";

const CHUNK = 16 * 1024;
const FILL = Buffer.alloc(CHUNK, "x");
/** Lets the bytes before a reset reach the client before the socket is destroyed. */
const RESET_AFTER_FLUSH_MS = 50;

/** Adds `name:value` strings to a writeHead object: a name already there gets one more line. */
function addRaw(out, lines) {
  for (const line of lines) {
    const at = line.indexOf(":");
    const name = line.slice(0, at).toLowerCase();
    const value = line.slice(at + 1);
    out[name] = out[name] === undefined ? value : [out[name], value].flat();
  }
}

export async function startOrigin() {
  const counts = new Map();
  const fail = new Map();
  const sent = new Map();
  const log = [];
  const sockets = new Set();
  let total = 0;
  let aborted = 0;
  const server = createServer((req, res) => {
    // The raw target is kept as a path: `//host/x` or `*` is never read as another host.
    const url = new URL(`http://origin.test${req.url.startsWith("/") ? "" : "/"}${req.url}`);
    res.sendDate = false;
    const json = (obj) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", connection: "close" });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname === "/__count") return json({ count: counts.get(url.searchParams.get("url")) ?? 0 });
    if (url.pathname === "/__total") return json({ count: total });
    if (url.pathname === "/__conns") return json({ open: sockets.size - 1 });
    if (url.pathname === "/__aborted") return json({ count: aborted });
    if (url.pathname === "/__sent") return json({ bytes: sent.get(url.searchParams.get("url")) ?? 0 });
    if (url.pathname === "/__log") return json(log.filter((r) => r.url.includes(url.searchParams.get("match") ?? "")));
    if (url.pathname === "/__reset") {
      counts.clear();
      fail.clear();
      log.length = 0;
      total = 0;
      return json({ ok: true });
    }
    if (url.pathname === "/__fail") {
      fail.set(url.searchParams.get("path"), url.searchParams.get("mode"));
      return json({ ok: true });
    }
    const headers = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers[req.rawHeaders[i].toLowerCase()] = Buffer.from(req.rawHeaders[i + 1], "latin1").toString("hex");
    }
    log.push({ method: req.method, url: req.url, headers });
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      total++;
      const key = url.pathname + url.search;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      const mode = fail.get(url.pathname);
      if (mode === "reset") return req.socket.destroy();
      if (/^\d{3}$/.test(mode ?? "")) {
        res.writeHead(Number(mode), { "content-type": "text/plain" });
        return res.end("origin error");
      }
      const q = url.searchParams;
      const out = { "content-type": "text/plain; charset=utf-8" };
      if (q.has("cc")) out["cache-control"] = q.get("cc");
      if (q.has("cdn")) out["cdn-cache-control"] = q.get("cdn");
      if (q.has("etag")) out.etag = q.get("etag");
      if (q.has("etagv")) out.etag = `"e${n}"`;
      if (q.has("lm")) out["last-modified"] = new Date(Number(q.get("lm"))).toUTCString();
      if (q.has("date")) out.date = new Date(Number(q.get("date"))).toUTCString();
      if (q.has("expires")) out.expires = new Date(Number(q.get("expires"))).toUTCString();
      if (q.has("expiresraw")) out.expires = q.get("expiresraw");
      if (q.has("lmraw")) out["last-modified"] = q.get("lmraw");
      if (q.has("dateraw")) out.date = q.get("dateraw");
      if (q.has("age")) out.age = q.getAll("age").length > 1 ? q.getAll("age") : q.get("age");
      if (q.has("vary")) out.vary = q.get("vary");
      if (q.has("cookie")) out["set-cookie"] = `session=${n}; Path=/`;
      if (q.has("location")) out.location = q.get("location");
      if (q.has("clocation")) out["content-location"] = q.get("clocation");
      if (q.has("selfloc")) out["content-location"] = req.url;
      if (q.has("counted")) out["x-origin-count"] = String(n);
      if (q.has("latin")) out["x-latin"] = "caf\u00e9"; // written as latin-1: the body below is a Buffer
      if (q.has("hop")) Object.assign(out, { connection: "x-hop", "x-hop": "1" });
      addRaw(out, q.getAll("h"));
      const respond = () => {
        if (q.has("processing")) res.writeProcessing();
        if (q.has("hints")) res.writeEarlyHints({ link: "</hint.css>; rel=preload; as=style", "x-hint": "1" });
        // If-Match is evaluated before If-None-Match (RFC 9110 §13.2.2).
        const ifMatch = req.headers["if-match"];
        if (q.has("ifmatch") && ifMatch !== undefined && ifMatch !== "*" && ifMatch !== out.etag) {
          res.writeHead(412, out);
          return res.end("precondition failed");
        }
        if (q.has("etag") && req.headers["if-none-match"] === q.get("etag")) {
          if (q.has("cookie304")) out["set-cookie"] = `session=${n}; Path=/`;
          if (q.has("etag304")) out.etag = q.get("etag304");
          if (q.has("noage304")) delete out.age;
          if (q.has("cl304")) out["content-length"] = q.get("cl304");
          if (q.has("user304")) out["x-user"] = req.headers.cookie ?? "anon";
          if (q.has("cc304")) out["cache-control"] = q.get("cc304");
          addRaw(out, q.getAll("h304"));
          res.writeHead(304, out);
          return res.end();
        }
        const status = Number(q.get("status") ?? 200);
        if (q.has("size")) return streamBody(q, key, status, out);
        if (q.has("digits")) return digitsBody(q, status, out);
        let text;
        if (q.has("reflect")) text = Buffer.from(req.headers[q.get("reflect")] ?? "", "latin1");
        else if (q.has("echo")) text = Buffer.concat(chunks);
        else {
          text = Buffer.from(`v${n} ${req.method} ${url.pathname} auth=${req.headers.authorization ?? ""} accept=${req.headers.accept ?? ""} inm=${req.headers["if-none-match"] ?? ""} cookie=${req.headers.cookie ?? ""}`);
        }
        if (q.get("coding") === "gzip") text = gzipSync(text);
        if (q.get("coding") === "deflate") text = deflateSync(text);
        if (q.get("coding") === "br") text = brotliCompressSync(text);
        if (q.has("coding")) {
          const framing = q.has("chunked") ? { "transfer-encoding": "chunked" } : { "content-length": String(text.length) };
          Object.assign(out, { "content-encoding": q.get("coding"), ...framing });
        }
        res.writeHead(status, out);
        res.end(req.method === "HEAD" ? undefined : text);
      };
      const delay = Number(q.get("delay") ?? 0);
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });

    /** Writes `digits` bytes "0123456789…", or (?ranges, ?partial) the one range of them asked for. */
    function digitsBody(q, status, out) {
      const all = Buffer.from("0123456789".repeat(Math.ceil(Number(q.get("digits")) / 10)).slice(0, Number(q.get("digits"))));
      const ifRange = req.headers["if-range"];
      const asked = ifRange === undefined || ifRange === out.etag ? req.headers.range : undefined;
      const m = /^bytes=(?:(\d+)-(\d*)|-(\d+))$/.exec(asked ?? (req.headers.range ? "" : `bytes=${q.get("partial") ?? ""}`));
      let bytes = all;
      if (q.has("ranges") || q.has("partial")) {
        out["accept-ranges"] = "bytes";
        if (m) {
          const start = m[3] !== undefined ? Math.max(0, all.length - Number(m[3])) : Number(m[1]);
          const end = m[2] ? Math.min(Number(m[2]), all.length - 1) : all.length - 1;
          bytes = all.subarray(start, end + 1);
          status = 206;
          out["content-range"] = `bytes ${start}-${end}/${all.length}`;
        }
      }
      out["content-length"] = String(bytes.length);
      res.writeHead(status, out);
      res.end(req.method === "HEAD" ? undefined : bytes);
    }

    /** Writes `size` bytes with backpressure, optionally slowly or cut short by a reset. */
    function streamBody(q, key, status, out) {
      const size = Number(q.get("size"));
      const slow = Number(q.get("slow") ?? 0);
      const resetAfter = q.has("resetafter") ? Number(q.get("resetafter")) : Infinity;
      if (!q.has("resetafter")) out["content-length"] = String(size);
      res.writeHead(status, out);
      if (req.method === "HEAD") return res.end();
      let written = 0;
      res.on("close", () => {
        if (!res.writableFinished) aborted++;
      });
      const pump = () => {
        while (written < size && !res.destroyed) {
          if (written >= resetAfter) return void setTimeout(() => req.socket.destroy(), RESET_AFTER_FLUSH_MS);
          const n = Math.min(CHUNK, size - written, resetAfter - written);
          written += n;
          sent.set(key, written);
          const more = res.write(n === CHUNK ? FILL : FILL.subarray(0, n));
          if (slow > 0) return void setTimeout(pump, slow);
          if (!more) return void res.once("drain", pump);
        }
        if (written >= size) res.end();
      };
      pump();
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
