// Cold start: a trace replayed through a sequence of isolates recycled every
// RECYCLE requests, once cold (each new isolate starts empty) and once warm
// (each new isolate loads the snapshot its predecessor dumped when it was
// recycled). Reported: the hit ratio over the first FIRST requests of each
// isolate after the first (which starts cold either way), and overall, with
// one isolate that is never recycled for reference. maxEntries is a quarter
// of the trace's distinct keys; the policy is the default allkeys-lru.
// Each isolate is a fresh Cache; the snapshot crosses as bytes, as it would
// through a tier. A read that misses stores the key (cache-aside).
//
//   node bench/cold-start.mjs [recycle=20000] [first=5000]
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
const { Cache } = await import("../js/dist/node.js");

const RECYCLE = Number(process.argv[2] ?? 20_000);
const FIRST = Number(process.argv[3] ?? 5_000);
const traces = fileURLToPath(new URL("../../shared/traces/", import.meta.url));

/** Keys of a trace: cache2k's u32 big-endian records, Scarab's i64 big-endian. */
function read(file, width) {
  const raw = execFileSync("xz", ["-dc", traces + file], { maxBuffer: 1 << 30 });
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = Math.floor(raw.length / width);
  const keys = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = width === 4 ? view.getUint32(i * 4) : Number(view.getBigInt64(i * 8));
  return keys;
}

function replay(keys, maxEntries, warm, recycle = RECYCLE) {
  let cache = null;
  let hits = 0, firstHits = 0, firstReads = 0, isolates = 0, loaded = 0;
  for (let i = 0; i < keys.length; i++) {
    const age = i % recycle;
    if (age === 0) {
      const snapshot = warm && cache !== null ? cache.dump() : null;
      cache?.free();
      cache = new Cache({ maxEntries, maxMemory: 1 << 28 });
      if (snapshot !== null) loaded += cache.load(snapshot);
      isolates++;
    }
    const k = keys[i];
    const hit = cache.get(k) !== undefined;
    if (!hit) cache.set(k, { id: k, v: 1 });
    hits += hit;
    if (isolates > 1 && age < FIRST) {
      firstReads++;
      firstHits += hit;
    }
  }
  cache.free();
  return { first: firstHits / firstReads, overall: hits / keys.length, isolates, loadedPerIsolate: loaded / Math.max(1, isolates - 1) };
}

const results = [];
for (const [file, width] of [["cache2k-web07.trace.xz", 4], ["scarab-recs.trace.xz", 8]]) {
  const keys = read(file, width);
  const distinct = new Set(keys).size;
  const maxEntries = Math.round(distinct / 4);
  const cold = replay(keys, maxEntries, false);
  const warm = replay(keys, maxEntries, true);
  const never = replay(keys, maxEntries, false, Infinity);
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(`${file}: ${keys.length} requests, ${distinct} keys, maxEntries ${maxEntries}, ${cold.isolates} isolates`);
  console.log(`  first ${FIRST} of each later isolate: cold ${pct(cold.first)}  warm ${pct(warm.first)}   overall: cold ${pct(cold.overall)}  warm ${pct(warm.overall)}  one isolate throughout ${pct(never.overall)}  (${Math.round(warm.loadedPerIsolate)} entries loaded per isolate)`);
  results.push({ trace: file, requests: keys.length, distinct, maxEntries, recycle: RECYCLE, first: FIRST, cold, warm, oneIsolate: never.overall });
}
console.log(JSON.stringify(results));
