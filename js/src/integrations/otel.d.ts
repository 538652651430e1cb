import type { Stats } from "../index.d.ts";

/** An observable instrument as a Meter returns it (opaque here). */
export type ObservableLike = object;

/** What instrument() needs of an `@opentelemetry/api` `Meter` (a real one fits). */
export interface MeterLike {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  addBatchObservableCallback(callback: (result: any) => void, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: (result: any) => void, observables: ObservableLike[]): void;
}

export interface InstrumentOptions {
  /** The value of the `cache.name` attribute; "default" when left out. */
  name?: string;
}

/**
 * Observes `cache.stats()` at every collection as `edgecache.*` instruments (`edgecache.hits`,
 * `edgecache.bytes`, ...; counters as observable counters, levels as observable gauges) with the
 * attribute `cache.name`. Returns a function that stops observing the cache (call it before `cache.free()`).
 */
export declare function instrument(cache: { stats(): Stats }, meter: MeterLike, options?: InstrumentOptions): () => void;
