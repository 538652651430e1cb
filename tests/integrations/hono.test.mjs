// edgecache/hono with the real hono: a Hono app on a real socket on
// 127.0.0.1, its routes cached by the middleware. Node serves it with
// @hono/node-server; `deno test` runs this same file with Deno.serve.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "../../js/node_modules/hono/dist/index.js";
// Each runtime's own entry, as its users get it.
const { Cache } = await import(typeof Deno !== "undefined" ? "../../js/dist/deno.js" : "../../js/dist/node.js");
import { edgeCache } from "../../js/dist/integrations/hono.js";

/** An app with the middleware in front of counted routes, served on a free port. */
async function start(options = {}, routes = defaultRoutes) {
  const cache = new Cache({ maxMemory: 1 << 22 });
  const calls = {};
  const count = (name) => (calls[name] = (calls[name] ?? 0) + 1);
  const app = new Hono();
  app.use("*", edgeCache({ cache, ...options }));
  routes(app, count);
  const { port, close: stop } = await listen(app.fetch);
  const base = `http://127.0.0.1:${port}`;
  const get = async (path, init) => {
    const res = await fetch(base + path, init);
    return { status: res.status, body: await res.text(), cacheStatus: res.headers.get("cache-status") ?? "", headers: res.headers };
  };
  const close = async () => { await stop(); cache.free(); };
  return { cache, calls, get, close };
}

/** Serves `handler` on a free port of 127.0.0.1: Deno.serve in Deno, @hono/node-server in Node. */
async function listen(handler) {
  if (typeof Deno !== "undefined") {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
    return { port: server.addr.port, close: () => server.shutdown() };
  }
  const { serve } = await import("../../js/node_modules/@hono/node-server/dist/index.mjs");
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: handler, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  return { port: server.address().port, close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }) };
}

function defaultRoutes(app, count) {
  app.get("/fresh", (c) => { count("fresh"); c.header("cache-control", "max-age=60"); return c.text(`fresh ${Date.now()}`); });
  app.get("/lang", (c) => {
    count("lang");
    c.header("cache-control", "max-age=60");
    c.header("vary", "accept-language");
    return c.text(`lang ${c.req.header("accept-language")}`);
  });
  app.get("/slow", async (c) => {
    count("slow");
    await new Promise((r) => setTimeout(r, 50));
    c.header("cache-control", "max-age=60");
    return c.text("slow");
  });
  app.get("/cookie", (c) => { count("cookie"); c.header("cache-control", "max-age=60"); c.header("set-cookie", "s=1"); return c.text("cookie"); });
  app.get("/nostore", (c) => { count("nostore"); c.header("cache-control", "no-store"); return c.text("nostore"); });
  app.post("/fresh", (c) => { count("post"); return c.text("posted"); });
  app.get("/items/:id", (c) => { count("items"); c.header("cache-control", "max-age=60"); return c.text(`item ${c.req.param("id")}`); });
  app.get("/status/:code", (c) => {
    count(`status${c.req.param("code")}`);
    c.header("cache-control", "max-age=60");
    c.header("x-route", "status");
    return c.text(`status ${c.req.param("code")}`, Number(c.req.param("code")));
  });
  app.get("/cdn-status/:code", (c) => {
    count(`cdn${c.req.param("code")}`);
    c.header("cdn-cache-control", "max-age=60");
    c.header("cache-control", "max-age=5");
    return c.text(`cdn ${c.req.param("code")}`, Number(c.req.param("code")));
  });
}

test("a miss runs the handler and stores; a hit answers without it", async () => {
  const app = await start();
  const first = await app.get("/fresh");
  const second = await app.get("/fresh");
  assert.equal(first.status, 200);
  assert.match(first.cacheStatus, /^edgecache; fwd=uri-miss; stored$/);
  assert.match(second.cacheStatus, /^edgecache; hit$/);
  assert.equal(second.body, first.body);
  assert.equal(app.calls.fresh, 1);
  assert.equal(second.headers.get("cache-control"), "max-age=60");
  await app.close();
});

test("Vary: each variant is stored and answered on its own", async () => {
  const app = await start();
  const en = await app.get("/lang", { headers: { "accept-language": "en" } });
  const de = await app.get("/lang", { headers: { "accept-language": "de" } });
  const en2 = await app.get("/lang", { headers: { "accept-language": "en" } });
  const de2 = await app.get("/lang", { headers: { "accept-language": "de" } });
  assert.deepEqual([en.body, de.body, en2.body, de2.body], ["lang en", "lang de", "lang en", "lang de"]);
  assert.match(en2.cacheStatus, /hit/);
  assert.match(de2.cacheStatus, /hit/);
  assert.equal(app.calls.lang, 2);
  await app.close();
});

test("concurrent misses collapse onto one handler call", async () => {
  const app = await start();
  const all = await Promise.all(Array.from({ length: 10 }, () => app.get("/slow")));
  assert.ok(all.every((r) => r.status === 200 && r.body === "slow"));
  assert.equal(app.calls.slow, 1);
  await app.close();
});

test("invalidateTag drops what the middleware stored under its tags", async () => {
  const app = await start({ tags: (c) => ["items", `item:${c.req.path.split("/").pop()}`] });
  await app.get("/items/1");
  await app.get("/items/2");
  assert.match((await app.get("/items/1")).cacheStatus, /hit/);
  assert.ok(app.cache.invalidateTag("item:1") >= 1);
  assert.doesNotMatch((await app.get("/items/1")).cacheStatus, /hit/);
  assert.match((await app.get("/items/2")).cacheStatus, /hit/);
  app.cache.invalidateTag("items");
  assert.doesNotMatch((await app.get("/items/2")).cacheStatus, /hit/);
  assert.equal(app.calls.items, 4);
  await app.close();
});

test("downstream and cacheKey pass through: a CDN in front gets the route's tags and freshness", async () => {
  const { dropQuery } = await import(typeof Deno !== "undefined" ? "../../js/dist/deno.js" : "../../js/dist/node.js");
  const app = await start({
    tags: (c) => ["items", `item-${c.req.path.split("/").pop()}`],
    downstream: { tagHeader: "Cache-Tag", cdnCacheControl: true },
    cacheKey: dropQuery(["utm_*"]),
  });
  for (const path of ["/items/7", "/items/7?utm_source=x"]) {
    const r = await app.get(path);
    assert.equal(r.headers.get("cache-tag"), "items,item-7");
    assert.equal(r.headers.get("cdn-cache-control"), "max-age=60");
  }
  assert.equal(app.calls.items, 1, "the marketing parameter did not split the cache");
  assert.throws(() => edgeCache({ cache: app.cache, downstream: { tagHeader: "X" } }), (e) => e instanceof RangeError && /downstream\.tagHeader/.test(e.message));
  await app.close();
});

test("a custom key shares one entry between URLs", async () => {
  const app = await start({ key: (c) => "fresh-any-query" });
  const a = await app.get("/fresh?utm=1");
  const b = await app.get("/fresh?utm=2");
  assert.equal(b.body, a.body);
  assert.match(b.cacheStatus, /hit/);
  assert.equal(app.calls.fresh, 1);
  await app.close();
});

test("pass-through: Set-Cookie and no-store answers, and answers to Cookie or Authorization, are not stored", async () => {
  const app = await start();
  for (let i = 0; i < 2; i++) {
    const cookie = await app.get("/cookie");
    assert.equal(cookie.headers.get("set-cookie"), "s=1");
    await app.get("/nostore");
  }
  assert.equal(app.calls.cookie, 2);
  assert.equal(app.calls.nostore, 2);
  // A read with Cookie or Authorization neither gets the stored answer nor stores its own.
  await app.get("/fresh");
  const authorized = await app.get("/fresh", { headers: { authorization: "Bearer x" } });
  assert.equal(authorized.cacheStatus, "edgecache; fwd=bypass; detail=credentials");
  assert.equal((await app.get("/fresh", { headers: { cookie: "a=1" } })).cacheStatus, "edgecache; fwd=bypass; detail=credentials");
  assert.equal(app.calls.fresh, 3);
  await app.get("/items/7", { headers: { cookie: "a=1" } });
  await app.get("/items/8", { headers: { authorization: "Bearer x" } });
  assert.doesNotMatch((await app.get("/items/7")).cacheStatus, /hit/);
  assert.doesNotMatch((await app.get("/items/8")).cacheStatus, /hit/);
  assert.equal(app.calls.items, 4);
  await app.close();
});

test("cacheCredentialed: true applies cachedFetch's rules to credentialed reads", async () => {
  const app = await start({ cacheCredentialed: true });
  await app.get("/fresh", { headers: { cookie: "a=1" } });
  assert.match((await app.get("/fresh")).cacheStatus, /hit/, "an explicit max-age makes a Cookie request's answer shared");
  assert.doesNotMatch((await app.get("/fresh", { headers: { authorization: "Bearer x" } })).cacheStatus, /hit/, "Authorization needs public");
  await app.close();
});

test("a successful POST with a Cookie invalidates the URL it was sent to", async () => {
  const app = await start();
  await app.get("/fresh");
  assert.equal((await app.get("/fresh", { method: "POST", headers: { cookie: "session=1" } })).body, "posted");
  assert.doesNotMatch((await app.get("/fresh")).cacheStatus, /hit/);
  assert.equal(app.calls.fresh, 2);
  assert.equal(app.calls.post, 1);
  await app.close();
});

test("stale-while-revalidate answers stale and runs the handler in the background", async () => {
  let n = 0;
  const app = await start({}, (hono, count) => hono.get("/swr", (c) => {
    count("swr");
    c.header("cache-control", "max-age=1, stale-while-revalidate=60");
    return c.text(`v${++n}`);
  }));
  assert.equal((await app.get("/swr")).body, "v1");
  await new Promise((r) => setTimeout(r, 1_100));
  const stale = await app.get("/swr");
  assert.equal(stale.body, "v1");
  assert.match(stale.cacheStatus, /stale-while-revalidate/);
  for (let i = 0; i < 50 && app.calls.swr < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await app.get("/swr")).body, "v2");
  await app.close();
});

test("methods: a GET or HEAD left out bypasses the cache; the default answers both", async () => {
  const both = await start();
  await both.get("/fresh");
  assert.match((await both.get("/fresh", { method: "HEAD" })).cacheStatus, /^edgecache; hit/, "by default a HEAD is answered from the stored GET");
  assert.equal(both.calls.fresh, 1);
  await both.close();

  const getOnly = await start({ methods: ["get"] });
  await getOnly.get("/fresh");
  const head = await getOnly.get("/fresh", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.cacheStatus, "edgecache; fwd=bypass; detail=method");
  assert.match((await getOnly.get("/fresh")).cacheStatus, /^edgecache; hit/, "GET is still cached");
  assert.equal(getOnly.calls.fresh, 2);
  await getOnly.close();

  const none = await start({ methods: [] });
  for (let i = 0; i < 2; i++) assert.equal((await none.get("/fresh")).cacheStatus, "edgecache; fwd=bypass; detail=method");
  assert.equal(none.calls.fresh, 2);
  assert.equal(none.cache.stats().entries, 0, "nothing stored");
  await none.close();
});

test("statuses: only the listed statuses are stored, and an answer kept out keeps its own headers", async () => {
  const byDefault = await start();
  await byDefault.get("/status/404");
  assert.match((await byDefault.get("/status/404")).cacheStatus, /hit/, "cachedFetch's rules store a fresh 404");
  await byDefault.close();

  const ok200 = await start({ statuses: [200] });
  for (let i = 0; i < 2; i++) {
    const notFound = await ok200.get("/status/404");
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body, "status 404");
    assert.equal(notFound.headers.get("cache-control"), "max-age=60", "the handler's Cache-Control reaches the client");
    assert.equal(notFound.headers.get("x-route"), "status");
    assert.doesNotMatch(notFound.cacheStatus, /stored|hit/);
  }
  assert.equal(ok200.calls.status404, 2);
  await ok200.get("/status/200");
  assert.match((await ok200.get("/status/200")).cacheStatus, /hit/);
  assert.equal(ok200.calls.status200, 1);
  await ok200.close();

  const below300 = await start({ statuses: (status) => status < 300 });
  for (const code of [203, 203, 410, 410]) await below300.get(`/status/${code}`);
  assert.equal(below300.calls.status203, 1);
  assert.equal(below300.calls.status410, 2);
  await below300.close();
});

test("statuses keeps an answer out whatever gives it a lifetime: CDN-Cache-Control, or ttl without respectCacheControl", async () => {
  for (const options of [{ statuses: [200] }, { statuses: [200], respectCacheControl: false, ttl: 60_000 }]) {
    const app = await start(options);
    try {
      for (let i = 0; i < 2; i++) {
        const notFound = await app.get("/cdn-status/404");
        assert.equal(notFound.status, 404);
        assert.equal(notFound.body, "cdn 404");
        assert.equal(notFound.headers.get("cdn-cache-control"), "max-age=60", "the handler's CDN-Cache-Control reaches the client");
        assert.equal(notFound.headers.get("cache-control"), "max-age=5", "the handler's Cache-Control reaches the client");
        assert.doesNotMatch(notFound.cacheStatus, /stored|hit/, JSON.stringify(options));
      }
      assert.equal(app.calls.cdn404, 2, JSON.stringify(options));
      assert.equal(app.cache.stats().entries, 0, "nothing stored");
      await app.get("/cdn-status/200");
      assert.match((await app.get("/cdn-status/200")).cacheStatus, /hit/, "a listed status is still stored");
    } finally {
      await app.close();
    }
  }
});

test("bad options throw a TypeError naming them", () => {
  const cache = new Cache();
  assert.throws(() => edgeCache(), TypeError);
  assert.throws(() => edgeCache({ cache: {} }), (e) => e instanceof TypeError && /cache must be a Cache/.test(e.message));
  assert.throws(() => edgeCache({ cache, key: "x" }), (e) => e instanceof TypeError && /options\.key/.test(e.message));
  assert.throws(() => edgeCache({ cache, cacheCredentialed: "yes" }), (e) => e instanceof TypeError && /cacheCredentialed/.test(e.message));
  assert.throws(() => edgeCache({ cache, tags: "x" }), (e) => e instanceof TypeError && /tags/.test(e.message));
  assert.throws(() => edgeCache({ cache, ttl: -1 }), RangeError);
  const named = (type, name) => (e) => e instanceof type && e.message.includes(`options.${name}`);
  assert.throws(() => edgeCache({ cache, methods: "GET" }), named(TypeError, "methods"));
  assert.throws(() => edgeCache({ cache, methods: ["GET", "POST"] }), named(TypeError, "methods"));
  assert.throws(() => edgeCache({ cache, methods: [1] }), named(TypeError, "methods"));
  assert.throws(() => edgeCache({ cache, statuses: 200 }), named(TypeError, "statuses"));
  assert.throws(() => edgeCache({ cache, statuses: ["200"] }), named(TypeError, "statuses"));
  assert.throws(() => edgeCache({ cache, statuses: [200.5] }), named(TypeError, "statuses"));
  assert.throws(() => edgeCache({ cache, statuses: [99] }), named(RangeError, "statuses"));
  assert.throws(() => edgeCache({ cache, statuses: [600] }), named(RangeError, "statuses"));
  cache.free();
});
