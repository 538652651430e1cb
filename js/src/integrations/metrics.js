// The one table of what a Cache's stats() exports as metrics, shared by the
// Prometheus and OpenTelemetry modules so both report the same fields under
// the same meaning. Nothing here imports the core or a metrics library.

/** Counters only grow (until the process restarts); gauges go both ways. */
export const COUNTER = "counter";
export const GAUGE = "gauge";

/** The cache name a metric carries when register()/instrument() get none. */
export const DEFAULT_CACHE_NAME = "default";

/**
 * Each exported stats() field: `field` in stats(), `prom` the Prometheus name
 * (after the edgecache_ prefix, counters end in _total), `otel` the OpenTelemetry
 * name (after the edgecache. prefix), `unit` in UCUM as OpenTelemetry wants it
 * (counts of events carry none).
 * `optional` fields exist only on some caches (a tier, allkeys-adaptive).
 */
export const METRICS = Object.freeze([
  counter("hits", "hits_total", "hits", "Reads that found a fresh value."),
  counter("misses", "misses_total", "misses", "Reads that found no fresh value."),
  counter("staleHits", "stale_hits_total", "stale_hits", "Reads answered from a stale window."),
  counter("sets", "sets_total", "sets", "Values stored."),
  counter("rejected", "rejected_total", "rejected", "Writes refused: too large, no room under the policy, or an oversized key."),
  counter("evictions", "evictions_total", "evictions", "Entries evicted to stay under maxMemory."),
  counter("expirations", "expirations_total", "expirations", "Entries removed because their time to live ran out."),
  counter("invalidations", "invalidations_total", "invalidations", "Entries removed by invalidate, invalidateTag or a dependency."),
  counter("deletes", "deletes_total", "deletes", "Entries removed by delete."),
  counter("replacements", "replacements_total", "replacements", "Writes that replaced a stored value."),
  counter("loads", "loads_total", "loads", "Loads started by getOrLoad, memoize or prewarm."),
  counter("coalesced", "coalesced_total", "coalesced", "Callers that joined a load already in flight."),
  counter("loadErrors", "load_errors_total", "load_errors", "Loads that threw or timed out."),
  gauge("entries", "entries", "entries", "Entries stored.", "{entry}"),
  gauge("bytes", "bytes", "bytes", "Bytes charged against maxMemory.", "By"),
  gauge("maxMemory", "max_memory_bytes", "max_memory", "The cache's byte budget.", "By"),
  gauge("wasmMemory", "wasm_memory_bytes", "wasm_memory", "Size of the WebAssembly memory shared by the isolate's caches.", "By"),
  gauge("hitRatio", "hit_ratio", "hit_ratio", "hits / (hits + misses); 0 before the first read.", "1"),
  optional(gauge("windowShare", "window_share", "window_share", "allkeys-adaptive: the share of the budget new entries enter.", "1")),
  optional(counter("tierHits", "tier_hits_total", "tier.hits", "Loads answered from the shared tier.")),
  optional(counter("tierMisses", "tier_misses_total", "tier.misses", "Shared tier reads that found nothing.")),
  optional(counter("tierErrors", "tier_errors_total", "tier.errors", "Shared tier calls that failed, timed out or returned bytes that do not parse.")),
  optional(counter("tierDropped", "tier_dropped_total", "tier.dropped", "Writes to the shared tier dropped while it was down or its queue full.")),
]);

function counter(field, prom, otel, help) {
  return Object.freeze({ field, kind: COUNTER, prom, otel, help, unit: undefined, optional: false });
}

function gauge(field, prom, otel, help, unit) {
  return Object.freeze({ field, kind: GAUGE, prom, otel, help, unit, optional: false });
}

function optional(metric) {
  return Object.freeze({ ...metric, optional: true });
}

/** The cache name from options, or a TypeError naming `options.name`. */
export function cacheName(options, module) {
  const name = options?.name ?? DEFAULT_CACHE_NAME;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${module}: options.name must be a non-empty string, got ${typeof name === "string" ? '""' : typeof name}`);
  }
  return name;
}

/** A TypeError naming `cache` unless it has a stats() method. */
export function checkCache(cache, module) {
  if (typeof cache?.stats !== "function") {
    throw new TypeError(`${module}: cache must be an edgecache Cache (an object with stats()), got ${cache === null ? "null" : typeof cache}`);
  }
}
