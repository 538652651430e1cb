// One Node process of bench/tier-redis.mjs: its own node-redis client and
// Cache, driven by JSON lines on stdin ({ id, op, ... } → { id, result }).
//
// Ops: `run` (the Zipf workload through getOrLoad, with or without the tier),
// `preload`/`l2cost` (an L2 hit against an L1 hit, measured one call at a
// time), `hold`/`watch`/`invalidate`/`watched` (invalidation latency across
// processes). Cross-process times use process.hrtime (CLOCK_MONOTONIC, one
// clock for every process on the machine).
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import { Cache } from "../js/dist/node.js";
import { redisTier } from "../js/dist/tiers/redis.js";

// The redis client is a dev dependency of js/ (a peer dependency of edgecache/redis).
const { createClient } = createRequire(new URL("../js/package.json", import.meta.url))("redis");

const [url, keySpace, zipfS] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
/** Entries' lifetime in L1 and L2: longer than any run, so nothing expires. */
const TTL_MS = 10 * 60_000;
/** A value of about this many bytes of JSON per key. */
const VALUE_PAD = "x".repeat(80);
/** A request's source, as `run` reports it. */
const FROM_L1 = 0;
const FROM_L2 = 1;
const FROM_ORIGIN = 2;
/** How long a watcher waits for an invalidation before reporting it missed. */
const WATCH_TIMEOUT_MS = 2_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowNs = () => process.hrtime.bigint();
const msSince = (t) => Number(nowNs() - t) / 1e6;

/** mulberry32: a small seeded generator, so every run draws the same keys. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Zipf(s) over ranks 0..n-1 by inversion of the cumulative weights. */
function zipf(n, s) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
  for (let r = 0; r < n; r++) cdf[r] /= sum;
  return (u) => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const rank = zipf(keySpace, zipfS);
let client = null;

async function redis() {
  if (client === null) {
    client = createClient({ url });
    client.on("error", () => {});
    await client.connect();
  }
  return client;
}

/** A counted origin: each call waits `ms` (a timer) and returns a small object. */
function origin(ms) {
  const load = async ({ key }) => {
    load.calls++;
    await sleep(ms);
    return { key, at: load.calls, pad: VALUE_PAD };
  };
  load.calls = 0;
  return load;
}

/** A cache with `l1Entries` entries at most, on the tier under `prefix` when given. */
async function makeCache(l1Entries, prefix, observe) {
  const options = { maxEntries: l1Entries, maxMemory: 256 << 20, ttl: TTL_MS };
  if (prefix === undefined) return new Cache(options);
  const tier = redisTier(await redis(), { prefix });
  if (observe) {
    // Sees each invalidation message right after the cache has applied it.
    const subscribe = tier.subscribe;
    tier.subscribe = (listener) => subscribe({
      invalidate: (message) => {
        listener.invalidate(message);
        observe(message);
      },
      lost: () => listener.lost(),
    });
  }
  return new Cache({ ...options, tier });
}

const b64 = (f64) => Buffer.from(f64.buffer, f64.byteOffset, f64.byteLength).toString("base64");

// ----- the workload -----

async function run({ prefix, requests, concurrency, seed, l1Entries, originMs }) {
  const cache = await makeCache(l1Entries, prefix ?? undefined);
  const load = origin(originMs);
  const random = rng(seed);
  const lat = new Float64Array(requests);
  const ranks = new Int32Array(requests);
  // Where each request's value came from: L1, L2 (or another process's load), or this process's origin call.
  const source = new Uint8Array(requests);
  const loadedHere = new Set();
  const counted = (context) => {
    loadedHere.add(context.key);
    return load(context);
  };
  let next = 0;
  const loop = async () => {
    while (next < requests) {
      const i = next++;
      ranks[i] = rank(random());
      const key = "k" + ranks[i];
      const inL1 = cache.has(key);
      const t = performance.now();
      await cache.getOrLoad(key, counted);
      lat[i] = performance.now() - t;
      source[i] = inL1 ? FROM_L1 : loadedHere.has(key) ? FROM_ORIGIN : FROM_L2;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedMs = performance.now() - start;
  await cache.flush();
  const stats = cache.stats();
  cache.free();
  return {
    calls: load.calls, elapsedMs, stats, lat: b64(lat),
    ranks: Buffer.from(ranks.buffer).toString("base64"), source: Buffer.from(source).toString("base64"),
  };
}

// ----- an L2 hit against an L1 hit -----

/** Loads `count` keys into L2 through a cache of its own. */
async function preload({ prefix, count, l1Entries }) {
  const cache = await makeCache(l1Entries, prefix);
  const load = origin(0);
  for (let i = 0; i < count; i += 64) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 64); j++) batch.push(cache.getOrLoad("c" + j, load));
    await Promise.all(batch);
  }
  await cache.flush();
  cache.free();
  return load.calls;
}

/** Per key, one call at a time: the first getOrLoad is an L2 hit, the second an L1 hit;
 * then the same two reads on a cache without a tier (a miss that loads, then an L1 hit). */
async function l2cost({ prefix, count, l1Entries }) {
  const tiered = await makeCache(l1Entries, prefix);
  const plain = await makeCache(l1Entries);
  const load = origin(0);
  const l2 = new Float64Array(count);
  const l1 = new Float64Array(count);
  const l1plain = new Float64Array(count);
  const time = async (cache, key) => {
    const t = performance.now();
    await cache.getOrLoad(key, load);
    return performance.now() - t;
  };
  for (let i = 0; i < count; i++) {
    l2[i] = await time(tiered, "c" + i);
    l1[i] = await time(tiered, "c" + i);
  }
  const l2Calls = load.calls;
  for (let i = 0; i < count; i++) {
    await time(plain, "c" + i);
    l1plain[i] = await time(plain, "c" + i);
  }
  const stats = tiered.stats();
  tiered.free();
  plain.free();
  return { l2Calls, tierHits: stats.tierHits, l2: b64(l2), l1: b64(l1), l1plain: b64(l1plain) };
}

// ----- invalidation across processes -----

/** The cache that holds keys for the invalidation tries: { prefix, cache }. */
let held = null;
/** The watch in progress: { key, at (a promise of the time), resolve, fired, polled }. */
let watching = null;

async function hold({ prefix, key, tag, l1Entries }) {
  if (held === null || held.prefix !== prefix) {
    held?.cache.free();
    held = { prefix, cache: await makeCache(l1Entries, prefix, onMessage) };
  }
  const load = origin(0);
  await held.cache.getOrLoad(key, load, { tags: [tag] });
  await held.cache.flush();
  return { loaded: load.calls, has: held.cache.has(key) };
}

/** Settles the watch once: `t` the time it stopped being served (null: never), `polled` how it was seen. */
function fire(w, t, polled) {
  if (w.fired) return;
  w.fired = true;
  w.polled = polled;
  w.resolve(t);
}

function onMessage() {
  if (watching !== null && !held.cache.has(watching.key)) fire(watching, nowNs(), false);
}

/** Arms the watch on `key`; `watched` then reports when it stopped being served. */
function watch({ key }) {
  const w = { key, fired: false, polled: false };
  w.at = new Promise((resolve) => { w.resolve = resolve; });
  watching = w;
  // A message that the hook did not see (there should be none) is caught by polling.
  (async () => {
    const start = nowNs();
    while (!w.fired && msSince(start) < WATCH_TIMEOUT_MS) {
      if (!held.cache.has(key)) return fire(w, nowNs(), true);
      await sleep(1);
    }
    fire(w, null, false);
  })();
  return held.cache.has(key);
}

async function watched() {
  const w = watching;
  const at = await w.at;
  watching = null;
  return { at: at === null ? null : String(at), polled: w.polled };
}

/** Invalidates the key or the tag; the time (ns, monotonic) just before the call. */
async function invalidate({ key, tag }) {
  const at = nowNs();
  if (tag !== undefined) held.cache.invalidateTag(tag);
  else held.cache.invalidate(key);
  await held.cache.flush();
  return { at: String(at), flushMs: msSince(at) };
}

const ops = { run, preload, l2cost, hold, watch, watched, invalidate };

process.stdout.write(JSON.stringify({ ready: true }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  if (msg.op === "exit") break;
  try {
    const result = await ops[msg.op](msg);
    process.stdout.write(JSON.stringify({ id: msg.id, result: result ?? null }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ id: msg.id, error: String(err?.stack ?? err) }) + "\n");
  }
}
await client?.close();
process.exit(0); // stdin is still open
