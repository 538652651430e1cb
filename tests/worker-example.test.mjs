// Runs examples/worker in workerd (bundled by wrangler, run by miniflare)
// against a real origin on 127.0.0.1, and counts the origin's requests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "./runtimes/workerd.run.mjs";
import { startOrigin } from "./runtimes/origin.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let origin, worker, base;

before(async () => {
  origin = await startOrigin();
  const script = await bundleWorker(join(root, "examples/worker"));
  worker = await startWorker(script, { bindings: { ORIGIN: origin.base } });
  base = worker.url;
});
after(async () => {
  await worker.mf.dispose();
  await origin.close();
});

const count = async (url) => (await (await fetch(`${origin.base}/__count?url=${encodeURIComponent(url)}`)).json()).count;

test("the Worker memoizes the origin API: 100 requests, 50 of them concurrent, one origin request", async () => {
  const p = "/api/products?delay=30";
  const concurrent = await Promise.all(Array.from({ length: 50 }, () => fetch(new URL(p, base)).then((r) => r.text())));
  for (let i = 0; i < 50; i++) await (await fetch(new URL(p, base))).text();
  assert.ok(concurrent.every((b) => b === concurrent[0]));
  assert.equal(await count(p), 1);
  const stats = await (await fetch(new URL("/__stats", base))).json();
  assert.ok(stats.entries >= 1);
});

test("uncacheable answers go to the origin every time", async () => {
  const p = "/api/me?cc=private";
  for (let i = 0; i < 3; i++) await (await fetch(new URL(p, base))).text();
  assert.equal(await count(p), 3);
});
