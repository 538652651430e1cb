// Typed usage checked by `tsc --noEmit` in the test run: the declarations
// must accept real code and reject misuse (the @ts-expect-error lines).
import { Cache, cachedFetch, dropQuery, key, MARKETING_QUERY_PARAMS, memoize, POLICIES, sortQuery, type Stats, type Policy, type Tier, type TierOp } from "edgecache";
import { redisTier } from "edgecache/redis";
import { memoryTier } from "edgecache/memory";
import { kvTier, cacheApiTier, EdgecacheCoordinator } from "edgecache/cloudflare";
import { denoKvTier, type DenoKvLike } from "edgecache/deno";
import { register, textRegistry, TEXT_CONTENT_TYPE, type RegistryLike, type TextRegistry } from "edgecache/prometheus";
import { instrument, type MeterLike } from "edgecache/otel";
import { edgeCache } from "edgecache/hono";

interface Stock { qty: number; updatedAt: number }

const cache = new Cache<Stock>({ maxMemory: 64 * 1024 * 1024, policy: "allkeys-adaptive", ttl: 60_000, jitter: 0.1, loadTimeout: 5_000 });
const ok: boolean = cache.set(key("A0012345", "EA", "S170"), { qty: 3, updatedAt: Date.now() }, { tags: ["stock"], dependsOn: [["article", 12345]] });
const got: Stock | undefined = cache.get(["A0012345", "EA", "S170"]);
const n: number = cache.invalidateTag("stock") + cache.invalidate("x");
const s: Stats = cache.stats();
const ratio: number = s.hitRatio + s.wasmMemory;
const p: Policy = POLICIES[0];

async function main(ctx: { waitUntil(p: Promise<unknown>): void }) {
  const v: Stock = await cache.getOrLoad("k", async ({ key, stale, signal }) => {
    signal.throwIfAborted();
    return stale ?? { qty: 0, updatedAt: 0 };
  }, { ttl: 1000, staleWhileRevalidate: 500, loadTimeout: 2_000, waitUntil: (p) => ctx.waitUntil(p), earlyRefresh: 1 });
  new Cache({ earlyRefresh: 2 });
  // @ts-expect-error earlyRefresh is a number (beta)
  cache.getOrLoad("k", async () => ({ qty: 0, updatedAt: 0 }), { earlyRefresh: true });
  const lookup = cache.memoize(async (sku: string, store: number) => ({ qty: sku.length + store, updatedAt: 0 }), { key: (sku, store) => [sku, store], earlyRefresh: 1 });
  const r: Stock = await lookup("A1", 2);
  const m = memoize(cache, async (x: number) => ({ qty: x, updatedAt: 0 }));
  await m(1);
  await cache.prewarm([["a", { qty: 1, updatedAt: 0 }], ["b", async () => ({ qty: 2, updatedAt: 0 }), { loadTimeout: 100 }]]);
  await cache.writeThrough("a", async () => ({ qty: 5, updatedAt: 1 }));
  return [v, r];
}

// @ts-expect-error: unknown policy
new Cache({ policy: "lru" });
// @ts-expect-error: keys are strings, numbers or arrays of those
cache.get({ id: 1 });
// @ts-expect-error: key() needs at least one part
key();
// @ts-expect-error: loadTimeout is a number of ms
new Cache({ loadTimeout: "5s" });
// @ts-expect-error: tags are strings
cache.set("a", { qty: 1, updatedAt: 0 }, { tags: [1] });

const cfetch = cachedFetch(new Cache(), { ttl: 5_000, staleWhileRevalidate: 1_000, waitUntil: () => {} });
const response: Promise<Response> = cfetch("https://example.com/api", { headers: { accept: "application/json" } });
// @ts-expect-error: ttl is a number of ms
cachedFetch(new Cache(), { ttl: "5s" });
const dropMarketing = dropQuery(MARKETING_QUERY_PARAMS);
cachedFetch(new Cache(), { cacheKey: (r) => sortQuery(dropMarketing(r)), downstream: { tagHeader: "Surrogate-Key", cdnCacheControl: true } });
cachedFetch(new Cache(), { cacheKey: (r) => r.url });
// @ts-expect-error a cacheKey returns a string, URL or Request
cachedFetch(new Cache(), { cacheKey: () => 3 });
// @ts-expect-error tagHeader is Cache-Tag or Surrogate-Key
cachedFetch(new Cache(), { downstream: { tagHeader: "X-Tags" } });

void [ok, got, n, ratio, p, main, response];

// Tiers: the built-in ones and a user's own.
declare const redisClient: Parameters<typeof redisTier>[0];
const tiered = new Cache<{ qty: number }>({ tier: redisTier(redisClient, { prefix: "shop:" }), tierTimeout: 30, waitUntil: (p) => void p });
const shared = memoryTier();
shared.down(false);
const own: Tier = {
  async get(id: string) { return id === "x" ? new Uint8Array(0) : null; },
  async apply(ops: TierOp[]) { for (const op of ops) if (op.type === "set") void op.bytes.length; },
};
new Cache({ tier: own }).flush().then(() => undefined);
// A lock written before ifAbsent still is one; one that honours it answers the stored bytes.
const oldLock: Tier = { ...own, async lock(id: string, ttl: number) { return id && ttl > 0 ? { release() {} } : null; } };
const newLock: Tier = { ...own, async lock(id, ttl, options) { return options?.ifAbsent ? { stored: new Uint8Array(0) } : ttl > 0 ? { release() {} } : null; } };
new Cache({ tier: oldLock });
new Cache({ tier: newLock });
// @ts-expect-error stored holds bytes
const badLock: Tier = { ...own, async lock() { return { stored: "v" }; } };
// An invalidation log (snapshots need it): the messages after a position, and the head.
const logged: Tier = { ...own, async changes(after) { return after === "gone" ? null : { position: "7", messages: [{ origin: "o", keys: ["k", ["p", 1]], tags: [], position: "7" }] }; } };
new Cache({ tier: logged, warmStart: true });
new Cache({ tier: memoryTier({ logSize: 100 }) });
denoKvTier({} as DenoKvLike, { logSize: 100 });
redisTier(redisClient, { logSize: 100 });
// @ts-expect-error a position is a string
const badLog: Tier = { ...own, async changes() { return { position: 7, messages: [] }; } };
void badLog;
void badLock;
const tierStats: number | undefined = tiered.stats().tierErrors;
void tierStats;
new Cache({ tier: shared });

// Snapshots: dump/load, and through a tier.
const snapshot: Uint8Array = cache.dump();
const loaded: number = new Cache().load(snapshot);
void loaded;
const warm = new Cache({ tier: shared, warmStart: true });
new Cache({ tier: shared, warmStart: "catalogue" });
warm.saveSnapshot({ name: "catalogue" }).then((saved: boolean) => void saved);
warm.loadSnapshot().then((n: number) => void n);
// @ts-expect-error a snapshot is bytes
new Cache().load("snapshot");

// Cloudflare: bindings as a Worker gets them (structural types, no @cloudflare/workers-types needed).
declare const env: { KV: Parameters<typeof kvTier>[0]; EDGECACHE: Parameters<typeof kvTier>[1]["coordinator"] };
declare const colo: Parameters<typeof cacheApiTier>[0];
const kvt = kvTier(env.KV, { coordinator: env.EDGECACHE, prefix: "shop:", pollInterval: 500 });
kvt.sync().then(() => undefined);
new Cache({ tier: kvt, waitUntil: (p) => void p });
new Cache({ tier: cacheApiTier(colo, { coordinator: env.EDGECACHE, baseUrl: "https://cache.example/" }) });
void EdgecacheCoordinator;
// @ts-expect-error the coordinator is required
kvTier(env.KV, {});
// @ts-expect-error pollInterval is a number of ms
kvTier(env.KV, { coordinator: env.EDGECACHE, pollInterval: "1s" });
declare const denoKv: DenoKvLike;
const denoTier = denoKvTier(denoKv, { prefix: ["shop"], pollInterval: 20, lockTtl: 2_000 });
new Cache({ tier: denoTier, tierTimeout: 100 });
denoTier.close().then(() => undefined);
// @ts-expect-error the poll interval is a number of ms
denoKvTier(denoKv, { pollInterval: "20" });

// Metrics: structural registry/meter types, so the peers' own types are not needed here
// (tests/types/peers.ts checks the real prom-client and @opentelemetry/api types fit).
declare const promRegistry: RegistryLike;
const unregister: () => void = register(cache, promRegistry, { name: "stock" });
unregister();
// @ts-expect-error the cache name is a string
register(cache, promRegistry, { name: 1 });
declare const otelMeter: MeterLike;
const stopObserving: () => void = instrument(cache, otelMeter, { name: "stock" });
stopObserving();
// @ts-expect-error a Meter, not a registry
instrument(cache, promRegistry);
const honoMiddleware = edgeCache({ cache, ttl: 1_000, key: (c) => c.req.path, tags: (c) => ["page:" + c.req.path], cacheCredentialed: false,
  methods: ["GET"], statuses: (status) => status < 300 });
edgeCache({ cache, statuses: [200, 404] });
// @ts-expect-error only GET and HEAD are cached
edgeCache({ cache, methods: ["POST"] });
const metricsText: TextRegistry = textRegistry();
register(cache, metricsText, { name: "text" });
metricsText.metrics().then((t: string) => t.length + TEXT_CONTENT_TYPE.length);
void honoMiddleware;
// @ts-expect-error the cache is required
edgeCache({ ttl: 1_000 });
