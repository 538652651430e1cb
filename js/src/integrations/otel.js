// edgecache/otel: a Cache's stats() as OpenTelemetry observable instruments on
// a Meter the caller passes. It only calls the Meter (the @opentelemetry/api
// interface), so importing it never needs the peer dependency, and the SDK,
// readers and exporters are the caller's.
import { METRICS, COUNTER, cacheName, checkCache } from "./metrics.js";

const MODULE = "edgecache/otel";
/** Every instrument name starts with this. */
const PREFIX = "edgecache.";
/** The attribute that tells the caches on one meter apart. */
const CACHE_ATTRIBUTE = "cache.name";

/** Per meter: its instruments (one set, shared by every cache) and the cache names taken. */
const meters = new WeakMap();

/**
 * Observes `cache.stats()` at every collection: counters (hits, misses, ...)
 * as observable counters, levels (entries, bytes, hit ratio, ...) as
 * observable gauges, each with the attribute `cache.name`. Returns a function
 * that stops observing the cache (call it before cache.free()).
 */
export function instrument(cache, meter, options) {
  checkCache(cache, MODULE);
  checkMeter(meter);
  const name = cacheName(options, MODULE);
  let shared = meters.get(meter);
  if (shared === undefined) {
    shared = { instruments: METRICS.map((m) => [m, create(meter, m)]), names: new Set() };
    meters.set(meter, shared);
  }
  if (shared.names.has(name)) {
    throw new TypeError(`${MODULE}: options.name "${name}" is already instrumented on this meter`);
  }
  const attributes = Object.freeze({ [CACHE_ATTRIBUTE]: name });
  // One batch callback per cache: one stats() call per collection for all its instruments.
  const observe = (result) => {
    const stats = cache.stats();
    for (const [metric, observable] of shared.instruments) {
      const value = stats[metric.field];
      if (value !== undefined) result.observe(observable, value, attributes);
    }
  };
  const observables = shared.instruments.map(([, observable]) => observable);
  meter.addBatchObservableCallback(observe, observables);
  shared.names.add(name);
  return () => {
    if (!shared.names.delete(name)) return;
    meter.removeBatchObservableCallback(observe, observables);
  };
}

function checkMeter(meter) {
  const needs = ["createObservableCounter", "createObservableGauge", "addBatchObservableCallback", "removeBatchObservableCallback"];
  if (needs.some((method) => typeof meter?.[method] !== "function")) {
    throw new TypeError(`${MODULE}: meter must be an OpenTelemetry Meter, got ${meter === null ? "null" : typeof meter}`);
  }
}

/** The observable instrument for one stats() field. */
function create(meter, metric) {
  const options = { description: metric.help };
  if (metric.unit !== undefined) options.unit = metric.unit;
  return metric.kind === COUNTER
    ? meter.createObservableCounter(PREFIX + metric.otel, options)
    : meter.createObservableGauge(PREFIX + metric.otel, options);
}
