// edgecache-proxy against a real origin: caching, and faithful forwarding of
// method, path, query, headers and body.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "./runtimes/origin.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let origin, proxy, base;

before(async () => {
  origin = await startOrigin();
  proxy = spawn(process.execPath, [join(root, "js/bin/edgecache-proxy.js"), "--origin", origin.base, "--port", "0", "--max-memory", "1048576", "--policy", "allkeys-lru"], { stdio: ["ignore", "pipe", "inherit"] });
  base = await new Promise((resolve, reject) => {
    proxy.stdout.on("data", (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
    proxy.on("exit", (code) => reject(new Error(`proxy exited ${code}`)));
  });
});
after(async () => {
  proxy.kill();
  await origin.close();
});

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
