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
//
// A warm start is a new process's first load, which an engine runs before
// its code is optimised and into memory it has never touched: after the
// loads in this process, `runs` pairs of new processes (edgecache, then
// lru-cache) each read the snapshot (or the JSON string) from a file and
// time one load, as wall time and the process's CPU time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stockKey, stockValue } from "./stock.mjs";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");
const { Cache } = await import("../js/dist/node.js");

if (process.argv[2] === "--first") {
  firstLoad(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]));
  process.exit(0);
}

/** One load in this new process: prints `{ ms, cpuMs }`. */
function firstLoad(who, file, codec, n) {
  let load, count;
  if (who === "edgecache") {
    const snapshot = new Uint8Array(readFileSync(file));
    const fresh = new Cache({ maxMemory: 1 << 30, codec });
    fresh.set("warm-up", 0); // the core is built on first use; not part of the load
    fresh.delete("warm-up");
    load = () => fresh.load(snapshot);
    count = (loaded) => loaded;
  } else {
    const json = readFileSync(file, "utf8");
    const fresh = new LRUCache({ max: n });
    load = () => fresh.load(JSON.parse(json));
    count = () => fresh.size;
  }
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const t = performance.now();
  const out = load();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (count(out) !== n) throw new Error(`${who} loaded ${count(out)} of ${n}`);
  console.log(JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000 }));
}

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

// First loads, each in a new process (see the top).
const dir = mkdtempSync(join(tmpdir(), "edgecache-snapshot-"));
const first = { edgecache: [], lruCache: [] };
try {
  const files = { edgecache: join(dir, "snapshot.bin"), lruCache: join(dir, "lru.json") };
  writeFileSync(files.edgecache, snapshot);
  writeFileSync(files.lruCache, json);
  json = undefined;
  const self = fileURLToPath(import.meta.url);
  const run = (who, file) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, self, "--first", who, file, codec, String(N)], { encoding: "utf8", maxBuffer: 1 << 20 }));
  for (let r = 0; r < RUNS; r++) {
    first.edgecache.push(run("edgecache", files.edgecache));
    first.lruCache.push(run("lru-cache", files.lruCache));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const firstMs = (who) => median(first[who].map((x) => x.ms));
const firstCpu = (who) => median(first[who].map((x) => x.cpuMs));

const r = {
  entries: N, value: kind, runs: RUNS,
  edgecache: { dumpMs: median(ecDump), loadMs: median(ecLoad), loadsMs: ecLoad, firstLoadMs: firstMs("edgecache"), firstLoadCpuMs: firstCpu("edgecache"), firstLoads: first.edgecache, snapshotBytes: snapshot.length, chargedBytes: charged },
  lruCache: { dumpMs: median(lruDump), entriesStringifyMs: median(lruEntries), loadMs: median(lruLoad), loadsMs: lruLoad, firstLoadMs: firstMs("lruCache"), firstLoadCpuMs: firstCpu("lruCache"), firstLoads: first.lruCache, jsonBytes },
};
const pairs = first.edgecache.map((e, i) => (first.lruCache[i].ms / e.ms).toFixed(1));
console.log(`edgecache  dump ${r.edgecache.dumpMs.toFixed(0)} ms  load ${r.edgecache.loadMs.toFixed(0)} ms  snapshot ${(snapshot.length / 2 ** 20).toFixed(1)} MiB = ${(snapshot.length / N).toFixed(1)} B/entry = ${(snapshot.length / charged).toFixed(3)} × stats().bytes (${(charged / N).toFixed(1)} B/entry)`);
console.log(`lru-cache  dump+stringify ${r.lruCache.dumpMs.toFixed(0)} ms  parse+load ${r.lruCache.loadMs.toFixed(0)} ms  JSON ${(jsonBytes / 2 ** 20).toFixed(1)} MiB = ${(jsonBytes / N).toFixed(1)} B/entry`);
console.log(`           JSON.stringify(Array.from(entries())) ${r.lruCache.entriesStringifyMs.toFixed(0)} ms`);
console.log(`ratios     dump ${(r.lruCache.dumpMs / r.edgecache.dumpMs).toFixed(1)}× faster (${(r.lruCache.entriesStringifyMs / r.edgecache.dumpMs).toFixed(1)}× than stringifying entries())  load ${(r.lruCache.loadMs / r.edgecache.loadMs).toFixed(1)}× faster  size ${(jsonBytes / snapshot.length).toFixed(1)}× smaller`);
console.log(`in-process first loads  edgecache ${ecLoad[0].toFixed(0)} ms  lru-cache ${lruLoad[0].toFixed(0)} ms  ${(lruLoad[0] / ecLoad[0]).toFixed(1)}× faster`);
console.log(`new-process loads  edgecache ${first.edgecache.map((x) => x.ms.toFixed(0))} ms (CPU ${first.edgecache.map((x) => x.cpuMs.toFixed(0))})  lru-cache ${first.lruCache.map((x) => x.ms.toFixed(0))} ms (CPU ${first.lruCache.map((x) => x.cpuMs.toFixed(0))})`);
console.log(`           medians ${r.edgecache.firstLoadMs.toFixed(0)} / ${r.lruCache.firstLoadMs.toFixed(0)} ms = ${(r.lruCache.firstLoadMs / r.edgecache.firstLoadMs).toFixed(1)}× faster (pairs: ${pairs.join(", ")}×; CPU ${(r.lruCache.firstLoadCpuMs / r.edgecache.firstLoadCpuMs).toFixed(1)}×)`);
console.log(JSON.stringify(r));
