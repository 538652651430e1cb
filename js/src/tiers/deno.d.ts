import type { Milliseconds, Tier } from "../index.d.ts";

/** One part of a Deno KV key (Deno.KvKeyPart). */
export type DenoKvKeyPart = Uint8Array | string | number | bigint | boolean;

/** The part of a Deno.Kv the tier uses (`await Deno.openKv(path)`, with `--unstable-kv`). */
export interface DenoKvLike {
  get(key: DenoKvKeyPart[]): Promise<{ key: DenoKvKeyPart[]; value: unknown; versionstamp: string | null }>;
  getMany(keys: DenoKvKeyPart[][]): Promise<Array<{ key: DenoKvKeyPart[]; value: unknown; versionstamp: string | null }>>;
  list(selector: object): AsyncIterable<{ key: DenoKvKeyPart[]; value: unknown; versionstamp: string }>;
  atomic(): unknown;
  watch?(keys: DenoKvKeyPart[][]): ReadableStream<unknown>;
}

export interface DenoKvTierOptions {
  /** Every key the tier writes starts with it; caches on the same prefix share entries and invalidations. @default ["edgecache"] */
  prefix?: string | DenoKvKeyPart[];
  /** How long a cross-process load lock lasts at most. @default 5000 */
  lockTtl?: Milliseconds;
  /** How often each subscribed cache checks for other processes' invalidations (the staleness bound's main part). @default 20 */
  pollInterval?: Milliseconds;
  /** Invalidation messages the log keeps (Tier.changes): a subscriber further behind drops its L1, and a snapshot saved further back is not loaded. @default 1000 */
  logSize?: number;
}

/** A shared tier on Deno KV. */
export interface DenoKvTier extends Tier {
  /** Stops polling and watching for invalidations; call it (or free every cache on the tier) before `kv.close()`. */
  close(): Promise<void>;
}

/** A shared tier on a Deno KV database the caller opened; processes on the same file share it. */
export declare function denoKvTier(kv: DenoKvLike, options?: DenoKvTierOptions): DenoKvTier;
