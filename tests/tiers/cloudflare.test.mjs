// edgecache/cloudflare in workerd through miniflare: the same bundled Worker
// runs as two workers ("a" and "b", two isolates) bound to one KV namespace,
// one Cache API and one EdgecacheCoordinator Durable Object (defined by "a",
// bound in "b" through scriptName), as two Workers of one account would be.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bundleWorker } from "../runtimes/workerd.run.mjs";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const { Miniflare } = createRequire(join(here, "../../js/package.json"))("miniflare");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { assertNoneChanged } = await import("../js/warm-cases.js");
/** The workers' pollInterval (tests/tiers/cloudflare/worker.js): the documented staleness bound. */
const POLL_MS = 100;
/** Tag invalidations timed for the report (printed, not asserted). */
const TRIES = 40;

let mf, A, B, kv, workerOptions;
let n = 0;
const fresh = (name) => `${name}-${++n}`;

before(async () => {
  const scriptPath = await bundleWorker(join(here, "cloudflare"));
  const worker = workerOptions = (name, durableObjects) => ({
    name, modules: true, scriptPath, compatibilityDate: "2026-04-01",
    modulesRules: [{ type: "ESModule", include: ["**/*.js", "**/*.mjs"] }, { type: "CompiledWasm", include: ["**/*.wasm"] }],
    kvNamespaces: { KV: "edgecache-tier-kv" }, durableObjects,
  });
  mf = new Miniflare({
    workers: [
      worker("a", { EDGECACHE: "EdgecacheCoordinator" }),
      worker("b", { EDGECACHE: { className: "EdgecacheCoordinator", scriptName: "a" } }),
    ],
  });
  await mf.ready;
  A = await mf.getWorker("a");
  B = await mf.getWorker("b");
  kv = await mf.getKVNamespace("KV", "a");
});
after(async () => {
  await mf?.dispose();
});

/** Calls `action` on a worker with query parameters; throws on an error answer. */
async function call(worker, action, params = {}) {
  const res = await worker.fetch(`http://w/${action}?${new URLSearchParams(params)}`);
  const body = await res.json();
  if (!res.ok || body.error) throw new Error(`${action}: ${res.status} ${body.error}`);
  return body;
}

/** What a new isolate that started warm from snapshot `name` answers for the warm cases' keys. */
async function warmReads(worker, t, name, how) {
  const keys = ["k1", "k2", "k3", "k4", "k5", "k6", "kept"];
  const params = new URLSearchParams({ t, name, how });
  for (const k of keys) params.append("key", k);
  const res = await worker.fetch(`http://w/warm?${params}`);
  const body = await res.json();
  if (!res.ok || body.error) throw new Error(`warm: ${res.status} ${body.error}`);
  // The worker answers null for undefined (JSON).
  const read = async (m, k) => body.reads[m][k] ?? undefined;
  return { ...body, read };
}

for (const t of ["kv", "api"]) {
  test(`${t}: a warm start never serves a key another isolate deleted, invalidated, wrote through or cascaded after the save`, async () => {
    const name = fresh(`${t}-snap`);
    await call(A, "writeChanged", { t });
    assert.equal((await call(A, "save", { t, name })).saved, true);
    await call(B, "changeAfterSave", { t });
    const started = await warmReads(B, t, name, "warmStart");
    await assertNoneChanged(started.read, "warmStart");
    const loaded = await warmReads(A, t, name, "loadSnapshot");
    assert.ok(loaded.loaded >= 7, `the snapshot was loaded: ${loaded.loaded}`);
    await assertNoneChanged(loaded.read, "loadSnapshot");
    assert.equal(loaded.stats.tierErrors, 0);
  });
  test(`${t}: one isolate loads, the other is served from L2 without its loader`, async () => {
    const k = fresh(`${t}-shared`);
    const a = await call(A, "load", { t, k, v: "from-a" });
    assert.equal(a.loaded, true);
    const b = await call(B, "load", { t, k, v: "from-b" });
    assert.deepEqual([b.value, b.loaded], ["from-a", false]);
    assert.ok(b.stats.tierHits >= 1);
  });

  test(`${t}: a tag invalidated in one isolate stops being served by the other within pollInterval`, async () => {
    const k = fresh(`${t}-tagged`), tag = fresh("tag");
    await call(A, "load", { t, k, tag, v: "old" });
    assert.equal((await call(B, "load", { t, k, tag, v: "b" })).loaded, false);
    await call(A, "invalidateTag", { t, tag });
    await sleep(POLL_MS);
    assert.equal((await call(B, "peek", { t, k })).value, null, "B's L1 still serves it");
    const b = await call(B, "load", { t, k, tag, v: "new" });
    assert.deepEqual([b.value, b.loaded], ["new", true], "L2 still serves the invalidated entry");
  });

  test(`${t}: an invalidated key stops being served by the other isolate and by L2`, async () => {
    const k = fresh(`${t}-key`);
    await call(A, "load", { t, k, v: "old" });
    assert.equal((await call(B, "load", { t, k, v: "b" })).loaded, false);
    await call(A, "invalidate", { t, k });
    await sleep(POLL_MS);
    assert.equal((await call(B, "peek", { t, k })).value, null);
    assert.deepEqual((await call(B, "load", { t, k, v: "new" })).value, "new");
  });

  test(`${t}: a cascade removes dependents from the other isolate and from L2`, async () => {
    const base = fresh(`${t}-base`), page = fresh(`${t}-page`), top = fresh(`${t}-top`);
    await call(A, "set", { t, k: base, v: "1" });
    await call(A, "set", { t, k: page, v: "p", dep: base });
    await call(A, "set", { t, k: top, v: "t", dep: page });
    // B polls before it loads (it has seen the three sets) and holds top in L1, but not page
    // or base: only the coordinator knows that top is built on base.
    await sleep(POLL_MS);
    assert.equal((await call(B, "load", { t, k: top, v: "b" })).loaded, false);
    assert.equal((await call(B, "peek", { t, k: top })).value, "t");
    await call(A, "invalidate", { t, k: base });
    await sleep(POLL_MS);
    assert.equal((await call(B, "peek", { t, k: top })).value, null);
    assert.equal((await call(B, "load", { t, k: page, v: "p2" })).loaded, true);
    assert.equal((await call(B, "load", { t, k: top, v: "t2" })).loaded, true);
  });
}

test("kv: a cascade deletes dependents from KV though no isolate holds them", async () => {
  const base = fresh("base"), page = fresh("page");
  await call(A, "set", { k: base, v: "1" });
  await call(A, "set", { k: page, v: "p", dep: base });
  const { name } = await call(A, "name", { k: page });
  assert.notEqual(await kv.get(name, "arrayBuffer"), null);
  await call(A, "invalidate", { k: base });
  assert.equal(await kv.get(name, "arrayBuffer"), null);
});

test("kv: an entry written before its tag's invalidation never comes back from L2 after pollInterval", async () => {
  // KV spreads writes and deletes over about 60 s: another location may still hold the old bytes.
  const k = fresh("stale"), tag = fresh("tag");
  await call(A, "set", { k, v: "old", tag });
  const { name } = await call(A, "name", { k });
  const old = await kv.get(name, "arrayBuffer");
  await call(A, "invalidateTag", { tag });
  await kv.put(name, old);
  await sleep(POLL_MS); // the bound: B's next poll is due
  const b = await call(B, "load", { k, v: "new", tag });
  assert.deepEqual([b.value, b.loaded], ["new", true]);
});

test("kv: a key's old bytes never come back from L2 after pollInterval", async () => {
  const k = fresh("stale-key");
  await call(A, "set", { k, v: "old" });
  const { name } = await call(A, "name", { k });
  const old = await kv.get(name, "arrayBuffer");
  await call(A, "invalidate", { k });
  await kv.put(name, old);
  await sleep(POLL_MS);
  assert.equal((await call(B, "load", { k, v: "new" })).loaded, true);
});

test("kv: an entry past its lifetime is a miss though KV keeps it for 60 s", async () => {
  const k = fresh("short");
  await call(A, "set", { k, v: "old", ttl: "300" });
  await sleep(400);
  assert.equal((await call(B, "load", { k, v: "new" })).loaded, true);
});

test("kv: garbage bytes under a key are a miss counted in tierErrors", async () => {
  const k = fresh("garbage");
  const { name } = await call(A, "name", { k });
  await kv.put(name, new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
  const b = await call(B, "load", { k, v: "loaded" });
  assert.deepEqual([b.value, b.loaded], ["loaded", true]);
  assert.ok(b.stats.tierErrors >= 1, JSON.stringify(b.stats));
});

test("kv: a snapshot older than the coordinator's log (1,000 batches) is not loaded; the cache works on", async () => {
  const name = fresh("old-snap"), k = fresh("churn");
  await call(A, "set", { k, v: "saved" });
  assert.equal((await call(A, "save", { name })).saved, true);
  await call(B, "churn", { k, n: 1_001 });
  const late = await warmReads(B, "kv", name, "loadSnapshot");
  assert.equal(late.loaded, 0, "1,001 batches since the save, 1,000 kept: refused");
  assert.equal(late.stats.tierErrors, 1);
  const b = await call(B, "load", { k, v: "loaded" });
  assert.equal(b.value, "saved", "the cache works on: KV serves the entry");
});

test("kv: a coordinator restarted after the save keeps its log: the snapshot loads and the changes since apply", async () => {
  // Its own Miniflare whose Durable Object and KV storage outlive a restart of workerd.
  const root = mkdtempSync(join(tmpdir(), "edgecache-coordinator-"));
  const start = () => new Miniflare({
    defaultPersistRoot: root, durableObjectsPersist: true, kvPersist: true,
    workers: [workerOptions("a", { EDGECACHE: "EdgecacheCoordinator" })],
  });
  let own = start();
  try {
    let w = await own.getWorker("a");
    const name = fresh("restart-snap");
    await call(w, "writeChanged", {});
    assert.equal((await call(w, "save", { name })).saved, true);
    await call(w, "changeAfterSave", {});
    await own.dispose();
    own = start();
    w = await own.getWorker("a");
    const warm = await warmReads(w, "kv", name, "loadSnapshot");
    assert.ok(warm.loaded >= 7, `the snapshot was loaded after the restart: ${warm.loaded} (tierErrors ${warm.stats.tierErrors})`);
    await assertNoneChanged(warm.read, "after a restart");
  } finally {
    await own.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test("a tier whose calls throw does not fail the request", async () => {
  const r = await call(B, "broken", { k: "x" });
  assert.equal(r.value, "from-loader");
  assert.ok(r.stats.tierErrors >= 1, JSON.stringify(r.stats));
});

test(`kv: tag invalidation lag across isolates (${TRIES} tries, pollInterval ${POLL_MS} ms)`, async () => {
  const lags = [];
  for (let i = 0; i < TRIES; i++) {
    const k = fresh("lag"), tag = fresh("lag-tag");
    await call(A, "load", { k, tag, v: "old" });
    await call(B, "load", { k, tag, v: "b" });
    await call(A, "invalidateTag", { tag });
    const acked = performance.now();
    while ((await call(B, "peek", { k })).value !== null) {
      assert.ok(performance.now() - acked < 10 * POLL_MS + 5_000, "B never stopped serving it");
      await sleep(1);
    }
    lags.push(performance.now() - acked);
    await sleep(Math.random() * POLL_MS); // start the next try at another point of B's poll cycle
  }
  lags.sort((x, y) => x - y);
  const at = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))].toFixed(1);
  console.log(`# invalidation lag after the invalidating request returned: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${lags.at(-1).toFixed(1)} ms`);
});

test("kv: a miss whose lock comes after another isolate's whole load serves that load's value, not its loader", async () => {
  const k = fresh("kv-race");
  // B's read of KV misses at once but answers 1.5 s later; A loads and unlocks meanwhile.
  const b = call(B, "loadSlowRead", { k, v: "from-b", delay: 1_500 });
  await sleep(200);
  const a = await call(A, "load", { t: "kv", k, v: "from-a" });
  assert.equal(a.loaded, true);
  const got = await b;
  assert.deepEqual([got.value, got.loaded], ["from-a", false], "B's lock found A's load");
});

/**
 * B's getOrLoad of `k` whose KV read misses at once but answers `delay` ms
 * late, while `meanwhile` (A's load, and what follows it) runs; throws when
 * `meanwhile` did not fit in B's read (then B's lock came before its end).
 */
async function slowReadAround(params, delay, meanwhile) {
  const started = performance.now();
  const b = call(B, "loadSlowRead", { ...params, delay });
  await sleep(200);
  await meanwhile();
  const took = performance.now() - started;
  const got = await b;
  assert.ok(took < delay, `A's steps took ${took.toFixed(0)} ms, more than B's read (${delay} ms): the race was not staged`);
  return got;
}

for (const [how, what] of [["invalidate", "the key"], ["invalidateTag", "its tag"], ["cascade", "its dependency"]]) {
  test(`kv: a load's value the coordinator keeps is not handed over after ${what} was invalidated`, async () => {
    const k = fresh("kv-race"), tag = fresh("race-tag"), dep = fresh("race-dep");
    const got = await slowReadAround({ k, tag, v: "from-b" }, 3_000, async () => {
      assert.equal((await call(A, "load", { t: "kv", k, tag, dep, v: "from-a" })).loaded, true);
      if (how === "invalidateTag") await call(A, how, { t: "kv", tag });
      else await call(A, "invalidate", { t: "kv", k: how === "invalidate" ? k : dep });
    });
    assert.deepEqual([got.value, got.loaded], ["from-b", true], "B was handed the invalidated value");
  });
}

test("kv: a load's value kept by the coordinator in another codec is not decoded: the miss loads", async () => {
  const k = fresh("kv-race-codec");
  const got = await slowReadAround({ k, v: "from-b", codec: "text" }, 3_000, async () => {
    assert.equal((await call(A, "load", { t: "kv", k, v: "from-a" })).loaded, true);
  });
  assert.deepEqual([got.value, got.loaded], ["from-b", true]);
});

test("bad arguments are a TypeError or RangeError naming them", async () => {
  const { kvTier, cacheApiTier } = await import("../../js/dist/tiers/cloudflare.js");
  const kvLike = { get() {}, put() {}, delete() {} };
  const coordinator = { idFromName() {}, get() {} };
  assert.throws(() => kvTier(null, { coordinator }), { name: "TypeError", message: /kv must be/ });
  assert.throws(() => kvTier(kvLike), { name: "TypeError", message: /options/ });
  assert.throws(() => kvTier(kvLike, {}), { name: "TypeError", message: /options\.coordinator/ });
  assert.throws(() => kvTier(kvLike, { coordinator, pollInterval: -1 }), { name: "RangeError", message: /pollInterval/ });
  assert.throws(() => kvTier(kvLike, { coordinator, lockTtl: 0 }), { name: "RangeError", message: /lockTtl/ });
  assert.throws(() => cacheApiTier({}, { coordinator }), { name: "TypeError", message: /cache must be/ });
  assert.throws(() => cacheApiTier({ match() {}, put() {}, delete() {} }, { coordinator, baseUrl: "nope" }), { name: "TypeError", message: /baseUrl/ });
});
