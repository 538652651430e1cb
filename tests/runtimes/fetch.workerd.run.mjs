// workerd runner for the cachedFetch suite: the Worker is bundled by wrangler
// and run by miniflare; its fetches reach the real origin on 127.0.0.1.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "./workerd.run.mjs";
import { startOrigin } from "./origin.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const origin = await startOrigin();
const script = await bundleWorker(join(here, "workerd-fetch"));
const { mf, url } = await startWorker(script);
let passed = 0, failed = 0;
try {
  const res = await fetch(new URL(`/run?origin=${encodeURIComponent(origin.base)}`, url));
  if (!res.ok) throw new Error(`worker answered ${res.status}: ${await res.text()}`);
  for (const r of await res.json()) {
    if (r.ok) {
      passed++;
      console.log(`ok - ${r.name} (${r.ms} ms)`);
    } else {
      failed++;
      console.log(`not ok - ${r.name}\n  ${r.error.replace(/\n/g, "\n  ")}`);
    }
  }
} catch (err) {
  failed++;
  console.log(`not ok - the worker ran the suite\n  ${err}`);
} finally {
  await mf.dispose();
  await origin.close();
}
console.log(`workerd fetch: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
