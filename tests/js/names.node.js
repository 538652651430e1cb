// Names and limits that cross the Rust/JS boundary, held together: the Rust
// source (read as text), the JS layer and index.d.ts must agree. Node only
// (it reads files); the Node runner registers these next to the suite.

import { readFileSync } from "node:fs";
import { equal, deepEqual, ok } from "./assert.js";
import { registry } from "./harness.js";

const { tests, test } = registry();
const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");

/** The body of the first `{ … }` or `[ … ]` block after `head` in `text`. */
function block(text, head, open = "{", close = "}") {
  const at = text.indexOf(head);
  ok(at >= 0, `${head} not found`);
  const start = text.indexOf(open, at);
  return text.slice(start + 1, text.indexOf(close, start));
}

const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

test("policy names agree: src/config.rs, POLICIES and index.d.ts", async () => {
  const { POLICIES } = await import("../../js/dist/cache.js");
  const rust = read("src/config.rs");
  const nameOf = new Map([...block(rust, "pub fn name(self)").matchAll(/Policy::(\w+) => "([^"]+)"/g)].map((m) => [m[1], m[2]]));
  const all = [...block(rust, "pub const ALL", "= [", "]").matchAll(/Policy::(\w+)/g)].map((m) => nameOf.get(m[1]));
  ok(all.length > 0 && all.every((n) => n !== undefined), "every variant in Policy::ALL has a name");
  deepEqual([...POLICIES], all, "POLICIES = Policy::ALL's names, in order");
  const dts = [...block(read("js/src/index.d.ts"), "export type Policy =", "=", ";").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  deepEqual(dts, all, "index.d.ts's Policy = Policy::ALL's names, in order");
});

test("stats fields agree: src/wasm.rs StatsOut, stats() and index.d.ts", async () => {
  const { Cache } = await import("../../js/dist/node.js");
  const { HOST_STATS, TIER_STATS } = await import("../../js/dist/cache.js");
  const core = [...block(read("src/wasm.rs"), "struct StatsOut").matchAll(/(\w+):/g)].map((m) => camel(m[1]));
  const c = new Cache({ policy: "allkeys-adaptive" });
  c.set("k", 1); // the adaptive policy reports windowShare once built
  const js = Object.keys(c.stats()).sort();
  c.free();
  deepEqual(js, [...new Set([...core, ...HOST_STATS])].sort(), "stats() = the core's fields and HOST_STATS");
  const dts = [...block(read("js/src/index.d.ts"), "export interface Stats").matchAll(/^\s*(\w+)\??:/gm)].map((m) => m[1]);
  // A cache with a tier adds TIER_STATS (optional in index.d.ts).
  deepEqual(dts.sort(), [...js, ...TIER_STATS].sort(), "index.d.ts's Stats lists every field stats() returns");
});

test("MAX_TTL_MS in JS is the core's (src/expiry.rs)", async () => {
  const { MAX_TTL_MS } = await import("../../js/dist/cache.js");
  const m = /pub const MAX_TTL_MS: u64 = ([^;]+);/.exec(read("src/expiry.rs"));
  ok(m, "MAX_TTL_MS found in src/expiry.rs");
  const expr = m[1].trim().replace(/_/g, "");
  const shift = /^(\d+) << (\d+)$/.exec(expr);
  ok(shift || /^\d+$/.test(expr), `a literal or a shift: ${expr}`);
  const rust = shift ? BigInt(shift[1]) << BigInt(shift[2]) : BigInt(expr);
  equal(BigInt(MAX_TTL_MS), rust);
  // Once the bindings export the value, it must be the same one.
  const wasm = await import("../../js/dist/wasm/edgecache.js");
  for (const [name, value] of Object.entries(wasm)) {
    if (/max_?ttl/i.test(name)) equal(BigInt(typeof value === "function" ? value() : value), rust, name);
  }
});

export function nodeTests() {
  return tests;
}
