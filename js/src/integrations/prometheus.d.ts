import type { Stats } from "../index.d.ts";

/** What register() needs of a prom-client `Registry` (a real one fits). */
export interface RegistryLike {
  registerMetric(metric: any): void;
  getSingleMetric(name: string): unknown;
}

export interface RegisterOptions {
  /** The value of the `cache` label; "default" when left out. */
  name?: string;
}

/**
 * Reports `cache.stats()` on `registry` at every scrape as `edgecache_*` metrics
 * (`edgecache_hits_total`, `edgecache_bytes`, ...) labelled `cache="<name>"`.
 * Returns a function that takes the cache off the registry (call it before `cache.free()`).
 */
export declare function register(cache: { stats(): Stats }, registry: RegistryLike, options?: RegisterOptions): () => void;

/** The Content-Type of the Prometheus text format 0.0.4. */
export declare const TEXT_CONTENT_TYPE: string;

/** A registry that needs no prom-client (browsers, Workers): `register()` on it, then `metrics()` is the
 * Prometheus text of every registered cache, as a prom-client Registry would print it. */
export interface TextRegistry extends RegistryLike {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export declare function textRegistry(): TextRegistry;
