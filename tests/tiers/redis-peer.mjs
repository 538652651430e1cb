// Another process on the same Redis tier, driven by JSON lines on stdin:
// { id, op, key, value, tags, delay, timeout } → { id, result } or { id, error }.
// It loads through a loader that reports how often it ran (`loads`).
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import { Cache } from "../../js/dist/node.js";
import { redisTier } from "../../js/dist/tiers/redis.js";

// The redis client is a dev dependency of js/ (a peer dependency of edgecache/redis).
const { createClient } = createRequire(new URL("../../js/package.json", import.meta.url))("redis");

const [url, prefix, tierTimeout] = process.argv.slice(2);
/** A server that does not answer at start is an error, not an endless reconnection. */
const CONNECT_MS = 10_000;
const client = createClient({ url, socket: { connectTimeout: CONNECT_MS, reconnectStrategy: (retries) => (retries < 20 ? 100 : false) } });
client.on("error", () => {});
const connectTimer = setTimeout(() => {
  process.stderr.write(`redis-peer: no connection to ${url} within ${CONNECT_MS} ms\n`);
  process.exit(1);
}, CONNECT_MS);
await client.connect();
clearTimeout(connectTimer);
const cache = new Cache({ tier: redisTier(client, { prefix }), ...(tierTimeout ? { tierTimeout: Number(tierTimeout) } : {}) });
let loads = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ops = {
  async getOrLoad({ key, value, delay = 0, tags }) {
    return cache.getOrLoad(key, async () => {
      loads++;
      await sleep(delay);
      return value;
    }, { tags });
  },
  get: ({ key }) => cache.get(key) ?? null,
  set: ({ key, value, tags }) => cache.set(key, value, { tags }),
  invalidateTag: ({ tag }) => cache.invalidateTag(tag),
  flush: () => cache.flush(),
  delete: ({ key }) => cache.delete(key),
  invalidate: ({ key }) => cache.invalidate(key),
  writeThrough: ({ key, value }) => cache.writeThrough(key, async () => value),
  saveSnapshot: () => cache.saveSnapshot(),
  loads: () => loads,
  stats: () => cache.stats(),
  /** Polls until `key` is gone from this process's L1: the ms it took, or -1. */
  async waitGone({ key, timeout = 1000 }) {
    const start = performance.now();
    while (performance.now() - start < timeout) {
      if (!cache.has(key)) return performance.now() - start;
      await sleep(1);
    }
    return -1;
  },
};

process.stdout.write(JSON.stringify({ ready: true }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  if (msg.op === "exit") break;
  try {
    const result = await ops[msg.op](msg);
    process.stdout.write(JSON.stringify({ id: msg.id, result: result ?? null }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ id: msg.id, error: String(err?.message ?? err) }) + "\n");
  }
}
// stdin closed (the test process is gone) or "exit": leave at once. destroy,
// not close: close waits for queued commands, forever if the server is gone.
cache.free();
client.destroy();
process.exit(0);
