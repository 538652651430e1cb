// A Hono app behind edgecache/hono in a real Worker (bundled by wrangler, run
// by miniflare from tests/integrations/hono.workerd.test.mjs). Handler calls
// are counted in the isolate; /__count and /__invalidate let the test read
// and drive the cache from outside.
import { Hono } from "hono";
import { Cache } from "edgecache";
import { edgeCache } from "edgecache/hono";

const cache = new Cache({ maxMemory: 1 << 22 });
const calls = {};
const count = (name) => (calls[name] = (calls[name] ?? 0) + 1);
let version = 0;

const app = new Hono();
app.get("/__count", (c) => c.json(calls));
app.get("/__invalidate", (c) => c.json({ removed: cache.invalidateTag(c.req.query("tag")) }));
app.use("/app/*", edgeCache({ cache, tags: (c) => ["app", `path:${c.req.path}`] }));
app.use("/narrow/*", edgeCache({ cache, methods: ["GET"], statuses: [200] }));
app.get("/narrow/status/:code", (c) => {
  count(`narrow${c.req.param("code")}`);
  c.header("cache-control", "max-age=60");
  return c.text(`status ${c.req.param("code")}`, Number(c.req.param("code")));
});
app.get("/narrow/cdn/:code", (c) => {
  count(`narrowCdn${c.req.param("code")}`);
  c.header("cdn-cache-control", "max-age=60");
  return c.text(`cdn ${c.req.param("code")}`, Number(c.req.param("code")));
});
app.get("/app/fresh", (c) => { count("fresh"); c.header("cache-control", "max-age=60"); return c.text(`fresh ${++version}`); });
app.get("/app/lang", (c) => {
  count("lang");
  c.header("cache-control", "max-age=60");
  c.header("vary", "accept-language");
  return c.text(`lang ${c.req.header("accept-language")}`);
});
app.get("/app/slow", async (c) => {
  count("slow");
  await new Promise((r) => setTimeout(r, 50));
  c.header("cache-control", "max-age=60");
  return c.text("slow");
});
app.get("/app/swr", (c) => {
  count("swr");
  c.header("cache-control", "max-age=1, stale-while-revalidate=60");
  return c.text(`swr ${calls.swr}`);
});

export default app;
