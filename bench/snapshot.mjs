// Snapshot speed and size for the stock data set (1,870,000 entries keyed
// `A0012345:EA:S170`), against lru-cache's dump() + JSON.stringify and
// JSON.parse + load() of the same data, in the same run. Times are the
// median of `runs` repetitions (lru-cache's dump() once: it builds its array
// with unshift(), quadratic in the entries, and takes minutes at full size);
// each load goes into a fresh cache. No TTL, as bench/memory.mjs, so
// stats().bytes is the figure of bench/README.md's memory table.
//
//   node --max-old-space-size=10000 --expose-gc bench/snapshot.mjs [entries=1870000] [value=object|string] [runs=3]
//
// SKIP_LRU_DUMP=1 leaves lru-cache's dump() out (its JSON is built from
// entries() instead, for load()).
import { createRequire } from "node:module";
import { stockKey, stockValue } from "./stock.mjs";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");
const { Cache } = await import("../js/dist/node.js");

const N = Number(process.argv[2] ?? 1_870_000);
const kind = process.argv[3] ?? "object";
const RUNS = Number(process.argv[4] ?? 3);
const codec = kind === "string" ? "text" : "json";

const keyOf = stockKey;
const valueOf = (i) => stockValue(kind, i);

const gc = () => globalThis.gc?.();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function timed(fn) {
  gc();
  const t = performance.now();
  const out = fn();
  return [performance.now() - t, out];
}

// edgecache
const ec = new Cache({ maxMemory: 1 << 30, codec });
for (let i = 0; i < N; i++) ec.set(keyOf(i), valueOf(i));
const charged = ec.stats().bytes;
const ecDump = [], ecLoad = [];
let snapshot;
for (let r = 0; r < RUNS; r++) {
  const [ms, bytes] = timed(() => ec.dump());
  ecDump.push(ms);
  snapshot = bytes;
}
for (let r = 0; r < RUNS; r++) {
  const fresh = new Cache({ maxMemory: 1 << 30, codec });
  fresh.set("warm-up", valueOf(0)); // the core is built on first use; not part of the load
  fresh.delete("warm-up");
  const [ms, n] = timed(() => fresh.load(snapshot));
  if (n !== N) throw new Error(`loaded ${n} of ${N}`);
  if (JSON.stringify(fresh.get(keyOf(12_345))) !== JSON.stringify(valueOf(12_345))) throw new Error("a value differs");
  ecLoad.push(ms);
  fresh.free();
}
ec.free();
console.log(`edgecache  dump ${median(ecDump).toFixed(0)} ms  load ${median(ecLoad).toFixed(0)} ms (runs: ${ecDump.map(Math.round)} / ${ecLoad.map(Math.round)})`);

// lru-cache
const lru = new LRUCache({ max: N });
for (let i = 0; i < N; i++) lru.set(keyOf(i), valueOf(i));
const lruDump = [], lruLoad = [], lruEntries = [];
// A fairer peer for the dump: the same entries as [key, value] pairs without
// dump()'s unshift (what load() cannot take back with their TTLs, though).
for (let r = 0; r < RUNS; r++) lruEntries.push(timed(() => JSON.stringify(Array.from(lru.entries())).length)[0]);
let json;
if (process.env.SKIP_LRU_DUMP) {
  // The same JSON load() takes, built without dump()'s quadratic unshift.
  json = JSON.stringify(Array.from(lru.entries(), ([k, value]) => [k, { value }]));
  lruDump.push(NaN);
} else {
  const [ms, s] = timed(() => JSON.stringify(lru.dump()));
  lruDump.push(ms);
  json = s;
}
for (let r = 0; r < RUNS; r++) {
  const fresh = new LRUCache({ max: N });
  const [ms] = timed(() => fresh.load(JSON.parse(json)));
  if (fresh.size !== N) throw new Error(`lru-cache loaded ${fresh.size}`);
  lruLoad.push(ms);
}
const jsonBytes = Buffer.byteLength(json);

lru.clear();
const r = {
  entries: N, value: kind, runs: RUNS,
  edgecache: { dumpMs: median(ecDump), loadMs: median(ecLoad), snapshotBytes: snapshot.length, chargedBytes: charged },
  lruCache: { dumpMs: median(lruDump), entriesStringifyMs: median(lruEntries), loadMs: median(lruLoad), jsonBytes },
};
console.log(`edgecache  dump ${r.edgecache.dumpMs.toFixed(0)} ms  load ${r.edgecache.loadMs.toFixed(0)} ms  snapshot ${(snapshot.length / 2 ** 20).toFixed(1)} MiB = ${(snapshot.length / N).toFixed(1)} B/entry = ${(snapshot.length / charged).toFixed(3)} × stats().bytes (${(charged / N).toFixed(1)} B/entry)`);
console.log(`lru-cache  dump+stringify ${r.lruCache.dumpMs.toFixed(0)} ms  parse+load ${r.lruCache.loadMs.toFixed(0)} ms  JSON ${(jsonBytes / 2 ** 20).toFixed(1)} MiB = ${(jsonBytes / N).toFixed(1)} B/entry`);
console.log(`           JSON.stringify(Array.from(entries())) ${r.lruCache.entriesStringifyMs.toFixed(0)} ms`);
console.log(`ratios     dump ${(r.lruCache.dumpMs / r.edgecache.dumpMs).toFixed(1)}× faster (${(r.lruCache.entriesStringifyMs / r.edgecache.dumpMs).toFixed(1)}× than stringifying entries())  load ${(r.lruCache.loadMs / r.edgecache.loadMs).toFixed(1)}× faster  size ${(jsonBytes / snapshot.length).toFixed(1)}× smaller`);
console.log(JSON.stringify(r));
