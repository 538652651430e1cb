import type { Milliseconds, Tier } from "../index.d.ts";

/** The part of a node-redis client (redis@5 or 6) the tier uses. */
export interface RedisClientLike {
  sendCommand(args: ReadonlyArray<string | Uint8Array>, options?: object): Promise<unknown>;
  duplicate(): RedisClientLike & { connect(): Promise<unknown>; subscribe(channel: string, listener: (message: string) => void): Promise<unknown>; close(): Promise<unknown>; on(event: string, listener: (...args: any[]) => void): unknown };
}

export interface RedisTierOptions {
  /** Every key the tier writes starts with it; caches on the same prefix share entries and invalidations. @default "edgecache:" */
  prefix?: string;
  /** How long a cross-process load lock lasts at most. @default 5000 */
  lockTtl?: Milliseconds;
  /** Invalidation messages the log keeps (a list under the prefix; Tier.changes): a snapshot saved further back is not loaded. @default 10000 */
  logSize?: number;
}

/** A shared tier on Redis over a connected node-redis client; it opens one more connection (client.duplicate()) for invalidations. */
export declare function redisTier(client: RedisClientLike, options?: RedisTierOptions): Tier;
