// edgecache/hono with the real hono in workerd: the Worker in hono-workerd/
// (bundled by wrangler with hono from js/node_modules), run by miniflare on
// 127.0.0.1 and driven over HTTP from here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "../runtimes/workerd.run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, "hono-workerd");
let mf, base;

before(async () => {
  // The Worker imports "hono": link the dev dependency next to it (bundleWorker links edgecache).
  mkdirSync(join(workerDir, "node_modules"), { recursive: true });
  rmSync(join(workerDir, "node_modules/hono"), { force: true, recursive: true });
  symlinkSync(join(here, "../../js/node_modules/hono"), join(workerDir, "node_modules/hono"), "dir");
  const started = await startWorker(await bundleWorker(workerDir));
  mf = started.mf;
  base = started.url;
});
after(() => mf?.dispose());

async function get(path, init) {
  const res = await fetch(new URL(path, base), init);
  return { status: res.status, body: await res.text(), cacheStatus: res.headers.get("cache-status") ?? "", headers: res.headers };
}
const calls = async () => JSON.parse((await get("/__count")).body);

test("a miss runs the handler and stores; a hit answers without it", async () => {
  const first = await get("/app/fresh");
  const second = await get("/app/fresh");
  assert.match(first.cacheStatus, /^edgecache; fwd=uri-miss; stored$/);
  assert.equal(second.cacheStatus, "edgecache; hit");
  assert.equal(second.body, first.body);
  assert.equal((await calls()).fresh, 1);
});

test("Vary: each variant is stored and answered on its own", async () => {
  const bodies = [];
  for (const lang of ["en", "de", "en", "de"]) bodies.push((await get("/app/lang", { headers: { "accept-language": lang } })).body);
  assert.deepEqual(bodies, ["lang en", "lang de", "lang en", "lang de"]);
  assert.equal((await calls()).lang, 2);
});

test("concurrent misses collapse onto one handler call", async () => {
  const all = await Promise.all(Array.from({ length: 10 }, () => get("/app/slow")));
  assert.ok(all.every((r) => r.body === "slow"));
  assert.equal((await calls()).slow, 1);
});

test("invalidateTag drops the stored answer; Authorization bypasses the cache", async () => {
  const before = (await calls()).fresh;
  assert.equal((await get("/app/fresh")).cacheStatus, "edgecache; hit");
  assert.equal((await get("/app/fresh", { headers: { authorization: "Bearer x" } })).cacheStatus, "edgecache; fwd=bypass; detail=credentials");
  assert.ok(JSON.parse((await get("/__invalidate?tag=path:/app/fresh")).body).removed >= 1);
  assert.match((await get("/app/fresh")).cacheStatus, /fwd=uri-miss/);
  assert.equal((await calls()).fresh, before + 2);
});

test("stale-while-revalidate refreshes through c.executionCtx.waitUntil", async () => {
  assert.equal((await get("/app/swr")).body, "swr 1");
  await new Promise((r) => setTimeout(r, 1_100));
  const stale = await get("/app/swr");
  assert.equal(stale.body, "swr 1");
  assert.match(stale.cacheStatus, /stale-while-revalidate/);
  for (let i = 0; i < 50 && (await calls()).swr < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await get("/app/swr")).body, "swr 2");
});

test("methods and statuses: HEAD left out bypasses, a status left out is not stored", async () => {
  await get("/narrow/status/200");
  assert.equal((await get("/narrow/status/200")).cacheStatus, "edgecache; hit");
  assert.equal((await get("/narrow/status/200", { method: "HEAD" })).cacheStatus, "edgecache; fwd=bypass; detail=method");
  for (let i = 0; i < 2; i++) {
    const gone = await get("/narrow/status/410");
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.get("cache-control"), "max-age=60");
    assert.doesNotMatch(gone.cacheStatus, /stored|hit/);
  }
  for (let i = 0; i < 2; i++) {
    const gone = await get("/narrow/cdn/410");
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.get("cdn-cache-control"), "max-age=60", "the handler's CDN-Cache-Control reaches the client");
    assert.equal(gone.headers.get("cache-control"), null);
    assert.doesNotMatch(gone.cacheStatus, /stored|hit/);
  }
  const n = await calls();
  assert.equal(n.narrow200, 2, "one miss and the bypassed HEAD");
  assert.equal(n.narrow410, 2);
  assert.equal(n.narrowCdn410, 2, "an answer kept out by statuses is not stored though CDN-Cache-Control gives it a lifetime");
});
