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
