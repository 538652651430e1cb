import type { Milliseconds, Tier, Key } from "../index.d.ts";

/** A shared tier held in this process (tests; several caches that should behave like isolates). */
export interface MemoryTier extends Tier {
  /** While on, every call fails; turning it off tells subscribers they may have missed messages. */
  down(on: boolean): void;
  /** Delays every call by `ms`. */
  delay(ms: Milliseconds): void;
  /** Stores bytes as someone else might have (garbage, another version). */
  putRaw(id: string, bytes: Uint8Array): void;
  /** Live entries. */
  readonly size: number;
}

export declare function memoryTier(options?: {
  now?: () => Milliseconds;
  lockTtl?: Milliseconds;
  /** Invalidation messages the log keeps (Tier.changes): a snapshot saved further back is not loaded. @default 10000 */
  logSize?: number;
}): MemoryTier;

/** The id a cache stores `key` under in a tier. */
export declare function tierKeyId(key: Key): string;
