// memoryTier: a shared tier held in this process, for tests and for several
// caches in one process that should behave like isolates sharing an engine.
// It keeps the semantics the engine tiers keep (Redis's, operation for
// operation): a global write sequence, tag stamps from that sequence,
// dependency edges, TTLs, messages to every other subscriber, and a log of
// the last `logSize` messages (numbered; `changes` reads it) that a warm
// start replays. `down`, `delay` and `putRaw` let tests play the faults an
// engine has.

export { tierKeyId } from "../tier/ids.js";

/** Messages the log keeps by default: a snapshot saved further back than this is not loaded. */
const DEFAULT_LOG_SIZE = 10_000;

/**
 * @param {{ now?: () => number, lockTtl?: number, logSize?: number }} [options] the clock its TTLs run on (ms),
 *   how long a cross-isolate load lock lasts at most, and how many invalidation messages the log keeps
 * @returns {import("../index.d.ts").Tier & { down(on: boolean): void, delay(ms: number): void, putRaw(id: string, bytes: Uint8Array): void, size: number }}
 */
export function memoryTier(options = {}) {
  const now = options.now ?? Date.now;
  const logSize = options.logSize ?? DEFAULT_LOG_SIZE;
  if (typeof logSize !== "number" || !Number.isInteger(logSize) || logSize < 1) throw new RangeError(`logSize must be a positive integer; got ${logSize}`);
  /** id → { bytes, seq, tagIds, expiresAt } */
  const entries = new Map();
  /** tag id → the sequence number of its last invalidation */
  const stamps = new Map();
  /** child id → Map(id of an entry built on it → that entry's key) */
  const edges = new Map();
  const locks = new Map();
  const listeners = new Set();
  let seq = 0;
  /** The last logSize messages, oldest first (from `logStart`); `published` numbers the last one. */
  let log = [];
  let logStart = 0;
  let published = 0;
  let isDown = false;
  let delayMs = 0;

  const unavailable = () => new Error("edgecache memoryTier: down");
  const pause = () => (delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : Promise.resolve());

  function live(id) {
    const e = entries.get(id);
    if (e === undefined) return undefined;
    if (e.expiresAt !== 0 && now() >= e.expiresAt) {
      entries.delete(id);
      return undefined;
    }
    return e;
  }

  /** The bytes `get` returns: null when absent, expired or hidden by a later tag invalidation. */
  function visible(id) {
    const e = live(id);
    if (e === undefined) return null;
    for (const t of e.tagIds) if ((stamps.get(t) ?? 0) > e.seq) return null;
    return e.bytes.slice();
  }

  /**
   * Removes the entries built on `id`, transitively (and `id` itself when
   * asked); returns the keys of the dependents removed. They go in the
   * message: an isolate may hold a dependent without the entries between it
   * and `id`, and then cannot find it from `id` in its own L1.
   */
  function cascade(id, includeSelf) {
    const queue = [id];
    const seen = new Set(queue);
    const keys = [];
    for (let i = 0; i < queue.length; i++) {
      const at = queue[i];
      if (at !== id || includeSelf) entries.delete(at);
      for (const [parent, key] of edges.get(at) ?? []) {
        if (!seen.has(parent)) {
          seen.add(parent);
          queue.push(parent);
          keys.push(key);
        }
      }
      edges.delete(at);
    }
    return keys;
  }

  function publish(origin, keys, tags) {
    const message = { origin, keys, tags, position: String(++published) };
    log.push(message);
    if (log.length - logStart > logSize) logStart++;
    if (logStart > logSize) {
      log = log.slice(logStart);
      logStart = 0;
    }
    for (const l of listeners) queueMicrotask(() => l.invalidate(message));
  }

  /** The messages after message number `after`, or null when the log no longer holds them all. */
  function since(after) {
    const n = /^(0|[1-9][0-9]*)$/.test(after) ? Number(after) : NaN;
    const held = log.length - logStart;
    if (!(n <= published) || n < published - held) return null;
    return log.slice(log.length - (published - n));
  }

  function applyOne(op, origin) {
    seq++;
    if (op.type === "set") {
      const dependents = op.change ? cascade(op.id, false) : [];
      entries.set(op.id, { bytes: op.bytes.slice(), seq, tagIds: op.tagIds, expiresAt: op.ttl > 0 ? now() + op.ttl : 0 });
      for (const d of op.depIds) {
        if (!edges.has(d)) edges.set(d, new Map());
        edges.get(d).set(op.id, op.key);
      }
      if (op.change) publish(origin, [op.key, ...dependents], []);
    } else if (op.type === "invalidate") {
      const dependents = cascade(op.id, true);
      publish(origin, [op.key, ...dependents], []);
    } else if (op.type === "invalidateTag") {
      stamps.set(op.id, seq);
      publish(origin, [], [op.tag]);
    }
  }

  return {
    lockTtl: options.lockTtl,
    async get(id) {
      await pause();
      if (isDown) throw unavailable();
      return visible(id);
    },
    async apply(ops, { origin } = {}) {
      await pause();
      if (isDown) throw unavailable();
      for (const op of ops) applyOne(op, origin);
    },
    async changes(after) {
      await pause();
      if (isDown) throw unavailable();
      if (after === undefined) return { position: String(published), messages: [] };
      const messages = since(after);
      return messages === null ? null : { position: String(published), messages };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async lock(id, ttl, { ifAbsent = false } = {}) {
      await pause();
      if (isDown) throw unavailable();
      // In the same step as the lock, as an engine's script would do it.
      const stored = ifAbsent ? visible(id) : null;
      if (stored !== null) return { stored };
      const held = locks.get(id);
      if (held !== undefined && held.until > now()) return null;
      const token = {};
      locks.set(id, { token, until: now() + ttl });
      return { release: () => { if (locks.get(id)?.token === token) locks.delete(id); } };
    },
    /** Fails every call while on; turning it off tells subscribers they may have missed messages. */
    down(on) {
      const was = isDown;
      isDown = on;
      if (was && !on) for (const l of listeners) queueMicrotask(() => l.lost());
    },
    /** Delays every call by `ms` (a slow engine). */
    delay(ms) {
      delayMs = ms;
    },
    /** Writes bytes as someone else might have: garbage, another version. */
    putRaw(id, bytes) {
      entries.set(id, { bytes, seq: ++seq, tagIds: [], expiresAt: 0 });
    },
    get size() {
      for (const id of entries.keys()) live(id);
      return entries.size;
    },
  };
}
