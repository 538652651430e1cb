// edgecache/deno on a real Deno KV file in a temporary directory, shared by
// caches in this process and in child Deno processes (tests/tiers/deno-peer.mjs).
// Run: deno test --unstable-kv --no-check --allow-read --allow-write --allow-run --allow-env tests/tiers/deno.test.mjs
import assert from "node:assert/strict";
import { spawnPeer, killPeers } from "./peer.mjs";
import { Cache } from "../../js/dist/deno.js";
import { denoKvTier } from "../../js/dist/tiers/deno.js";
import { tierKeyId } from "../../js/dist/tiers/memory.js";
import { counted, sleep } from "../js/loaders.js";
import { writeChanged, AFTER_SAVE, assertNoneChanged, local as reader } from "../js/warm-cases.js";

/** The poll interval the processes here use: the documented default. */
const POLL_MS = 20;
/** The documented staleness bound across processes at that interval (README, "More than one isolate"). */
const BOUND_MS = 250;
const PEER = new URL("./deno-peer.mjs", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "edgecache-denokv-" });
const path = `${dir}/tier.sqlite`;
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let prefixes = 0;
// Child processes and their stdio outlive a test's async scope by design.
const multi = { sanitizeOps: false, sanitizeResources: false };
/** Kills the test's peers when it ends, failed or not: a live peer would outlive the run. */
const withPeers = (fn) => async () => {
  try {
    await fn();
  } finally {
    await killPeers();
  }
};


/** A fresh prefix with `n` caches in this process, each on its own handle to the file. */
async function local(n, tierOptions = {}, cacheOptions = {}) {
  const prefix = `p${++prefixes}`;
  const handles = [];
  for (let i = 0; i < n; i++) {
    const kv = await Deno.openKv(path);
    const tier = denoKvTier(kv, { prefix, pollInterval: POLL_MS, ...tierOptions });
    handles.push({ kv, tier, cache: new Cache({ tier, ...cacheOptions }) });
  }
  const close = async () => {
    for (const h of handles) {
      h.cache.free();
      await h.tier.close();
      h.kv.close();
    }
  };
  return { prefix, handles, caches: handles.map((h) => h.cache), close };
}

/** A child Deno process with its own cache on `prefix`. */
async function peer(prefix, { lockTtl = 5000 } = {}) {
  return spawnPeer(Deno.execPath(), ["run", "--unstable-kv", "--no-check", `--allow-read=${dir},${new URL("../..", import.meta.url).pathname}`,
    `--allow-write=${dir}`, PEER, path, prefix, String(POLL_MS), String(lockTtl)]);
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

Deno.test({ name: "a value loaded in one process is served from Deno KV in another, without its loader", ...multi, fn: withPeers(async () => {
  const { prefix, caches: [a], close } = await local(1);
  const other = await peer(prefix);
  assert.deepEqual(await other.call("getOrLoad", { key: "p", value: { n: 1 }, tags: ["t"] }), { n: 1 });
  await other.call("flush");
  const load = counted("not used");
  assert.deepEqual(await a.getOrLoad("p", load), { n: 1 });
  assert.equal(load.calls, 0);
  assert.equal(a.stats().tierHits, 1);
  await other.exit();
  await close();
}) });

Deno.test({ name: "invalidations of a tag, a key and a cascading set reach another process within the bound", ...multi, fn: withPeers(async () => {
  const { prefix, caches: [a], close } = await local(1);
  const other = await peer(prefix);
  const lags = { tag: [], key: [], cascade: [] };
  const ROUNDS = 20;
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of Object.keys(lags)) {
      const k = `${kind}${i}`;
      await other.call("getOrLoad", { key: ["dep", i], value: "d" });
      await other.call("getOrLoad", { key: k, value: i, tags: [`tag${i}`], dependsOn: [["dep", i]] });
      assert.equal(await other.call("has", { key: k }), true);
      await other.call("flush");
      const gone = other.call("waitGone", { keys: [k], timeout: 2000 });
      await sleep(3);
      const start = performance.timeOrigin + performance.now();
      if (kind === "tag") a.invalidateTag(`tag${i}`);
      else if (kind === "key") a.delete(k);
      else a.set(["dep", i], "changed"); // k depends on it: the set cascades
      const at = await gone;
      assert.ok(at >= 0, `${kind} ${i}: ${k} was still served after 2 s`);
      lags[kind].push(Math.max(0, at - start));
    }
  }
  const all = Object.values(lags).flat().sort((x, y) => x - y);
  console.log(`invalidation lag across processes (poll ${POLL_MS} ms, n=${all.length}): p50 ${quantile(all, 0.5).toFixed(1)} ms, p99 ${quantile(all, 0.99).toFixed(1)} ms, max ${all.at(-1).toFixed(1)} ms`);
  assert.ok(all.at(-1) < BOUND_MS, `every invalidation arrived within ${BOUND_MS} ms: ${all.map((l) => l.toFixed(1))}`);
  await other.exit();
  await close();
}) });

Deno.test({ name: "concurrent misses in two processes call the loader once", ...multi, fn: withPeers(async () => {
  const { prefix, caches: [a], close } = await local(1);
  const other = await peer(prefix);
  for (let round = 0; round < 3; round++) {
    const key = `hot${round}`;
    const load = counted("v", 100);
    const peerLoadsBefore = await other.call("loads");
    const results = await Promise.all([a.getOrLoad(key, load), other.call("getOrLoad", { key, value: "v", delay: 100 })]);
    assert.deepEqual(results, ["v", "v"]);
    const peerLoads = (await other.call("loads")) - peerLoadsBefore;
    assert.equal(load.calls + peerLoads, 1, `round ${round}: one load in all: ${JSON.stringify([a.stats(), await other.call("stats")].map((s) => [s.tierHits, s.tierMisses, s.tierErrors]))}`);
  }
  await other.exit();
  await close();
}) });

Deno.test("a miss whose lock comes after another cache's whole load serves its value, without its loader", async () => {
  const { prefix, handles: [h], caches: [holder], close } = await local(1);
  const kv = await Deno.openKv(path);
  const inner = denoKvTier(kv, { prefix, pollInterval: POLL_MS });
  const id = tierKeyId("gap");
  const load = counted("from the holder");
  // The late cache's read misses; before it returns, the holder loads the
  // key entirely (writes Deno KV, releases its lock).
  let window = null;
  const tier = {
    ...inner,
    get: async (...args) => {
      const r = await inner.get(...args);
      if (r === null && args[0] === id) {
        await (window ??= (async () => {
          assert.equal(await holder.getOrLoad("gap", load), "from the holder");
          await holder.flush();
          for (let i = 0; i < 200 && (await kv.get([prefix, "l", id])).value !== null; i++) await sleep(5);
          assert.equal((await kv.get([prefix, "l", id])).value, null, "the holder released its lock");
        })());
      }
      return r;
    },
  };
  const late = new Cache({ tier, tierTimeout: 5_000 });
  const own = counted("from the late cache");
  assert.equal(await late.getOrLoad("gap", own), "from the holder");
  assert.equal(load.calls, 1);
  assert.equal(own.calls, 0, "the late cache did not load after taking the freed lock");
  assert.equal(late.stats().tierHits, 1, "the lock answered with the holder's entry");
  // Straight on the tier: get's bytes; a lock when absent or hidden by a tag.
  const got = await inner.lock(id, 1000, { ifAbsent: true });
  assert.deepEqual(got.stored, await inner.get(id));
  h.cache.set("tagged", 1, { tags: ["t"] });
  h.cache.invalidateTag("t");
  await h.cache.flush();
  const hidden = await inner.lock(tierKeyId("tagged"), 1000, { ifAbsent: true });
  assert.equal(typeof hidden.release, "function", "an entry hidden by a tag is absent");
  assert.equal(await inner.lock(tierKeyId("tagged"), 1000, { ifAbsent: true }), null, "held by the one above");
  await hidden.release();
  late.free();
  await inner.close();
  kv.close();
  await close();
});

Deno.test({ name: "a waiter whose lock holder died loads by itself once the lock expires", ...multi, fn: withPeers(async () => {
  const { prefix, caches: [a], close } = await local(1);
  const holder = await peer(prefix, { lockTtl: 300 });
  holder.call("getOrLoad", { key: "orphan", value: "never", delay: 60_000 }).catch(() => {});
  const kv = await Deno.openKv(path);
  const lockKey = [prefix, "l", tierKeyId("orphan")];
  for (let i = 0; i < 200 && (await kv.get(lockKey)).value === null; i++) await sleep(5);
  assert.notEqual((await kv.get(lockKey)).value, null, "the peer holds the lock");
  await holder.kill();
  const load = counted("mine");
  const start = performance.now();
  assert.equal(await a.getOrLoad("orphan", load), "mine");
  assert.equal(load.calls, 1);
  assert.ok(performance.now() - start < 5000, "bounded by the lock's expiry");
  kv.close();
  await close();
}) });

Deno.test("garbage under the prefix is a miss counted in tierErrors, never an exception", async () => {
  const { prefix, caches: [a], close } = await local(1);
  const kv = await Deno.openKv(path);
  await kv.set([prefix, "e", tierKeyId("bytes")], new Uint8Array([1, 2, 3]));
  await kv.set([prefix, "e", tierKeyId("text")], "not a record");
  await kv.set([prefix, "e", tierKeyId("shape")], { v: new Uint8Array([0x45, 0x43, 9]), x: 0, t: [] });
  await kv.set([prefix, "e", tierKeyId("tags")], { v: new Uint8Array(4), x: 0, t: [1] });
  for (const k of ["bytes", "text", "shape", "tags"]) assert.equal(await a.getOrLoad(k, counted(`loaded ${k}`)), `loaded ${k}`);
  assert.equal(a.stats().tierErrors, 4);
  await kv.set([prefix, "ver"], "garbage");
  a.set("after", 1);
  await a.flush();
  assert.equal(await a.getOrLoad("after", counted(2)), 1, "the cache goes on");
  kv.close();
  await close();
});

Deno.test("a tag invalidated in Deno KV hides entries written before it; a cascade removes L2 dependents", async () => {
  const { caches: [a, b], close } = await local(2);
  a.set("old", 1, { tags: ["t"] });
  a.set(["comment", 7], "c");
  a.set("page", "p", { dependsOn: [["comment", 7]] });
  a.set("grand", "g", { dependsOn: ["page"] });
  a.set("x".repeat(2000), "long key", { tags: ["y".repeat(2000)] });
  await a.flush();
  a.invalidateTag("t");
  a.set(["comment", 7], "c2");
  a.set("new", 2, { tags: ["t"] });
  await a.flush();
  const load = counted("reloaded");
  assert.equal(await b.getOrLoad("old", load), "reloaded");
  assert.equal(await b.getOrLoad("page", load), "reloaded");
  assert.equal(await b.getOrLoad("grand", load), "reloaded");
  assert.equal(load.calls, 3);
  assert.equal(await b.getOrLoad("new", load), 2);
  assert.equal(await b.getOrLoad("x".repeat(2000), load), "long key");
  a.invalidateTag("y".repeat(2000));
  await a.flush();
  b.clear();
  assert.equal(await b.getOrLoad("x".repeat(2000), load), "reloaded", "long ids and tags are stored by their SHA-256");
  await close();
});

Deno.test("a cascade reaches a dependent another process holds without the entries between", async () => {
  // A generous tierTimeout: on a loaded machine a short read would time out and load instead.
  const { caches: [a, b], close } = await local(2, {}, { tierTimeout: 2_000 });
  try {
    a.set(["comment", 7], "c");
    a.set("page", "p", { dependsOn: [["comment", 7]] });
    a.set("site", "s", { dependsOn: ["page"] });
    await a.flush();
    // Once a later message of a's reaches b (b subscribes on first use), b has had the
    // sets' messages: the log keeps their order.
    await within(10_000, async () => {
      b.set("marker", 1);
      a.invalidate("marker");
      await a.flush();
      await sleep(2 * POLL_MS);
      return b.get("marker") === undefined;
    }, "a's messages reaching b");
    await b.flush();
    assert.equal(await b.getOrLoad("site", counted("loaded")), "s");
    assert.equal(b.get("site"), "s", "L1 was filled; b holds neither page nor the comment");
    a.invalidate(["comment", 7]);
    await a.flush();
    // Whether it arrives at all: how soon is the lag test's business.
    await within(5_000, () => b.get("site") === undefined, "the cascade reaching b's L1");
  } finally {
    await close();
  }
});

/** Resolves once `check()` holds, polling every ms; rejects after `timeout` ms. */
async function within(timeout, check, what) {
  const start = performance.now();
  while (performance.now() - start < timeout) {
    if (await check()) return;
    await sleep(1);
  }
  throw new Error(`${what}: not within ${timeout} ms`);
}

Deno.test("big batches, a cascade over many entries and values over Deno KV's 64 KiB limit", async () => {
  // A cascade over 3000 entries reads each one's edges: give writes time (tierTimeout × 10) on a busy machine.
  const { caches: [a, b], close } = await local(2, {}, { tierTimeout: 200 });
  for (let i = 0; i < 3000; i++) a.set(`k${i}`, i, { tags: ["many"], dependsOn: ["root"] });
  a.set("big", "x".repeat(100_000));
  a.set("small", "s");
  await a.flush();
  assert.equal(a.stats().tierDropped, 0);
  assert.equal(await b.getOrLoad("k2999", counted(-1)), 2999);
  assert.equal(await b.getOrLoad("small", counted("loaded")), "s");
  assert.equal(await b.getOrLoad("big", counted("kept in L1 only")), "kept in L1 only");
  a.delete("root");
  await a.flush();
  const load = counted("reloaded");
  for (const i of [0, 1500, 2999]) assert.equal(await b.getOrLoad(`k${i}`, load), "reloaded");
  assert.equal(a.stats().tierErrors + b.stats().tierErrors, 0);
  await close();
});

Deno.test("a subscriber that fell behind the log is told it lost messages", async () => {
  const prefix = `lost${++prefixes}`;
  const kv = await Deno.openKv(path);
  // Without watch, only the (slow) poll delivers: the log can be trimmed first.
  const slow = { get: (k) => kv.get(k), getMany: (k) => kv.getMany(k), list: (s) => kv.list(s), atomic: () => kv.atomic() };
  const events = [];
  const tier = denoKvTier(slow, { prefix, pollInterval: 300 });
  const stop = tier.subscribe({ invalidate: (m) => events.push(m.tags), lost: () => events.push("lost") });
  await sleep(50);
  const writer = denoKvTier(kv, { prefix });
  await writer.apply([{ type: "invalidateTag", id: "sa", tag: "a" }], { origin: "w" });
  await writer.apply([{ type: "invalidateTag", id: "sb", tag: "b" }], { origin: "w" });
  await kv.delete([prefix, "log", 1]);
  for (let i = 0; i < 100 && events.length === 0; i++) await sleep(10);
  assert.deepEqual(events, ["lost"]);
  await writer.apply([{ type: "invalidateTag", id: "sc", tag: "c" }], { origin: "w" });
  for (let i = 0; i < 100 && events.length === 1; i++) await sleep(10);
  assert.deepEqual(events, ["lost", ["c"]], "after the loss, messages are delivered again");
  await stop();
  await tier.close();
  kv.close();
});

/** Polls until `check()` resolves truthy (each call awaited), or throws after `timeout` ms. */
async function until(timeout, check, what) {
  const start = performance.now();
  while (performance.now() - start < timeout) {
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`${what}: not within ${timeout} ms`);
}

Deno.test({ name: "a warm start from Deno KV never serves a key another process deleted, invalidated, wrote through or cascaded after the save", ...multi, fn: withPeers(async () => {
  const { prefix, caches: [saver], close } = await local(1);
  await saver.getOrLoad("warm-up", async () => 0);
  writeChanged(saver);
  await saver.flush();
  await until(5_000, () => saver.saveSnapshot(), "saveSnapshot");
  const other = await peer(prefix);
  for (const { op, key, value } of AFTER_SAVE) await other.call(op, { key, value });
  await other.call("flush");
  await other.exit();
  const kv = await Deno.openKv(path);
  const tier = denoKvTier(kv, { prefix, pollInterval: POLL_MS });
  const started = new Cache({ tier, warmStart: true, tierTimeout: 2_000 });
  assert.equal(await started.getOrLoad("first", async () => "loaded"), "loaded");
  await assertNoneChanged(reader(started), "warmStart");
  assert.equal(await started.getOrLoad("k4", counted("not used")), "new-k4", "the new value comes from Deno KV");
  const explicit = new Cache({ tier, tierTimeout: 2_000 });
  assert.equal(await explicit.loadSnapshot(), 8, "the whole snapshot was loaded, then the changes applied");
  await assertNoneChanged(reader(explicit), "loadSnapshot");
  assert.equal(explicit.stats().tierErrors, 0);
  started.free();
  explicit.free();
  await tier.close();
  kv.close();
  await close();
}) });

Deno.test({ name: "a snapshot older than the Deno KV log (logSize) is not loaded; the cache works on", ...multi, fn: async () => {
  const { caches: [saver, changer, late], close } = await local(3, { logSize: 2 }, { tierTimeout: 2_000 });
  await saver.getOrLoad("warm-up", async () => 0);
  writeChanged(saver);
  await saver.flush();
  await until(5_000, () => saver.saveSnapshot(), "saveSnapshot");
  for (const k of ["k1", "k2", "kept"]) {
    changer.delete(k);
    await changer.flush(); // one message each
  }
  late.set("mine", 1);
  assert.equal(await late.loadSnapshot(), 0, "three messages since the save, two kept: refused");
  assert.equal(late.stats().tierErrors, 1);
  assert.equal(late.stats().entries, 1, "nothing loaded, nothing lost");
  assert.equal(await late.getOrLoad("k4", counted("not used")), "old-k4", "Deno KV still serves");
  assert.equal(await late.getOrLoad("kept", counted("reloaded")), "reloaded");
  await close();
} });

Deno.test("denoKvTier checks its arguments", async () => {
  const kv = await Deno.openKv(path);
  assert.throws(() => denoKvTier(null), TypeError);
  assert.throws(() => denoKvTier({}), TypeError);
  assert.throws(() => denoKvTier(kv, { prefix: {} }), TypeError);
  assert.throws(() => denoKvTier(kv, { pollInterval: 0 }), RangeError);
  assert.throws(() => denoKvTier(kv, { lockTtl: 1.5 }), RangeError);
  assert.throws(() => denoKvTier(kv, { logSize: 0 }), (err) => err instanceof RangeError && /^logSize must be a positive integer; got 0$/.test(err.message));
  kv.close();
});
