// edgecache-proxy against a real origin: caching, and faithful forwarding of
// method, path, query, headers and body.
import { test, before, after } from "node:test";
import assert, { deepEqual, equal, match, ok } from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "./runtimes/origin.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let origin, other, proxy, base, port;

/** Starts edgecache-proxy in front of `origin` (with `env` added to the
 * environment); resolves with the child and its base URL. */
export async function startProxy(originBase, args, env = {}) {
  const child = spawn(process.execPath, [join(root, "js/bin/edgecache-proxy.js"), "--origin", originBase, "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  const url = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`proxy exited ${code}`)));
  });
  return { child, base: url };
}

before(async () => {
  origin = await startOrigin();
  other = await startOrigin(); // a host the proxy must never contact
  ({ child: proxy, base } = await startProxy(origin.base, ["--max-memory", "1048576", "--policy", "allkeys-lru", "--ttl", "60000", "--key-header", "X-Tenant"]));
  port = Number(new URL(base).port);
});
after(async () => {
  proxy.kill();
  await origin.close();
  await other.close();
});

/** Sends raw request bytes to the proxy and resolves with the whole answer (latin-1 text) once it closes. */
function raw(bytes) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.on("error", reject);
    socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  });
}
/** The body of a raw answer, its chunked framing removed. */
function bodyOf(answer) {
  const at = answer.indexOf("\r\n\r\n");
  let rest = answer.slice(at + 4);
  if (!/^transfer-encoding: chunked\r?$/im.test(answer.slice(0, at))) return rest;
  let out = "";
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}
const statusOf = (answer) => Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]);
const hex = (s) => Buffer.from(s, "latin1").toString("hex");
const control = async (path) => (await fetch(origin.base + path)).json();
const seen = (match) => control(`/__log?match=${encodeURIComponent(match)}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `probe` until it returns true or `ms` pass. */
async function eventually(probe, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return true;
    await sleep(50);
  }
  return probe();
}

const count = async (url) => (await (await fetch(`${origin.base}/__count?url=${encodeURIComponent(url)}`)).json()).count;

test("caches a cacheable GET: the second request is a hit with Age", async () => {
  const p = "/px?cc=max-age%3D60";
  const a = await fetch(base + p);
  assert.equal(a.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const first = await a.text();
  const b = await fetch(base + p);
  assert.equal(b.headers.get("cache-status"), "edgecache; hit");
  assert.match(b.headers.get("age"), /^\d+$/);
  assert.equal(await b.text(), first);
  assert.equal(await count(p), 1);
});

test("forwards method, path, query, headers and body", async () => {
  const r = await fetch(`${base}/echo/path?x=1&y=two`, { method: "POST", body: "payload", headers: { accept: "text/x-test", authorization: "Bearer t" } });
  const text = await r.text();
  assert.match(text, /POST \/echo\/path auth=Bearer t accept=text\/x-test/);
  assert.equal(r.headers.get("cache-status"), "edgecache; fwd=method");
  assert.equal(await count("/echo/path?x=1&y=two"), 1);
});

test("500 concurrent requests through the proxy reach the origin once", async () => {
  const p = "/pherd?cc=max-age%3D60&delay=50";
  const bodies = await Promise.all(Array.from({ length: 500 }, () => fetch(base + p).then((r) => r.text())));
  assert.ok(bodies.every((b) => b === bodies[0]));
  assert.equal(await count(p), 1);
});

test("bad arguments are refused with a usage message", async () => {
  const child = spawn(process.execPath, [join(root, "js/bin/edgecache-proxy.js"), "--port", "1"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 2);
  assert.match(err, /--origin is required/);
});

test("only the origin is fetched: absolute-form targets for another host get 400; // and /\ paths stay on the origin", async () => {
  const otherHost = new URL(other.base).host;
  const creds = "Cookie: sid=secret\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n";
  const absolute = await raw(`GET ${other.base}/steal1 HTTP/1.1\r\nHost: ${otherHost}\r\n${creds}`);
  equal(statusOf(absolute), 400);
  for (const [target, marker] of [[`//${otherHost}/steal2`, "steal2"], [`/\\${otherHost}/steal3`, "steal3"]]) {
    const answer = await raw(`GET ${target}?cc=no-store HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${creds}`);
    equal(statusOf(answer), 200, target);
    equal((await seen(marker)).length, 1, `${target} reached the origin`);
  }
  const own = await raw(`GET ${origin.base}/own-absolute?cc=no-store HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  equal(statusOf(own), 200, "an absolute-form target naming the origin is served");
  equal((await (await fetch(`${other.base}/__total`)).json()).count, 0, "the other host was never contacted");
});

test("the proxy sets X-Forwarded-*/Forwarded itself and drops X-Original-URL/X-Rewrite-URL", async () => {
  const spoof = "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.test\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6;host=evil.test\r\nX-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\n";
  await raw(`GET /fwd-headers?cc=no-store HTTP/1.1\r\nHost: site.test\r\n${spoof}Connection: close\r\n\r\n`);
  const [{ headers }] = await seen("/fwd-headers");
  equal(headers["x-forwarded-for"], hex("127.0.0.1"));
  equal(headers["x-forwarded-host"], hex("site.test"));
  equal(headers["x-forwarded-proto"], hex("http"));
  equal(headers.forwarded, hex("for=127.0.0.1;host=site.test;proto=http"));
  equal(headers["x-original-url"], undefined);
  equal(headers["x-rewrite-url"], undefined);
});

test("headers an origin reflects cannot poison the cached page for other clients", async () => {
  const p = "/poison?cc=max-age%3D60&reflect=x-forwarded-host";
  await (await fetch(base + p, { headers: { "x-forwarded-host": "evil.test" } })).text();
  equal(await (await fetch(base + p)).text(), `127.0.0.1:${port}`, "X-Forwarded-Host is the proxy's own");
  const viaHost = await raw(`GET ${p} HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n`);
  equal(bodyOf(viaHost), "evil.test");
  const normal = await fetch(base + p);
  equal(normal.headers.get("cache-status"), "edgecache; hit");
  equal(await normal.text(), `127.0.0.1:${port}`, "a request for another Host is another entry");
  const q = "/poison-url?cc=max-age%3D60&reflect=x-original-url";
  await (await fetch(base + q, { headers: { "x-original-url": "/admin" } })).text();
  equal(await (await fetch(base + q)).text(), "");
});

test("--key-header adds a request header to the cache key", async () => {
  const p = "/tenant?cc=max-age%3D60&reflect=x-tenant";
  equal(await (await fetch(base + p, { headers: { "x-tenant": "a" } })).text(), "a");
  equal(await (await fetch(base + p, { headers: { "x-tenant": "b" } })).text(), "b");
  const again = await fetch(base + p, { headers: { "x-tenant": "a" } });
  equal(again.headers.get("cache-status"), "edgecache; hit");
  equal(await again.text(), "a");
});

test("--ttl never shares the response to a Cookie or Authorization request", async () => {
  for (const [p, headers] of [["/ttl-cookie", { cookie: "sid=alice" }], ["/ttl-auth", { authorization: "Bearer alice" }]]) {
    await (await fetch(base + p, { headers })).text();
    const anon = await (await fetch(base + p)).text();
    ok(!anon.includes("alice"), `${p}: ${anon}`);
    equal(await count(p), 2);
  }
});

test("concurrent misses that differ in User-Agent or Cookie collapse into one origin request", async () => {
  const ua = "/pcol-ua?cc=max-age%3D60&delay=50";
  await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(base + ua, { headers: { "user-agent": `agent-${i}` } }).then((r) => r.text())));
  equal(await count(ua), 1);
  const ck = "/pcol-ck?cc=max-age%3D60&delay=50";
  await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(base + ck, { headers: { cookie: `sid=${i}` } }).then((r) => r.text())));
  equal(await count(ck), 1);
  const priv = "/pcol-priv?cc=private%2C%20max-age%3D60&delay=50";
  const bodies = await Promise.all(["sid=1", "sid=2"].map((cookie) => fetch(base + priv, { headers: { cookie } }).then((r) => r.text())));
  ok(bodies[0].endsWith("cookie=sid=1") && bodies[1].endsWith("cookie=sid=2"), "a private page reaches only its own requester");
});

test("a client that goes away cancels the upstream download", async () => {
  const p = "/gone?cc=no-store&size=50000000&slow=20";
  const before = (await control("/__aborted")).count;
  await new Promise((resolve, reject) => {
    const req = httpRequest(base + p, (res) => res.once("data", () => {
      req.destroy();
      resolve();
    }));
    req.on("error", reject);
    req.end();
  });
  ok(await eventually(async () => (await control("/__aborted")).count > before), "the origin saw its connection closed");
});

test("a paused client holds the origin back instead of the proxy buffering the body", async () => {
  const p = "/paused?cc=no-store&size=200000000";
  let req;
  await new Promise((resolve, reject) => {
    req = httpRequest(base + p, (res) => res.once("data", () => {
      res.pause();
      resolve();
    }));
    req.on("error", reject);
    req.end();
  });
  await sleep(1500);
  const { bytes } = await control(`/__sent?url=${encodeURIComponent(p)}`);
  req.destroy();
  ok(bytes < 32 * 1024 * 1024, `the origin sent ${bytes} bytes to a paused client`);
});

test("HEAD misses leave no origin connection open", async () => {
  const before = (await control("/__conns")).open;
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${base}/head-miss-${i}?cc=max-age%3D60&size=5000000`, { method: "HEAD" });
    equal(r.status, 200);
    await r.text();
  }
  await sleep(200);
  const after = (await control("/__conns")).open;
  ok(after - before <= 2, `${after - before} more origin connections open after 50 HEADs`);
});

test("an origin reset mid-body reaches the client as an error, not a clean end", async () => {
  const r = await fetch(`${base}/reset-mid?cc=no-store&size=1000000&resetafter=100000`);
  equal(r.status, 200);
  await assert.rejects(r.arrayBuffer());
});

test("Expect: 100-continue is answered and the body forwarded", async () => {
  const answer = await new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/expect?echo=1`, { method: "POST", headers: { expect: "100-continue", "content-length": "7" } }, (res) => {
      let text = "";
      res.setEncoding("latin1");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("continue", () => req.end("payload"));
    req.on("error", reject);
  });
  deepEqual(answer, { status: 200, text: "payload" });
});

test("OPTIONS * reaches the origin as *", async () => {
  const answer = await raw(`OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  equal(statusOf(answer), 200);
  const log = (await seen("*")).filter((r) => r.method === "OPTIONS");
  deepEqual(log.map((r) => r.url), ["*"]);
});

test("headers named in Connection are not forwarded, either way", async () => {
  const answer = await raw("GET /conn-named?cc=no-store&hop=1 HTTP/1.1\r\nHost: site.test\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n\r\n");
  equal(statusOf(answer), 200);
  const [{ headers }] = await seen("/conn-named");
  equal(headers["x-secret"], undefined);
  ok(!/^x-hop:/im.test(answer), "the origin's Connection-named header is dropped");
});

test("header values keep their bytes (latin-1) both ways", async () => {
  const answer = await raw(Buffer.concat([Buffer.from("GET /latin?cc=no-store&latin=1&reflect=x-latin HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\nX-Latin: caf"), Buffer.from([0xe9]), Buffer.from("\r\n\r\n")]));
  const [{ headers }] = await seen("/latin");
  equal(headers["x-latin"], "636166e9", "the origin received the latin-1 bytes");
  ok(/^x-latin: caf\u00e9\r$/im.test(answer), "the client received the origin's latin-1 bytes");
  equal(bodyOf(answer), "caf\u00e9");
});

/** A keep-alive origin that answers at once, without reading a request body,
 * and records every request line it parses: what a desynchronised
 * connection would make it see. */
async function startKeepAliveOrigin() {
  const lines = [];
  const heads = [];
  const server = createServer((req, res) => {
    lines.push(`${req.method} ${req.url}`);
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    heads.push(head);
    const body = `page for ${req.url}`;
    res.writeHead(200, { "cache-control": "max-age=600", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, lines, heads, base: `http://127.0.0.1:${server.address().port}` };
}

/** Sends raw bytes to `toPort` and resolves with the answer once the connection closes. */
function rawTo(toPort, bytes) {
  return new Promise((resolve, reject) => {
    const socket = connect(toPort, "127.0.0.1");
    const chunks = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.on("error", reject);
    socket.write(bytes);
  });
}

test("a GET or HEAD body never desynchronises the origin connection (no request smuggling)", async () => {
  const o = await startKeepAliveOrigin();
  const { child, base: pbase } = await startProxy(o.base, []);
  const p = Number(new URL(pbase).port);
  try {
    // Learn how the proxy writes B's head upstream, so that A's Content-Length
    // ends exactly where B's X-Pad value (a request line) starts.
    const pad = "X-Pad: GET /evil HTTP/1.1\r\nConnection: close\r\n\r\n";
    await rawTo(p, `GET /home0 HTTP/1.1\r\nHost: h\r\n${pad}`);
    const n = o.heads[0].replace("/home0", "/home1").indexOf("GET /evil");
    ok(n > 0);
    for (const [i, method] of [[1, "GET"], [2, "HEAD"]]) {
      const a = await rawTo(p, `${method} /a${i} HTTP/1.1\r\nHost: h\r\nContent-Length: ${n}\r\nConnection: close\r\n\r\n${"x".repeat(n)}`);
      ok(statusOf(a) === 400 || statusOf(a) === 200, a);
      const b = await rawTo(p, `GET /home${i} HTTP/1.1\r\nHost: h\r\n${pad}`);
      equal(statusOf(b), 200);
      equal(bodyOf(b), `page for /home${i}`);
      const c = await rawTo(p, `GET /te${i} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${n.toString(16)}\r\n${"x".repeat(n)}\r\n0\r\n\r\n`);
      ok(statusOf(c) === 400 || statusOf(c) === 200, c);
    }
    const sent = new Set(["GET /home0", "GET /a1", "GET /home1", "GET /te1", "HEAD /a2", "GET /home2", "GET /te2"]);
    deepEqual(o.lines.filter((l) => !sent.has(l)), [], "the origin saw only requests the client sent");
    const empty = await rawTo(p, "GET /empty HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    equal(statusOf(empty), 200, "an empty GET body is no body");
    ok(!/content-length/i.test(o.heads.at(-1)), "no framing header goes upstream without a body");
  } finally {
    child.kill();
    o.server.closeAllConnections();
    o.server.close();
  }
});

test("an origin status outside 200–599 gets 502 and the proxy keeps serving", async () => {
  const { createServer: createTcpServer } = await import("node:net");
  const answers = { "/s999": "HTTP/1.1 999 Weird", "/s600": "HTTP/1.1 600 X", "/s101": "HTTP/1.1 101 Switching Protocols", "/s000": "HTTP/1.1 000 Zero" };
  const tcp = createTcpServer((s) => s.on("data", (d) => {
    const path = String(d).split(" ")[1];
    s.write(`${answers[path] ?? "HTTP/1.1 200 OK"}\r\nContent-Length: 2\r\n\r\nok`);
  }));
  await new Promise((r) => tcp.listen(0, "127.0.0.1", r));
  const { child, base: pbase } = await startProxy(`http://127.0.0.1:${tcp.address().port}`, []);
  const p = Number(new URL(pbase).port);
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    for (const path of Object.keys(answers)) {
      const answer = await rawTo(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
      equal(statusOf(answer), 502, `${path}: ${answer}`);
    }
    const fine = await rawTo(p, "GET /fine HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    equal(statusOf(fine), 200);
    ok(!exited, "the proxy is still running");
  } finally {
    child.kill();
    tcp.close();
  }
});

test("routing headers a client could poison a page with never reach the origin", async () => {
  const names = ["X-Forwarded-Scheme", "X-Forwarded-Ssl", "Front-End-Https", "X-Host", "X-Original-Host", "X-Forwarded-Server", "True-Client-IP", "X-Client-IP"];
  await raw(`GET /routing-headers?cc=no-store HTTP/1.1\r\nHost: site.test\r\n${names.map((n) => `${n}: evil\r\n`).join("")}Connection: close\r\n\r\n`);
  const [{ headers }] = await seen("/routing-headers");
  deepEqual(names.filter((n) => headers[n.toLowerCase()] !== undefined), []);
});

test("Forwarded quotes host:port as a string and brackets only IPv6 literals (RFC 7239)", async () => {
  for (const [host, expected] of [["127.0.0.1:39955", '"127.0.0.1:39955"'], ["cafe.de:8080", '"cafe.de:8080"'], ["[::1]:8080", '"[::1]:8080"'], ["cafe.de", "cafe.de"]]) {
    const marker = `/fwd-quote-${hex(host)}-end`;
    await raw(`GET ${marker}?cc=no-store HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const [{ headers }] = await seen(marker);
    equal(Buffer.from(headers.forwarded, "hex").toString("latin1"), `for=127.0.0.1;host=${expected};proto=http`, host);
  }
});

test("a client's conditional GET is answered 304 from the cache; M-SEARCH invalidates the URL", async () => {
  const p = "/px-cond?cc=max-age%3D60&etag=%22pc%22";
  await (await fetch(base + p)).text();
  const answer = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nIf-None-Match: W/"pc"\r\nConnection: close\r\n\r\n`);
  equal(statusOf(answer), 304, answer);
  ok(/^etag: "pc"\r$/im.test(answer), "the stored ETag");
  ok(/^cache-control: max-age=60\r$/im.test(answer));
  const search = await raw(`M-SEARCH ${p} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
  ok(/cache-status: edgecache; fwd=method/i.test(search), search);
  const again = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
  ok(/cache-status: edgecache; fwd=uri-miss/i.test(again), "M-SEARCH invalidated the URL");
});

/** Runs the proxy with `args` and resolves with its exit code and standard error; one that
 * starts serving instead of refusing is stopped after a while (code null). */
async function refused(args) {
  const child = spawn(process.execPath, [join(root, "js/bin/edgecache-proxy.js"), "--origin", origin.base, "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill(), 10_000);
  const code = await new Promise((r) => child.on("exit", r));
  clearTimeout(timer);
  return { code, err };
}

test("--sort-query and --drop-query keep marketing parameters from splitting the cache; unsafe methods still invalidate", async () => {
  const { child, base: keyed } = await startProxy(origin.base, ["--sort-query", "--drop-query", "utm_*", "--drop-query", "fbclid"]);
  try {
    const p = "/pkey?b=2&cc=max-age%3D60&a=1&utm_source=news";
    const first = await fetch(keyed + p);
    equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
    const v1 = await first.text();
    const same = await fetch(keyed + "/pkey?a=1&b=2&cc=max-age%3D60&fbclid=x");
    equal(same.headers.get("cache-status"), "edgecache; hit");
    equal(await same.text(), v1);
    equal(await count(p), 1, "the origin got the client's own URL");
    await (await fetch(keyed + "/pkey?utm_medium=mail&cc=max-age%3D60&a=1&b=2", { method: "POST", body: "x" })).text();
    const after = await fetch(keyed + "/pkey?a=1&b=2&cc=max-age%3D60");
    ok(after.headers.get("cache-status").includes("fwd=uri-miss"), "the POST invalidated the key");
    await after.text();
  } finally {
    child.kill();
  }
});

test("--cache-key FILE loads a cacheKey(request) function", async () => {
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "edgecache-key-"));
  const file = join(dir, "key.mjs");
  await writeFile(file, "export default (request) => `path:${new URL(request.url).pathname}`;\n");
  const { child, base: keyed } = await startProxy(origin.base, ["--cache-key", file]);
  try {
    await (await fetch(keyed + "/pkey-file?cc=max-age%3D60&v=1")).text();
    equal((await fetch(keyed + "/pkey-file?cc=max-age%3D60&v=2")).headers.get("cache-status"), "edgecache; hit");
  } finally {
    child.kill();
    await rm(dir, { recursive: true });
  }
  const notFn = join(tmpdir(), `edgecache-key-${process.pid}.mjs`);
  await writeFile(notFn, "export default 3;\n");
  try {
    const bad = await refused(["--cache-key", notFn]);
    equal(bad.code, 2);
    assert.match(bad.err, /--cache-key .* must export a function/);
  } finally {
    await rm(notFn);
  }
});

test("--tag, --tag-header and --cdn-cache-control tell a CDN in front the tags and freshness", async () => {
  const { child, base: tagged } = await startProxy(origin.base, ["--tag", "site", "--tag", "blog", "--tag-header", "Surrogate-Key", "--cdn-cache-control"]);
  try {
    const p = "/pdown?cc=max-age%3D60";
    for (const status of ["edgecache; fwd=uri-miss; stored", "edgecache; hit"]) {
      const r = await fetch(tagged + p);
      equal(r.headers.get("cache-status"), status);
      equal(r.headers.get("surrogate-key"), "site blog");
      equal(r.headers.get("cdn-cache-control"), "max-age=60");
      await r.text();
    }
    const priv = await fetch(tagged + "/pdown-priv?cc=private%2C%20max-age%3D60");
    equal(priv.headers.get("surrogate-key"), null);
    await priv.text();
  } finally {
    child.kill();
  }
});

test("bad key, downstream and --ttl flags are refused with a usage message naming them", async () => {
  for (const [args, message] of [
    [["--tag-header", "X-Tags"], /--tag-header/],
    [["--tag", "a b", "--tag-header", "surrogate-key"], /--tag/],
    [["--drop-query", ""], /--drop-query/],
    [["--sort-query", "--cache-key", "k.mjs"], /--cache-key/],
    [["--ttl", "abc"], /edgecache-proxy: --ttl: /],
    [["--ttl", "-5"], /edgecache-proxy: --ttl: /],
  ]) {
    const { code, err } = await refused(args);
    equal(code, 2, args.join(" "));
    assert.match(err, message);
  }
});

test("through the proxy: Accept-Language variants normalised, immutable kept on reload, a POST answer reused", async () => {
  const p = "/px-lang?cc=max-age%3D60%2C%20immutable&vary=accept-language";
  await (await fetch(base + p, { headers: { "accept-language": "de-DE, en;q=0.5" } })).text();
  const same = await fetch(base + p, { headers: { "accept-language": "en;Q=0.50,DE-de", "cache-control": "no-cache" } });
  equal(same.headers.get("cache-status"), "edgecache; hit");
  await same.text();
  equal(await count(p), 1);
  const q = "/px-post?cc=max-age%3D60&selfloc=1";
  const post = await fetch(base + q, { method: "POST", body: "x" });
  equal(post.headers.get("cache-status"), "edgecache; fwd=method; stored");
  const posted = await post.text();
  const get = await fetch(base + q);
  equal(get.headers.get("cache-status"), "edgecache; hit");
  equal(await get.text(), posted);
});

test("interim responses: a 103 Early Hints and a 102 reach the client before the final response, are never stored, and their headers never reach it", async () => {
  const p = "/px-hints?cc=max-age%3D60&hints=1";
  const first = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
  ok(first.startsWith("HTTP/1.1 103 Early Hints\r\n"), first);
  const [hints, final] = first.split(/\r\n\r\n(?=HTTP\/1\.1 )/);
  ok(/^link: <\/hint\.css>; rel=preload; as=style\r?$/im.test(hints), hints);
  ok(/^x-hint: 1\r?$/im.test(hints), hints);
  ok(final.startsWith("HTTP/1.1 200 "), final);
  ok(!/^(link|x-hint):/im.test(final.split("\r\n\r\n")[0]), "the hints' headers are not in the final response");
  ok(/^cache-status: edgecache; fwd=uri-miss; stored\r$/im.test(final), final);
  const hit = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
  ok(hit.startsWith("HTTP/1.1 200 "), "a hit sends no stored interim response");
  ok(/^cache-status: edgecache; hit\r$/im.test(hit), hit);
  ok(!/^(link|x-hint):/im.test(hit), "nor its headers");
  const q = "/px-processing?cc=no-store&processing=1";
  const processing = await raw(`GET ${q} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
  ok(processing.startsWith("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 "), processing);
  const old = await raw("GET /px-hints-10?cc=no-store&hints=1 HTTP/1.0\r\nHost: site.test\r\n\r\n");
  ok(old.startsWith("HTTP/1.1 200 "), `an HTTP/1.0 client gets no 1xx: ${old}`);
});

test("a Range request is answered 206 (or 416) from the stored whole response", async () => {
  const p = "/px-range?cc=max-age%3D60&digits=100&ranges=1";
  const miss = await fetch(base + p, { headers: { range: "bytes=10-19" } });
  equal(miss.status, 206);
  equal(miss.headers.get("content-range"), "bytes 10-19/100");
  equal(miss.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  equal(await miss.text(), "0123456789");
  const suffix = await fetch(base + p, { headers: { range: "bytes=-5" } });
  equal(suffix.status, 206);
  equal(suffix.headers.get("content-range"), "bytes 95-99/100");
  equal(suffix.headers.get("cache-status"), "edgecache; hit");
  equal(await suffix.text(), "56789");
  const past = await fetch(base + p, { headers: { range: "bytes=100-" } });
  equal(past.status, 416);
  equal(past.headers.get("content-range"), "bytes */100");
  await past.text();
  equal(await count(p), 1);
  const [{ headers }] = await seen("/px-range?");
  equal(headers.range, undefined, "the whole representation was asked for");
});

test("Content-Encoding is stored and replayed with the coded bytes as the origin sent them", async () => {
  const { gunzipSync, brotliDecompressSync } = await import("node:zlib");
  for (const [coding, decode] of [["gzip", gunzipSync], ["br", brotliDecompressSync]]) {
    const p = `/px-ce-${coding}?cc=max-age%3D60&coding=${coding}`;
    const get = () => new Promise((resolve, reject) => {
      const req = httpRequest(base + p, { headers: { "accept-encoding": coding } }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c)).on("end", () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
      });
      req.on("error", reject).end();
    });
    const miss = await get();
    const hit = await get();
    equal(hit.headers["cache-status"], "edgecache; hit", coding);
    equal(hit.headers["content-encoding"], coding);
    equal(hit.headers["content-length"], String(hit.bytes.length), "the coded length");
    deepEqual(hit.bytes, miss.bytes, `${coding}: the origin's coded bytes`);
    ok(decode(hit.bytes).toString().startsWith(`v1 GET /px-ce-${coding}`), `${coding} decodes`);
  }
});

test("a stored 206 answers the ranges inside it and is completed with Range and If-Range for the others", async () => {
  const p = "/px-part?cc=max-age%3D60&digits=100&partial=0-49&etag=%22pp%22";
  const inside = await fetch(base + p, { headers: { range: "bytes=0-9" } });
  equal(inside.status, 206);
  equal(inside.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  equal(await inside.text(), "0123456789");
  const whole = await fetch(base + p);
  equal(whole.status, 200, "never the stored 206 to a request without Range");
  equal(whole.headers.get("cache-status"), "edgecache; fwd=partial; stored");
  equal((await whole.text()).length, 100);
  const log = await seen("/px-part?");
  deepEqual(log.map((r) => r.headers.range && Buffer.from(r.headers.range, "hex").toString()), [undefined, "bytes=50-"]);
  const hit = await fetch(base + p, { headers: { range: "bytes=-10" } });
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(await hit.text(), "0123456789");
  equal(await count(p), 2);
});

/** The status, headers (name → value, lower-case) and body of a raw answer. */
function parsed(answer) {
  const at = answer.indexOf("\r\n\r\n");
  const [, ...lines] = answer.slice(0, at).split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: statusOf(answer), headers, body: bodyOf(answer) };
}

test("a fresh hit answers as the full path does; Vary, key headers and request directives still decide", async () => {
  const p = "/px-fast?cc=max-age%3D60&vary=accept";
  const get = (extra = "", method = "GET") => raw(`${method} ${p} HTTP/1.1\r\nHost: site.test\r\nAccept: text/a\r\nX-Tenant: t1\r\n${extra}Connection: close\r\n\r\n`).then(parsed);
  const stored = await get();
  equal(stored.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  const hit = await get();
  // Pragma without no-cache changes nothing, but sends the request the whole way through cachedFetch.
  const full = await get("Pragma: x-full\r\n");
  for (const answer of [hit, full]) {
    equal(answer.status, 200);
    equal(answer.body, stored.body);
    equal(answer.headers["cache-status"], "edgecache; hit");
    ok(/^\d+$/.test(answer.headers.age), "an Age in seconds");
  }
  const strip = ({ date, age, ...rest }) => rest;
  deepEqual(strip(hit.headers), strip(full.headers));
  const head = await get("", "HEAD");
  equal(head.headers["cache-status"], "edgecache; hit");
  equal(head.body, "");
  equal(await count(p), 1, "every answer so far came from the cache");

  const otherAccept = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nAccept: text/b\r\nX-Tenant: t1\r\nConnection: close\r\n\r\n`).then(parsed);
  equal(otherAccept.headers["cache-status"], "edgecache; fwd=uri-miss; stored", "another Accept is another variant");
  const otherTenant = await raw(`GET ${p} HTTP/1.1\r\nHost: site.test\r\nAccept: text/a\r\nX-Tenant: t2\r\nConnection: close\r\n\r\n`).then(parsed);
  equal(otherTenant.headers["cache-status"], "edgecache; fwd=uri-miss; stored", "another X-Tenant is another key");
  const otherHost = await raw(`GET ${p} HTTP/1.1\r\nHost: elsewhere.test\r\nAccept: text/a\r\nX-Tenant: t1\r\nConnection: close\r\n\r\n`).then(parsed);
  equal(otherHost.headers["cache-status"], "edgecache; fwd=uri-miss; stored", "another Host is another key");
  equal(await count(p), 4);

  const noCache = await get("Cache-Control: no-cache\r\n");
  ok(/fwd=stale/.test(noCache.headers["cache-status"]), noCache.headers["cache-status"]);
  const pragma = await get("Pragma: no-cache\r\n");
  ok(/fwd=stale/.test(pragma.headers["cache-status"]), pragma.headers["cache-status"]);
  const authorized = await get("Authorization: Bearer x\r\n");
  ok(/fwd=/.test(authorized.headers["cache-status"]), "a private answer is never served to Authorization");
  equal(await count(p), 7);
});

test("a GET whose kept-alive origin connection was closed without an answer is sent again, once", async () => {
  // An origin that closes a kept-alive connection as the next request
  // arrives on it (as one whose keep-alive timeout ends just then does).
  let requests = 0;
  const closing = createServer((req, res) => {
    requests++;
    if (req.socket.served) return req.socket.destroy();
    req.socket.served = true;
    res.writeHead(200, { "cache-control": "no-store", "content-type": "text/plain" });
    res.end(`answer ${requests}`);
  });
  await new Promise((r) => closing.listen(0, "127.0.0.1", r));
  const { child, base: through } = await startProxy(`http://127.0.0.1:${closing.address().port}`, []);
  try {
    const first = await fetch(`${through}/a`);
    equal(await first.text(), "answer 1");
    await sleep(50); // the origin connection is back in the proxy's pool
    const second = await fetch(`${through}/b`);
    equal(second.status, 200, "not a 502");
    equal(await second.text(), "answer 3");
    equal(requests, 3, "the request reached the origin on the closed connection, then once more");
    await sleep(50);
    const post = await fetch(`${through}/c`, { method: "POST", body: "x" });
    equal(post.status, 502, "a POST is never sent twice");
    equal(requests, 4);
  } finally {
    child.kill();
    closing.closeAllConnections();
    await new Promise((r) => closing.close(r));
  }
});

test("request directives through the proxy: only-if-cached gets 504 on a miss, max-stale a stale hit", async () => {
  const p = "/proxy-oic?cc=max-age%3D1&etag=%22o%22";
  const only = { headers: { "cache-control": "only-if-cached" } };
  const miss = await fetch(base + p, only);
  equal(miss.status, 504);
  equal(miss.headers.get("cache-status"), "edgecache; detail=only-if-cached");
  await miss.text();
  equal(await count(p), 0, "the origin was never asked");
  const v1 = await (await fetch(base + p)).text();
  const hit = await fetch(base + p, only);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(await hit.text(), v1);
  await sleep(2100);
  const stale = await fetch(base + p, { headers: { "cache-control": "only-if-cached, max-stale=60" } });
  equal(stale.headers.get("cache-status"), "edgecache; hit; detail=max-stale");
  equal(await stale.text(), v1);
  equal((await fetch(base + p, only)).status, 504, "stale, without max-stale");
  equal(await count(p), 1);
});

test("a stale must-revalidate response whose origin cannot be reached gets 504, not the stale response nor 502", async () => {
  const path = "/proxy-mr-down";
  const p = `${path}?cc=max-age%3D1%2C%20must-revalidate%2C%20stale-if-error%3D60&etag=%22m%22`;
  await (await fetch(base + p)).text();
  await sleep(2100);
  await control(`/__fail?path=${path}&mode=reset`);
  try {
    const down = await fetch(base + p);
    equal(down.status, 504);
    equal(down.headers.get("cache-status"), "edgecache; fwd=stale; detail=origin-unreachable");
    await down.text();
  } finally {
    await control(`/__fail?path=${path}&mode=off`);
  }
});

test("no-cache=\"field\": the proxy's hits go without the field, and the origin is asked once", async () => {
  const p = `/proxy-ncf?cc=${encodeURIComponent('max-age=60, no-cache="x-origin-count"')}&counted=1`;
  const miss = await fetch(base + p);
  equal(miss.headers.get("x-origin-count"), "1");
  await miss.text();
  for (let i = 0; i < 2; i++) {
    const hit = await fetch(base + p);
    equal(hit.headers.get("cache-status"), "edgecache; hit");
    equal(hit.headers.get("x-origin-count"), null);
    await hit.text();
  }
  equal(await count(p), 1);
});

// The fast path (js/src/proxy-connection.js): requests its strict reader
// takes answered on the connection (fresh hits written straight out), the
// first one it does not take handed to node:http with the connection. A proxy started with
// EDGECACHE_PROXY_COUNTS=1 prints how many requests each path took on SIGUSR2.
let fastProxy;
after(() => fastProxy?.child.kill());
async function fastProxyPort() {
  fastProxy ??= await startProxy(origin.base, [], { EDGECACHE_PROXY_COUNTS: "1" });
  return Number(new URL(fastProxy.base).port);
}
/** The proxy's counts so far: requests answered as fresh hits on the
 * connection (fast), through cachedFetch on it (full), and connections
 * handed to node:http (handedOff). */
function pathCounts() {
  const { child } = fastProxy;
  const line = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the proxy printed no counts")), 5000);
    const on = (d) => {
      const m = /counts (\{.*\})/.exec(String(d));
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off("data", on);
      resolve(JSON.parse(m[1]));
    };
    child.stdout.on("data", on);
  });
  child.kill("SIGUSR2");
  return line;
}
/** How the counts moved while `fn` ran. */
async function pathsTaken(fn) {
  const before = await pathCounts();
  const out = await fn();
  const now = await pathCounts();
  return { out, fast: now.fast - before.fast, full: now.full - before.full, handedOff: now.handedOff - before.handedOff };
}
/** The responses in `text` (latin-1) in order, for requests of `methods`:
 * [{ status, head, headers, body, raw }] (bodies unframed); undefined for
 * one not complete yet. */
/** Resumes a paused client socket, reads until `bytes` have come (and 50 ms
 * more), closes it, and returns what came as latin-1 text. */
async function readPaused(socket, bytes) {
  const chunks = [];
  let got = 0;
  const all = new Promise((resolve) => {
    socket.on("data", (c) => {
      chunks.push(c);
      got += c.length;
      if (got >= bytes) resolve();
    });
  });
  socket.resume();
  await all;
  await sleep(50);
  socket.destroy();
  return Buffer.concat(chunks).toString("latin1");
}

function answersIn(text, methods) {
  const out = [];
  let at = 0;
  for (const method of methods) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) return undefined;
    const head = text.slice(at, end);
    const status = statusOf(head);
    const headers = {};
    for (const l of head.split("\r\n").slice(1)) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
    let body = "";
    let next = end + 4;
    if (method !== "HEAD" && status !== 204 && status !== 304) {
      if (headers["content-length"] !== undefined) {
        next += Number(headers["content-length"]);
        if (next > text.length) return undefined;
        body = text.slice(end + 4, next);
      } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
        for (;;) {
          const eol = text.indexOf("\r\n", next);
          if (eol < 0) return undefined;
          const size = parseInt(text.slice(next, eol), 16);
          if (eol + 2 + size + 2 > text.length) return undefined;
          body += text.slice(eol + 2, eol + 2 + size);
          next = eol + 2 + size + 2;
          if (size === 0) break;
        }
      }
    }
    out.push({ status, head, headers, body, raw: text.slice(at, next) });
    at = next;
  }
  return out;
}
/** A connection to `port` that collects what comes back. */
function openConnection(port) {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  const state = { socket, text: "", ended: false };
  socket.on("data", (c) => (state.text += c.toString("latin1")));
  socket.on("end", () => (state.ended = true));
  socket.on("error", () => (state.ended = true));
  return state;
}
/** Waits until `conn` holds complete answers to `methods`. */
async function answersOn(conn, methods) {
  ok(await eventually(() => answersIn(conn.text, methods) !== undefined || conn.ended), "answers arrived");
  const out = answersIn(conn.text, methods);
  ok(out !== undefined, `complete answers to ${methods.join(", ")}: ${JSON.stringify(conn.text)}`);
  return out;
}
const sendRaw = (port, text) => rawTo(port, Buffer.from(text, "latin1"));

test("fast path: pipelined hits, a HEAD, a slow miss and hits after it are answered in order on one connection", async () => {
  const p = await fastProxyPort();
  const a = "/fast-a?cc=max-age%3D60&size=3000";
  const b = "/fast-b?cc=max-age%3D60";
  for (const path of [a, b]) await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const miss = "/fast-miss?cc=max-age%3D60&delay=100";
  const req = (method, path) => `${method} ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
  const conn = openConnection(p);
  const taken = await pathsTaken(async () => {
    conn.socket.write(req("GET", a) + req("HEAD", b) + req("GET", b) + req("GET", miss) + req("GET", a));
    // Sent while the miss waits on the origin: answered after it.
    await sleep(30);
    conn.socket.write(req("GET", b));
    return answersOn(conn, ["GET", "HEAD", "GET", "GET", "GET", "GET"]);
  });
  const [ga, hb, gb, gm, ga2, gb2] = taken.out;
  equal(ga.body, "x".repeat(3000));
  equal(ga.headers["cache-status"], "edgecache; hit");
  equal(hb.headers["cache-status"], "edgecache; hit");
  equal(hb.body, "");
  match(gb.body, /^v\d+ GET \/fast-b /);
  equal(gm.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  match(gm.body, /^v\d+ GET \/fast-miss /);
  equal(ga2.body, ga.body);
  equal(gb2.body, gb.body);
  deepEqual([ga2, gb2].map((r) => r.headers["cache-status"]), ["edgecache; hit", "edgecache; hit"]);
  deepEqual([taken.fast, taken.full, taken.handedOff], [5, 1, 0], "the miss through cachedFetch on the connection, the hits straight out");
  await sleep(100);
  ok(!conn.ended, "the connection stays open");
  conn.socket.destroy();
  equal(await count(a), 1);
  equal(await count(miss), 1);
});

test("fast path: a request split across TCP packets, and a keep-alive connection used again later", async () => {
  const p = await fastProxyPort();
  const path = "/fast-split?cc=max-age%3D60&size=10";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const request = `GET ${path} HTTP/1.1\r\nHost: h\r\nUser-Agent: split\r\n\r\n`;
  const conn = openConnection(p);
  const taken = await pathsTaken(async () => {
    // Cut inside the method, the target, the Host line and before the blank line.
    const cuts = [0, 2, 17, 30, request.length - 2, request.length];
    for (let i = 1; i < cuts.length; i++) {
      conn.socket.write(request.slice(cuts[i - 1], cuts[i]));
      await sleep(30);
    }
    const [first] = await answersOn(conn, ["GET"]);
    await sleep(300);
    conn.socket.write(request);
    return [first, (await answersOn(conn, ["GET", "GET"]))[1]];
  });
  for (const answer of taken.out) {
    equal(answer.status, 200);
    equal(answer.body, "x".repeat(10));
    equal(answer.headers["cache-status"], "edgecache; hit");
    equal(answer.headers.connection, "keep-alive");
    equal(answer.headers["keep-alive"], "timeout=5");
  }
  deepEqual([taken.fast, taken.full, taken.handedOff], [2, 0, 0]);
  ok(!conn.ended);
  conn.socket.destroy();
});

test("fast path: Connection: close is answered with Connection: close and the connection closed; bytes after it are not read", async () => {
  const p = await fastProxyPort();
  const path = "/fast-close?cc=max-age%3D60";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const after = "/fast-after-close?cc=no-store";
  const taken = await pathsTaken(() => sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\nGET ${after} HTTP/1.1\r\nHost: h\r\n\r\n`));
  const answers = answersIn(taken.out, ["GET"]);
  equal(answers[0].headers["cache-status"], "edgecache; hit");
  equal(answers[0].headers.connection, "close");
  equal(answers[0].raw, taken.out, "one answer, then the proxy closed the connection");
  deepEqual([taken.fast, taken.full, taken.handedOff], [1, 0, 0]);
  equal((await seen("/fast-after-close")).length, 0);
});

test("fast path: what it does not take goes to node:http with every byte, answered as before", async () => {
  const p = await fastProxyPort();
  const path = "/fast-hand?cc=max-age%3D60";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const hit = `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
  // A malformed header line: node:http answers 400 and closes.
  const bad = await pathsTaken(() => sendRaw(p, `${hit}GET ${path} HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n`));
  const [first] = answersIn(bad.out, ["GET"]);
  equal(first.headers["cache-status"], "edgecache; hit");
  equal(bad.out.slice(first.raw.length), "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  deepEqual([bad.fast, bad.full, bad.handedOff], [1, 0, 1]);
  // A POST with its body (sent in two packets) after a hit reaches the origin whole.
  const conn = openConnection(p);
  const post = await pathsTaken(async () => {
    conn.socket.write(`${hit}POST /fast-echo?echo=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nfirst`);
    await sleep(50);
    conn.socket.write(`-half${hit}`);
    return answersOn(conn, ["GET", "POST", "GET"]);
  });
  conn.socket.destroy();
  deepEqual(post.out.map((r) => r.status), [200, 200, 200]);
  equal(post.out[1].body, "first-half");
  equal(post.out[2].headers["cache-status"], "edgecache; hit");
  deepEqual([post.fast, post.full, post.handedOff], [1, 0, 1]);
  // An absolute-form target for another host, an HTTP/1.0 request:
  // node:http's path, which refuses the first and never contacts the other
  // host (a duplicate Host: see the test below).
  const otherHost = new URL(other.base).host;
  const refused = await pathsTaken(() => sendRaw(p, `${hit}GET ${other.base}/fast-steal HTTP/1.1\r\nHost: ${otherHost}\r\nConnection: close\r\n\r\n`));
  equal(statusOf(refused.out.slice(answersIn(refused.out, ["GET"])[0].raw.length)), 400);
  deepEqual([refused.fast, refused.full, refused.handedOff], [1, 0, 1]);
  for (const odd of [`GET ${path} HTTP/1.0\r\nHost: h\r\n\r\n`]) {
    const taken = await pathsTaken(() => sendRaw(p, odd));
    ok(/^HTTP\/1\.1 200 /.test(taken.out) && /cache-status: edgecache; hit/.test(taken.out), taken.out);
    deepEqual([taken.fast, taken.full, taken.handedOff], [0, 0, 1]);
  }
  equal((await (await fetch(`${other.base}/__total`)).json()).count, 0, "the other host was never contacted");
});

test("fast path: a hit's status line, headers and Age are byte for byte node:http's, apart from Date", async () => {
  const p = await fastProxyPort();
  // With Content-Length; chunked (no Content-Length from the origin); a
  // latin-1 header value; a 204; a stored Cache-Status.
  const paths = ["/fast-eq-len?cc=max-age%3D60&size=100", "/fast-eq-chunked?cc=max-age%3D60", "/fast-eq-latin?cc=max-age%3D60&latin=1",
    "/fast-eq-204?cc=max-age%3D60&status=204"];
  // node:http's path: a header value ending in a space is not the fast path's to read.
  const slow = "X-Pad: a \r\n";
  const noDate = (text) => text.replace(/^(date): .*$/gim, "$1: …");
  for (const path of paths) {
    await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    for (const method of ["GET", "HEAD"]) {
      for (const close of ["", "Connection: close\r\n"]) {
        let fastText, slowText;
        for (let attempt = 0; attempt < 3; attempt++) {
          const conn = [openConnection(p), openConnection(p)];
          const taken = await pathsTaken(async () => {
            conn[0].socket.write(`${method} ${path} HTTP/1.1\r\nHost: h\r\n${close}\r\n`);
            conn[1].socket.write(`${method} ${path} HTTP/1.1\r\nHost: h\r\n${slow}${close}\r\n`);
            return [(await answersOn(conn[0], [method]))[0].raw, (await answersOn(conn[1], [method]))[0].raw];
          });
          conn.forEach((c) => c.socket.destroy());
          deepEqual([taken.fast, taken.full, taken.handedOff], [1, 0, 1]);
          [fastText, slowText] = taken.out.map(noDate);
          if (/^age: (\d+)/m.exec(fastText)[1] === /^age: (\d+)/m.exec(slowText)[1]) break; // else a second passed between them
        }
        match(fastText, /cache-status: edgecache; hit\r\n/);
        equal(fastText, slowText, `${method} ${path} ${close}`);
      }
    }
  }
});

test("fast path: a miss answered on the connection keeps its Connection: close; an origin error is passed on and the connection kept", async () => {
  const p = await fastProxyPort();
  const miss = "/fast-miss-close?cc=max-age%3D60";
  const closed = await pathsTaken(() => sendRaw(p, `GET ${miss} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /fast-never?cc=no-store HTTP/1.1\r\nHost: h\r\n\r\n`));
  const [answer] = answersIn(closed.out, ["GET"]);
  equal(answer.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  equal(answer.headers.connection, "close");
  equal(answer.raw, closed.out, "one answer, then the connection closed");
  deepEqual([closed.fast, closed.full, closed.handedOff], [0, 1, 0]);
  equal((await seen("/fast-never")).length, 0);
  // An origin error, then a hit: answered in order on the same connection.
  await control("/__fail?path=/fast-fail&mode=500");
  const conn = openConnection(p);
  const taken = await pathsTaken(async () => {
    conn.socket.write(`GET /fast-fail?cc=max-age%3D60 HTTP/1.1\r\nHost: h\r\n\r\nGET ${miss} HTTP/1.1\r\nHost: h\r\n\r\n`);
    return answersOn(conn, ["GET", "GET"]);
  });
  conn.socket.destroy();
  await control("/__fail?path=/fast-fail&mode=off");
  equal(taken.out[0].status, 500);
  equal(taken.out[1].headers["cache-status"], "edgecache; hit");
  deepEqual([taken.fast, taken.full, taken.handedOff], [1, 1, 0]);
});

test("fast path: a client that pipelines hits and does not read holds about one answer, not one per request", async () => {
  const p = await fastProxyPort();
  const path = "/fast-flood?cc=max-age%3D60&size=60000";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const n = 400;
  const socket = connect(p, "127.0.0.1");
  socket.pause();
  const taken = await pathsTaken(async () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`.repeat(n));
    await sleep(500);
  });
  // 400 × 60 KB would be 24 MB held for a client that sent 12 KB; the
  // socket buffers on both sides take a few MB at most.
  ok(taken.fast < n / 2, `the proxy wrote ${taken.fast} of ${n} answers to a client that reads none`);
  // Once the client reads, every answer comes, in order.
  const answers = answersIn(await readPaused(socket, n * 60000), Array(n).fill("GET"));
  ok(answers !== undefined, "every answer arrived whole");
  ok(answers.every((a) => a.status === 200 && a.body.length === 60000 && a.headers["cache-status"] === "edgecache; hit"));
});

test("fast path: a head with a bare LF is refused at once, as node:http refuses it, not waited on", async () => {
  const p = await fastProxyPort();
  for (const bad of ["GET /fast-lf HTTP/1.1\nHost: h\n\n", "GET /fast-lf HTTP/1.1\r\nHost: h\n\r\n", "GET /fast-lf HTTP/1.1\r\nHost: h\r\n\n"]) {
    const taken = await pathsTaken(() => Promise.race([sendRaw(p, bad), sleep(3000).then(() => "no answer within 3 s")]));
    equal(taken.out, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", JSON.stringify(bad));
    deepEqual([taken.fast, taken.full, taken.handedOff], [0, 0, 1]);
  }
  equal((await seen("/fast-lf")).length, 0);
});

test("a request with two Host lines, or a Host with userinfo, gets 400 and reaches no origin (RFC 9112 §3.2)", async () => {
  const p = await fastProxyPort();
  const path = "/fast-host?cc=max-age%3D60";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  await control("/__reset");
  for (const hosts of [["h", "other"], ["h", "h"], ["user@h"], ["h:80@evil.test"], ["h/x"]]) {
    const lines = hosts.map((h) => `Host: ${h}\r\n`).join("");
    for (const target of [path, "/fast-host-miss?cc=max-age%3D60"]) {
      const taken = await pathsTaken(() => sendRaw(p, `GET ${target} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`));
      equal(statusOf(taken.out), 400, `${hosts}: ${taken.out}`);
      deepEqual([taken.fast, taken.full, taken.handedOff], [0, 0, 1]);
    }
  }
  equal((await seen("/fast-host")).length, 0, "the origin was never asked");
});

test("fast path: a head trickled in a line at a time gets 408 at node:http's headersTimeout, not kept open", async () => {
  const { child, base: pbase } = await startProxy(origin.base, [], { EDGECACHE_PROXY_HEADERS_TIMEOUT_MS: "1000" });
  try {
    const conn = openConnection(Number(new URL(pbase).port));
    conn.socket.write("GET /fast-slowloris HTTP/1.1\r\nHost: h\r\n");
    // A line every 200 ms keeps the idle timeout (6 s) from ever firing.
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write("X-Slow: 1\r\n"), 200);
    const closed = await eventually(() => conn.ended, 4000);
    clearInterval(trickle);
    conn.socket.destroy();
    ok(closed, "the connection was closed");
    equal(conn.text, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    equal((await seen("/fast-slowloris")).length, 0);
  } finally {
    child.kill();
  }
});

test("node:http's path: pipelined hits to a client that does not read are looked up and written in turn, not all at once", async () => {
  const p = await fastProxyPort();
  const path = "/slow-reader?cc=max-age%3D60&size=60000&counted=1";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const n = 400;
  const socket = connect(p, "127.0.0.1");
  socket.pause();
  // The latin-1 header line hands the connection to node:http at once.
  socket.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\n\r\n${`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`.repeat(n - 1)}`, "latin1"));
  await sleep(500);
  // A POST invalidates the page: answers not yet written come from the origin's next copy.
  await (await fetch(`http://127.0.0.1:${p}${path}`, { method: "POST", body: "x" })).arrayBuffer();
  const answers = answersIn(await readPaused(socket, n * 60000), Array(n).fill("GET"));
  ok(answers !== undefined, "every answer arrived whole");
  ok(answers.every((a) => a.status === 200 && a.body.length === 60000));
  const early = answers.filter((a) => a.headers["x-origin-count"] === "1").length;
  ok(early < n / 2, `${early} of ${n} answers were written before the client read any`);
});

test("fast path: a hit right after its entry was invalidated and stored again answers the new entry, head and body", async () => {
  const p = await fastProxyPort();
  const path = "/fast-restored?cc=max-age%3D60&reflect=x-v";
  const get = (v) => sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nX-V: ${v}\r\nConnection: close\r\n\r\n`);
  await get("one");
  const taken = await pathsTaken(async () => {
    const first = answersIn(await get("ignored"), ["GET"])[0];
    // An unsafe method invalidates the URL; the next GET stores a longer body.
    await sendRaw(p, `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    const stored = answersIn(await get("two-two"), ["GET"])[0];
    const again = answersIn(await get("ignored"), ["GET"])[0];
    return { first, stored, again };
  });
  const { first, stored, again } = taken.out;
  equal(first.body, "one");
  equal(first.headers["cache-status"], "edgecache; hit");
  equal(stored.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  // Sent chunked (the origin gives no Content-Length): the chunk size changes too.
  equal(again.body, "two-two");
  equal(again.headers["cache-status"], "edgecache; hit");
  deepEqual([taken.fast, taken.full], [2, 1]);
});

test("through the proxy: a Vary naming no field name, a 412 to If-Match and a Location that is no URL pass through unstored", async () => {
  const vary = `/px-badvary?cc=max-age%3D60&vary=${encodeURIComponent('"accept"')}`;
  for (let n = 1; n <= 2; n++) {
    const r = await fetch(base + vary);
    equal(r.status, 200, "not a 502");
    equal(r.headers.get("cache-status"), "edgecache; fwd=uri-miss");
    match(await r.text(), new RegExp(`^v${n} `));
  }
  const p = "/px-ifmatch?cc=max-age%3D60&etag=%22a%22&ifmatch=1";
  const failed = await fetch(base + p, { headers: { "if-match": '"nope"' } });
  equal(failed.status, 412);
  await failed.text();
  const plain = await fetch(base + p);
  equal(plain.status, 200, "a plain GET after the 412");
  await plain.text();
  const post = await fetch(`${base}/px-badloc?location=${encodeURIComponent("http://[::1")}`, { method: "POST", body: "x" });
  equal(post.status, 200, "not a 502");
  match(await post.text(), /POST/);
});

test("through the proxy with --sort-query: an unsafe answer whose Location has userinfo passes through, not a 502", async () => {
  const { child, base: keyed } = await startProxy(origin.base, ["--sort-query"]);
  try {
    const loc = `http://u:p@${new URL(origin.base).host}/px-userinfo-target`;
    const post = await fetch(`${keyed}/px-userinfo?location=${encodeURIComponent(loc)}`, { method: "POST", body: "x" });
    equal(post.status, 200, "not a 502");
    match(await post.text(), /POST/);
  } finally {
    child.kill();
  }
});

test("Via: the proxy names itself on what it forwards, to the origin and on every answer, hits of both paths alike (RFC 9110 §7.6.3)", async () => {
  const p = await fastProxyPort();
  const path = "/via-named?cc=max-age%3D60&size=10";
  const get = async (extra = "", version = "1.1") => answersIn(await sendRaw(p, `GET ${path} HTTP/${version}\r\nHost: h\r\n${extra}Connection: close\r\n\r\n`), ["GET"])[0];
  // A client's own Via is kept, with the proxy's appended.
  const miss = await get("Via: 1.0 front\r\n");
  const viaSent = (await seen("/via-named")).map((r) => Buffer.from(r.headers.via ?? "", "hex").toString("latin1"));
  deepEqual(viaSent, ["1.0 front, 1.1 edgecache"]);
  equal(miss.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  equal(miss.headers.via, "1.1 edgecache");
  // A hit on the fast path, and one on node:http's path (a header value ending in a space).
  const taken = await pathsTaken(async () => [await get(), await get("X-Pad: a \r\n")]);
  deepEqual([taken.fast, taken.handedOff], [1, 1]);
  for (const hit of taken.out) {
    equal(hit.headers["cache-status"], "edgecache; hit");
    equal(hit.headers.via, "1.1 edgecache");
  }
  // An HTTP/1.0 request is forwarded as received in 1.0.
  await get("", "1.0");
  await sendRaw(p, `POST ${path} HTTP/1.0\r\nHost: h\r\nContent-Length: 0\r\n\r\n`);
  const posted = (await seen("/via-named")).filter((r) => r.method === "POST");
  equal(Buffer.from(posted[0].headers.via, "hex").toString("latin1"), "1.0 edgecache");
});

test("fast path: a response with Vary stored over one without it is what hits answer, per variant", async () => {
  let count = 0;
  const varying = createServer((req, res) => {
    count++;
    const headers = { "cache-control": "max-age=60", "content-type": "text/plain" };
    if (count > 1) headers.vary = "x-lang";
    res.writeHead(200, headers);
    res.end(count > 1 ? `lang:${req.headers["x-lang"]}` : "plain");
  });
  await new Promise((resolve) => varying.listen(0, "127.0.0.1", resolve));
  const { child, base: proxied } = await startProxy(`http://127.0.0.1:${varying.address().port}`, []);
  try {
    const p = Number(new URL(proxied).port);
    const get = async (extra) => answersIn(await sendRaw(p, `GET /page HTTP/1.1\r\nHost: h\r\n${extra}Connection: close\r\n\r\n`), ["GET"])[0];
    equal((await get("X-Lang: en\r\n")).body, "plain");
    equal((await get("X-Lang: de\r\n")).body, "plain");
    // The origin is asked again (no-cache) and now answers with Vary: its
    // response replaces the one without Vary for every later request.
    equal((await get("X-Lang: en\r\nCache-Control: no-cache\r\n")).body, "lang:en");
    const en = await get("X-Lang: en\r\n");
    equal(en.body, "lang:en");
    equal(en.headers["cache-status"], "edgecache; hit");
    const de = await get("X-Lang: de\r\n");
    equal(de.body, "lang:de");
    equal(de.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
    equal((await get("X-Lang: de\r\n")).headers["cache-status"], "edgecache; hit");
    equal(count, 3);
  } finally {
    child.kill();
    await new Promise((resolve) => varying.close(resolve));
  }
});

test("fast path: an idle kept-alive connection stays open for the keep-alive timeout it announces, and is closed after it", async () => {
  const p = await fastProxyPort();
  const path = "/fast-idle?cc=max-age%3D60&size=10";
  await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  const conn = openConnection(p);
  conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
  const [hit] = await answersOn(conn, ["GET"]);
  equal(hit.headers["keep-alive"], "timeout=5");
  const since = Date.now();
  // Kept open through the 5 s it announced (and node:http's second of grace).
  while (Date.now() - since < 5500 && !conn.ended) await sleep(100);
  ok(!conn.ended, "open through the keep-alive timeout");
  ok(await eventually(() => conn.ended, 4000), "closed after it");
  conn.socket.destroy();
});

test("the id that routes an origin's interim responses to their client never reaches the origin, whatever a client sends", async () => {
  const p = await fastProxyPort();
  const path = "/client-id?cc=no-store&hints=1";
  const answer = await sendRaw(p, `GET ${path} HTTP/1.1\r\nHost: h\r\nX-Edgecache-Proxy-Client: 1\r\nConnection: close\r\n\r\n`);
  ok(answer.startsWith("HTTP/1.1 103 Early Hints\r\n"), answer);
  const [logged] = await seen("/client-id");
  deepEqual(Object.keys(logged.headers).filter((k) => k.startsWith("x-edgecache")), []);
});

test("a 103 Early Hints the proxy forwards names it in Via, as every message it forwards does", async () => {
  const p = await fastProxyPort();
  const answer = await sendRaw(p, "GET /review-via-103?cc=no-store&hints=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  ok(answer.startsWith("HTTP/1.1 103 Early Hints\r\n"), answer);
  const [hints] = answer.split("\r\n\r\n");
  ok(/^link: /im.test(hints), hints);
  ok(/^via: 1\.1 edgecache\r?$/im.test(hints), hints);
});

test("fast path: hits from the hit memo follow Age across seconds, a replaced or invalidated entry, HEAD beside GET; Via on 304s, HTTP/1.0 and after a client's", async () => {
  const p = await fastProxyPort();
  const one = async (path, extra = "", method = "GET", version = "1.1") => answersIn(await sendRaw(p, `${method} ${path} HTTP/${version}\r\nHost: h\r\n${extra}Connection: close\r\n\r\n`), [method])[0];
  let path = "/review-memo?cc=max-age%3D60&etag=%22e1%22&reflect=x-v";
  equal((await one(path, "X-V: a\r\n")).body, "a");
  const h1 = await one(path, "X-V: b\r\n");
  equal(h1.body, "a");
  equal(h1.headers.via, "1.1 edgecache");
  await sleep(1100);
  const h2 = await one(path);
  ok(Number(h2.headers.age) - Number(h1.headers.age) >= 1, `${h1.headers.age} then ${h2.headers.age}`);
  equal(h2.headers.date, h1.headers.date);
  const head = await one(path, "", "HEAD");
  equal(head.body, "");
  equal(head.headers["content-length"], h1.headers["content-length"], JSON.stringify([head, h1]));
  const r304 = await one(path, "If-None-Match: \"e1\"\r\n");
  equal(r304.status, 304);
  equal(r304.headers.via, "1.1 edgecache");
  const old = await sendRaw(p, `GET ${path} HTTP/1.0\r\nHost: h\r\n\r\n`);
  ok(/^via: 1\.1 edgecache\r?$/im.test(old), old);
  // Replaced by a new response (no validator: the origin answers 200): hits answer it.
  const path2 = "/review-memo2?cc=max-age%3D60&reflect=x-v";
  equal((await one(path2, "X-V: a\r\n")).body, "a");
  equal((await one(path2, "X-V: b\r\n")).body, "a");
  equal((await one(path2, "X-V: c\r\nCache-Control: no-cache\r\n")).body, "c");
  path = path2;
  const h3 = await one(path);
  equal(h3.body, "c");
  equal(h3.headers["cache-status"], "edgecache; hit");
  // An unsafe method invalidates it.
  await one(path, "Content-Length: 0\r\n", "POST");
  const after = await one(path, "X-V: d\r\n");
  equal(after.body, "d");
  equal(after.headers["cache-status"], "edgecache; fwd=uri-miss; stored");
  // Pipelined GET, HEAD, GET on one connection: the HEAD gets no body.
  const conn = openConnection(p);
  conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\nHEAD ${path} HTTP/1.1\r\nHost: h\r\n\r\nGET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
  const [g1, hd, g2] = await answersOn(conn, ["GET", "HEAD", "GET"]);
  equal(g1.body, "d");
  equal(hd.body, "");
  equal(g2.body, "d");
  equal(conn.text.split("HTTP/1.1 200").length, 4);
  conn.socket.destroy();
  // A client's Via, comment and all, goes first.
  await one("/review-client-via?cc=no-store", "Via: 1.0 fred (Fred's, v1)\r\n");
  const [logged] = await seen("/review-client-via");
  const via = logged.headers.via;
  equal(/^[0-9a-f]+$/.test(via) ? Buffer.from(via, "hex").toString("latin1") : via, "1.0 fred (Fred's, v1), 1.1 edgecache");
});

test("a variant stored before a response without Vary replaced it is not answered when the origin varies again", async () => {
  let stage = "plain1";
  const varying = createServer((req, res) => {
    const headers = { "cache-control": "max-age=60", "content-type": "text/plain" };
    if (stage.startsWith("vary")) headers.vary = "x-lang";
    res.writeHead(200, headers);
    res.end(`${stage}:${req.headers["x-lang"]}`);
  });
  await new Promise((resolve) => varying.listen(0, "127.0.0.1", resolve));
  const { child, base: proxied } = await startProxy(`http://127.0.0.1:${varying.address().port}`, []);
  try {
    const p = Number(new URL(proxied).port);
    const get = async (extra, version = "1.1") => {
      const text = await sendRaw(p, `GET /page HTTP/${version}\r\nHost: h\r\n${extra}Connection: close\r\n\r\n`);
      return version === "1.1" ? answersIn(text, ["GET"])[0] : { body: bodyOf(text) };
    };
    equal((await get("X-Lang: en\r\n")).body, "plain1:en");
    stage = "vary2";
    equal((await get("X-Lang: en\r\nCache-Control: no-cache\r\n")).body, "vary2:en");
    equal((await get("X-Lang: de\r\n")).body, "vary2:de");
    stage = "plain3";
    equal((await get("X-Lang: en\r\nCache-Control: no-cache\r\n")).body, "plain3:en");
    equal((await get("X-Lang: de\r\n")).body, "plain3:en");
    equal((await get("X-Lang: de\r\n", "1.0")).body, "plain3:en");
    stage = "vary4";
    equal((await get("X-Lang: en\r\nCache-Control: no-cache\r\n")).body, "vary4:en");
    equal((await get("X-Lang: en\r\n")).body, "vary4:en");
    equal((await get("X-Lang: en\r\n", "1.0")).body, "vary4:en");
    const de = await get("X-Lang: de\r\n");
    const de10 = await get("X-Lang: de\r\n", "1.0");
    equal(de.body, de10.body, "fast and full path agree");
    equal(de.body, "vary4:de", "not the variant plain3 replaced");
  } finally {
    child.kill();
    await new Promise((resolve) => varying.close(resolve));
  }
});

test("fast path: URLs longer than the kept key bases still hit, each its own entry, through invalidation", async () => {
  const p = await fastProxyPort();
  const long = (i) => `/fast-long-${i}?cc=max-age%3D60&pad=${"x".repeat(1500)}`;
  const get = (i) => sendRaw(p, `GET ${long(i)} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
  for (const i of [1, 2]) await get(i);
  const taken = await pathsTaken(async () => {
    const hits = [];
    for (const i of [1, 2, 1]) hits.push(answersIn(await get(i), ["GET"])[0]);
    await sendRaw(p, `POST ${long(1)} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    hits.push(answersIn(await get(1), ["GET"])[0]);
    return hits;
  });
  deepEqual(taken.out.map((a) => a.headers["cache-status"]), ["edgecache; hit", "edgecache; hit", "edgecache; hit", "edgecache; fwd=uri-miss; stored"]);
  // The POST is handed to node:http (it has a body framing); the GET after it is a full-path miss.
  deepEqual([taken.fast, taken.full], [3, 1]);
});
