// edgecache/deno: a shared tier on Deno KV, over a `Deno.Kv` the user opened
// (`await Deno.openKv(path)`; Deno needs `--unstable-kv`). Every process that
// opens the same file shares the entries and the invalidations.
//
// Layout under the prefix P (a list of key parts):
//   P "e" <id>            { v: entry bytes, x: expiresAt (ms, 0: none), t: tag key parts }
//   P "t" <tag>           a tag's last invalidation: only its versionstamp matters
//   P "d" <id> <parent>   a dependency edge: <parent> was built on <id>; the value is
//                         <parent>'s key, which a cascade's message carries (another
//                         process may hold <parent> without the entries in between)
//   P "dv" <id>           rewritten with every edge added to <id>: a cascade checks it
//   P "ver"               { n }: the number of invalidation messages written
//   P "log" <n>           message n { o: origin, k: keys, t: tags } (the last `logSize` are kept;
//                         a warm start replays them from the snapshot's position n: `changes`)
//   P "l" <id>            a load lock { token, until } (after a miss, committed with a
//                         check that the entry is still absent)
// An id longer than LONG_ID_BYTES is stored as its SHA-256 (a Uint8Array key
// part, which no string id can equal): Deno KV keys are at most 2 KiB.
//
// Order without clocks: Deno KV gives each commit a versionstamp that grows
// with every commit to the database, so an entry is hidden when one of its
// tags has a stamp written by a later commit. A batch is applied in commits
// in order; a tag invalidation never shares a commit with an earlier write
// of an entry carrying that tag, so equal versionstamps mean "written after".
//
// Coherence: `kv.watch` does not fire for another process's writes to a
// local file, so each subscriber polls "ver" every `pollInterval` ms (and
// watches it, which wakes it at once for writes in its own process), then
// reads the log records it has not seen. A record missing from the log (it
// fell more than `logSize` behind) or a "ver" that went back means it may have
// missed some: it reports `lost`. Writers of messages check "ver" in their
// commit, so the log has no holes.
//
// `expireIn` is not enforced on read (Deno KV deletes expired keys within a
// minute or so), so expiry is stored in the record and checked on read;
// `expireIn` only lets Deno KV reclaim the space.

import { randomId, sha256 } from "../tier/ids.js";

const DEFAULT_PREFIX = Object.freeze(["edgecache"]);
const DEFAULT_LOCK_TTL_MS = 5_000;
const DEFAULT_POLL_MS = 20;
/** Messages kept in the log by default: a subscriber further behind reports
 * `lost`, and a snapshot saved further back is not loaded. */
const DEFAULT_LOG_SIZE = 1_000;
/** Ids longer than this (UTF-8 bytes) are stored as their SHA-256. */
const LONG_ID_BYTES = 256;
/** Deno KV's limits on one commit (Deno 2.9): mutations, checks, bytes; one value; keys per getMany. */
const MAX_MUTATIONS = 1_000;
const MAX_CHECKS = 100;
const MAX_COMMIT_BYTES = 800 * 1024;
const MAX_VALUE_BYTES = 65_536;
const MAX_GET_MANY = 10;
/** Room kept in each commit for the message (ver, log record, log trim) and in a value for its fields. */
const MESSAGE_MUTATIONS = 3;
const MESSAGE_CHECKS = 1;
const RECORD_OVERHEAD_BYTES = 1_024;
/** Largest log record: bigger messages are written as "lost" (every subscriber drops its L1). */
const MAX_MESSAGE_BYTES = 60 * 1024;
/** Attempts at a commit whose checks fail because another process wrote meanwhile. */
const MAX_ATTEMPTS = 50;

const encoder = new TextEncoder();
/** What `get` returns for a record that is not one of ours: bytes no entry parser accepts. */
const NOT_AN_ENTRY = new Uint8Array(0);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The key part an id is stored under: the id, or the SHA-256 of a long one. */
async function idPart(id) {
  const bytes = encoder.encode(id);
  if (bytes.length <= LONG_ID_BYTES) return id;
  return sha256(bytes);
}

/** A string that is equal exactly when two key parts are (for sets of visited ids). */
const partName = (p) => (typeof p === "string" ? "s" + p : "b" + Array.from(p, (b) => b.toString(16).padStart(2, "0")).join(""));

const isPart = (p) => typeof p === "string" || p instanceof Uint8Array;
const isRecord = (r) => r !== null && typeof r === "object" && r.v instanceof Uint8Array &&
  typeof r.x === "number" && Array.isArray(r.t) && r.t.every(isPart);

function checkArguments(kv, options) {
  if (kv === null || typeof kv !== "object" || !["get", "getMany", "list", "atomic"].every((m) => typeof kv[m] === "function")) {
    throw new TypeError("kv must be a Deno.Kv (await Deno.openKv(path))");
  }
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const { prefix = DEFAULT_PREFIX, lockTtl = DEFAULT_LOCK_TTL_MS, pollInterval = DEFAULT_POLL_MS, logSize = DEFAULT_LOG_SIZE } = options;
  const parts = typeof prefix === "string" ? [prefix] : prefix;
  if (!Array.isArray(parts) || !parts.every((p) => ["string", "number", "bigint", "boolean"].includes(typeof p) || p instanceof Uint8Array)) {
    throw new TypeError("prefix must be a string or an array of Deno KV key parts");
  }
  for (const [name, v] of [["lockTtl", lockTtl], ["pollInterval", pollInterval]]) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer of ms; got ${v}`);
  }
  if (typeof logSize !== "number" || !Number.isInteger(logSize) || logSize < 1) throw new RangeError(`logSize must be a positive integer; got ${logSize}`);
  return { parts: [...parts], lockTtl, pollInterval, logSize };
}

/** The keys of the layout above, under `prefix`, and how many log records are kept. */
function layout(prefix, logSize) {
  return {
    logSize,
    entry: (p) => [...prefix, "e", p],
    tag: (p) => [...prefix, "t", p],
    edge: (p, parent) => [...prefix, "d", p, parent],
    edges: (p) => [...prefix, "d", p],
    edgeVersion: (p) => [...prefix, "dv", p],
    ver: [...prefix, "ver"],
    log: (n) => [...prefix, "log", n],
    lock: (p) => [...prefix, "l", p],
  };
}

/**
 * A shared tier on Deno KV.
 * @param {Deno.Kv} kv an open Deno KV database
 * @param {{ prefix?: string | Deno.KvKey, lockTtl?: number, pollInterval?: number, logSize?: number }} [options]
 * @returns {import("../index.d.ts").Tier & { close(): Promise<void> }}
 */
export function denoKvTier(kv, options = {}) {
  const { parts, lockTtl, pollInterval, logSize } = checkArguments(kv, options);
  const keys = layout(parts, logSize);
  const subscriptions = new Set();

  return {
    lockTtl,
    get: (id) => readEntry(kv, keys, id),
    apply: (ops, { origin = "", signal } = {}) => applyOps(kv, keys, ops, origin, signal),
    lock: (id, ttl, { ifAbsent = false } = {}) => takeLock(kv, keys, id, ttl, ifAbsent),
    changes: (after) => changes(kv, keys, after),
    subscribe(listener) {
      const stop = subscribe(kv, keys, listener, pollInterval);
      subscriptions.add(stop);
      return () => {
        subscriptions.delete(stop);
        return stop();
      };
    },
    /** Stops every subscription's polling and watching; call it (or free the caches) before `kv.close()`. */
    async close() {
      const all = [...subscriptions];
      subscriptions.clear();
      await Promise.all(all.map((stop) => stop()));
    },
  };
}

// ----- reads -----

async function readEntry(kv, keys, id) {
  return visible(kv, keys, await kv.get(keys.entry(await idPart(id))));
}

/** The bytes `get` answers for the entry record `got`: null when absent, expired or hidden by a later tag invalidation. */
async function visible(kv, keys, got) {
  if (got.value === null) return null;
  const rec = got.value;
  if (!isRecord(rec)) return NOT_AN_ENTRY;
  if (rec.x !== 0 && Date.now() >= rec.x) return null;
  for (let i = 0; i < rec.t.length; i += MAX_GET_MANY) {
    const stamps = await kv.getMany(rec.t.slice(i, i + MAX_GET_MANY).map(keys.tag));
    if (stamps.some((s) => s.versionstamp !== null && s.versionstamp > got.versionstamp)) return null;
  }
  return rec.v;
}

// ----- locks -----

/**
 * The lock, or null when another holds it. `ifAbsent`: the entry is read
 * with the lock (one getMany) and `{ stored }` answered when it is there;
 * else the commit checks that it is still as read, so no holder can write
 * its value and release the lock in between.
 */
async function takeLock(kv, keys, id, ttl, ifAbsent) {
  const p = await idPart(id);
  const key = keys.lock(p);
  const token = randomId();
  const ms = Math.max(1, Math.ceil(ttl));
  for (let attempt = 1; ; attempt++) {
    const [held, entry] = ifAbsent ? await kv.getMany([key, keys.entry(p)]) : [await kv.get(key), null];
    if (entry !== null) {
      const stored = await visible(kv, keys, entry);
      if (stored !== null) return { stored };
    }
    if (typeof held.value?.until === "number" && held.value.until > Date.now()) return null;
    const atomic = kv.atomic().check(held).set(key, { token, until: Date.now() + ms }, { expireIn: ms });
    if (entry !== null) atomic.check(entry);
    if (await commit(atomic)) return { release: () => releaseLock(kv, key, token) };
    await retryPause(attempt); // taken meanwhile (seen on the next reading) or the file was busy
  }
}

async function releaseLock(kv, key, token) {
  for (let attempt = 1; ; attempt++) {
    const held = await kv.get(key);
    if (held.value?.token !== token) return;
    if (await commit(kv.atomic().check(held).delete(key))) return;
    await retryPause(attempt);
  }
}

// ----- writes -----

/** Estimated size of a record holding `bytes` and `tagParts` (Deno KV refuses values over 64 KiB). */
const recordBytes = (bytes, tagParts) => bytes.length + RECORD_OVERHEAD_BYTES + tagParts.reduce((n, t) => n + 3 * t.length, 0);

/**
 * Applies `ops` in order. Plain writes (loads, fills) and tag invalidations
 * are grouped into as few commits as Deno KV's limits allow; an invalidation
 * or a change of a key reads the dependency edges and commits its cascade
 * with checks, retried when another process wrote meanwhile.
 */
async function applyOps(kv, keys, ops, origin, signal) {
  const group = new Group(kv, keys, origin);
  for (const op of ops) {
    if (signal?.aborted) throw signal.reason;
    if (op.type === "set") {
      const p = await idPart(op.id);
      const tagParts = await Promise.all(op.tagIds.map(idPart));
      const fits = recordBytes(op.bytes, tagParts) <= MAX_VALUE_BYTES;
      if (!op.change) {
        await group.addSet(fits ? { p, op, tagParts, depParts: await Promise.all(op.depIds.map(idPart)) } : { p, op: null });
      } else {
        await group.commit();
        const root = fits ? { op, tagParts, depParts: await Promise.all(op.depIds.map(idPart)) } : null;
        await cascade(kv, keys, p, root === null, root, { o: origin, k: [op.key], t: [] });
      }
    } else if (op.type === "invalidate") {
      await group.commit();
      await cascade(kv, keys, await idPart(op.id), true, null, { o: origin, k: [op.key], t: [] });
    } else if (op.type === "invalidateTag") {
      await group.addTag(await idPart(op.id), op.tag);
    } else {
      throw new TypeError(`unknown tier operation ${op?.type}`);
    }
  }
  await group.commit();
}

/** The mutations that store an entry and its dependency edges. */
function setMutations(keys, p, op, tagParts, depParts) {
  const ttl = op.ttl > 0 ? Math.ceil(op.ttl) : 0;
  const expiry = ttl > 0 ? { expireIn: ttl } : undefined;
  const out = [{ key: keys.entry(p), value: { v: op.bytes, x: ttl > 0 ? Date.now() + ttl : 0, t: tagParts }, expiry }];
  for (const d of depParts) {
    out.push({ key: keys.edge(d, p), value: op.key, expiry });
    out.push({ key: keys.edgeVersion(d), value: randomId(), expiry });
  }
  return out;
}

/** Adds `mutations` (`value` undefined: delete) to an atomic operation. */
function addMutations(atomic, mutations) {
  for (const m of mutations) {
    if (m.value === undefined) atomic.delete(m.key);
    else atomic.set(m.key, m.value, m.expiry);
  }
  return atomic;
}

/**
 * Writes of plain entries and tag stamps waiting to be committed together.
 * A tag invalidation after a write of an entry carrying that tag commits the
 * waiting writes first, so the stamp's versionstamp is the later one.
 */
class Group {
  constructor(kv, keys, origin) {
    this.kv = kv;
    this.keys = keys;
    this.origin = origin;
    this.reset();
  }

  reset() {
    this.mutations = [];
    this.bytes = 0;
    this.tagsWritten = new Set();
    this.tags = [];
  }

  async addSet({ p, op, tagParts, depParts }) {
    const mutations = op === null ? [{ key: this.keys.entry(p) }] : setMutations(this.keys, p, op, tagParts, depParts);
    // Each edge's value is the entry's key.
    const bytes = op === null ? 0 : op.bytes.length + RECORD_OVERHEAD_BYTES * mutations.length + depParts.length * 3 * JSON.stringify(op.key).length;
    await this.#makeRoom(mutations.length, bytes);
    this.mutations.push(...mutations);
    this.bytes += bytes;
    if (op !== null) for (const t of tagParts) this.tagsWritten.add(partName(t));
  }

  async addTag(p, tag) {
    if (this.tagsWritten.has(partName(p))) await this.commit();
    await this.#makeRoom(1, RECORD_OVERHEAD_BYTES);
    this.mutations.push({ key: this.keys.tag(p), value: true });
    this.bytes += RECORD_OVERHEAD_BYTES;
    this.tags.push(tag);
  }

  async #makeRoom(mutations, bytes) {
    if (this.mutations.length + mutations + MESSAGE_MUTATIONS > MAX_MUTATIONS || this.bytes + bytes + MAX_MESSAGE_BYTES > MAX_COMMIT_BYTES) {
      await this.commit();
    }
  }

  /** Commits what waits, with a message when it holds tag invalidations. */
  async commit() {
    if (this.mutations.length === 0) return;
    const message = this.tags.length > 0 ? { o: this.origin, k: [], t: this.tags } : null;
    for (let attempt = 1; ; attempt++) {
      const atomic = addMutations(this.kv.atomic(), this.mutations);
      if (message !== null) await addMessage(this.kv, this.keys, atomic, message);
      if (await commit(atomic)) break;
      await retryPause(attempt);
    }
    this.reset();
  }
}

/** SQLite's answer when two processes commit at once: the commit did nothing and may be tried again. */
const isBusy = (err) => /database is locked|database is busy/i.test(String(err?.message));

/** Commits `atomic`: true when it was applied, false when a check failed or the file was busy. */
async function commit(atomic) {
  try {
    return (await atomic.commit()).ok;
  } catch (err) {
    if (isBusy(err)) return false;
    throw err;
  }
}

async function retryPause(attempt) {
  if (attempt >= MAX_ATTEMPTS) throw new Error(`edgecache denoKvTier: a commit conflicted ${attempt} times`);
  await sleep(Math.random() * Math.min(8, attempt));
}

/**
 * Adds message number ver + 1 to `atomic`, with a check that "ver" did not
 * move meanwhile (the commit fails and is retried when it did), and drops the
 * message that falls out of the log.
 */
async function addMessage(kv, keys, atomic, message) {
  const ver = await kv.get(keys.ver);
  const n = (typeof ver.value?.n === "number" ? ver.value.n : 0) + 1;
  const record = JSON.stringify(message).length <= MAX_MESSAGE_BYTES ? message : { o: message.o, lost: true };
  atomic.check(ver).set(keys.ver, { n }).set(keys.log(n), record);
  if (n > keys.logSize) atomic.delete(keys.log(n - keys.logSize));
}

/**
 * Removes what was built on `rootPart`, transitively (and the root itself
 * when `withRoot`), then stores `root` (a change of the key) if given, and
 * writes `message`. The edges read are checked at commit through their
 * "dv" keys; a cascade too large for one commit is committed in parts, the
 * message in the last one. Another process's write in between restarts it.
 */
async function cascade(kv, keys, rootPart, withRoot, root, message) {
  for (let attempt = 1; ; attempt++) {
    const { nodes, dependents } = await readCascade(kv, keys, rootPart, withRoot);
    const tail = root === null ? [] : setMutations(keys, rootPart, root.op, root.tagParts, root.depParts);
    if (await commitCascade(kv, keys, nodes, tail, { ...message, k: [...message.k, ...dependents] })) return;
    await retryPause(attempt);
  }
}

/**
 * Every node reached from `rootPart` by the edges (its edge-version entry
 * and the deletions it needs), and the keys of the dependents reached.
 */
async function readCascade(kv, keys, rootPart, withRoot) {
  const queue = [rootPart];
  const seen = new Set([partName(rootPart)]);
  const nodes = [];
  const dependents = [];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i];
    const check = await kv.get(keys.edgeVersion(at));
    const mutations = at !== rootPart || withRoot ? [{ key: keys.entry(at) }] : [];
    for await (const e of kv.list({ prefix: keys.edges(at) })) {
      mutations.push({ key: e.key });
      const parent = e.key[e.key.length - 1];
      if (isPart(parent) && !seen.has(partName(parent))) {
        seen.add(partName(parent));
        queue.push(parent);
        if (e.value !== true) dependents.push(e.value); // edges written before keys were kept hold true
      }
    }
    nodes.push({ check, mutations });
  }
  return { nodes, dependents };
}

/**
 * Commits the cascade's nodes in parts within Deno KV's limits; false when a
 * check failed. A node whose deletions span parts is checked in each of them.
 */
async function commitCascade(kv, keys, nodes, tail, message) {
  const room = MAX_MUTATIONS - MESSAGE_MUTATIONS - tail.length;
  let atomic = kv.atomic();
  let checks = 0;
  let mutations = 0;
  for (const node of nodes) {
    let checked = false;
    for (let i = 0; i < node.mutations.length || !checked; ) {
      if (checks + 1 + MESSAGE_CHECKS > MAX_CHECKS || mutations >= room) {
        if (!(await commit(atomic))) return false;
        atomic = kv.atomic();
        checks = 0;
        mutations = 0;
        checked = false;
      }
      if (!checked) {
        atomic.check(node.check);
        checks++;
        checked = true;
      }
      const slice = node.mutations.slice(i, i + (room - mutations));
      addMutations(atomic, slice);
      mutations += slice.length;
      i += slice.length;
    }
  }
  addMutations(atomic, tail);
  await addMessage(kv, keys, atomic, message);
  return commit(atomic);
}

// ----- invalidations from other processes -----

/** The log records after `last` up to `n` ({ n, value }), or null when one of them is gone. */
async function readLog(kv, keys, last, n) {
  const out = [];
  for await (const e of kv.list({ start: keys.log(last + 1), end: keys.log(n + 1) })) out.push(e);
  if (out.length !== n - last || out[0]?.key[out[0].key.length - 1] !== last + 1) return null;
  return out.map((e) => ({ n: e.key[e.key.length - 1], value: e.value }));
}

/** Log record number `n` as a listener's message, or null when it is not a message (a loss). */
function asMessage(n, record) {
  if (record === null || typeof record !== "object" || record.lost || !Array.isArray(record.k) || !Array.isArray(record.t)) return null;
  return { origin: record.o, keys: record.k, tags: record.t, position: String(n) };
}

/** Passes one log record to the listener; anything that is not a message is treated as a loss. */
function deliver(listener, { n, value }) {
  const message = asMessage(n, value);
  if (message === null) listener.lost();
  else listener.invalidate(message);
}

/**
 * The messages after position `after` (a message number) and the last
 * number, or null when the log no longer holds them all or one of them was
 * too large to log (written as a loss).
 */
async function changes(kv, keys, after) {
  const ver = await kv.get(keys.ver);
  const n = typeof ver.value?.n === "number" ? ver.value.n : 0;
  if (after === undefined) return { position: String(n), messages: [] };
  const last = /^(0|[1-9][0-9]*)$/.test(after) ? Number(after) : NaN;
  if (!(last <= n)) return null;
  const records = last === n ? [] : await readLog(kv, keys, last, n);
  if (records === null) return null;
  const messages = [];
  for (const r of records) {
    const m = asMessage(r.n, r.value);
    if (m === null) return null;
    messages.push(m);
  }
  return { position: String(n), messages };
}

/**
 * Polls "ver" every `pollMs` (and on every change `kv.watch` reports, which
 * it does for this process's writes) and delivers the messages written since
 * the last poll. Returns a function that stops it and resolves once stopped.
 */
function subscribe(kv, keys, listener, pollMs) {
  let last = null;
  let closed = false;
  let timer;
  let running = null;
  let again = false;

  const poll = async () => {
    const ver = await kv.get(keys.ver);
    const n = typeof ver.value?.n === "number" ? ver.value.n : 0;
    if (last === null || n === last) {
      last = n;
      return;
    }
    const records = n > last ? await readLog(kv, keys, last, n) : null;
    last = n;
    if (records === null) listener.lost();
    else for (const r of records) deliver(listener, r);
  };

  const run = () => {
    if (closed) return;
    if (running !== null) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = poll().catch(() => {}).finally(() => {
      running = null;
      if (closed) return;
      if (again) {
        again = false;
        run();
      } else {
        timer = setTimeout(run, pollMs);
        globalThis.Deno?.unrefTimer?.(timer);
      }
    });
  };

  const watcher = watch(kv, keys, run);
  run();

  return async () => {
    closed = true;
    clearTimeout(timer);
    await watcher.stop();
    await running;
  };
}

/** Calls `onChange` whenever `kv.watch` reports a change of "ver" (this process's writes only). */
function watch(kv, keys, onChange) {
  if (typeof kv.watch !== "function") return { stop: async () => {} };
  let reader;
  try {
    reader = kv.watch([keys.ver]).getReader();
  } catch {
    return { stop: async () => {} };
  }
  const done = (async () => {
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
      onChange();
    }
  })().catch(() => {});
  return {
    async stop() {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}
