// EdgecacheCoordinator: the Durable Object that keeps the isolates of a
// Cloudflare deployment coherent around a KV or Cache API tier. The user
// exports it from their Worker and binds it; every isolate talks to the one
// instance named by the tier's `prefix`.
//
// Why a Durable Object and not stamps in KV: KV is eventually consistent
// across locations (a write may take 60 s or more to be seen elsewhere, and
// reads are cached at the edge), so tag stamps kept in KV could not promise
// that an invalidated value never comes back. One Durable Object is a single
// strongly consistent point: it orders every write and invalidation with one
// sequence, and an isolate learns what changed with one small call.
//
// It holds:
//   seq          the write sequence (persisted): an entry carries the seq of its write
//   tag stamps   tag id → seq of its last invalidation (persisted, never pruned)
//   key stamps   entry id → seq of its last change or removal (persisted, pruned after
//                KEY_STAMP_KEEP_MS: longer than KV takes to spread a delete)
//   edges        dependency id → { parent id: { x: expiresAt, k: parent key } } (persisted,
//                dropped when cascaded): the keys go in the log batch of a cascade, since
//                another isolate may hold a dependent without the entries in between
//   the log      the last LOG_MAX batches of invalidations, numbered by `version` under a
//                random `epoch` (persisted with them, so an instance evicted or restarted
//                goes on with the same log): isolates catch up from it, and a warm start
//                replays it from its snapshot's position (/changes); an isolate behind
//                the log (or on another epoch: the storage was lost) drops its L1
//   locks        load locks (in memory: a lost lock only means one more load)
//   loaded       the value each load wrote, handed over with its unlock and kept
//                LOADED_KEEP_MS (in memory, bounded): a miss whose lock comes after
//                that whole load is given the value instead of the lock, since this
//                object cannot read KV (nor would a KV read in another location see
//                the write for up to a minute)
//
// It is reached by fetch with JSON bodies (not RPC), so this module needs no
// `cloudflare:workers` import and loads in any runtime.

import { randomId, sha256 } from "../tier/ids.js";

/** Batches of invalidations kept for isolates to catch up from. */
const LOG_MAX = 1_000;
/** How long a key stamp outlives its write: KV spreads a delete within about 60 s. */
const KEY_STAMP_KEEP_MS = 10 * 60_000;
/** A log batch's storage name: its version, zero-padded so names list in order. */
const logName = (version) => "l:" + String(version).padStart(16, "0");
/** Longest storage key we write as is (Durable Object storage allows 2 KiB). */
const MAX_PLAIN_NAME = 1_024;
/** How long a load's value is kept after its unlock: about as long as KV takes to spread a write. */
const LOADED_KEEP_MS = 60_000;
/** Loaded values kept at most, in base64 characters (a value larger than a tenth of it is not kept). */
const LOADED_MAX_CHARS = 8 * 1024 * 1024;

const encoder = new TextEncoder();

/** A storage or store name for `id` under `prefix`: as is when short, else a SHA-256. */
export async function storeName(prefix, id, max = MAX_PLAIN_NAME) {
  const plain = prefix + id;
  if (encoder.encode(plain).length <= max) return plain;
  const digest = await sha256(encoder.encode(id));
  return prefix + "#" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A parent's expiry in an edge: `{ x, k }`, or the bare expiresAt edges held before keys were kept. */
function parentExpiry(parent) {
  return typeof parent === "number" ? parent : parent.x;
}

export class EdgecacheCoordinator {
  constructor(state) {
    this.storage = state.storage;
    this.epoch = null;
    this.version = 0;
    this.log = [];
    this.seq = 0;
    this.tags = new Map();
    this.keys = new Map();
    this.locks = new Map();
    this.loaded = new Map();
    this.loadedChars = 0;
    state.blockConcurrencyWhile(() => this.#load());
  }

  async #load() {
    this.seq = (await this.storage.get("seq")) ?? 0;
    this.epoch = (await this.storage.get("epoch")) ?? null;
    if (this.epoch === null) {
      // A new store: no isolate can hold anything from an earlier log.
      this.epoch = randomId();
      await this.storage.put("epoch", this.epoch);
    }
    this.version = (await this.storage.get("version")) ?? 0;
    this.log = [...(await this.storage.list({ prefix: "l:" })).values()];
    for (const v of (await this.storage.list({ prefix: "t:" })).values()) this.tags.set(v.id, v.seq);
    const cutoff = Date.now() - KEY_STAMP_KEEP_MS;
    for (const [name, v] of await this.storage.list({ prefix: "k:" })) {
      if (v.at < cutoff) await this.storage.delete(name);
      else this.keys.set(v.id, v);
    }
  }

  async fetch(request) {
    const body = await request.json();
    switch (new URL(request.url).pathname) {
      case "/sync": return Response.json(this.#sync(body));
      case "/changes": return Response.json(this.#changes(body));
      case "/apply": return Response.json(await this.#apply(body));
      case "/lock": return Response.json(this.#lock(body));
      case "/unlock": return Response.json(this.#unlock(body));
      default: return new Response("not found", { status: 404 });
    }
  }

  /** What changed since (epoch, version): the log's batches, or the whole state. */
  #sync({ epoch, version }) {
    const first = this.log.length > 0 ? this.log[0].version : this.version + 1;
    if (epoch === this.epoch && version >= first - 1 && version <= this.version) {
      return { epoch: this.epoch, version: this.version, batches: this.log.filter((b) => b.version > version) };
    }
    return {
      epoch: this.epoch, version: this.version, reset: true,
      tags: Object.fromEntries(this.tags),
      keys: Object.fromEntries(Array.from(this.keys, ([id, v]) => [id, v.seq])),
    };
  }

  /**
   * The log's batches after (epoch, version), for a warm start: no stamps
   * (it replays them into L1 only); `gone` when the log no longer holds
   * them all.
   */
  #changes({ epoch, version }) {
    const first = this.log.length > 0 ? this.log[0].version : this.version + 1;
    if (epoch !== this.epoch || !Number.isSafeInteger(version) || version < first - 1 || version > this.version) {
      return { epoch: this.epoch, version: this.version, gone: true };
    }
    const batches = this.log.slice(version - first + 1).map((b) => ({ version: b.version, origin: b.origin, keys: b.keys, tags: b.tags }));
    return { epoch: this.epoch, version: this.version, batches };
  }

  /**
   * Orders a batch: a seq for each op, the stamps it sets, the ids a
   * cascade removed (the isolate deletes them from its store), and one log
   * batch for the other isolates.
   */
  async #apply({ origin, ops }) {
    const now = Date.now();
    const out = { seqs: [], removed: [], tags: {}, keys: {} };
    const message = { origin, keys: [], tags: [], tagStamps: {}, keyStamps: {} };
    for (const op of ops) {
      const seq = ++this.seq;
      out.seqs.push(seq);
      let removed = [];
      if (op.type === "set") {
        if (op.change) {
          removed = await this.#cascade(op.id, false, message.keys);
          this.#stampKey(op.id, seq, now, message);
          message.keys.push(op.key);
        }
        await this.#addEdges(op.id, op.key, op.depIds, op.ttl > 0 ? now + op.ttl : 0);
      } else if (op.type === "invalidate") {
        removed = await this.#cascade(op.id, true, message.keys);
        this.#stampKey(op.id, seq, now, message);
        message.keys.push(op.key);
      } else if (op.type === "invalidateTag") {
        this.tags.set(op.id, seq);
        await this.storage.put("t:" + (await storeName("", op.id)), { id: op.id, seq });
        message.tagStamps[op.id] = seq;
        message.tags.push(op.tag);
      }
      for (const id of removed) if (id !== op.id) this.#stampKey(id, seq, now, message);
      out.removed.push(removed);
    }
    for (const [id, v] of Object.entries(message.keyStamps)) await this.storage.put("k:" + (await storeName("", id)), { id, seq: v, at: now });
    await this.storage.put("seq", this.seq);
    if (message.keys.length > 0 || message.tags.length > 0) {
      this.version++;
      const batch = { version: this.version, ...message };
      this.log.push(batch);
      await this.storage.put(logName(batch.version), batch);
      await this.storage.put("version", this.version);
      if (this.log.length > LOG_MAX) await this.storage.delete(logName(this.log.shift().version));
    }
    out.tags = message.tagStamps;
    out.keys = message.keyStamps;
    out.version = this.version;
    out.epoch = this.epoch;
    return out;
  }

  #stampKey(id, seq, at, message) {
    this.keys.set(id, { id, seq, at });
    message.keyStamps[id] = seq;
  }

  async #addEdges(id, key, depIds, expiresAt) {
    for (const dep of depIds) {
      const name = "d:" + (await storeName("", dep));
      const edge = (await this.storage.get(name)) ?? { id: dep, parents: {} };
      const now = Date.now();
      for (const [p, parent] of Object.entries(edge.parents)) {
        const until = parentExpiry(parent);
        if (until !== 0 && until <= now) delete edge.parents[p];
      }
      edge.parents[id] = { x: expiresAt, k: key };
      await this.storage.put(name, edge);
    }
  }

  /**
   * The ids built on `root`, transitively (and `root` when asked); their
   * edges are dropped. The keys of the dependents (not of `root`) are pushed
   * onto `keys`: an isolate that holds a dependent but not the entries in
   * between cannot find it from `root` in its own L1.
   */
  async #cascade(root, withRoot, keys) {
    const queue = [root];
    const seen = new Set(queue);
    const removed = [];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i];
      if (id !== root || withRoot) removed.push(id);
      const name = "d:" + (await storeName("", id));
      const edge = await this.storage.get(name);
      if (edge === undefined) continue;
      await this.storage.delete(name);
      for (const [parent, v] of Object.entries(edge.parents)) {
        if (!seen.has(parent)) {
          seen.add(parent);
          queue.push(parent);
          if (typeof v === "object" && v !== null && v.k !== undefined) keys.push(v.k);
        }
      }
    }
    return removed;
  }

  /** The lock on `id`, or (`ifAbsent`) the value a load of it wrote since, if still current. */
  #lock({ id, ttl, ifAbsent = false }) {
    const stored = ifAbsent ? this.#loadedValue(id) : null;
    if (stored !== null) return { stored };
    const held = this.locks.get(id);
    if (held !== undefined && held.until > Date.now()) return { token: null };
    const token = randomId();
    this.locks.set(id, { token, until: Date.now() + ttl });
    return { token };
  }

  /** Releases the lock; `loaded` ({ frame: base64, s, t, x }): what its load wrote. */
  #unlock({ id, token, loaded }) {
    if (this.locks.get(id)?.token !== token) return { ok: true };
    this.locks.delete(id);
    const ok = loaded !== null && typeof loaded === "object" && typeof loaded.frame === "string" && Number.isFinite(loaded.s) &&
      Number.isFinite(loaded.x) && Array.isArray(loaded.t);
    if (ok && loaded.frame.length <= LOADED_MAX_CHARS / 10) this.#keepLoaded(id, { ...loaded, until: Date.now() + LOADED_KEEP_MS });
    return { ok: true };
  }

  /** Keeps a load's value; the oldest go first past their time or LOADED_MAX_CHARS. */
  #keepLoaded(id, value) {
    this.#dropLoaded(id);
    this.loaded.set(id, value);
    this.loadedChars += value.frame.length;
    const now = Date.now();
    for (const [oldest, v] of this.loaded) {
      if (v.until > now && this.loadedChars <= LOADED_MAX_CHARS) break;
      this.#dropLoaded(oldest);
    }
  }

  #dropLoaded(id) {
    const v = this.loaded.get(id);
    if (v === undefined) return;
    this.loaded.delete(id);
    this.loadedChars -= v.frame.length;
  }

  /** The kept frame of `id` (base64) when unexpired and stamped by nothing since its write, else null. */
  #loadedValue(id) {
    const v = this.loaded.get(id);
    if (v === undefined) return null;
    const now = Date.now();
    const current = v.until > now && (v.x === 0 || v.x > now) && (this.keys.get(id)?.seq ?? 0) <= v.s &&
      v.t.every((tag) => (this.tags.get(tag) ?? 0) <= v.s);
    if (current) return v.frame;
    this.#dropLoaded(id);
    return null;
  }
}
