// Another Deno process on the same Deno KV file, driven by JSON lines on stdin:
// { id, op, key, value, tags, dependsOn, delay, timeout } → { id, result } or { id, error }.
// It loads through a loader that reports how often it ran (`loads`).
import { createInterface } from "node:readline";
import { Cache } from "../../js/dist/deno.js";
import { denoKvTier } from "../../js/dist/tiers/deno.js";

const [path, prefix, pollInterval, lockTtl] = Deno.args;
const kv = await Deno.openKv(path);
const tier = denoKvTier(kv, { prefix, pollInterval: Number(pollInterval), lockTtl: Number(lockTtl) });
const cache = new Cache({ tier });
let loads = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ops = {
  async getOrLoad({ key, value, delay = 0, tags, dependsOn }) {
    return cache.getOrLoad(key, async () => {
      loads++;
      await sleep(delay);
      return value;
    }, { tags, dependsOn });
  },
  has: ({ key }) => cache.has(key),
  set: ({ key, value, tags, dependsOn }) => cache.set(key, value, { tags, dependsOn }),
  flush: () => cache.flush(),
  delete: ({ key }) => cache.delete(key),
  invalidate: ({ key }) => cache.invalidate(key),
  writeThrough: ({ key, value }) => cache.writeThrough(key, async () => value),
  loads: () => loads,
  stats: () => cache.stats(),
  /** Polls until every key is gone from this process's L1: when (ms since the epoch, fractional), or -1. */
  async waitGone({ keys, timeout = 1000 }) {
    const start = performance.now();
    while (performance.now() - start < timeout) {
      if (keys.every((k) => !cache.has(k))) return performance.timeOrigin + performance.now();
      await sleep(1);
    }
    return -1;
  },
};

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  if (msg.op === "exit") break;
  try {
    const result = await ops[msg.op](msg);
    console.log(JSON.stringify({ id: msg.id, result: result ?? null }));
  } catch (err) {
    console.log(JSON.stringify({ id: msg.id, error: String(err?.message ?? err) }));
  }
}
cache.free();
await tier.close();
kv.close();
Deno.exit(0); // stdin is still open
