// edgecache/prometheus with the real prom-client: the scraped text of a
// Registry carries every stats() field of every registered cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Cache } from "../../js/dist/node.js";
import { memoryTier } from "../../js/dist/tiers/memory.js";
import { register, textRegistry, TEXT_CONTENT_TYPE } from "../../js/dist/integrations/prometheus.js";

// prom-client is a dev dependency of js/: resolve it from there.
const { Registry, Counter } = createRequire(new URL("../../js/package.json", import.meta.url))("prom-client");

/** Prometheus name of each stats() field. */
const NAMES = {
  hits: "edgecache_hits_total", misses: "edgecache_misses_total", staleHits: "edgecache_stale_hits_total",
  sets: "edgecache_sets_total", rejected: "edgecache_rejected_total", evictions: "edgecache_evictions_total",
  expirations: "edgecache_expirations_total", invalidations: "edgecache_invalidations_total",
  deletes: "edgecache_deletes_total", replacements: "edgecache_replacements_total", loads: "edgecache_loads_total",
  coalesced: "edgecache_coalesced_total", loadErrors: "edgecache_load_errors_total", entries: "edgecache_entries",
  bytes: "edgecache_bytes", maxMemory: "edgecache_max_memory_bytes", wasmMemory: "edgecache_wasm_memory_bytes",
  hitRatio: "edgecache_hit_ratio", windowShare: "edgecache_window_share", tierHits: "edgecache_tier_hits_total",
  tierMisses: "edgecache_tier_misses_total", tierErrors: "edgecache_tier_errors_total", tierDropped: "edgecache_tier_dropped_total",
};
const COUNTERS = new Set(Object.values(NAMES).filter((n) => n.endsWith("_total")));

/** Sample lines of the text format: { "name{cache=x}": value }, and the TYPE of each name. */
function parse(text) {
  const samples = {}, types = {};
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types[type[1]] = type[2];
    const sample = /^(\w+)\{cache="([^"]*)"\} (\S+)$/.exec(line);
    if (sample) samples[`${sample[1]}{${sample[2]}}`] = Number(sample[3]);
  }
  return { samples, types };
}

/** Traffic that moves every counter of `cache` off zero. */
async function exercise(cache) {
  cache.set("a", { n: 1 }, { tags: ["t"] });
  cache.set("a", { n: 2 }, { tags: ["t"] });
  cache.set("b", "x".repeat(64));
  cache.get("a"); cache.get("a"); cache.get("nope");
  cache.delete("b");
  cache.set("huge", "x".repeat(1 << 20));
  cache.invalidateTag("t");
  await Promise.all([1, 2, 3].map(() => cache.getOrLoad("l", async () => "v")));
  await cache.getOrLoad("e", async () => { throw new Error("origin down"); }).catch(() => {});
}

function assertMatches(samples, label, stats) {
  for (const [field, value] of Object.entries(stats)) {
    assert.ok(NAMES[field], `no Prometheus name for stats().${field}`);
    assert.equal(samples[`${NAMES[field]}{${label}}`], value, `${NAMES[field]}{cache="${label}"} vs stats().${field}`);
  }
}

test("every stats() field of two caches, one with a tier, is in the scraped text", async () => {
  const registry = new Registry();
  const tier = memoryTier();
  const plain = new Cache({ maxMemory: 1 << 18 });
  const shared = new Cache({ maxMemory: 1 << 18, tier, policy: "allkeys-adaptive" });
  const peer = new Cache({ tier });
  register(plain, registry, { name: "plain" });
  register(shared, registry, { name: "shared" });
  await exercise(plain);
  await exercise(shared);
  peer.set("from-peer", 1);
  await peer.flush();
  await shared.getOrLoad("from-peer", async () => 2);
  await shared.getOrLoad("not-in-tier", async () => 3);

  const { samples, types } = parse(await registry.metrics());
  const plainStats = plain.stats(), sharedStats = shared.stats();
  assert.ok(plainStats.hits > 0 && plainStats.misses > 0 && plainStats.evictions + plainStats.rejected > 0 && plainStats.loadErrors === 1 && plainStats.coalesced === 2);
  assert.ok(sharedStats.tierHits === 1 && sharedStats.tierMisses > 0 && sharedStats.windowShare !== undefined);
  assertMatches(samples, "plain", plainStats);
  assertMatches(samples, "shared", sharedStats);
  assert.equal(samples['edgecache_tier_hits_total{plain}'], undefined, "a cache without a tier has no tier samples");
  for (const name of Object.values(NAMES)) assert.equal(types[name], COUNTERS.has(name) ? "counter" : "gauge", name);
  plain.free(); shared.free(); peer.free();
});

test("a scrape reads the values of that moment", async () => {
  const registry = new Registry();
  const cache = new Cache();
  register(cache, registry, { name: "live" });
  assert.equal(parse(await registry.metrics()).samples["edgecache_hits_total{live}"], 0);
  cache.set("k", 1);
  cache.get("k");
  const { samples } = parse(await registry.metrics());
  assert.equal(samples["edgecache_hits_total{live}"], 1);
  assert.equal(samples["edgecache_entries{live}"], 1);
  assert.equal(samples["edgecache_hit_ratio{live}"], 1);
  cache.free();
});

test("the OpenMetrics format and JSON output carry the same values", async () => {
  const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
  const cache = new Cache();
  register(cache, registry, { name: "om" });
  cache.get("miss");
  const json = await registry.getMetricsAsJSON();
  assert.deepEqual(json.find((m) => m.name === "edgecache_misses_total").values, [{ value: 1, labels: { cache: "om" } }]);
  // OpenMetrics names the counter family without _total and its samples with it.
  const text = await registry.metrics();
  assert.match(text, /^# TYPE edgecache_misses counter$/m);
  assert.match(text, /^edgecache_misses_total\{cache="om"\} 1$/m);
  assert.match(text, /# EOF\n$/);
  cache.free();
});

test("the returned function takes the cache off; the name is free again", async () => {
  const registry = new Registry();
  const a = new Cache(), b = new Cache();
  const unregister = register(a, registry, { name: "x" });
  unregister();
  a.free();
  assert.doesNotMatch(await registry.metrics(), /cache="x"/);
  register(b, registry, { name: "x" });
  b.set("k", 1);
  assert.equal(parse(await registry.metrics()).samples["edgecache_sets_total{x}"], 1);
  b.free();
});

test("bad input throws a TypeError naming the argument; nothing registered or cached is lost", async () => {
  const registry = new Registry();
  const cache = new Cache();
  cache.set("kept", 1);
  register(cache, registry);
  assert.throws(() => register(cache, registry), (e) => e instanceof TypeError && /options\.name "default"/.test(e.message));
  assert.throws(() => register(cache, registry, { name: "" }), (e) => e instanceof TypeError && /options\.name/.test(e.message));
  assert.throws(() => register(cache, registry, { name: 7 }), (e) => e instanceof TypeError && /options\.name/.test(e.message));
  assert.throws(() => register({}, registry, { name: "y" }), (e) => e instanceof TypeError && /cache must/.test(e.message));
  assert.throws(() => register(cache, {}, { name: "y" }), (e) => e instanceof TypeError && /registry must/.test(e.message));
  assert.equal(cache.get("kept"), 1);
  assert.equal(parse(await registry.metrics()).samples["edgecache_entries{default}"], 1);
  cache.free();
});

test("a registry that already holds an edgecache_ name from elsewhere is refused whole", async () => {
  const registry = new Registry();
  new Counter({ name: "edgecache_hits_total", help: "someone else's", registers: [registry] });
  const cache = new Cache();
  assert.throws(() => register(cache, registry, { name: "c" }), /already has a metric named edgecache_hits_total/);
  assert.equal(registry.getSingleMetric("edgecache_bytes"), undefined);
  cache.free();
});

test("textRegistry writes, without prom-client, the text a prom-client Registry writes", async () => {
  const promRegistry = new Registry();
  const text = textRegistry();
  const a = new Cache({ maxMemory: 1 << 18 });
  const b = new Cache({ policy: "allkeys-adaptive" });
  for (const registry of [promRegistry, text]) {
    register(a, registry, { name: "a" });
    register(b, registry, { name: 'odd "name"\\with\nescapes' });
  }
  await exercise(a);
  b.set("k", 1);
  b.get("k");
  const ours = await text.metrics();
  assert.equal(ours, await promRegistry.metrics());
  assert.equal(text.contentType, TEXT_CONTENT_TYPE);
  assert.equal(TEXT_CONTENT_TYPE, promRegistry.contentType);
  assertMatches(parse(ours).samples, "a", a.stats());
  assert.match(ours, /^edgecache_hits_total\{cache="odd \\"name\\"\\\\with\\nescapes"\} 1$/m);
  assert.throws(() => register(a, text, { name: "a" }), /already registered/);
  a.free(); b.free();
});
