// edgecache/prometheus: a Cache's stats() as Prometheus metrics on a
// prom-client Registry the caller passes. It imports nothing from prom-client:
// each metric is an object with the shape a Registry reads from its metrics
// (name, help, type, get(), reset()), so importing this module never needs the
// peer dependency, and the caller's own prom-client copy does the formatting.
// Where there is no prom-client (browsers, Workers), textRegistry() formats
// the same objects itself.
import { METRICS, COUNTER, cacheName, checkCache } from "./metrics.js";

export { textRegistry, TEXT_CONTENT_TYPE } from "./prometheus-text.js";

const MODULE = "edgecache/prometheus";
/** Every metric name starts with this. */
const PREFIX = "edgecache_";
/** The label that tells the caches on one registry apart. */
const CACHE_LABEL = "cache";
/** How prom-client's cluster aggregator merges the workers' values. */
const AGGREGATOR = "sum";

/** Per registry: the caches registered on it, by name. */
const sources = new WeakMap();

/**
 * Reports `cache.stats()` on `registry` at every scrape, labelled
 * `cache="<options.name>"`. Several caches share one registry under different
 * names. Returns a function that takes the cache off the registry again (call
 * it before cache.free(): a freed cache's stats() throws, and so would a scrape).
 */
export function register(cache, registry, options) {
  checkCache(cache, MODULE);
  checkRegistry(registry);
  const name = cacheName(options, MODULE);
  let caches = sources.get(registry);
  if (caches === undefined) {
    caches = new Map();
    addMetrics(registry, caches);
    sources.set(registry, caches);
  }
  if (caches.has(name)) {
    throw new TypeError(`${MODULE}: options.name "${name}" is already registered on this registry`);
  }
  caches.set(name, cache);
  return () => {
    if (caches.get(name) === cache) caches.delete(name);
  };
}

function checkRegistry(registry) {
  if (typeof registry?.registerMetric !== "function" || typeof registry?.getSingleMetric !== "function") {
    throw new TypeError(`${MODULE}: registry must be a prom-client Registry, got ${registry === null ? "null" : typeof registry}`);
  }
}

/** Registers one metric per stats() field; refuses names the registry already holds. */
function addMetrics(registry, caches) {
  const metrics = METRICS.map((m) => promMetric(m, caches));
  const taken = metrics.find((m) => registry.getSingleMetric(m.name) !== undefined);
  if (taken) throw new Error(`${MODULE}: the registry already has a metric named ${taken.name}`);
  for (const m of metrics) registry.registerMetric(m);
}

/** A metric in the shape prom-client's Registry formats: get() reads every cache. */
function promMetric(metric, caches) {
  const name = PREFIX + metric.prom;
  const help = metric.help;
  const type = metric.kind === COUNTER ? "counter" : "gauge";
  return {
    name,
    help,
    type,
    aggregator: AGGREGATOR,
    get() {
      const values = [];
      for (const [label, cache] of caches) {
        const value = cache.stats()[metric.field];
        if (value !== undefined) values.push({ value, labels: { [CACHE_LABEL]: label } });
      }
      // this.name: an OpenMetrics registry renames counters to their family name (no _total).
      return { name: this.name, help, type, values, aggregator: AGGREGATOR };
    },
    // The values are the cache's own; resetMetrics() on the registry leaves them.
    reset() {},
  };
}
