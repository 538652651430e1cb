// workerd runner for the cachedFetch suite: the Worker is bundled by wrangler
// and run by miniflare; its fetches reach the real origin on 127.0.0.1.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "./workerd.run.mjs";
import { startOrigin } from "./origin.mjs";
import { report } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const origin = await startOrigin();
const script = await bundleWorker(join(here, "workerd-fetch"));
const { mf, url } = await startWorker(script);
let passed = 0, failed = 0;
try {
  const res = await fetch(new URL(`/run?origin=${encodeURIComponent(origin.base)}`, url));
  if (!res.ok) throw new Error(`worker answered ${res.status}: ${await res.text()}`);
  [passed, failed] = report(await res.json());
} catch (err) {
  failed++;
  console.log(`not ok - the worker ran the suite\n  ${err}`);
} finally {
  await mf.dispose();
  await origin.close();
}
console.log(`workerd fetch: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
