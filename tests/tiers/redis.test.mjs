// edgecache/redis against a real redis-server on loopback, with caches in
// this process (each on its own client, as separate processes are to Redis)
// and in child processes (tests/tiers/redis-peer.mjs).
import { test as nodeTest, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnPeer, killPeers } from "./peer.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Cache, cachedFetch } from "../../js/dist/node.js";
import { redisTier } from "../../js/dist/tiers/redis.js";
import { tierKeyId } from "../../js/dist/tiers/memory.js";
import { startRedis, stopRedis } from "./redis-server.mjs";
import { startOrigin } from "../runtimes/origin.mjs";
import { counted, sleep } from "../js/loaders.js";
import { writeChanged, AFTER_SAVE, assertNoneChanged, local } from "../js/warm-cases.js";

// The redis client is a dev dependency of js/ (a peer dependency of edgecache/redis).
const { createClient } = createRequire(new URL("../../js/package.json", import.meta.url))("redis");

const here = dirname(fileURLToPath(import.meta.url));
let server;
const opened = [];
const servers = [];
const made = [];
let prefixes = 0;

// Nothing here may hang the run: each test is bounded, and whatever a test
// started (peer processes, caches, whose subscriptions reconnect forever,
// clients, servers) is ended after it, failed or not, so the file exits.
// A main server that dies fails the running test and every later one at
// once, saying so, rather than each test waiting out its bound.
const TEST_MS = 60_000;
const CONNECT_MS = 10_000;
const test = (name, fn) => nodeTest(name, { timeout: TEST_MS }, async (t) => {
  if (server.died) throw new Error(server.died);
  return Promise.race([fn(t), server.gone]);
});
/** A tier call may take this long in the tests that count loads: the 50 ms
 * default is a production bound that a loaded machine overruns, and a
 * timed-out call loads by itself, as it should. */
const PATIENT_MS = 2_000;

before(async () => {
  server = await ownRedis();
}, { timeout: TEST_MS });
afterEach(async () => {
  await killPeers();
  for (const c of made.splice(0)) c.free();
}, { timeout: TEST_MS });
after(async () => {
  await killPeers();
  for (const c of made.splice(0)) c.free();
  // destroy, not close: close waits for queued commands, forever when the server is gone.
  for (const c of opened) c.destroy();
  for (const s of servers) await stopRedis(s);
}, { timeout: TEST_MS });

/** A redis-server of this file's, stopped after the last test at the latest;
 * `gone` rejects if it exits other than by stopRedis. */
async function ownRedis(options) {
  const r = await startRedis(options);
  servers.push(r);
  r.gone = new Promise((_, reject) => r.proc.once("exit", (code, signal) => {
    if (r.stopping) return;
    r.died = `redis-server (pid ${r.pid}, port ${r.port}) exited by itself or was killed (${signal ?? `code ${code}`}) during the tests`;
    reject(new Error(r.died));
  }));
  r.gone.catch(() => {});
  return r;
}

/** A Cache freed after its test at the latest. */
function cache(options) {
  const c = new Cache(options);
  made.push(c);
  return c;
}

/** A client made the usual way, with node-redis's defaults. */
async function client(url = server.url) {
  const c = createClient({ url });
  c.on("error", () => {});
  opened.push(c);
  let timer;
  await Promise.race([c.connect(), new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection to ${url} within ${CONNECT_MS} ms`)), CONNECT_MS);
  })]).finally(() => clearTimeout(timer));
  return c;
}

/** `n` caches, each on its own client, on one fresh prefix. */
async function caches(n, options = {}, tierOptions = {}) {
  const prefix = `t${++prefixes}:`;
  const out = [];
  for (let i = 0; i < n; i++) out.push(cache({ tierTimeout: PATIENT_MS, ...options, tier: redisTier(await client(), { prefix, ...tierOptions }) }));
  return { prefix, caches: out };
}


/** Resolves once `check()` holds, polling every ms; the elapsed ms, or rejects after `timeout`. */
async function within(timeout, check, what) {
  const start = performance.now();
  while (performance.now() - start < timeout) {
    if (await check()) return performance.now() - start;
    await sleep(1);
  }
  throw new Error(`${what}: not within ${timeout} ms`);
}

function plainEnv() {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** A child process with its own cache on the tier. */
async function peer(prefix, runtime = "node") {
  const command = runtime === "deno"
    ? [join(here, "../../js/node_modules/.bin/deno"), ["run", "--no-check", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", join(here, "redis-peer.mjs"), server.url, prefix, String(PATIENT_MS)]]
    : [process.execPath, [join(here, "redis-peer.mjs"), server.url, prefix, String(PATIENT_MS)]];
  // A plain process: a node --test child's environment would make it report to the runner.
  return spawnPeer(command[0], command[1], plainEnv());
}

test("a snapshot saved to Redis by another process warms a new cache on its first getOrLoad", async () => {
  const { prefix } = await caches(0);
  const other = await peer(prefix);
  // Its first call subscribes; a "lost" while that settles would drop its L1.
  await other.call("get", { key: "warm-up" });
  await sleep(200);
  for (let i = 0; i < 30; i++) await other.call("set", { key: ["stock", i], value: { qty: i }, tags: ["stock"] });
  const held = (await other.call("stats")).entries;
  assert.equal(await other.call("saveSnapshot"), true);
  const warm = cache({ warmStart: true, tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  const load = counted("not used");
  assert.deepEqual(await warm.getOrLoad(["stock", 29], load), { qty: 29 });
  assert.equal(load.calls, 0);
  assert.equal(warm.stats().entries, held, "the whole snapshot is in L1");
  assert.equal(warm.stats().misses, 0, "the first getOrLoad hit the loaded entries");
  // A tag the snapshot holds, invalidated in Redis, hides it from the next isolate.
  await other.call("invalidateTag", { tag: "stock" });
  await other.call("flush");
  const late = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  assert.equal(await late.loadSnapshot(), 0);
  await other.exit();
  warm.free();
  late.free();
});

/** A cache on `prefix` whose subscription is up (its head read done), with BEFORE_SAVE written and saved. */
async function savedSnapshot(prefix, tierOptions = {}) {
  const saver = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix, ...tierOptions }) });
  await saver.getOrLoad("warm-up", async () => 0);
  writeChanged(saver);
  await saver.flush();
  // Its own messages come back through the channel; then its position is the head.
  await within(5_000, () => saver.saveSnapshot(), "saveSnapshot");
  return saver;
}

test("a warm start from Redis never serves a key another process deleted, invalidated, wrote through or cascaded after the save", async () => {
  const prefix = `t${++prefixes}:`;
  await savedSnapshot(prefix);
  const other = await peer(prefix);
  for (const { op, key, value } of AFTER_SAVE) await other.call(op, { key, value });
  await other.call("flush");
  await other.exit();
  const warm = cache({ warmStart: true, tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  assert.equal(await warm.getOrLoad("first", async () => "loaded"), "loaded");
  await assertNoneChanged(local(warm), "warmStart");
  assert.equal(await warm.getOrLoad("k4", counted("not used")), "new-k4", "the new value comes from Redis");
  const explicit = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  assert.equal(await explicit.loadSnapshot(), 8, "the whole snapshot was loaded, then the changes applied");
  await assertNoneChanged(local(explicit), "loadSnapshot");
  assert.equal(explicit.stats().tierErrors, 0);
});

test("a snapshot exactly logSize messages older than the Redis log is loaded and replayed", async () => {
  const prefix = `t${++prefixes}:`;
  await savedSnapshot(prefix, { logSize: 2 });
  const changer = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix, logSize: 2 }) });
  for (const k of ["k1", "k2"]) {
    changer.delete(k);
    await changer.flush(); // one message each
  }
  const late = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix, logSize: 2 }) });
  assert.equal(await late.loadSnapshot(), 8, "two messages since the save, two kept");
  for (const k of ["k1", "k2", "k3"]) assert.equal(late.has(k), false, `${k} deleted (or cascaded) after the save`);
  assert.equal(late.get("k4"), "old-k4");
  assert.equal(late.stats().tierErrors, 0);
});

test("a snapshot older than the Redis log (logSize) is not loaded; the cache works on", async () => {
  const prefix = `t${++prefixes}:`;
  await savedSnapshot(prefix, { logSize: 2 });
  const changer = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix, logSize: 2 }) });
  for (const k of ["k1", "k2", "kept"]) {
    changer.delete(k);
    await changer.flush(); // one message each
  }
  const late = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix, logSize: 2 }) });
  late.set("mine", 1);
  assert.equal(await late.loadSnapshot(), 0, "three messages since the save, two kept: refused");
  assert.equal(late.stats().tierErrors, 1);
  assert.equal(late.stats().entries, 1, "nothing loaded, nothing lost");
  assert.equal(await late.getOrLoad("k4", counted("not used")), "old-k4", "Redis still serves");
  assert.equal(await late.getOrLoad("kept", counted("reloaded")), "reloaded");
});

test("a change made while a new cache's channel comes up reaches its L1 and its snapshots", async () => {
  const prefix = `t${++prefixes}:`;
  const admin = await client();
  const writer = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  writer.set("k", "v1");
  writer.set("other", 1);
  await writer.flush();
  await within(5000, async () => Number((await admin.sendCommand(["PUBSUB", "NUMSUB", `${prefix}inv`]))[1]) === 1, "the writer subscribed");
  // The new cache's second connection (its channel) takes a while to come up, as over a slow network.
  const slowChannel = await client();
  const duplicate = slowChannel.duplicate.bind(slowChannel);
  let channelUp = false;
  slowChannel.duplicate = (...args) => {
    const d = duplicate(...args);
    const connect = d.connect.bind(d);
    d.connect = async () => {
      await sleep(300);
      const r = await connect();
      channelUp = true;
      return r;
    };
    return d;
  };
  // And the check that follows the channel's start is slow too: messages the
  // channel brings meanwhile must not overtake the ones it reads from the log.
  const send = slowChannel.sendCommand.bind(slowChannel);
  slowChannel.sendCommand = async (args, ...rest) => {
    if (channelUp && args[0] === "MGET") {
      channelUp = false;
      await sleep(300);
    }
    return send(args, ...rest);
  };
  const a = cache({ tierTimeout: PATIENT_MS, tier: redisTier(slowChannel, { prefix }) });
  assert.equal(await a.getOrLoad("k", counted("not used")), "v1", "read from Redis");
  assert.equal(await a.getOrLoad("other", counted("not used")), 1);
  writer.delete("k");
  await writer.flush();
  await within(5000, async () => Number((await admin.sendCommand(["PUBSUB", "NUMSUB", `${prefix}inv`]))[1]) === 2, "a's channel is up");
  // A message the channel delivers moves a's position past the delete.
  writer.delete("other");
  await writer.flush();
  await within(5000, () => a.get("other") === undefined, "a's channel delivers");
  assert.equal(a.get("k"), undefined, "the delete made before a's channel came up is applied");
  assert.equal(await a.saveSnapshot(), true);
  const warm = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  await warm.loadSnapshot();
  assert.equal(warm.get("k"), undefined, "nor does a snapshot serve it");
});

test("a Redis that lost its message count (\"ver\" evicted) starts a new epoch: an older snapshot is refused", async () => {
  const prefix = `t${++prefixes}:`;
  await savedSnapshot(prefix);
  const admin = await client();
  // As an allkeys-* maxmemory policy may: the count goes, the epoch and the log stay.
  await admin.del(`${prefix}ver`);
  const changer = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  changer.delete("k1");
  await changer.flush();
  const late = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(), { prefix }) });
  const n = await late.loadSnapshot();
  assert.equal(late.has("k1"), false, "deleted after the save, under a count that started again");
  assert.equal(n, 0, "the snapshot's position is of another epoch: refused");
  assert.equal(late.stats().tierErrors, 1);
  assert.equal(await late.getOrLoad("k4", counted("not used")), "old-k4", "Redis still serves");
});

test("after a FLUSHALL a running cache takes the new epoch: its snapshots are saved and load again", async () => {
  const own = await ownRedis();
  const prefix = "flushall:";
  const a = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(own.url), { prefix }) });
  const b = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(own.url), { prefix }) });
  const admin = await client(own.url);
  a.set("x", 1);
  b.set("y", 1);
  await a.flush();
  await b.flush();
  await within(5000, async () => Number((await admin.sendCommand(["PUBSUB", "NUMSUB", `${prefix}inv`]))[1]) === 2, "both caches subscribed");
  await within(5000, () => a.saveSnapshot(), "a snapshot before the FLUSHALL");
  await admin.flushAll();
  // Messages go on after the flush, counted from 1 again.
  b.set("y", 2);
  await b.flush();
  // The server lost every message before the flush: a cannot vouch for its L1 (a new epoch).
  await within(5000, () => a.get("x") === undefined, "a dropped its L1 on the new epoch");
  a.set("z", 2);
  await a.flush();
  await within(5000, () => a.saveSnapshot(), "a snapshot after the FLUSHALL");
  const warm = cache({ tierTimeout: PATIENT_MS, tier: redisTier(await client(own.url), { prefix }) });
  assert.ok((await warm.loadSnapshot()) >= 1, "the new snapshot loads");
  assert.equal(warm.get("z"), 2);
  assert.equal(warm.stats().tierErrors, 0);
  a.free();
  b.free();
  warm.free();
  await stopRedis(own);
});

test("a value loaded in one process is served from Redis in another, without its loader", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const other = await peer(prefix);
  assert.deepEqual(await other.call("getOrLoad", { key: "p", value: { n: 1 } }), { n: 1 });
  await other.call("flush");
  const load = counted("not used");
  assert.deepEqual(await a.getOrLoad("p", load), { n: 1 });
  assert.equal(load.calls, 0);
  assert.equal(a.stats().tierHits, 1);
  await other.exit();
  a.free();
});

test("invalidations reach another process within 100 ms on loopback (tags, keys, cascading sets)", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const other = await peer(prefix);
  const lags = [];
  for (let i = 0; i < 20; i++) {
    await other.call("set", { key: `k${i}`, value: i, tags: ["stock"] });
    await other.call("flush");
    const gone = other.call("waitGone", { key: `k${i}`, timeout: 1000 });
    await sleep(5);
    if (i % 2) a.invalidateTag("stock");
    else a.set(`k${i}`, -i);
    lags.push(await gone);
  }
  lags.sort((x, y) => x - y);
  assert.ok(lags.every((l) => l >= 0 && l < 100), `every invalidation arrived within 100 ms: ${lags.map((l) => l.toFixed(1))}`);
  await other.exit();
  a.free();
});

test("a Deno process shares the tier with a Node process, both ways", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const deno = await peer(prefix, "deno");
  assert.equal(await deno.call("getOrLoad", { key: "from-deno", value: "d" }), "d");
  await deno.call("flush");
  assert.equal(await a.getOrLoad("from-deno", counted("node")), "d");
  a.set("from-node", "n");
  await a.flush();
  assert.equal(await deno.call("getOrLoad", { key: "from-node", value: "deno" }), "n");
  assert.equal(await deno.call("loads"), 1);
  const gone = deno.call("waitGone", { key: "from-node", timeout: 1000 });
  await sleep(5);
  a.delete("from-node");
  const lag = await gone;
  assert.ok(lag >= 0 && lag < 100, `the invalidation reached Deno in ${lag} ms`);
  await deno.exit();
  a.free();
});

test("a tag invalidated in Redis hides entries written before it; a cascade removes L2 dependents", async () => {
  const { caches: [a, b] } = await caches(2);
  a.set("old", 1, { tags: ["t"] });
  a.set(["comment", 7], "c");
  a.set("page", "p", { dependsOn: [["comment", 7]] });
  await a.flush();
  a.invalidateTag("t");
  a.set(["comment", 7], "c2");
  a.set("new", 2, { tags: ["t"] });
  await a.flush();
  const load = counted("reloaded");
  assert.equal(await b.getOrLoad("old", load), "reloaded");
  assert.equal(await b.getOrLoad("page", load), "reloaded");
  assert.equal(load.calls, 2);
  assert.equal(await b.getOrLoad("new", load), 2);
  a.free();
  b.free();
});

test("a cascade reaches a dependent another process holds without the entries between", async () => {
  // A generous tierTimeout: on a loaded machine a 50 ms read would time out and load instead.
  const { caches: [a, b] } = await caches(2, { tierTimeout: 2_000 });
  try {
    a.set(["comment", 7], "c");
    a.set("page", "p", { dependsOn: [["comment", 7]] });
    a.set("site", "s", { dependsOn: ["page"] });
    await a.flush();
    // Once a later message of a's reaches b (b subscribes on first use), b has had the
    // sets' messages: one channel keeps their order.
    await within(10_000, async () => {
      b.set("marker", 1);
      a.invalidate("marker");
      await a.flush();
      await sleep(20);
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
    a.free();
    b.free();
  }
});

test("concurrent misses in several processes call the loader once", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const peers = await Promise.all([peer(prefix), peer(prefix), peer(prefix)]);
  const load = counted("v", 100);
  const results = await Promise.all([
    a.getOrLoad("hot", load),
    ...peers.map((p) => p.call("getOrLoad", { key: "hot", value: "v", delay: 100 })),
  ]);
  assert.deepEqual(results, ["v", "v", "v", "v"]);
  const peerLoads = await Promise.all(peers.map((p) => p.call("loads")));
  assert.equal(load.calls + peerLoads.reduce((x, y) => x + y, 0), 1);
  await Promise.all(peers.map((p) => p.exit()));
  a.free();
});

test("a waiter that takes the lock just after the holder wrote and released it serves the value, without its loader", async () => {
  const { prefix, caches: [holder] } = await caches(1);
  const raw = await client();
  const id = tierKeyId("handover");
  // Once refused the lock, the waiter polls (read, then lock); its tier lets
  // the holder finish between such a read (a miss) and the next lock
  // attempt: the window a loaded machine widens.
  const inner = redisTier(await client(), { prefix });
  let gate;
  const held = new Promise((r) => (gate = r));
  let window = null;
  let refused = 0;
  const tier = {
    ...inner,
    lock: async (...args) => {
      const l = await inner.lock(...args);
      if (l === null) refused++;
      return l;
    },
    get: async (...args) => {
      const r = await inner.get(...args);
      if (r === null && args[0] === id && refused > 0 && window === null) {
        window = (async () => {
          gate();
          await within(5000, async () => !(await raw.exists(`${prefix}l:${id}`)), "the holder released its lock");
        })();
        await window;
      }
      return r;
    },
  };
  const waiter = cache({ tierTimeout: PATIENT_MS, tier });
  const load = counted("from the holder");
  const holding = holder.getOrLoad("handover", async () => { await held; return load(); });
  await within(5000, async () => (await raw.exists(`${prefix}l:${id}`)) === 1, "the holder took the lock");
  const own = counted("from the waiter");
  assert.equal(await waiter.getOrLoad("handover", own), "from the holder");
  assert.equal(await holding, "from the holder");
  assert.equal(load.calls, 1);
  assert.equal(own.calls, 0, "the waiter did not load after taking the freed lock");
});

test("a miss whose lock comes after another process's whole load serves its value, without its loader", async () => {
  const { prefix, caches: [holder] } = await caches(1);
  const raw = await client();
  const id = tierKeyId("gap");
  // The late cache's read misses; before it returns, the holder loads the
  // key entirely (writes Redis, releases its lock): the window a loaded
  // machine opens between the read and the lock.
  const load = counted("from the holder");
  const inner = redisTier(await client(), { prefix });
  let window = null;
  const tier = {
    ...inner,
    get: async (...args) => {
      const r = await inner.get(...args);
      if (r === null && args[0] === id) {
        await (window ??= (async () => {
          assert.equal(await holder.getOrLoad("gap", load), "from the holder");
          await holder.flush();
          await within(5000, async () => !(await raw.exists(`${prefix}l:${id}`)), "the holder released its lock");
        })());
      }
      return r;
    },
  };
  const late = cache({ tierTimeout: PATIENT_MS, tier });
  const own = counted("from the late cache");
  assert.equal(await late.getOrLoad("gap", own), "from the holder");
  assert.equal(load.calls, 1);
  assert.equal(own.calls, 0, "the late cache did not load after taking the freed lock");
  assert.equal(late.stats().tierHits, 1, "the lock answered with the holder's entry");
});

test("lock with ifAbsent answers the bytes get would, and locks when the entry is absent or hidden by a tag", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const tier = redisTier(await client(), { prefix });
  a.set("present", 1, { tags: ["t"] });
  await a.flush();
  const id = tierKeyId("present");
  const got = await tier.lock(id, 1000, { ifAbsent: true });
  assert.deepEqual(got.stored, await tier.get(id));
  assert.equal(got.release, undefined, "no lock taken");
  const plain = await tier.lock(id, 1000);
  assert.equal(typeof plain.release, "function", "without ifAbsent the lock is taken as before");
  await plain.release();
  await a.invalidateTag("t");
  await a.flush();
  const hidden = await tier.lock(id, 1000, { ifAbsent: true });
  assert.equal(typeof hidden.release, "function", "an entry hidden by a tag is absent");
  assert.equal(await tier.lock(id, 1000, { ifAbsent: true }), null, "held by the one above");
  await hidden.release();
  const absent = await tier.lock(tierKeyId("absent"), 1000, { ifAbsent: true });
  assert.equal(typeof absent.release, "function");
  await absent.release();
});

test("a waiter whose lock holder died loads by itself once the lock expires", async () => {
  const { prefix, caches: [a] } = await caches(1, {}, { lockTtl: 200 });
  const c = await client();
  await c.set(`${prefix}l:${tierKeyId("orphan")}`, "dead-holder", { PX: 200 });
  const load = counted("mine");
  const start = performance.now();
  assert.equal(await a.getOrLoad("orphan", load), "mine");
  assert.equal(load.calls, 1);
  assert.ok(performance.now() - start < 2000, "bounded by the lock's expiry");
  a.free();
});

test("garbage under the prefix is a miss counted in tierErrors, never an exception", async () => {
  const { prefix, caches: [a] } = await caches(1);
  const c = await client();
  await c.hSet(`${prefix}e:${tierKeyId("g")}`, { v: "not an entry", s: "1", t: "[]" });
  await c.set(`${prefix}e:${tierKeyId("h")}`, "wrong type");
  assert.equal(await a.getOrLoad("g", counted("loaded")), "loaded");
  assert.equal(await a.getOrLoad("h", counted("loaded")), "loaded");
  assert.ok(a.stats().tierErrors >= 2);
  a.free();
});

test("Redis's maxmemory may evict L2 entries under load: misses, no errors", async () => {
  const small = await ownRedis({ args: ["--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru"] });
  const prefix = "mm:";
  const a = cache({ ttl: 60_000, tierTimeout: PATIENT_MS, tier: redisTier(await client(small.url), { prefix }) });
  const b = cache({ ttl: 60_000, tierTimeout: PATIENT_MS, tier: redisTier(await client(small.url), { prefix }) });
  const value = "x".repeat(2000);
  for (let i = 0; i < 3000; i++) a.set(`k${i}`, value);
  await a.flush();
  let fromTier = 0;
  for (let i = 0; i < 3000; i += 10) {
    if ((await b.getOrLoad(`k${i}`, counted("loaded"))) === value) fromTier++;
  }
  const s = b.stats();
  assert.ok(fromTier > 0 && fromTier < 300, `some entries were evicted by Redis, some served: ${fromTier}/300`);
  assert.equal(s.tierErrors, 0);
  a.free();
  b.free();
  await stopRedis(small);
});

test("Redis stopped mid-run: calls go on through the loader, nothing throws, L1 is kept; restarted: the tier recovers", async () => {
  const own = await ownRedis();
  const prefix = "fault:";
  const a = cache({ tier: redisTier(await client(own.url), { prefix }), tierTimeout: 50 });
  const b = cache({ tier: redisTier(await client(own.url), { prefix }), tierTimeout: 50 });
  a.set("kept", 1);
  await b.getOrLoad("b-kept", counted(1));
  await a.flush();
  // Both subscriptions up first: a cache whose channel never came up cannot
  // vouch for its L1 and drops it, a race a loaded machine loses.
  const watcher = await client(own.url);
  await within(5000, async () => Number((await watcher.sendCommand(["PUBSUB", "NUMSUB", `${prefix}inv`]))[1]) === 2, "both caches subscribed");
  await stopRedis(own, "SIGKILL");
  assert.equal(await a.getOrLoad("during", counted("loaded")), "loaded");
  assert.equal(a.set("x", 1), true);
  a.invalidateTag("t");
  assert.equal(a.get("kept"), 1, "L1 data is not lost");
  assert.equal(b.get("b-kept"), 1);
  assert.ok(a.stats().tierErrors >= 1);

  const back = await ownRedis({ port: own.port });
  // The server lost its data: each cache drops what it cannot vouch for, then invalidation resumes.
  await within(5000, () => b.get("b-kept") === undefined, "b dropped its L1 after the restart");
  let probe = 0;
  for (const c of [a, b]) {
    await within(5000, async () => {
      const misses = c.stats().tierMisses;
      await c.getOrLoad(`probe${probe++}`, counted(0));
      return c.stats().tierMisses > misses; // a miss is an answer from Redis
    }, "the tier answers again");
  }
  await a.getOrLoad("again", counted(3));
  b.set("again", 4);
  await b.flush();
  await within(1000, () => a.get("again") === undefined, "invalidation resumed");
  a.free();
  b.free();
  await stopRedis(back);
});

test("Redis slower than the timeout: the call goes on through the loader", async () => {
  const own = await ownRedis();
  const a = cache({ tier: redisTier(await client(own.url), { prefix: "slow:" }), tierTimeout: 30 });
  await a.getOrLoad("warm", counted(1));
  process.kill(own.pid, "SIGSTOP");
  try {
    const start = performance.now();
    assert.equal(await a.getOrLoad("hung", counted("loaded")), "loaded");
    assert.ok(performance.now() - start < 1000, "did not wait for the hung server");
    assert.ok(a.stats().tierErrors >= 1);
  } finally {
    process.kill(own.pid, "SIGCONT");
  }
  a.free();
  await stopRedis(own);
});

test("cachedFetch: a response stored by one process is a hit in another; a POST invalidates it in both", async (t) => {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const { caches: [a, b] } = await caches(2);
  const [fa, fb] = [cachedFetch(a), cachedFetch(b)];
  const url = `${origin.base}/redis-fetch?cc=max-age%3D60`;
  const first = await fa(url);
  assert.equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const text = await first.text();
  await a.flush();
  const shared = await fb(url);
  assert.equal(shared.headers.get("cache-status"), "edgecache; hit; detail=l2");
  assert.equal(await shared.text(), text);
  const counted = async () => (await (await fetch(`${origin.base}/__count?url=${encodeURIComponent("/redis-fetch?cc=max-age%3D60")}`)).json()).count;
  assert.equal(await counted(), 1);
  await (await fb(url, { method: "POST", body: "x" })).text();
  await b.flush();
  // A HEAD is answered from A's stored response until the invalidation arrives, then forwarded.
  await within(1000, async () => (await fa(url, { method: "HEAD" })).headers.get("cache-status").includes("fwd="), "the POST reached A");
  const fetched = await fa(url);
  assert.ok(fetched.headers.get("cache-status").includes("fwd=uri-miss"));
  await fetched.text();
  a.free();
  b.free();
});

test("redisTier checks its arguments", () => {
  assert.throws(() => redisTier({}), TypeError);
  assert.throws(() => redisTier(null), TypeError);
});
