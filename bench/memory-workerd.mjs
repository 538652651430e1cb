// The memory benchmark inside workerd (bundled by wrangler, run by miniflare):
// edgecache's wasm linear memory for the stock data set. (workerd exposes no
// JS-heap figure to measure lru-cache or Map from inside; they run on the same
// V8 as Node, so bench/memory.mjs's figures for them apply.)
//   node bench/memory-workerd.mjs [entries=1870000]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "../tests/runtimes/workerd.run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const n = Number(process.argv[2] ?? 1_870_000);
const { mf, url } = await startWorker(await bundleWorker(join(here, "workerd-memory")));
try {
  for (const value of ["string", "object"]) {
    const r = await (await fetch(new URL(`/?n=${n}&value=${value}`, url))).json();
    // Linear memory never shrinks and a later run reuses what an earlier one
    // freed, so total linear memory / entries is the honest upper bound.
    console.log(`workerd ${value.padEnd(6)} ${r.entries} entries: linear memory ${(r.wasmMemory / 2 ** 20).toFixed(1)} MiB → ≤ ${(r.wasmMemory / r.entries).toFixed(1)} B/entry all-in (charged ${r.charged.toFixed(1)})`);
  }
} finally {
  await mf.dispose();
}
