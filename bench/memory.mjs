// Memory per entry, all-in, for the motivating data set: stock levels keyed
// by article + unit + store (`A0012345:EA:S170`), measured in one run for
// edgecache, lru-cache and a plain Map. All-in = growth of the JS heap (after
// GC) + growth of external/array-buffer memory (which includes wasm linear
// memory) + for edgecache the wasm memory growth itself.
//
//   node --expose-gc bench/memory.mjs [entries=1870000] [value=string|object]
import { createRequire } from "node:module";
import { stockKey, stockValue } from "./stock.mjs";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");
const { Cache } = await import("../js/dist/node.js");

const N = Number(process.argv[2] ?? 1_870_000);
const kind = process.argv[3] ?? "string";
const which = process.argv[4] ?? "all";

const keyOf = stockKey;
const valueOf = (i) => stockValue(kind, i);

function snapshot() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

function measure(name, fill) {
  const before = snapshot();
  const holder = fill();
  const after = snapshot();
  const heap = after.heap - before.heap;
  const external = after.external - before.external;
  const extra = holder.wasm ?? 0;
  const perEntry = (heap + Math.max(external, extra)) / N;
  console.log(`${name.padEnd(12)} ${String(N).padStart(9)} entries  heap +${(heap / 2 ** 20).toFixed(1)} MiB  external +${(external / 2 ** 20).toFixed(1)} MiB  wasm ${(extra / 2 ** 20).toFixed(1)} MiB  → ${perEntry.toFixed(1)} B/entry`);
  return { holder, perEntry };
}

const results = {};
if (which === "all" || which === "edgecache") {
  const r = measure("edgecache", () => {
    const c = new Cache({ maxMemory: 1 << 30, codec: kind === "string" ? "text" : "json" });
    const w0 = c.stats().wasmMemory;
    for (let i = 0; i < N; i++) c.set(keyOf(i), valueOf(i));
    const s = c.stats();
    if (s.entries !== N) throw new Error(`only ${s.entries} entries`);
    console.log(`             charged ${(s.bytes / N).toFixed(1)} B/entry (stats().bytes)`);
    return { c, wasm: s.wasmMemory - w0 };
  });
  results.edgecache = r.perEntry;
  if (r.holder.c.get(keyOf(7)) === undefined) throw new Error("lost a key");
  r.holder.c.free();
}
if (which === "all" || which === "lru-cache") {
  const r = measure("lru-cache", () => {
    const c = new LRUCache({ max: N });
    for (let i = 0; i < N; i++) c.set(keyOf(i), valueOf(i));
    return { c };
  });
  results["lru-cache"] = r.perEntry;
}
if (which === "all" || which === "Map") {
  const r = measure("Map", () => {
    const c = new Map();
    for (let i = 0; i < N; i++) c.set(keyOf(i), valueOf(i));
    return { c };
  });
  results.Map = r.perEntry;
}
console.log(JSON.stringify({ entries: N, value: kind, bytesPerEntry: results }));
