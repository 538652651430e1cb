// Mixed workloads in Node against lru-cache, in one run, reported as ratios
// (the machine is shared and noisy: only same-run ratios mean anything).
//
//   node bench/workloads.mjs [ops=1000000] [rounds=3]
//
// read-through: Zipf(0.99) over 1,000,000 keys; 95 % of requests read (a miss
// writes the key, as a read-through cache does), 5 % write; capacities of
// 10,000 and 100,000 entries.
// ttl-heavy: the same key stream at 100,000 entries; half the requests write
// with a TTL (1 to 10 s), half read; a simulated clock moves 1 ms per request.
// Values are `{ qty, updatedAt }` objects (edgecache's default json codec;
// lru-cache keeps the reference). edgecache runs as `allkeys-lru` and
// `allkeys-adaptive`.
import { createRequire } from "node:module";
import { uniform, zipfSampler } from "../www/zipf.mjs";
import { READ_THROUGH } from "./loop-sources.mjs";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");
const { Cache } = await import("../js/dist/node.js");

const OPS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const UNIVERSE = 1_000_000;

/** `count` ranks drawn from Zipf(s) over n, each with a coin in [0, 1) (a read or a write), from one seeded stream. */
function zipfStream(n, s, count, seed) {
  const draw = uniform(seed);
  const rank = zipfSampler(n, s, seed, draw);
  const out = new Int32Array(count);
  const coin = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = rank();
    coin[i] = draw();
  }
  return { ranks: out, coin };
}

const keys = Array.from({ length: UNIVERSE }, (_, i) => `A${String(i).padStart(7, "0")}:EA:S170`);
const { ranks, coin } = zipfStream(UNIVERSE, 0.99, OPS, 42);

// Each subject compiles its own copy of the loops (as throughput.mjs does):
// a loop shared by all subjects goes megamorphic in V8 and evens out every ratio.
const LOOPS = `return {
${READ_THROUGH}  ttlHeavy(c, keys, ranks, coin, clock, setTtl) {
    let hits = 0;
    for (let i = 0; i < ranks.length; i++) {
      clock.t += 1;
      const k = keys[ranks[i]];
      if (coin[i] < 0.5) setTtl(c, k, { qty: i % 500, updatedAt: 1732900000000 + i }, 1000 + (i % 9001));
      else if (c.get(k) !== undefined) hits++;
    }
    return hits;
  },
};`;

const edgeTtl = (c, k, v, ttl) => c.set(k, v, { ttl });
const lruTtl = (c, k, v, ttl) => c.set(k, v, { ttl });

function subjects(capacity, clock) {
  const now = () => clock.t;
  return {
    "edgecache allkeys-lru": { make: () => new Cache({ maxEntries: capacity, maxMemory: 1 << 30, now }), setTtl: edgeTtl },
    "edgecache allkeys-adaptive": { make: () => new Cache({ maxEntries: capacity, maxMemory: 1 << 30, policy: "allkeys-adaptive", now }), setTtl: edgeTtl },
    // ttlResolution 0: lru-cache reads the clock on every check (by default it
    // caches one reading until a timer clears it, which never runs inside a loop).
    "lru-cache": { make: () => new LRUCache({ max: capacity, perf: { now }, ttlResolution: 0 }), setTtl: lruTtl },
  };
}

/** ns per request of each subject, best of ROUNDS, rounds interleaved across subjects. */
function measure(capacity, workload) {
  const clock = { t: 1_000_000 };
  const runs = Object.entries(subjects(capacity, clock)).map(([name, s]) => ({ name, ...s, loops: new Function(LOOPS)(), best: Infinity, hits: 0 }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of runs) {
      const c = s.make(); // cold each round: the same requests, the same answers
      const t = process.hrtime.bigint();
      s.hits = workload === "ttl" ? s.loops.ttlHeavy(c, keys, ranks, coin, clock, s.setTtl) : s.loops.readThrough(c, keys, ranks, coin);
      s.best = Math.min(s.best, Number(process.hrtime.bigint() - t) / OPS);
      c.free?.();
    }
  }
  return runs;
}

console.log(`${OPS} requests, Zipf(0.99) over ${UNIVERSE} keys, best of ${ROUNDS} rounds (ratio = lru-cache time / subject time; > 1 is faster)`);
const all = {};
for (const [label, capacity, workload] of [["read-through, 10k", 10_000, "rt"], ["read-through, 100k", 100_000, "rt"], ["ttl-heavy, 100k", 100_000, "ttl"]]) {
  const runs = measure(capacity, workload);
  const base = runs.find((s) => s.name === "lru-cache").best;
  const lru = runs.find((s) => s.name === "edgecache allkeys-lru").best;
  all[label] = Object.fromEntries(runs.map((s) => [s.name, { ns: s.best, hits: s.hits }]));
  for (const s of runs) {
    const vsLru = s.name === "edgecache allkeys-adaptive" ? `   vs allkeys-lru ${(lru / s.best).toFixed(2)}×` : "";
    console.log(`${label.padEnd(19)} ${s.name.padEnd(27)} ${s.best.toFixed(0).padStart(5)} ns (${(base / s.best).toFixed(2)}×)   hits ${(100 * s.hits / OPS).toFixed(1)} %${vsLru}`);
  }
}
console.log(JSON.stringify(all));
