// Throughput against lru-cache (and Map) in one Node run, reported as ratios:
// the machines are shared and noisy, so only same-run ratios mean anything.
//
//   node bench/throughput.mjs [keys=100000] [rounds=5]
//
// get-hit: reads of present keys with 8-character string values, spread over
// all keys and over a hot set of 1,000.
// set-evict: writes of new keys into a full cache (each evicts one), with
// string values and with { qty, updatedAt } objects (json codec only).
import { createRequire } from "node:module";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");
const { Cache } = await import("../js/dist/node.js");

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const keys = Array.from({ length: N * 2 }, (_, i) => `A${String(12345 + (i % 11000)).padStart(7, "0")}:EA:S${String(i).padStart(6, "0")}`);
const value = (i) => `q${String(i).padStart(7, "0")}`;

function bench(fn, ops) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t);
    best = Math.min(best, ns / ops);
  }
  return best;
}

const subjects = {
  edgecache: () => new Cache({ maxEntries: N, maxMemory: 1 << 30, codec: "text" }),
  "edgecache-json": () => new Cache({ maxEntries: N, maxMemory: 1 << 30 }),
  "lru-cache": () => new LRUCache({ max: N }),
  Map: () => new Map(),
};

const results = {};
for (const [name, make] of Object.entries(subjects)) {
  const c = make();
  for (let i = 0; i < N; i++) c.set(keys[i], value(i));
  let sink = 0;
  const get = bench(() => {
    for (let i = 0; i < N; i++) sink += c.get(keys[(i * 7919) % N]).length;
  }, N);
  // The same reads over a hot set of 1,000 keys: no cache misses in the CPU's
  // caches, so what remains is the cost of the call itself.
  const hot = bench(() => {
    for (let i = 0; i < N; i++) sink += c.get(keys[(i * 7919) % 1000]).length;
  }, N);
  let next = N;
  const set = name === "Map" ? NaN : bench(() => {
    for (let i = 0; i < N; i++) {
      const k = keys[next++ % keys.length];
      c.set(k, value(i));
    }
  }, N);
  // The stock data set's values: { qty, updatedAt } objects (not for the text codec or Map).
  const setObj = name === "Map" || name === "edgecache" ? NaN : bench(() => {
    for (let i = 0; i < N; i++) {
      const k = keys[next++ % keys.length];
      c.set(k, { qty: i % 500, updatedAt: 1732900000000 + i });
    }
  }, N);
  results[name] = { getHitNs: get, getHotNs: hot, setEvictNs: set, setObjectNs: setObj };
  if (sink === 0) console.log("");
  c.free?.();
}

const base = results["lru-cache"];
console.log(`keys ${N}, best of ${ROUNDS} rounds, ns/op (ratio = lru-cache time / subject time; > 1 is faster)`);
for (const [name, r] of Object.entries(results)) {
  const g = (base.getHitNs / r.getHitNs).toFixed(2);
  const s = Number.isNaN(r.setEvictNs) ? "—" : (base.setEvictNs / r.setEvictNs).toFixed(2);
  const h = (base.getHotNs / r.getHotNs).toFixed(2);
  const o = Number.isNaN(r.setObjectNs) ? "" : `   set-evict objects ${r.setObjectNs.toFixed(0).padStart(5)} ns (${(base.setObjectNs / r.setObjectNs).toFixed(2)}×)`;
  console.log(`${name.padEnd(15)} get-hit ${r.getHitNs.toFixed(0).padStart(5)} ns (${g}×)   get-hit, 1k hot keys ${r.getHotNs.toFixed(0).padStart(4)} ns (${h}×)   set-evict ${Number.isNaN(r.setEvictNs) ? "   —" : r.setEvictNs.toFixed(0).padStart(5)} ns (${s}×)${o}`);
}
console.log(JSON.stringify(results));
