import type { Milliseconds, Tier } from "../index.d.ts";

/** The parts of a Workers KV binding the tier uses. */
export interface KVNamespaceLike {
  get(key: string, options: { type: "arrayBuffer" }): Promise<ArrayBuffer | null>;
  put(key: string, value: ArrayBuffer | ArrayBufferView, options?: { expirationTtl?: number }): Promise<unknown>;
  delete(key: string): Promise<unknown>;
}

/** The parts of a Cache API cache (caches.default, await caches.open(name)) the tier uses. */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<unknown>;
  delete(request: string): Promise<boolean>;
}

/** The parts of a Durable Object namespace binding (bound to EdgecacheCoordinator) the tier uses. */
export interface CoordinatorNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

export interface CloudflareTierOptions {
  /** The Durable Object namespace bound to EdgecacheCoordinator (export it from your Worker). */
  coordinator: CoordinatorNamespaceLike;
  /** Store names start with it, and it names the coordinator instance: caches on the same prefix share entries and invalidations. @default "edgecache:" */
  prefix?: string;
  /** An isolate asks the coordinator for invalidations at most this often: the staleness bound. @default 1000 */
  pollInterval?: Milliseconds;
  /** How long a cross-isolate load lock lasts at most. @default 5000 */
  lockTtl?: Milliseconds;
}

/** A Tier that polls its coordinator on the request path. */
export interface CloudflareTier extends Tier {
  /** Applies the invalidations other isolates made, if the last poll is `pollInterval` ms old or more. Await it at the top of each request; it never rejects (a failed poll is retried after `pollInterval`). */
  sync(): Promise<void>;
}

/** A shared tier on Workers KV (eventually consistent across locations; stamps from the coordinator keep invalidated values out). */
export declare function kvTier(kv: KVNamespaceLike, options: CloudflareTierOptions): CloudflareTier;

/** A shared tier on the Cache API: per colo, so isolates in other colos miss it and load for themselves (but for the 60 s the coordinator keeps a load's value, up to about 600 KiB, to answer their locks). */
export declare function cacheApiTier(cache: CacheLike, options: CloudflareTierOptions & {
  /** The URL entries are stored under. @default "https://edgecache.internal/" */
  baseUrl?: string;
}): CloudflareTier;

/** The Durable Object that orders writes and invalidations; export it from your Worker and bind it (env.EDGECACHE). */
export declare class EdgecacheCoordinator {
  constructor(state: any, env?: unknown);
  fetch(request: Request): Promise<Response>;
}
