// A Worker that answers /api/* from the origin API, memoized in this isolate.
//
// The cache lives at module scope, so every request this isolate serves
// shares it; concurrent misses for one URL reach the origin once, and stale
// responses are refreshed in the background through ctx.waitUntil.
import { Cache, cachedFetch } from "edgecache";

const cache = new Cache({ maxMemory: 32 * 1024 * 1024, policy: "allkeys-adaptive" });

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__stats") return Response.json(cache.stats());
    // One cachedFetch per request, to pass this request's waitUntil; they all
    // share the cache and its in-flight requests.
    const cfetch = cachedFetch(cache, {
      ttl: 10_000, // for API answers that carry no Cache-Control
      staleWhileRevalidate: 30_000,
      waitUntil: (p) => ctx.waitUntil(p),
    });
    const upstream = new URL(url.pathname + url.search, env.ORIGIN);
    return cfetch(upstream, { method: request.method, headers: request.headers, body: request.body });
  },
};
