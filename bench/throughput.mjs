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

/** Nanoseconds per op of one run of `fn`. */
function time(fn, ops) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / ops;
}

// Each subject gets its own copy of the loops, compiled from this text, so
// that V8's inline caches in one subject's loop never see another subject's
// methods (a shared loop goes megamorphic and pulls every ratio towards 1).
const LOOPS = `return {
  get(c, keys, N) {
    let sink = 0;
    for (let i = 0; i < N; i++) sink += c.get(keys[(i * 7919) % N]).length;
    return sink;
  },
  hot(c, keys, N) {
    let sink = 0;
    for (let i = 0; i < N; i++) sink += c.get(keys[(i * 7919) % 1000]).length;
    return sink;
  },
  set(c, keys, N, at, value) {
    for (let i = 0; i < N; i++) c.set(keys[(at + i) % keys.length], value(i));
  },
  setObj(c, keys, N, at) {
    for (let i = 0; i < N; i++) c.set(keys[(at + i) % keys.length], { qty: i % 500, updatedAt: 1732900000000 + i });
  },
};`;

const subjects = {
  edgecache: () => new Cache({ maxEntries: N, maxMemory: 1 << 30, codec: "text" }),
  "edgecache-json": () => new Cache({ maxEntries: N, maxMemory: 1 << 30 }),
  "lru-cache": () => new LRUCache({ max: N }),
  Map: () => new Map(),
};

// Rounds are interleaved across subjects (a burst of load on this shared
// machine then hits every subject, not one); in each, a subject runs once to
// warm up and once measured, and each figure is its best measured run.
const subjectsRun = Object.entries(subjects).map(([name, make]) => {
  const c = make();
  for (let i = 0; i < N; i++) c.set(keys[i], value(i));
  return { name, c, loops: new Function(LOOPS)(), next: N };
});
const best = (applies, run) => {
  const out = new Map(subjectsRun.map((s) => [s.name, applies(s.name) ? Infinity : NaN]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of subjectsRun) {
      if (!applies(s.name)) continue;
      run(s); // warm: the other subjects' rounds have evicted this one's data from the CPU's caches
      out.set(s.name, Math.min(out.get(s.name), time(() => run(s), N)));
    }
  }
  return out;
};
// Reads first: the writes below replace every key.
const all = () => true;
const get = best(all, (s) => s.loops.get(s.c, keys, N));
// The same reads over a hot set of 1,000 keys: no cache misses in the CPU's
// caches, so what remains is the cost of the call itself.
const hot = best(all, (s) => s.loops.hot(s.c, keys, N));
const set = best((name) => name !== "Map", (s) => {
  s.loops.set(s.c, keys, N, s.next, value);
  s.next += N;
});
// The stock data set's values: { qty, updatedAt } objects (not for the text codec or Map).
const setObj = best((name) => name !== "Map" && name !== "edgecache", (s) => {
  s.loops.setObj(s.c, keys, N, s.next);
  s.next += N;
});
const results = {};
for (const { name, c } of subjectsRun) {
  results[name] = { getHitNs: get.get(name), getHotNs: hot.get(name), setEvictNs: set.get(name), setObjectNs: setObj.get(name) };
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
