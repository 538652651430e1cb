// edgecache/otel with the real @opentelemetry/sdk-metrics: what the in-memory
// exporter receives equals stats() of every instrumented cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Cache } from "../../js/dist/node.js";
import { memoryTier } from "../../js/dist/tiers/memory.js";
import { instrument } from "../../js/dist/integrations/otel.js";

// The SDK and API are dev dependencies of js/: resolve them from there.
const requireJs = createRequire(new URL("../../js/package.json", import.meta.url));
const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality, DataPointType } = requireJs("@opentelemetry/sdk-metrics");
const { metrics: otelMetrics } = requireJs("@opentelemetry/api");

/** OpenTelemetry name of each stats() field. */
const NAMES = {
  hits: "edgecache.hits", misses: "edgecache.misses", staleHits: "edgecache.stale_hits", sets: "edgecache.sets",
  rejected: "edgecache.rejected", evictions: "edgecache.evictions", expirations: "edgecache.expirations",
  invalidations: "edgecache.invalidations", deletes: "edgecache.deletes", replacements: "edgecache.replacements",
  loads: "edgecache.loads", coalesced: "edgecache.coalesced", loadErrors: "edgecache.load_errors",
  entries: "edgecache.entries", bytes: "edgecache.bytes", maxMemory: "edgecache.max_memory",
  wasmMemory: "edgecache.wasm_memory", hitRatio: "edgecache.hit_ratio", windowShare: "edgecache.window_share",
  tierHits: "edgecache.tier.hits", tierMisses: "edgecache.tier.misses", tierErrors: "edgecache.tier.errors",
  tierDropped: "edgecache.tier.dropped",
};
const GAUGES = new Set(["entries", "bytes", "maxMemory", "wasmMemory", "hitRatio", "windowShare"]);
/** Long enough that only forceFlush() exports during a test. */
const EXPORT_INTERVAL_MS = 3_600_000;

function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: EXPORT_INTERVAL_MS });
  const provider = new MeterProvider({ readers: [reader] });
  return { exporter, reader, provider, meter: provider.getMeter("edgecache-test") };
}

/** Exports now; returns { name: { descriptor, dataPointType, points: { cacheName: value } } } of the last export. */
async function collect({ exporter, reader }) {
  exporter.reset();
  await reader.forceFlush();
  const out = {};
  // With nothing observed the reader exports nothing at all.
  for (const scope of exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      const points = {};
      for (const p of m.dataPoints) points[p.attributes["cache.name"]] = p.value;
      out[m.descriptor.name] = { descriptor: m.descriptor, dataPointType: m.dataPointType, points };
    }
  }
  return out;
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

function assertMatches(exported, label, stats) {
  for (const [field, value] of Object.entries(stats)) {
    const m = exported[NAMES[field]];
    assert.ok(m, `no instrument for stats().${field}`);
    assert.equal(m.points[label], value, `${NAMES[field]}{cache.name=${label}} vs stats().${field}`);
    assert.equal(m.dataPointType, GAUGES.has(field) ? DataPointType.GAUGE : DataPointType.SUM, NAMES[field]);
  }
}

test("the exported values equal stats() of two caches, one with a tier", async () => {
  const otel = sdk();
  const tier = memoryTier();
  const plain = new Cache({ maxMemory: 1 << 18 });
  const shared = new Cache({ maxMemory: 1 << 18, tier, policy: "allkeys-adaptive" });
  const peer = new Cache({ tier });
  instrument(plain, otel.meter, { name: "plain" });
  instrument(shared, otel.meter, { name: "shared" });
  await exercise(plain);
  await exercise(shared);
  peer.set("from-peer", 1);
  await peer.flush();
  await shared.getOrLoad("from-peer", async () => 2);
  await shared.getOrLoad("not-in-tier", async () => 3);

  const exported = await collect(otel);
  const plainStats = plain.stats(), sharedStats = shared.stats();
  assert.ok(plainStats.hits > 0 && plainStats.evictions + plainStats.rejected > 0 && plainStats.loadErrors === 1 && plainStats.coalesced === 2);
  assert.ok(sharedStats.tierHits === 1 && sharedStats.tierMisses > 0 && sharedStats.windowShare !== undefined);
  assertMatches(exported, "plain", plainStats);
  assertMatches(exported, "shared", sharedStats);
  assert.equal(exported["edgecache.tier.hits"].points.plain, undefined, "a cache without a tier has no tier points");
  assert.equal(exported["edgecache.bytes"].descriptor.unit, "By");
  assert.equal(exported["edgecache.hits"].descriptor.description, "Reads that found a fresh value.");
  await otel.provider.shutdown();
  plain.free(); shared.free(); peer.free();
});

test("each collection reads the values of that moment; counters stay cumulative", async () => {
  const otel = sdk();
  const cache = new Cache();
  instrument(cache, otel.meter, { name: "live" });
  assert.equal((await collect(otel))["edgecache.hits"].points.live, 0);
  cache.set("k", 1);
  cache.get("k"); cache.get("k");
  const exported = await collect(otel);
  assert.equal(exported["edgecache.hits"].points.live, 2);
  assert.equal(exported["edgecache.entries"].points.live, 1);
  assert.equal(exported["edgecache.hit_ratio"].points.live, 1);
  await otel.provider.shutdown();
  cache.free();
});

test("the returned function stops observing; the name is free again", async () => {
  const otel = sdk();
  const a = new Cache(), b = new Cache();
  const stop = instrument(a, otel.meter, { name: "x" });
  stop();
  a.free();
  assert.equal((await collect(otel))["edgecache.hits"]?.points.x, undefined);
  instrument(b, otel.meter, { name: "x" });
  b.set("k", 1);
  assert.equal((await collect(otel))["edgecache.sets"].points.x, 1);
  await otel.provider.shutdown();
  b.free();
});

test("works on the global API meter once an SDK provider is registered", async () => {
  const otel = sdk();
  otelMetrics.setGlobalMeterProvider(otel.provider);
  const cache = new Cache();
  instrument(cache, otelMetrics.getMeter("app"), { name: "global" });
  cache.get("miss");
  assert.equal((await collect(otel))["edgecache.misses"].points.global, 1);
  otelMetrics.disable();
  await otel.provider.shutdown();
  cache.free();
});

test("bad input throws a TypeError naming the argument; nothing observed or cached is lost", async () => {
  const otel = sdk();
  const cache = new Cache();
  cache.set("kept", 1);
  instrument(cache, otel.meter);
  assert.throws(() => instrument(cache, otel.meter), (e) => e instanceof TypeError && /options\.name "default"/.test(e.message));
  assert.throws(() => instrument(cache, otel.meter, { name: "" }), (e) => e instanceof TypeError && /options\.name/.test(e.message));
  assert.throws(() => instrument({}, otel.meter, { name: "y" }), (e) => e instanceof TypeError && /cache must/.test(e.message));
  assert.throws(() => instrument(cache, {}, { name: "y" }), (e) => e instanceof TypeError && /meter must/.test(e.message));
  assert.equal(cache.get("kept"), 1);
  assert.equal((await collect(otel))["edgecache.entries"].points.default, 1);
  await otel.provider.shutdown();
  cache.free();
});
