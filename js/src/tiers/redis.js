// edgecache/redis: a shared tier on Redis, over a node-redis client the user
// created and connected (`await createClient({ url }).connect()`).
//
// Layout under the prefix P:
//   P e:<id>   hash { v: entry bytes, s: write sequence, t: tag ids (JSON), k: the key (JSON) },
//              PEXPIRE = entry lifetime + windows; a cascade puts the keys of the
//              dependents it removes in its message (another process may hold a
//              dependent without the entries between it and the root)
//   P d:<id>   set of the ids built on <id> (dependency edges), expiring with the longest of them
//   P t:<tag>  the write sequence at the tag's last invalidation (no expiry)
//   P seq      the write sequence: orders writes against tag invalidations
//   P ver      the number of invalidation messages published (gap detection)
//   P log      list of the last `logSize` messages as published (RPUSH + LTRIM in
//              the script that publishes): a warm start replays it from the
//              snapshot's position "<epoch>:<ver>" (`changes`)
//   P epoch    a random id, set with "ver" (0) when there is none, and anew by the
//              script that publishes when "ver" is gone (the count starts again):
//              a new one means the server lost its data; messages carry it
//   P l:<id>   a load lock (SET NX PX; after a miss, in a script that answers
//              the entry instead when it is there by then)
//   P inv      the pub/sub channel of invalidations
//
// A batch of operations runs as one Lua script: atomic, in order, one round
// trip, and one message per batch to the other processes. Invalidations
// travel by pub/sub, not client tracking: a message carries the keys and
// tags as the cache knows them (tracking reports Redis key names, and says
// nothing about a tag, which changes no entry's key), and a version number
// that lets a subscriber tell that it missed one.

import { Buffer } from "node:buffer";
import { randomId } from "../tier/ids.js";

/** RESP's type byte for a bulk string ("$"): mapped to Buffer so values keep their bytes. */
const RESP_BLOB_STRING = 36;
const BINARY = { typeMapping: { [RESP_BLOB_STRING]: Buffer } };
const DEFAULT_PREFIX = "edgecache:";
const DEFAULT_LOCK_TTL_MS = 5_000;
/** Messages the log keeps by default: a snapshot saved further back than this is not loaded. */
const DEFAULT_LOG_SIZE = 10_000;
/** How soon a failed check of the channel's version is tried again. */
const RECHECK_MS = 200;

// visible(entry key, prefix): the entry's bytes, or false when it is absent
// or a tag it carries was invalidated after it was written.
const VISIBLE = `
local function visible(ek, p)
  local r = redis.call('HMGET', ek, 'v', 's', 't')
  if not r[1] then return false end
  if r[3] and #r[3] > 2 then
    local s = tonumber(r[2])
    for _, t in ipairs(cjson.decode(r[3])) do
      local st = redis.call('GET', p .. 't:' .. t)
      if st and tonumber(st) > s then return false end
    end
  end
  return r[1]
end`;

const GET = `${VISIBLE}
return visible(KEYS[1], ARGV[1])`;

// The lock unless the entry is there (one atomic step: no holder can write
// its value and release the lock between the check and the SET): the
// entry's bytes, 1 when the lock was taken, 0 when another holds it.
// KEYS: entry, lock; ARGV: prefix, token, ttl.
const LOCK_IF_ABSENT = `${VISIBLE}
local v = visible(KEYS[1], ARGV[1])
if v then return v end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0`;

// ARGV: prefix, origin, op count, log size, an epoch to set if the count starts again, then per op:
//   "s" id keyJson bytes ttl tagIdsJson depIdsJson change   (set)
//   "i" id keyJson                                         (invalidate)
//   "t" tagId tagJson                                      (invalidate a tag)
const APPLY = `
local p, origin, n, logSize, newEpoch = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local keys, tags = {}, {}
local function cascade(root, withRoot)
  local queue, seen, head = {root}, {[root] = true}, 1
  while head <= #queue do
    local id = queue[head]
    head = head + 1
    if id ~= root then
      local k = redis.call('HGET', p .. 'e:' .. id, 'k')
      if k then keys[#keys + 1] = k end
    end
    if id ~= root or withRoot then redis.call('DEL', p .. 'e:' .. id) end
    local dk = p .. 'd:' .. id
    for _, parent in ipairs(redis.call('SMEMBERS', dk)) do
      if not seen[parent] then
        seen[parent] = true
        queue[#queue + 1] = parent
      end
    end
    redis.call('DEL', dk)
  end
end
local i = 6
for _ = 1, n do
  local kind = ARGV[i]
  if kind == 's' then
    local id, ttl = ARGV[i + 1], tonumber(ARGV[i + 4])
    if ARGV[i + 7] == '1' then
      cascade(id, false)
      keys[#keys + 1] = ARGV[i + 2]
    end
    local seq = redis.call('INCR', p .. 'seq')
    local ek = p .. 'e:' .. id
    redis.call('DEL', ek)
    redis.call('HSET', ek, 'v', ARGV[i + 3], 's', seq, 't', ARGV[i + 5], 'k', ARGV[i + 2])
    if ttl > 0 then redis.call('PEXPIRE', ek, ttl) end
    for _, d in ipairs(cjson.decode(ARGV[i + 6])) do
      local dk = p .. 'd:' .. d
      local existed = redis.call('EXISTS', dk)
      redis.call('SADD', dk, id)
      if ttl == 0 then
        redis.call('PERSIST', dk)
      elseif existed == 0 then
        redis.call('PEXPIRE', dk, ttl)
      else
        local left = redis.call('PTTL', dk)
        if left >= 0 and left < ttl then redis.call('PEXPIRE', dk, ttl) end
      end
    end
    i = i + 8
  elseif kind == 'i' then
    cascade(ARGV[i + 1], true)
    keys[#keys + 1] = ARGV[i + 2]
    i = i + 3
  elseif kind == 't' then
    redis.call('SET', p .. 't:' .. ARGV[i + 1], redis.call('INCR', p .. 'seq'))
    tags[#tags + 1] = ARGV[i + 2]
    i = i + 3
  else
    return redis.error_reply('edgecache: unknown operation ' .. tostring(kind))
  end
end
if #keys > 0 or #tags > 0 then
  -- A count that starts again (FLUSHALL, "ver" evicted) starts a new epoch,
  -- so that no position "<epoch>:<ver>" names two messages.
  local e
  if redis.call('EXISTS', p .. 'ver') == 0 then
    e = newEpoch
    redis.call('SET', p .. 'epoch', e)
    redis.call('DEL', p .. 'log')
  else
    e = redis.call('GET', p .. 'epoch')
    if not e then
      e = newEpoch
      redis.call('SET', p .. 'epoch', e)
    end
  end
  local ver = redis.call('INCR', p .. 'ver')
  local message = '{"o":' .. cjson.encode(origin) .. ',"e":' .. cjson.encode(e) .. ',"v":' .. ver ..
    ',"k":[' .. table.concat(keys, ',') .. '],"t":[' .. table.concat(tags, ',') .. ']}'
  redis.call('PUBLISH', p .. 'inv', message)
  redis.call('RPUSH', p .. 'log', message)
  redis.call('LTRIM', p .. 'log', -logSize, -1)
end
return n`;

// The log after a position: { epoch, ver, the messages after `after` }, or
// false when the log no longer holds them all (another epoch, trimmed, or
// ahead of ver). ARGV: prefix, an epoch to set if there is none, the
// position's epoch ("" for the head only) and version.
const CHANGES = `
local p = ARGV[1]
if redis.call('SET', p .. 'epoch', ARGV[2], 'NX') then redis.call('SET', p .. 'ver', 0, 'NX') end
local e = redis.call('GET', p .. 'epoch')
local ver = tonumber(redis.call('GET', p .. 'ver') or '0')
if ARGV[3] == '' then return {e, ver, {}} end
local after = tonumber(ARGV[4])
if ARGV[3] ~= e or after == nil or after > ver then return false end
if after == ver then return {e, ver, {}} end
if redis.call('LLEN', p .. 'log') < ver - after then return false end
return {e, ver, redis.call('LRANGE', p .. 'log', after - ver, -1)}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Runs a Lua script by its SHA, loading it when the server does not know it (after a restart). */
function scriptRunner(client) {
  const shas = new Map();
  return async function run(script, keys, args, options) {
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = String(await client.sendCommand(["SCRIPT", "LOAD", script]));
      shas.set(script, sha);
    }
    const command = (name, body) => [name, body, String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand(command("EVALSHA", sha), options);
    } catch (err) {
      if (!/NOSCRIPT/.test(String(err?.message))) throw err;
      return client.sendCommand(command("EVAL", script), options);
    }
  };
}

function opArgs(op) {
  switch (op.type) {
    case "set":
      return ["s", op.id, JSON.stringify(op.key), Buffer.from(op.bytes.buffer, op.bytes.byteOffset, op.bytes.byteLength),
        String(Math.max(0, Math.ceil(op.ttl))), JSON.stringify(op.tagIds), JSON.stringify(op.depIds), op.change ? "1" : "0"];
    case "invalidate":
      return ["i", op.id, JSON.stringify(op.key)];
    case "invalidateTag":
      return ["t", op.id, JSON.stringify(op.tag)];
    default:
      throw new TypeError(`unknown tier operation ${op.type}`);
  }
}

/**
 * A shared tier on Redis.
 * @param {import("redis").RedisClientType} client a connected node-redis client
 * @param {{ prefix?: string, lockTtl?: number, logSize?: number }} [options]
 * @returns {import("../index.d.ts").Tier}
 */
export function redisTier(client, options = {}) {
  if (client === null || typeof client !== "object" || typeof client.sendCommand !== "function" || typeof client.duplicate !== "function") {
    throw new TypeError("client must be a node-redis client (createClient() from the redis package)");
  }
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const { prefix = DEFAULT_PREFIX, lockTtl = DEFAULT_LOCK_TTL_MS, logSize = DEFAULT_LOG_SIZE } = options;
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  if (typeof lockTtl !== "number" || !Number.isInteger(lockTtl) || lockTtl < 1) throw new RangeError(`lockTtl must be a positive integer of ms; got ${lockTtl}`);
  if (typeof logSize !== "number" || !Number.isInteger(logSize) || logSize < 1) throw new RangeError(`logSize must be a positive integer; got ${logSize}`);
  const run = scriptRunner(client);
  const channel = prefix + "inv";

  return {
    lockTtl,

    async get(id, { signal } = {}) {
      const r = await run(GET, [prefix + "e:" + id], [prefix], { ...BINARY, abortSignal: signal });
      if (r === null || r === undefined || r === false) return null;
      return new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
    },

    async apply(ops, { origin = "", signal } = {}) {
      if (ops.length === 0) return;
      await run(APPLY, [], [prefix, origin, String(ops.length), String(logSize), randomId(), ...ops.flatMap(opArgs)], { abortSignal: signal });
    },

    async changes(after, { signal } = {}) {
      const at = after === undefined ? null : parsePosition(after);
      if (after !== undefined && at === null) return null;
      return readChanges(run, prefix, at, signal);
    },

    async lock(id, ttl, { signal, ifAbsent = false } = {}) {
      const key = prefix + "l:" + id;
      const token = randomId();
      const px = String(Math.ceil(ttl));
      if (ifAbsent) {
        const r = await run(LOCK_IF_ABSENT, [prefix + "e:" + id, key], [prefix, token, px], { ...BINARY, abortSignal: signal });
        if (r instanceof Uint8Array) return { stored: new Uint8Array(r.buffer, r.byteOffset, r.byteLength) };
        if (Number(r) !== 1) return null;
      } else {
        const ok = await client.sendCommand(["SET", key, token, "NX", "PX", px], { abortSignal: signal });
        if (ok === null) return null;
      }
      return { release: () => run(RELEASE, [key], [token]) };
    },

    subscribe(listener) {
      return subscribe(client, run, prefix, channel, listener);
    },
  };
}

/**
 * The log after `at` ({ epoch, ver }; null: the head only) as `changes`
 * answers it, or null when the log no longer holds every message after it.
 */
async function readChanges(run, prefix, at, signal) {
  const r = await run(CHANGES, [], [prefix, randomId(), at?.epoch ?? "", String(at?.ver ?? 0)], { abortSignal: signal });
  if (!Array.isArray(r)) return null;
  const [epoch, ver, logged] = r;
  const messages = [];
  let expect = (at?.ver ?? Number(ver)) + 1;
  for (const text of logged) {
    const m = parseMessage(text, String(epoch));
    // Every message after `after`, each once, in order, of this epoch: else the log has a hole.
    if (m === null || m.v !== expect++ || (m.epoch !== null && m.epoch !== String(epoch))) return null;
    messages.push(m.message);
  }
  return { position: `${epoch}:${Number(ver)}`, messages };
}

/** A position "<epoch>:<ver>" as `changes` writes them, or null. */
function parsePosition(position) {
  const at = typeof position === "string" ? position.lastIndexOf(":") : -1;
  const digits = at < 0 ? "" : position.slice(at + 1);
  const ver = /^(0|[1-9][0-9]*)$/.test(digits) ? Number(digits) : NaN;
  return Number.isSafeInteger(ver) ? { epoch: position.slice(0, at), ver } : null;
}

/** A published message as the listener gets it (with its log position: the
 * epoch it carries, else `epoch` when known), its version and its epoch
 * (null when it carries none); null when it is not one. */
function parseMessage(text, epoch) {
  let m;
  try {
    m = JSON.parse(String(text));
  } catch {
    return null;
  }
  if (typeof m?.v !== "number") return null;
  const own = typeof m.e === "string" ? m.e : null;
  const message = { origin: m.o, keys: m.k, tags: m.t };
  if ((own ?? epoch) !== null) message.position = `${own ?? epoch}:${m.v}`;
  return { v: m.v, epoch: own, message };
}

/**
 * Listens on the channel through a duplicate connection. A version number
 * in every message and a check after each (re)connection tell whether a
 * message was missed; the listener is told (`lost`) whenever one may have
 * been: a gap, a version that moved while disconnected, a server that lost
 * its data (a new epoch), or a connection that could not be checked.
 */
function subscribe(client, run, prefix, channel, listener) {
  const sub = client.duplicate();
  // The count when the cache subscribes, read on the main connection ahead of
  // any read of the cache's: the messages published before the channel is up
  // (a connection and a SUBSCRIBE later) are read from the log then, since a
  // value read meanwhile may be one of theirs.
  const before = client.sendCommand(["MGET", prefix + "epoch", prefix + "ver"]).catch(() => null);
  let lastVer = null;
  let epoch = null;
  let connected = false;
  let closed = false;
  // Messages the channel brings before the first check has delivered what
  // was published before it: held, then delivered after those, so a later
  // message's position never moves past a missed change not yet applied.
  let held = [];

  const onMessage = (text) => {
    if (held !== null) return void held.push(text);
    deliver(text);
  };

  const deliver = (text) => {
    const m = parseMessage(text, epoch);
    if (m === null) return;
    if (m.epoch !== null && epoch !== null && m.epoch !== epoch) {
      // The server started counting again (it lost its data: FLUSHALL, a
      // restart, eviction) without this connection dropping.
      epoch = m.epoch;
      lastVer = m.v;
      listener.lost();
      listener.invalidate(m.message);
      return;
    }
    if (lastVer !== null && m.v > lastVer + 1) listener.lost();
    if (lastVer === null || m.v > lastVer) lastVer = m.v;
    listener.invalidate(m.message);
  };

  /** Reads the epoch and version; after a reconnection (`again`), a change
   * since the last reading means messages may have been missed. A reading
   * that fails is retried: while the server is unreachable nobody can
   * publish through it, so what this isolate holds stays valid meanwhile. */
  const check = async (again) => {
    if (closed) return;
    try {
      if ((await client.sendCommand(["SET", prefix + "epoch", randomId(), "NX"])) !== null) {
        await client.sendCommand(["SET", prefix + "ver", "0", "NX"]);
      }
      const [e, v] = await client.sendCommand(["MGET", prefix + "epoch", prefix + "ver"]);
      const ver = Number(v ?? 0);
      if (again && (epoch === null || e !== epoch || ver !== lastVer)) listener.lost();
      if (e !== epoch || lastVer === null || ver > lastVer) lastVer = ver;
      epoch = e;
      if (!again) await missedBefore(e, ver);
    } catch {
      // Retried as a reconnection: a first reading that failed set no baseline.
      setTimeout(() => check(true), RECHECK_MS).unref?.();
    }
  };

  /** Delivers, from the log, what was published between `before` and the
   * first check (epoch `e`, count `ver`); a loss when the log cannot tell. */
  const missedBefore = async (e, ver) => {
    const b = await before;
    if (!Array.isArray(b)) return listener.lost();
    const [e0, v0] = b;
    const from = Number(v0 ?? 0);
    if (e0 === e && ver === from) return;
    if (e0 !== null && e0 !== e) return listener.lost();
    let r;
    try {
      r = await readChanges(run, prefix, { epoch: e, ver: from });
    } catch {
      r = null;
    }
    if (closed) return;
    if (r === null) listener.lost();
    else for (const m of r.messages) listener.invalidate(m);
  };

  sub.on("error", () => {});
  sub.on("ready", () => {
    if (connected && !closed) check(true);
  });
  sub.on("end", () => {
    if (!closed) listener.lost();
  });
  (async () => {
    await sub.connect();
    await sub.subscribe(channel, onMessage);
    connected = true;
    await check(false);
  })().catch(() => {
    if (!closed) listener.lost();
  }).finally(() => {
    const early = held;
    held = null;
    for (const text of early) deliver(text);
  });

  return async () => {
    closed = true;
    try {
      await sub.close();
    } catch {
      // already closed
    }
  };
}
