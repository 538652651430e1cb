// A real origin for the cachedFetch tests: a Node http server on 127.0.0.1
// whose response is chosen by the query string, and which counts requests.
//
//   ?cc=…        Cache-Control          ?cdn=…     CDN-Cache-Control
//   ?etag=…      ETag (304 on a match)  ?lm=ms     Last-Modified (epoch ms)
//   ?date=ms     Date (none by default: test clocks are not the wall clock)
//   ?expires=ms  Expires                ?age=s     Age
//   ?vary=…      Vary                   ?cookie=1  Set-Cookie
//   ?status=n    status                 ?size=n    body of n bytes
//   ?delay=ms    answer after a delay   ?location=… Location  ?clocation=… Content-Location
//   ?counted=1   X-Origin-Count: n (also on a 304)
// Control: /__count?url=<path+query> → {count}, /__total → {count},
//          /__reset, /__fail?path=/x&mode=500|reset|off (per path).
// The body is `v<n> <method> <path> auth=<authorization> accept=<accept>`,
// n counting requests for that path+query, so tests can tell copies apart.
import { createServer } from "node:http";

export async function startOrigin() {
  const counts = new Map();
  const fail = new Map();
  let total = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://origin.test");
    res.sendDate = false;
    const json = (obj) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname === "/__count") return json({ count: counts.get(url.searchParams.get("url")) ?? 0 });
    if (url.pathname === "/__total") return json({ count: total });
    if (url.pathname === "/__reset") {
      counts.clear();
      fail.clear();
      total = 0;
      return json({ ok: true });
    }
    if (url.pathname === "/__fail") {
      fail.set(url.searchParams.get("path"), url.searchParams.get("mode"));
      return json({ ok: true });
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      total++;
      const key = url.pathname + url.search;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      const mode = fail.get(url.pathname);
      if (mode === "reset") return req.socket.destroy();
      if (mode === "500") {
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end("origin error");
      }
      const q = url.searchParams;
      const headers = { "content-type": "text/plain; charset=utf-8" };
      if (q.has("cc")) headers["cache-control"] = q.get("cc");
      if (q.has("cdn")) headers["cdn-cache-control"] = q.get("cdn");
      if (q.has("etag")) headers.etag = q.get("etag");
      if (q.has("lm")) headers["last-modified"] = new Date(Number(q.get("lm"))).toUTCString();
      if (q.has("date")) headers.date = new Date(Number(q.get("date"))).toUTCString();
      if (q.has("expires")) headers.expires = new Date(Number(q.get("expires"))).toUTCString();
      if (q.has("age")) headers.age = q.get("age");
      if (q.has("vary")) headers.vary = q.get("vary");
      if (q.has("cookie")) headers["set-cookie"] = `session=${n}; Path=/`;
      if (q.has("location")) headers.location = q.get("location");
      if (q.has("clocation")) headers["content-location"] = q.get("clocation");
      if (q.has("counted")) headers["x-origin-count"] = String(n);
      const respond = () => {
        if (q.has("etag") && req.headers["if-none-match"] === q.get("etag")) {
          res.writeHead(304, headers);
          return res.end();
        }
        const text = q.has("size")
          ? "x".repeat(Number(q.get("size")))
          : `v${n} ${req.method} ${url.pathname} auth=${req.headers.authorization ?? ""} accept=${req.headers.accept ?? ""} inm=${req.headers["if-none-match"] ?? ""}`;
        res.writeHead(Number(q.get("status") ?? 200), headers);
        res.end(req.method === "HEAD" ? undefined : text);
      };
      const delay = Number(q.get("delay") ?? 0);
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
