// TierLink: what a Cache with a `tier` option does with its shared tier (L2).
//
// - Reads: `read(id)` with a timeout; an error, a timeout or bytes that do not
//   parse are a miss counted in tierErrors, never an exception. After an
//   error the tier is skipped for a short, growing back-off, so a dead engine
//   costs one timeout per back-off, not one per call; it is tried again by
//   itself.
// - Writes and invalidations are queued and sent in batches, in the order
//   they were made (`tier.apply(ops)` applies a batch in order), so a set
//   never lands after a later delete of its key. While the engine is down,
//   plain writes are dropped (counted); invalidations, and writes that are
//   changes, are kept as invalidations and retried: if they still cannot be
//   delivered after GIVE_UP_MS, or more than MAX_PENDING pile up, this
//   isolate's coherence is lost and it drops its L1 (`onLost`).
// - Invalidations from other isolates arrive through `tier.subscribe` and are
//   applied to L1 (`onRemote`); a lost channel drops L1 (`onLost`).
// - A tier with an invalidation log (`tier.changes`) lets a snapshot name the
//   point of the log its L1 reflects (`position`): every message up to it was
//   applied here. It is the position of the last message delivered (messages
//   carry theirs), or the log's head read when the link starts or after a
//   loss (L1 is empty or dropped then). A warm start replays the log after
//   the snapshot's position (`changesSince`).

import { EntryFormatError, decodeEntry, encodeEntry } from "./entry.js";
import { randomId } from "./ids.js";

/** Operations sent in one `apply` call at most. */
const MAX_BATCH = 256;
/** Queued operations at most; past it plain writes are dropped. */
const MAX_QUEUE = 10_000;
/** Undelivered invalidations kept for retry at most; past it coherence is lost. */
const MAX_PENDING = 10_000;
/** How long undelivered invalidations are retried before coherence is declared lost. */
const GIVE_UP_MS = 30_000;
/** Back-off after a tier error: first and largest pause before the next try. */
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2_000;
/** A write may take this many read timeouts (engines are slower to write). */
const WRITE_TIMEOUT_FACTOR = 10;
/** Lock waiters poll the tier this often for the holder's value. */
const LOCK_POLL_MS = 15;

export class TierTimeoutError extends Error {
  constructor(what, ms) {
    super(`edgecache: the tier's ${what} did not answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Real time for back-offs and lock waits (the cache's clock may be simulated). */
const realNow = () => Date.now();

/** Throws a TypeError unless `tier` has the Tier interface's methods. */
export function checkTier(tier, describe) {
  if (tier === null || typeof tier !== "object") throw new TypeError(`tier must be a Tier object; got ${describe(tier)}`);
  for (const m of ["get", "apply"]) {
    if (typeof tier[m] !== "function") throw new TypeError(`tier.${m} must be a function`);
  }
  for (const m of ["subscribe", "lock", "changes"]) {
    if (tier[m] !== undefined && typeof tier[m] !== "function") throw new TypeError(`tier.${m} must be a function when given`);
  }
}

export class TierLink {
  #tier;
  #codecName;
  #timeout;
  #waitUntil;
  #onRemote;
  #onLost;
  #origin = null;
  #unsubscribe = null;
  #queue = [];
  #draining = null;
  #downUntil = 0;
  #backoff = 0;
  /** When the oldest undelivered invalidation first failed (0: none). */
  #failingSince = 0;
  /** Bumped by every remote invalidation and loss: a read that began before
   * a bump may hold a value that was invalidated meanwhile. */
  epoch = 0;
  counters = { tierHits: 0, tierMisses: 0, tierErrors: 0, tierDropped: 0 };
  /** The log position this isolate's L1 reflects (null: unknown, or no log). */
  position = null;
  /** The read of the log's head that sets `position` at start or after a loss. */
  #head = null;
  /** The batch `apply` is sending now (out of the queue until it is delivered or retained). */
  #sending = [];
  /** Open watches (`watch`): what changes L1 while a snapshot loads. */
  #watches = new Set();

  /**
   * @param {import("../index.d.ts").Tier} tier
   * @param {{ codecName: string, timeout: number, waitUntil?: (p: Promise<unknown>) => void,
   *           onRemote: (keys: unknown[], tags: string[]) => void, onLost: () => void }} options
   */
  constructor(tier, { codecName, timeout, waitUntil, onRemote, onLost }) {
    this.#tier = tier;
    this.#codecName = codecName;
    this.#timeout = timeout;
    this.#waitUntil = waitUntil;
    this.#onRemote = onRemote;
    this.#onLost = onLost;
  }

  /** First use (inside a handler: Workers forbid randomness and I/O at global scope). */
  start() {
    if (this.#origin !== null) return;
    this.#origin = randomId();
    if (this.#tier.subscribe) {
      try {
        this.#unsubscribe = this.#tier.subscribe({
          invalidate: (message) => this.#remote(message),
          lost: () => this.#lose(),
        });
      } catch {
        this.counters.tierErrors++;
      }
    }
    this.#readHead();
  }

  /** Whether the tier keeps an invalidation log (snapshots need it). */
  get hasLog() {
    return typeof this.#tier.changes === "function";
  }

  /** Reads the log's head as this isolate's position unless a message set one meanwhile. */
  #readHead() {
    if (!this.hasLog) return;
    const read = this.#changes(undefined, this.#timeout * WRITE_TIMEOUT_FACTOR).then((r) => {
      if (this.position === null && r !== null && r !== undefined) this.position = r.position;
    }).finally(() => {
      if (this.#head === read) this.#head = null;
    });
    this.#head = read;
    if (this.#waitUntil) this.#waitUntil(read);
  }

  /** `tier.changes(after)`, checked: `{ position, messages }`, null when the
   * log no longer reaches back to `after`, undefined on an error (counted). */
  async #changes(after, ms) {
    try {
      const r = await this.#timed((signal) => this.#tier.changes(after, { signal }), "changes", ms);
      if (r === null) return null;
      if (r === undefined || typeof r.position !== "string" || !Array.isArray(r.messages)) throw new TypeError("tier.changes answered no position");
      return r;
    } catch {
      this.counters.tierErrors++;
      return undefined;
    }
  }

  /**
   * For a snapshot about to be dumped: brings L1 up to the log's head (the
   * messages not delivered yet are applied now) and returns the head, or
   * null when this isolate cannot vouch for its L1 (its position is unknown
   * or the log no longer reaches back to it, or the tier did not answer).
   * A log that no longer reaches back is a loss: L1 is dropped and the head
   * read again, so that the next snapshot can be taken.
   */
  async catchUp(ms) {
    while (this.#head !== null) await this.#head;
    if (this.position === null) {
      this.#readHead();
      return null;
    }
    const from = this.position;
    const r = await this.#changes(from, ms);
    if (r === null && this.position === from) this.#lose();
    if (r === null || r === undefined) return null;
    for (const m of r.messages) this.#remote(m);
    this.position = r.position;
    return r.position;
  }

  /** The log's messages after `position` (a snapshot's), or null when they
   * cannot all be had (trimmed, another epoch, an error: counted). */
  async changesSince(position, ms) {
    const r = await this.#changes(position, ms);
    if (r === null) this.counters.tierErrors++;
    return r ?? null;
  }

  /**
   * Starts recording what changes L1 from now on, for a snapshot load (its
   * entries are not in L1 yet, and a message applied to L1 meanwhile would
   * miss them): `messages`, every message delivered (any origin) and this
   * isolate's own invalidations, those not yet applied by the tier
   * included (their messages may come after the log was read, and this
   * isolate's own are not applied when delivered); `lost`, whether the
   * channel lost messages meanwhile. End it with `unwatch`.
   */
  watch() {
    const w = { messages: [], lost: false };
    for (const b of [...this.#sending, ...this.#queue]) this.#recordOp(w, b.op);
    this.#watches.add(w);
    return w;
  }

  unwatch(w) {
    this.#watches.delete(w);
  }

  /** An own operation as the message it makes (a set only when it is a change). */
  #recordOp(w, op) {
    if (op.type === "invalidateTag") w.messages.push({ keys: [], tags: [op.tag] });
    else if (op.type === "invalidate" || op.change) w.messages.push({ keys: [op.key], tags: [] });
  }

  /** Applies logged messages to L1, this isolate's own too (a warm start's L1
   * came from another isolate's snapshot). */
  replay(messages) {
    for (const m of messages) {
      if (m === null || typeof m !== "object") continue;
      const keys = Array.isArray(m.keys) ? m.keys : [];
      const tags = Array.isArray(m.tags) ? m.tags : [];
      if (keys.length === 0 && tags.length === 0) continue;
      this.epoch++;
      this.#onRemote(keys, tags);
    }
  }

  close() {
    const off = this.#unsubscribe;
    this.#unsubscribe = null;
    if (typeof off === "function") Promise.resolve().then(off).catch(() => {});
  }

  /** The tier's own bound on a cross-isolate load lock, if it sets one. */
  get lockTtl() {
    return this.#tier.lockTtl;
  }

  #remote(message) {
    if (message === null || typeof message !== "object") return;
    for (const w of this.#watches) w.messages.push(message);
    if (typeof message.position === "string") this.position = message.position;
    if (message.origin === this.#origin) return;
    const keys = Array.isArray(message.keys) ? message.keys : [];
    const tags = Array.isArray(message.tags) ? message.tags : [];
    if (keys.length === 0 && tags.length === 0) return;
    this.epoch++;
    this.#onRemote(keys, tags);
  }

  #lose() {
    for (const w of this.#watches) w.lost = true;
    this.epoch++;
    this.#onLost();
    // L1 is dropped: the head from now on is a position it reflects.
    this.position = null;
    this.#readHead();
  }

  // ----- reads -----

  #isDown() {
    return this.#downUntil > realNow();
  }

  #failed() {
    this.counters.tierErrors++;
    this.#backoff = Math.min(BACKOFF_MAX_MS, this.#backoff === 0 ? BACKOFF_MIN_MS : this.#backoff * 2);
    this.#downUntil = realNow() + this.#backoff;
  }

  #succeeded() {
    this.#backoff = 0;
    this.#downUntil = 0;
  }

  /** Races `promise` with the timeout; the tier's call is told to give up through `signal`. */
  async #timed(call, what, ms) {
    const controller = new AbortController();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        const err = new TierTimeoutError(what, ms);
        controller.abort(err);
        reject(err);
      }, ms);
    });
    try {
      return await Promise.race([call(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The entry stored under `id`, parsed, or undefined (absent, unreadable,
   * the tier down or slow: the last three counted in tierErrors). `codecName`:
   * the codec the entry must have been written with (the cache's by default);
   * `timeout`: how long the read may take (the cache's tierTimeout by default).
   */
  async read(id, codecName = this.#codecName, timeout = this.#timeout) {
    return (await this.lookup(id, codecName, timeout)) ?? undefined;
  }

  /** As `read`, but null when the tier has no entry under `id` (undefined: an error). */
  async lookup(id, codecName = this.#codecName, timeout = this.#timeout) {
    if (this.#isDown()) {
      this.counters.tierErrors++;
      return undefined;
    }
    let bytes;
    try {
      bytes = await this.#timed((signal) => this.#tier.get(id, { signal }), "get", timeout);
      this.#succeeded();
    } catch {
      this.#failed();
      return undefined;
    }
    if (bytes === null || bytes === undefined) {
      this.counters.tierMisses++;
      return null;
    }
    return this.#parse(bytes, codecName);
  }

  /** The entry in `bytes` (a tier hit), or undefined when they do not parse (a tier error). */
  #parse(bytes, codecName) {
    try {
      const entry = decodeEntry(bytes, codecName);
      this.counters.tierHits++;
      return entry;
    } catch (err) {
      if (!(err instanceof EntryFormatError)) throw err;
      this.counters.tierErrors++;
      return undefined;
    }
  }

  /**
   * Tries to take the tier's lock on `id` for `ttl` ms: a release function,
   * or null when another isolate holds it; undefined when the tier has no
   * locks or could not answer (then the caller loads by itself).
   * `ifAbsent`: when the tier finds an entry under `id` instead (a holder
   * finished its whole load since the caller's read), `{ stored: entry }`,
   * parsed like a read's; tiers that cannot check lock as without it.
   */
  async lock(id, ttl, ifAbsent = false) {
    if (!this.#tier.lock || this.#isDown()) return undefined;
    let call;
    let held;
    try {
      const take = (signal) => this.#tier.lock(id, ttl, ifAbsent ? { signal, ifAbsent: true } : { signal });
      held = await this.#timed((signal) => (call = Promise.resolve(take(signal))), "lock", this.#timeout);
      this.#succeeded();
    } catch {
      // A lock the tier grants after this call gave up would hold every
      // other isolate's load of `id` back until it expires: release it.
      call?.then((late) => late?.release?.(), () => {});
      this.#failed();
      return undefined;
    }
    if (!held) return null;
    if (held.stored instanceof Uint8Array) {
      const entry = this.#parse(held.stored, this.#codecName);
      // Bytes that do not parse are no value to serve: lock as for a miss.
      return entry === undefined ? this.lock(id, ttl) : { stored: entry };
    }
    return () => Promise.resolve().then(() => held.release()).catch(() => {});
  }

  /** Polls for `id` until an entry appears, the lock frees up (returns
   * "free"), or `deadline` (real ms) passes (returns undefined). */
  async awaitHolder(id, ttl, deadline) {
    while (realNow() < deadline) {
      await sleep(LOCK_POLL_MS);
      const entry = await this.read(id);
      if (entry) return entry;
      // ifAbsent: a tier that sees the holder's write where this read did
      // not (the Cloudflare coordinator keeps what a load wrote) hands it over.
      const release = await this.lock(id, ttl, true);
      if (release !== null && typeof release === "object") return release.stored;
      if (release) {
        // The holder may have written its value and released the lock
        // between the read above and this lock: read once more before
        // this isolate loads it again.
        const written = await this.read(id);
        if (!written) return release;
        release();
        return written;
      }
      if (release === undefined) return undefined;
    }
    return undefined;
  }

  // ----- writes and invalidations -----

  /**
   * Queues a write of `value` (the codec's bytes). `change`: the write is a
   * change of the key (dependents go in L2 and in every isolate); a load's
   * result or an L2 fill is not. `codecName`: the codec the bytes are in
   * (the cache's by default). Resolves true when the tier has it, false when
   * it was dropped.
   */
  set(id, key, value, meta, ttl, change, codecName = this.#codecName) {
    const bytes = encodeEntry(codecName, meta, value);
    return this.#enqueue({ type: "set", id, key, bytes, ttl, tagIds: meta.tagIds, depIds: meta.depIds, change });
  }

  /** Queues the removal of `key` and its dependents in L2 and every isolate. */
  invalidate(id, key) {
    return this.#enqueue({ type: "invalidate", id, key });
  }

  /** Queues a tag invalidation in L2 and every isolate. */
  invalidateTag(id, tag) {
    return this.#enqueue({ type: "invalidateTag", id, tag });
  }

  /** Resolves when every operation queued so far was delivered or dropped. */
  async flush() {
    while (this.#draining !== null) await this.#draining;
  }

  #enqueue(op) {
    if (this.#queue.length >= MAX_QUEUE && op.type === "set" && !op.change) {
      this.counters.tierDropped++;
      return Promise.resolve(false);
    }
    for (const w of this.#watches) this.#recordOp(w, op);
    return new Promise((resolve) => {
      this.#queue.push({ op, resolve });
      this.#kick();
    });
  }

  #kick() {
    if (this.#draining !== null) return;
    const run = this.#drain().finally(() => {
      this.#draining = null;
      if (this.#queue.length > 0) this.#kick();
    });
    this.#draining = run;
    if (this.#waitUntil) this.#waitUntil(run);
  }

  async #drain() {
    while (this.#queue.length > 0) {
      const wait = this.#downUntil - realNow();
      if (wait > 0) await sleep(wait);
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#sending = batch;
      try {
        await this.#timed(
          (signal) => this.#tier.apply(batch.map((b) => b.op), { origin: this.#origin, signal }),
          "apply", this.#timeout * WRITE_TIMEOUT_FACTOR,
        );
        this.#succeeded();
        this.#failingSince = 0;
        for (const b of batch) b.resolve(true);
      } catch {
        this.#failed();
        this.#retain(batch);
      } finally {
        this.#sending = [];
      }
    }
  }

  /** After a failed batch: plain writes are dropped, changes are kept as invalidations. */
  #retain(batch) {
    const kept = [];
    for (const b of batch) {
      const op = b.op;
      if (op.type === "set" && !op.change) {
        this.counters.tierDropped++;
        b.resolve(false);
      } else {
        kept.push(op.type === "set" ? { op: { type: "invalidate", id: op.id, key: op.key }, resolve: () => b.resolve(false) } : b);
      }
    }
    if (this.#failingSince === 0) this.#failingSince = realNow();
    const pending = kept.length + this.#queue.length;
    if (realNow() - this.#failingSince > GIVE_UP_MS || pending > MAX_PENDING) {
      // They cannot be delivered: this isolate no longer knows what others hold.
      for (const b of [...kept, ...this.#queue.splice(0)]) b.resolve(false);
      this.#failingSince = 0;
      this.#lose();
      return;
    }
    this.#queue.unshift(...kept);
  }
}
