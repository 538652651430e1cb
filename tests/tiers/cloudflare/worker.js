// The Worker the edgecache/cloudflare tests run twice (workers "a" and "b":
// two isolates on one KV namespace, one Cache API and one coordinator).
// Each request names the tier ("kv" or "api") and an action; the answer says
// what the cache returned and whether this isolate's loader ran.
import { Cache } from "edgecache";
import { kvTier, cacheApiTier, EdgecacheCoordinator } from "edgecache/cloudflare";
import { tierKeyId } from "edgecache/memory";

export { EdgecacheCoordinator };

const POLL_MS = 100;
const KV_PREFIX = "kvt:";
/** Generous: the machine running the tests is shared; a timeout would turn a hit into a load. */
const TIER_TIMEOUT_MS = 2_000;
const caches_ = {};

async function tiered(kind, env) {
  if (caches_[kind] === undefined) {
    const options = { coordinator: env.EDGECACHE, pollInterval: POLL_MS };
    const tier = kind === "kv"
      ? kvTier(env.KV, { ...options, prefix: KV_PREFIX })
      : cacheApiTier(await caches.open("edgecache-test"), { ...options, prefix: "api:" });
    caches_[kind] = { tier, cache: new Cache({ maxMemory: 1 << 20, ttl: 60_000, tier, tierTimeout: TIER_TIMEOUT_MS }) };
  }
  return caches_[kind];
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
