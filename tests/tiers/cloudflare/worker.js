// The Worker the edgecache/cloudflare tests run twice (workers "a" and "b":
// two isolates on one KV namespace, one Cache API and one coordinator).
// Each request names the tier ("kv" or "api") and an action; the answer says
// what the cache returned and whether this isolate's loader ran.
import { Cache } from "edgecache";
import { kvTier, cacheApiTier, EdgecacheCoordinator } from "edgecache/cloudflare";
import { tierKeyId } from "edgecache/memory";
import { writeChanged, changeAfterSave } from "../../js/warm-cases.js";

export { EdgecacheCoordinator };

const POLL_MS = 100;
const KV_PREFIX = "kvt:";
/** Generous: the machine running the tests is shared; a timeout would turn a hit into a load. */
const TIER_TIMEOUT_MS = 2_000;
const caches_ = {};

/** A tier of `kind` as a new isolate makes it: its own view of the coordinator. */
async function newTier(kind, env) {
  const options = { coordinator: env.EDGECACHE, pollInterval: POLL_MS };
  return kind === "kv"
    ? kvTier(env.KV, { ...options, prefix: KV_PREFIX })
    : cacheApiTier(await caches.open("edgecache-test"), { ...options, prefix: "api:" });
}

async function tiered(kind, env) {
  if (caches_[kind] === undefined) {
    const tier = await newTier(kind, env);
    caches_[kind] = { tier, cache: new Cache({ maxMemory: 1 << 20, ttl: 60_000, tier, tierTimeout: TIER_TIMEOUT_MS }) };
  }
  return caches_[kind];
}

/**
 * A new cache on a new tier object (a new isolate) that starts warm from
 * snapshot `name` (`how`: "warmStart" before its first getOrLoad, or
 * "loadSnapshot"), and what its L1 then answers for `keys`.
 */
async function warm(kind, env, name, how, keys) {
  const tier = await newTier(kind, env);
  await tier.sync();
  const options = { maxMemory: 1 << 20, ttl: 60_000, tier, tierTimeout: TIER_TIMEOUT_MS };
  const c = new Cache(how === "warmStart" ? { ...options, warmStart: name } : options);
  let loaded = null;
  if (how === "warmStart") await c.getOrLoad("first", () => "loaded");
  else loaded = await c.loadSnapshot({ name });
  const reads = {};
  for (const m of ["get", "peek", "has"]) reads[m] = Object.fromEntries(keys.map((k) => [k, c[m](k) ?? null]));
  const out = { loaded, reads, stats: c.stats() };
  c.free();
  return out;
}

const list = (v) => (v ? [v] : []);

/** A cache and its tier, which fails every call: its KV binding and its coordinator throw. */
function brokenCache() {
  const fail = () => {
    throw new Error("broken binding");
  };
  const tier = kvTier({ get: fail, put: fail, delete: fail }, { coordinator: { idFromName: fail, get: fail }, pollInterval: 0 });
  return { tier, cache: new Cache({ maxMemory: 1 << 20, tier, tierTimeout: TIER_TIMEOUT_MS }) };
}

/**
 * A getOrLoad in a new isolate whose KV reads answer `delay` ms late (what
 * they found when asked): another isolate's whole load can fit between
 * this one's miss and its lock.
 */
async function loadSlowRead(env, k, v, delay, { tags = [], codec } = {}) {
  const slowKv = {
    get: async (...a) => {
      const found = await env.KV.get(...a);
      await new Promise((r) => setTimeout(r, delay));
      return found;
    },
    put: (...a) => env.KV.put(...a),
    delete: (...a) => env.KV.delete(...a),
  };
  const tier = kvTier(slowKv, { coordinator: env.EDGECACHE, pollInterval: POLL_MS, prefix: KV_PREFIX });
  const c = new Cache({ maxMemory: 1 << 20, ttl: 60_000, tier, tierTimeout: 4 * delay, ...(codec ? { codec } : {}) });
  let loaded = false;
  const value = await c.getOrLoad(k, () => ((loaded = true), v), { tags });
  await c.flush();
  const out = { value, loaded, stats: c.stats() };
  c.free();
  return out;
}

async function act(url, env) {
  const p = url.searchParams;
  const k = p.get("k");
  const opts = { tags: list(p.get("tag")), dependsOn: list(p.get("dep")) };
  if (p.get("ttl")) opts.ttl = Number(p.get("ttl"));
  if (url.pathname === "/broken") {
    // A load reads (fails), then writes its result (fails, dropped). A change would be
    // retried for 30 s before this isolate gives up on coherence, so none is made here.
    const { tier, cache: c } = brokenCache();
    await tier.sync();
    const value = await c.getOrLoad(k, () => "from-loader");
    await c.flush();
    return { value, stats: c.stats() };
  }
  if (url.pathname === "/loadSlowRead") {
    return loadSlowRead(env, k, p.get("v"), Number(p.get("delay")), { tags: list(p.get("tag")), codec: p.get("codec") ?? undefined });
  }
  const { tier, cache } = await tiered(p.get("t") ?? "kv", env);
  await tier.sync();
  let loaded = false;
  switch (url.pathname) {
    case "/load": {
      const value = await cache.getOrLoad(k, () => ((loaded = true), p.get("v")), opts);
      await cache.flush();
      return { value, loaded, stats: cache.stats() };
    }
    case "/peek":
      return { value: cache.get(k) ?? null };
    case "/set":
      cache.set(k, p.get("v"), opts);
      break;
    case "/invalidate":
      cache.invalidate(k);
      break;
    case "/invalidateTag":
      cache.invalidateTag(p.get("tag"));
      break;
    case "/name":
      return { name: KV_PREFIX + tierKeyId(k) };
    case "/writeChanged":
      writeChanged(cache);
      break;
    case "/changeAfterSave":
      await changeAfterSave(cache);
      break;
    case "/save":
      return { saved: await cache.saveSnapshot({ name: p.get("name") }) };
    case "/warm":
      return warm(p.get("t") ?? "kv", env, p.get("name"), p.get("how"), p.getAll("key"));
    case "/churn":
      // One coordinator batch (one log entry) per invalidation.
      for (let i = 0; i < Number(p.get("n")); i++) {
        cache.invalidate(`${k}-${i}`);
        await cache.flush();
      }
      break;
    default:
      return { error: "unknown action " + url.pathname };
  }
  await cache.flush();
  return { ok: true, stats: cache.stats() };
}

export default {
  async fetch(request, env) {
    try {
      return Response.json(await act(new URL(request.url), env));
    } catch (err) {
      return Response.json({ error: String(err?.stack ?? err) }, { status: 500 });
    }
  },
};
