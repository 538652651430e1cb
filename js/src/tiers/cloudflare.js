// edgecache/cloudflare: shared tiers for Workers on Workers KV (`kvTier`) or
// the Cache API (`cacheApiTier`), kept coherent across isolates by a Durable
// Object the user exports and binds (`EdgecacheCoordinator`, see
// cloudflare-coordinator.js for why a Durable Object).
//
// - Values live in the store (KV or the Cache API) under the prefix, framed as
//   [u32 LE n][n bytes of JSON { s: seq, t: tag ids, x: expiresAt, i: id }][entry bytes].
//   Metadata travels in the value, not in KV metadata (1 KiB at most) or headers.
// - Every write and invalidation goes to the coordinator first (one fetch per
//   batch): it assigns the write's seq, stamps tags and keys, keeps dependency
//   edges and returns the ids a cascade removed, which the tier then deletes.
// - A read is served only if nothing stamped after its write: no tag it
//   carries and no change of its id since. The stamps come from the
//   coordinator, so a value KV still holds somewhere (KV spreads deletes
//   within about 60 s) or a copy in another colo's Cache API is never served
//   after its invalidation.
// - Isolates cannot be pushed to (an idle isolate is unreachable), so each one
//   polls the coordinator at most every `pollInterval` ms, on the request
//   path: in `sync()` (call it at the top of each request) and before every
//   store read. A poll returns the invalidations since the last one; they are
//   applied to L1 before the request goes on. The staleness bound is thus
//   `pollInterval` after the invalidating isolate's write reached the
//   coordinator (flush() or writeThrough resolved). A poll that fails is
//   retried on the next request after `pollInterval`; the log lets the
//   isolate catch up when it succeeds, and an isolate that fell behind the log
//   (or meets a coordinator whose storage was lost: a new epoch) drops its L1.
// - The log is also the tier's `changes`: a warm start replays it from its
//   snapshot's position "<epoch>:<version>" (the coordinator keeps it in its
//   storage, LOG_MAX batches).

import { EdgecacheCoordinator, storeName } from "./cloudflare-coordinator.js";

export { EdgecacheCoordinator };

const DEFAULT_PREFIX = "edgecache:";
/** Poll period: one small coordinator call per isolate per second at most. */
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_LOCK_TTL_MS = 5_000;
/** KV refuses an expirationTtl under 60 s. */
const KV_MIN_TTL_S = 60;
/** KV keys are 512 bytes at most. */
const KV_MAX_KEY_BYTES = 512;
/** Cache API entries with no expiry are kept for a year (the Cache API needs a max-age). */
const FOREVER_S = 365 * 24 * 3600;
const DEFAULT_BASE_URL = "https://edgecache.internal/";
/** What a read returns for a frame it cannot parse: bytes no entry decoder accepts (a tierErrors miss). */
const UNREADABLE = new Uint8Array(0);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(meta, bytes) {
  const json = encoder.encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + json.length + bytes.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(bytes, 4 + json.length);
  return out;
}

/** The frame's metadata and entry bytes, or null when it is not a frame. */
function unframe(buf) {
  const bytes = new Uint8Array(buf);
  if (bytes.length < 4) return null;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (bytes.length < 4 + n) return null;
  let meta;
  try {
    meta = JSON.parse(decoder.decode(bytes.subarray(4, 4 + n)));
  } catch {
    return null;
  }
  const ok = meta !== null && typeof meta === "object" && Number.isFinite(meta.s) && Number.isFinite(meta.x) &&
    typeof meta.i === "string" && Array.isArray(meta.t) && meta.t.every((t) => typeof t === "string");
  return ok ? { meta, bytes: bytes.subarray(4 + n) } : null;
}

function checkCommon(options) {
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object with a coordinator");
  const { coordinator, prefix = DEFAULT_PREFIX, pollInterval = DEFAULT_POLL_MS, lockTtl = DEFAULT_LOCK_TTL_MS } = options;
  if (coordinator === null || typeof coordinator !== "object" || typeof coordinator.idFromName !== "function" || typeof coordinator.get !== "function") {
    throw new TypeError("options.coordinator must be the Durable Object namespace bound to EdgecacheCoordinator (env.EDGECACHE)");
  }
  if (typeof prefix !== "string") throw new TypeError("options.prefix must be a string");
  if (typeof pollInterval !== "number" || !Number.isFinite(pollInterval) || pollInterval < 0) {
    throw new RangeError(`options.pollInterval must be a number of ms >= 0; got ${pollInterval}`);
  }
  if (typeof lockTtl !== "number" || !Number.isInteger(lockTtl) || lockTtl < 1) throw new RangeError(`options.lockTtl must be a positive integer of ms; got ${lockTtl}`);
  return { coordinator, prefix, pollInterval, lockTtl };
}

/**
 * A shared tier on Workers KV.
 * @param {KVNamespace} kv the KV binding (env.KV)
 * @param {{ coordinator: DurableObjectNamespace, prefix?: string, pollInterval?: number, lockTtl?: number }} options
 */
export function kvTier(kv, options) {
  if (kv === null || typeof kv !== "object" || typeof kv.get !== "function" || typeof kv.put !== "function" || typeof kv.delete !== "function") {
    throw new TypeError("kv must be a Workers KV binding (env.KV)");
  }
  const common = checkCommon(options);
  const name = (id) => storeName(common.prefix, id, KV_MAX_KEY_BYTES);
  return coordinatedTier(common, {
    read: async (id) => kv.get(await name(id), { type: "arrayBuffer" }),
    // KV's shortest TTL is 60 s; the frame's expiresAt ends the entry on time.
    write: async (id, bytes, ttl) =>
      kv.put(await name(id), bytes, ttl > 0 ? { expirationTtl: Math.max(KV_MIN_TTL_S, Math.ceil(ttl / 1000)) } : {}),
    remove: async (id) => kv.delete(await name(id)),
  });
}

/**
 * A shared tier on the Cache API (per colo: `caches.default` or `await caches.open(name)`).
 * @param {Cache} cache
 * @param {{ coordinator: DurableObjectNamespace, prefix?: string, pollInterval?: number, lockTtl?: number, baseUrl?: string }} options
 */
export function cacheApiTier(cache, options) {
  if (cache === null || typeof cache !== "object" || typeof cache.match !== "function" || typeof cache.put !== "function" || typeof cache.delete !== "function") {
    throw new TypeError("cache must be a Cache API cache (caches.default or await caches.open(name))");
  }
  const common = checkCommon(options);
  const base = options.baseUrl ?? DEFAULT_BASE_URL;
  if (typeof base !== "string" || !URL.canParse(base)) throw new TypeError(`options.baseUrl must be an absolute URL; got ${String(base)}`);
  const url = async (id) => new URL(encodeURIComponent(await storeName(common.prefix, id)), base).href;
  return coordinatedTier(common, {
    read: async (id) => {
      const res = await cache.match(await url(id));
      return res === undefined ? null : res.arrayBuffer();
    },
    // The Cache API keeps nothing without a max-age; the frame's expiresAt ends the entry to the ms.
    write: async (id, bytes, ttl) => {
      const maxAge = ttl > 0 ? Math.ceil(ttl / 1000) : FOREVER_S;
      await cache.put(await url(id), new Response(bytes, { headers: { "cache-control": `max-age=${maxAge}`, "content-type": "application/octet-stream" } }));
    },
    remove: async (id) => {
      await cache.delete(await url(id));
    },
  });
}

/** Bytes turned into a string per String.fromCharCode call (its arguments are bounded). */
const BASE64_CHUNK = 0x8000;
/** A load's frame is handed to the coordinator up to this size: it keeps base64
 * frames up to a tenth of its 8 MiB (cloudflare-coordinator.js, LOADED_MAX_CHARS). */
const MAX_HANDED_BYTES = 600 * 1024;

/** Bytes as base64 (the coordinator is reached with JSON bodies). */
function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += BASE64_CHUNK) text += String.fromCharCode.apply(null, bytes.subarray(i, i + BASE64_CHUNK));
  return btoa(text);
}

function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The Tier both stores share: reads checked against stamps, writes ordered by the coordinator. */
function coordinatedTier({ coordinator, prefix, pollInterval, lockTtl }, store) {
  const link = coordinatorLink(coordinator, prefix, pollInterval);
  /** Locks this isolate holds: id → what its load wrote ({ frame, s, t, x }), handed over on unlock. */
  const held = new Map();

  return {
    lockTtl,
    // On the request path: a coordinator that cannot be reached must not fail the request.
    sync: () => link.sync().catch(() => {}),

    async get(id) {
      // The poll and the read run side by side: the stamps are checked once both are in.
      const [, buf] = await Promise.all([link.sync(), store.read(id)]);
      if (buf === null || buf === undefined) return null;
      const framed = unframe(buf);
      if (framed === null) return UNREADABLE;
      const { meta, bytes } = framed;
      if (meta.i !== id) return null; // another id under the same hashed name
      if (meta.x !== 0 && Date.now() >= meta.x) return null;
      if (!link.fresh(id, meta.s, meta.t)) return null;
      return bytes;
    },

    async apply(ops, { origin = "" } = {}) {
      if (ops.length === 0) return;
      const plan = await link.apply(origin, ops);
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        if (op.type === "set") {
          const meta = { i: op.id, s: plan.seqs[i], t: op.tagIds, x: op.ttl > 0 ? Date.now() + op.ttl : 0 };
          const bytes = frame(meta, op.bytes);
          await store.write(op.id, bytes, op.ttl);
          // A load's write under this isolate's lock: the coordinator keeps it on unlock (see lock).
          const slot = held.get(op.id);
          if (slot !== undefined && bytes.length <= MAX_HANDED_BYTES) slot.loaded = { frame: toBase64(bytes), s: meta.s, t: meta.t, x: meta.x };
        }
        await Promise.all(plan.removed[i].map((r) => store.remove(r)));
      }
    },

    subscribe(listener) {
      return link.listen(listener);
    },

    changes: (after) => link.changes(after),

    /**
     * The coordinator's lock on `id`. The coordinator cannot read KV, so a
     * load hands what it wrote over with its unlock, and with `ifAbsent` a
     * lock taken after that whole load gets it instead (`{ stored }`).
     */
    async lock(id, ttl, { ifAbsent = false } = {}) {
      const { token, stored } = await link.call("/lock", { id, ttl, ifAbsent });
      if (typeof stored === "string") {
        const framed = unframe(fromBase64(stored));
        if (framed !== null && framed.meta.i === id) return { stored: framed.bytes };
        return this.lock(id, ttl);
      }
      if (token === null) return null;
      const slot = { loaded: null };
      held.set(id, slot);
      return {
        release: () => {
          if (held.get(id) === slot) held.delete(id);
          return link.call("/unlock", { id, token, loaded: slot.loaded });
        },
      };
    },
  };
}

/**
 * This isolate's view of the coordinator: its stamps, the last version it
 * has applied, and the listeners it hands invalidations to.
 */
function coordinatorLink(namespace, prefix, pollInterval) {
  const tags = new Map();
  const keys = new Map();
  const listeners = new Set();
  let epoch = null;
  let version = 0;
  let checkedAt = -Infinity;
  let polling = null;

  // A stub per call: a stub made in one request must not be used by another.
  const call = async (path, body) => {
    const stub = namespace.get(namespace.idFromName(prefix));
    const res = await stub.fetch("https://coordinator" + path, { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`edgecache: the coordinator answered ${res.status} to ${path}`);
    return res.json();
  };

  const merge = (tagStamps, keyStamps) => {
    for (const [id, s] of Object.entries(tagStamps)) if (s > (tags.get(id) ?? 0)) tags.set(id, s);
    for (const [id, s] of Object.entries(keyStamps)) if (s > (keys.get(id) ?? 0)) keys.set(id, s);
  };

  const deliver = (batch, at) => {
    const message = { origin: batch.origin, keys: batch.keys, tags: batch.tags, position: `${at}:${batch.version}` };
    for (const l of listeners) l.invalidate(message);
  };

  const absorb = (r) => {
    if (r.reset) {
      const hadState = epoch !== null;
      tags.clear();
      keys.clear();
      merge(r.tags, r.keys);
      if (hadState) for (const l of listeners) l.lost();
    } else {
      for (const b of r.batches) {
        merge(b.tagStamps, b.keyStamps);
        deliver(b, r.epoch);
      }
    }
    epoch = r.epoch;
    version = r.version;
  };

  const poll = async () => {
    const started = Date.now();
    try {
      absorb(await call("/sync", { epoch, version }));
    } finally {
      checkedAt = started;
    }
  };

  return {
    call,
    /** Polls the coordinator if the last poll began `pollInterval` ms ago or more. */
    sync() {
      if (Date.now() - checkedAt < pollInterval) return Promise.resolve();
      polling ??= poll().finally(() => {
        polling = null;
      });
      return polling;
    },
    /** Whether an entry written at `seq` with `tagIds` is not hidden by a later stamp. */
    fresh(id, seq, tagIds) {
      if ((keys.get(id) ?? 0) > seq) return false;
      return tagIds.every((t) => (tags.get(t) ?? 0) <= seq);
    },
    async apply(origin, ops) {
      const summary = ops.map((op) => (op.type === "set"
        ? { type: "set", id: op.id, key: op.key, ttl: op.ttl, depIds: op.depIds, change: op.change }
        : op));
      const plan = await call("/apply", { origin, ops: summary });
      // This isolate's own stamps hold at once; its log position moves only by polls.
      merge(plan.tags, plan.keys);
      return plan;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * Without `after`: the position this isolate's listeners have been
     * given every batch up to (after a poll, if one is due). With it: the
     * coordinator's batches after it, or null when its log no longer
     * holds them all.
     */
    async changes(after) {
      if (after === undefined) {
        await this.sync();
        if (epoch === null) throw new Error("edgecache: the coordinator was not reached yet");
        return { position: `${epoch}:${version}`, messages: [] };
      }
      const at = after.lastIndexOf(":");
      const from = { epoch: after.slice(0, at), version: Number(after.slice(at + 1)) };
      if (at < 0 || !Number.isSafeInteger(from.version)) return null;
      const r = await call("/changes", from);
      if (r.gone) return null;
      const messages = r.batches.map((b) => ({ origin: b.origin, keys: b.keys, tags: b.tags, position: `${r.epoch}:${b.version}` }));
      return { position: `${r.epoch}:${r.version}`, messages };
    },
  };
}
