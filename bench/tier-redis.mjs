// The shared tier on Redis, measured: 4 Node processes (bench/tier-redis-worker.mjs),
// each with its own node-redis client and Cache, on one redis-server this
// script starts on a free loopback port (and stops).
//
//   node bench/tier-redis.mjs [requests per process = 100000] [L1 entries = 10000]
//
// 1. Workload: Zipf(0.99) over 1 M keys through getOrLoad with a counted
//    origin that waits ORIGIN_MS; every process alone (no tier), then all on
//    the tier (one prefix), cold each time. Origin calls per 1,000 requests
//    and p50/p99 of getOrLoad, over the 4 processes' requests.
// 2. The cost of an L2 hit: one process fills L2, another reads each key
//    twice, one call at a time (an L2 hit, then an L1 hit), the others idle.
// 3. Invalidation across processes: all 4 hold a key (tagged); process 0
//    invalidates the key or its tag; the other 3 report when they stopped
//    serving it (process.hrtime: one monotonic clock for the machine).
// Env: TRIES (invalidation tries, 300), COST_KEYS (keys for 2., 2000),
// CONCURRENCY (requests in flight per process, 16), ORIGIN_MS (2), ROUNDS (2: alone first, then the tier first).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRedis, stopRedis } from "../tests/tiers/redis-server.mjs";

const PROCESSES = 4;
const KEY_SPACE = 1_000_000;
const ZIPF_S = 0.99;
const REQUESTS = Number(process.argv[2] ?? 100_000);
const L1_ENTRIES = Number(process.argv[3] ?? 10_000);
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const TRIES = env("TRIES", 300);
const COST_KEYS = env("COST_KEYS", 2_000);
const CONCURRENCY = env("CONCURRENCY", 16);
const ORIGIN_MS = env("ORIGIN_MS", 2);
const ROUNDS = env("ROUNDS", 2);

const here = dirname(fileURLToPath(import.meta.url));
const sinceStart = ((t) => () => ((performance.now() - t) / 1000).toFixed(1) + " s")(performance.now());
const log = (...a) => console.error(`[${sinceStart()}]`, ...a);

/** A worker process and a call(op, args) → result over its stdin/stdout. */
async function worker(url, index) {
  const child = spawn(process.execPath, [join(here, "tier-redis-worker.mjs"), url, String(KEY_SPACE), String(ZIPF_S)],
    { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map();
  let ids = 0;
  let ready;
  const isReady = new Promise((r) => { ready = r; });
  createInterface({ input: child.stdout }).on("line", (line) => {
    const m = JSON.parse(line);
    if (m.ready) return ready();
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(`worker ${index}: ${m.error}`));
    else w.resolve(m.result);
  });
  child.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`worker ${index} exited (${code})`));
  });
  await isReady;
  return {
    child,
    call(op, args = {}) {
      const id = ++ids;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.stdin.write(JSON.stringify({ id, op, ...args }) + "\n");
      });
    },
  };
}

const f64 = (b64) => {
  const b = Buffer.from(b64, "base64");
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
};

/** The p-th percentile (nearest rank) of `values`. */
function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (x) => (x < 0.1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(2)} ms`);

let prefixes = 0;
/** Where a request's value came from, by the worker's code (0, 1, 2). */
const SOURCES = ["L1 hit", "L2 hit (or another process's load)", "this process's origin call"];

/** Runs the workload on every process at once; origin calls and latencies over all of them. */
async function workload(workers, tiered, round) {
  const prefix = tiered ? `bench${++prefixes}:` : null;
  const results = await Promise.all(workers.map((w, i) => w.call("run", {
    prefix, requests: REQUESTS, concurrency: CONCURRENCY, seed: 1000 * round + i + 1, l1Entries: L1_ENTRIES, originMs: ORIGIN_MS,
  })));
  const lat = new Float64Array(REQUESTS * workers.length);
  const source = new Uint8Array(REQUESTS * workers.length);
  let calls = 0;
  let tierHits = 0;
  let tierErrors = 0;
  let elapsed = 0;
  for (const [i, r] of results.entries()) {
    lat.set(f64(r.lat), i * REQUESTS);
    source.set(Buffer.from(r.source, "base64"), i * REQUESTS);
    calls += r.calls;
    tierHits += r.stats.tierHits ?? 0;
    tierErrors += r.stats.tierErrors ?? 0;
    elapsed = Math.max(elapsed, r.elapsedMs);
  }
  const requests = REQUESTS * workers.length;
  // The fewest origin calls possible: each process's distinct keys alone, all processes' with a shared tier.
  const all = new Set();
  let own = 0;
  for (const r of results) {
    const b = Buffer.from(r.ranks, "base64");
    const mine = new Set(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    own += mine.size;
    for (const k of mine) all.add(k);
  }
  return {
    floorPerThousand: (1000 * (tiered ? all.size : own)) / requests,
    perThousand: (1000 * calls) / requests,
    l1HitsPerThousand: (1000 * results.reduce((s, r) => s + r.stats.hits, 0)) / requests,
    l2HitsPerThousand: (1000 * tierHits) / requests,
    tierErrors,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    bySource: SOURCES.map((_, k) => {
      const mine = lat.filter((_, i) => source[i] === k);
      return mine.length === 0 ? null : [mine.length, percentile(mine, 50), percentile(mine, 99)];
    }),
    rps: requests / (elapsed / 1000),
  };
}

/** An L2 hit against an L1 hit, one call at a time in process 1, after process 0 filled L2. */
async function l2cost(workers) {
  const prefix = `cost${++prefixes}:`;
  const loaded = await workers[0].call("preload", { prefix, count: COST_KEYS, l1Entries: L1_ENTRIES });
  const r = await workers[1].call("l2cost", { prefix, count: COST_KEYS, l1Entries: L1_ENTRIES });
  const [l2, l1, l1plain] = [f64(r.l2), f64(r.l1), f64(r.l1plain)];
  const delta = l2.map((x, i) => x - l1[i]);
  return {
    loaded, l2Calls: r.l2Calls, tierHits: r.tierHits,
    l2: [percentile(l2, 50), percentile(l2, 99)],
    l1: [percentile(l1, 50), percentile(l1, 99)],
    l1plain: [percentile(l1plain, 50), percentile(l1plain, 99)],
    delta: [percentile(delta, 50), percentile(delta, 99)],
  };
}

/** Process 0 invalidates a key (even tries) or its tag (odd ones) that all 4 hold. */
async function invalidation(workers) {
  const prefix = `inv${++prefixes}:`;
  const [source, ...watchers] = workers;
  const samples = [];
  const slowest = [];
  let missed = 0;
  let polled = 0;
  let notHeld = 0;
  for (let i = 0; i < TRIES; i++) {
    const key = `inv:${i}`;
    const tag = `group:${i}`;
    await source.call("hold", { prefix, key, tag, l1Entries: L1_ENTRIES });
    const held = await Promise.all(watchers.map((w) => w.call("hold", { prefix, key, tag, l1Entries: L1_ENTRIES })));
    notHeld += held.filter((h) => !h.has).length;
    await Promise.all(watchers.map((w) => w.call("watch", { key })));
    const { at } = await source.call("invalidate", i % 2 === 0 ? { key } : { tag });
    const seen = await Promise.all(watchers.map((w) => w.call("watched")));
    let worst = 0;
    for (const s of seen) {
      if (s.at === null) {
        missed++;
        continue;
      }
      if (s.polled) polled++;
      const d = Number(BigInt(s.at) - BigInt(at)) / 1e6;
      samples.push(d);
      worst = Math.max(worst, d);
    }
    slowest.push(worst);
  }
  return {
    samples: samples.length, missed, polled, notHeld,
    each: [percentile(samples, 50), percentile(samples, 99), Math.max(...samples)],
    all: [percentile(slowest, 50), percentile(slowest, 99)],
  };
}

const server = await startRedis();
log(`redis-server ${server.pid} on ${server.url}`);
const workers = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => worker(server.url, i)));
try {
  console.log(`# ${PROCESSES} processes, Zipf(${ZIPF_S}) over ${KEY_SPACE.toLocaleString("en")} keys, ` +
    `${REQUESTS.toLocaleString("en")} getOrLoad per process, ${CONCURRENCY} in flight each, origin ${ORIGIN_MS} ms; ` +
    `L1 ${L1_ENTRIES.toLocaleString("en")} entries per process (${((100 * L1_ENTRIES) / KEY_SPACE).toFixed(1)} % of the keys)`);
  console.log("\n| round | setup | origin calls / 1,000 req | floor (distinct keys) / 1,000 | L1 hits / 1,000 | L2 hits / 1,000 | getOrLoad p50 | p99 | req/s (4 processes) |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  const bySource = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Odd rounds run the processes alone first, even ones the tier first (a burst of load hits both).
    const order = round % 2 === 1 ? [false, true] : [true, false];
    for (const tiered of order) {
      log(`round ${round}: workload ${tiered ? "with" : "without"} the tier`);
      const r = await workload(workers, tiered, round);
      console.log(`| ${round} | ${tiered ? "tier (one Redis)" : "each process alone"} | ${r.perThousand.toFixed(1)} | ${r.floorPerThousand.toFixed(1)} | ` +
        `${r.l1HitsPerThousand.toFixed(1)} | ${tiered ? r.l2HitsPerThousand.toFixed(1) : "–"} | ${ms(r.p50)} | ${ms(r.p99)} | ` +
        `${Math.round(r.rps).toLocaleString("en")}${r.tierErrors ? ` (tierErrors ${r.tierErrors})` : ""} |`);
      bySource.push([round, tiered, r.bySource]);
    }
  }

  console.log("\ngetOrLoad latency by where the value came from (p50 / p99, requests):");
  console.log("| round | setup | " + SOURCES.join(" | ") + " |\n|---|---|" + "---:|".repeat(SOURCES.length));
  for (const [round, tiered, rows] of bySource) {
    const cells = rows.map((c) => (c === null ? "–" : `${ms(c[1])} / ${ms(c[2])} (${c[0].toLocaleString("en")})`));
    console.log(`| ${round} | ${tiered ? "tier" : "alone"} | ${cells.join(" | ")} |`);
  }

  log("L2 hit against L1 hit");
  const c = await l2cost(workers);
  console.log(`\nL2 hit vs L1 hit, ${COST_KEYS} keys one call at a time (loader calls during the L2 reads: ${c.l2Calls}, tierHits ${c.tierHits}):`);
  console.log("| read | p50 | p99 |\n|---|---:|---:|");
  console.log(`| getOrLoad, L2 hit (L1 miss → Redis → fill L1) | ${ms(c.l2[0])} | ${ms(c.l2[1])} |`);
  console.log(`| getOrLoad, L1 hit (same cache, same key, next call) | ${ms(c.l1[0])} | ${ms(c.l1[1])} |`);
  console.log(`| getOrLoad, L1 hit on a cache without a tier | ${ms(c.l1plain[0])} | ${ms(c.l1plain[1])} |`);
  console.log(`| added by L2 (per key: L2 hit − L1 hit) | ${ms(c.delta[0])} | ${ms(c.delta[1])} |`);

  log("invalidation across processes");
  const v = await invalidation(workers);
  console.log(`\nInvalidation across processes, ${TRIES} tries (keys and tags alternately), ${v.samples} observations ` +
    `(missed ${v.missed}, seen only by polling ${v.polled}, not held before ${v.notHeld}):`);
  console.log("| measure | p50 | p99 | max |\n|---|---:|---:|---:|");
  console.log(`| one other process stops serving it | ${ms(v.each[0])} | ${ms(v.each[1])} | ${ms(v.each[2])} |`);
  console.log(`| all 3 other processes stopped | ${ms(v.all[0])} | ${ms(v.all[1])} | |`);
} finally {
  for (const w of workers) w.child.stdin.end(JSON.stringify({ op: "exit" }) + "\n");
  await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r() : w.child.once("exit", r)))));
  await stopRedis(server);
  log("done");
}
