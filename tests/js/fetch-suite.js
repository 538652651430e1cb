// The cachedFetch suite: every behaviour against a real origin server
// (tests/runtimes/origin.mjs), run unchanged in Node, Deno and workerd. Each
// test gets the package exports, `memoryTier` (edgecache/memory) and `origin`, the origin's base URL. Time is
// the cache's injected clock; the origin sends no Date unless asked to.

import { ok, equal, rejects } from "./assert.js";
import { registry, run } from "./harness.js";

const { tests, test } = registry();

function clock(start = 1_700_000_000_000) {
  const c = { t: start, now: () => c.t, advance: (ms) => (c.t += ms) };
  return c;
}

async function count(origin, pathAndQuery) {
  const r = await fetch(`${origin}/__count?url=${encodeURIComponent(pathAndQuery)}`);
  return (await r.json()).count;
}
async function failMode(origin, path, mode) {
  await (await fetch(`${origin}/__fail?path=${encodeURIComponent(path)}&mode=${mode}`)).text();
}

function setup(lib, opts = {}, cacheOpts = {}) {
  const t = clock();
  const cache = new lib.Cache({ now: t.now, ...cacheOpts });
  const handed = [];
  const cfetch = lib.cachedFetch(cache, { waitUntil: (p) => handed.push(p), ...opts });
  return { t, cache, cfetch, handed };
}

const body = (r) => r.text();

test("max-age: a miss is stored, then hits carry Age and Cache-Status until it expires", async (lib) => {
  const { t, cfetch } = setup(lib);
  const path = "/ma?cc=max-age%3D60";
  const a = await cfetch(lib.origin + path);
  equal(a.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const first = await body(a);
  t.advance(30_000);
  const b = await cfetch(lib.origin + path);
  equal(b.headers.get("cache-status"), "edgecache; hit");
  equal(b.headers.get("age"), "30");
  equal(await body(b), first);
  equal(await count(lib.origin, path), 1);
  t.advance(30_000);
  const c = await cfetch(lib.origin + path);
  ok(c.headers.get("cache-status").includes("fwd="), "expired at max-age");
  ok((await body(c)).startsWith("v2"));
  equal(await count(lib.origin, path), 2);
});

test("a max-age beyond what the cache keeps is clamped to 2^31 s (RFC 9111 §1.2.2), not an error", async (lib) => {
  const { t, cfetch } = setup(lib);
  const path = "/huge?cc=max-age%3D99999999999999";
  const a = await cfetch(lib.origin + path);
  equal(a.status, 200);
  equal(a.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  await body(a);
  t.advance(365 * 24 * 3600 * 1000);
  const b = await cfetch(lib.origin + path);
  equal(b.headers.get("cache-status"), "edgecache; hit");
  await body(b);
  equal(await count(lib.origin, path), 1);
});

test("s-maxage wins over max-age in a shared cache; CDN-Cache-Control wins over Cache-Control", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p1 = "/smax?cc=max-age%3D1%2C%20s-maxage%3D100";
  await (await cfetch(lib.origin + p1)).text();
  t.advance(50_000);
  equal((await cfetch(lib.origin + p1)).headers.get("cache-status"), "edgecache; hit");
  const p2 = "/cdn?cc=no-store&cdn=max-age%3D60";
  await (await cfetch(lib.origin + p2)).text();
  equal((await cfetch(lib.origin + p2)).headers.get("cache-status"), "edgecache; hit");
  equal(await count(lib.origin, p2), 1);
});

test("Expires − Date and the Age header set freshness", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = `/exp?date=${t.t}&expires=${t.t + 30_000}`;
  await (await cfetch(lib.origin + p)).text();
  t.advance(29_000);
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  t.advance(2_000);
  ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd="));
  const { t: t2, cfetch: f2 } = setup(lib);
  const q = "/aged?cc=max-age%3D60&age=50";
  await (await f2(lib.origin + q)).text();
  t2.advance(9_000);
  const hit = await f2(lib.origin + q);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("age"), "59");
  t2.advance(2_000);
  ok((await f2(lib.origin + q)).headers.get("cache-status").includes("fwd="), "Age counts against max-age");
});

test("the ttl option sets freshness only for responses that carry none; heuristic freshness from Last-Modified", async (lib) => {
  const { t, cfetch } = setup(lib, { ttl: 10_000 });
  const p = "/plain";
  await (await cfetch(lib.origin + p)).text();
  t.advance(9_000);
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  const q = "/explicit?cc=max-age%3D2";
  await (await cfetch(lib.origin + q)).text();
  t.advance(3_000);
  ok((await cfetch(lib.origin + q)).headers.get("cache-status").includes("fwd="), "explicit max-age beats ttl");
  const { t: t2, cfetch: f2 } = setup(lib);
  const none = "/nofresh";
  await (await f2(lib.origin + none)).text();
  await (await f2(lib.origin + none)).text();
  equal(await count(lib.origin, none), 2, "no freshness, no validators, no ttl: not stored");
  const h = `/heur?date=${t2.t}&lm=${t2.t - 1_000_000}`;
  await (await f2(lib.origin + h)).text();
  t2.advance(99_000);
  equal((await f2(lib.origin + h)).headers.get("cache-status"), "edgecache; hit", "10% of the Last-Modified age");
});

test("never stored: no-store, private, Set-Cookie, POST", async (lib) => {
  const { cfetch } = setup(lib, { ttl: 60_000 });
  for (const p of ["/ns?cc=no-store", "/priv?cc=private%2C%20max-age%3D60", "/cookie?cc=max-age%3D60&cookie=1"]) {
    const a = await cfetch(lib.origin + p);
    await a.text();
    const b = await cfetch(lib.origin + p);
    ok((await b.text()).startsWith("v2"), `${p} served from the origin again`);
    equal(await count(lib.origin, p), 2, p);
  }
  const cookie = await cfetch(lib.origin + "/cookie2?cc=max-age%3D60&cookie=1");
  ok(cookie.headers.get("set-cookie"), "the origin's Set-Cookie reaches its own requester");
  await cookie.text();
  const post = await cfetch(lib.origin + "/post?cc=max-age%3D60", { method: "POST", body: "x" });
  equal(post.headers.get("cache-status"), "edgecache; fwd=method");
  await post.text();
  await (await cfetch(lib.origin + "/post?cc=max-age%3D60", { method: "POST", body: "x" })).text();
  equal(await count(lib.origin, "/post?cc=max-age%3D60"), 2);
});

test("the Authorization/Set-Cookie/private matrix: nothing user-specific reaches another request", async (lib) => {
  const { cfetch } = setup(lib, { ttl: 60_000 });
  const p = "/user?cc=max-age%3D60";
  const alice = await (await cfetch(lib.origin + p, { headers: { authorization: "Bearer alice" } })).text();
  const bob = await (await cfetch(lib.origin + p, { headers: { authorization: "Bearer bob" } })).text();
  const anon = await (await cfetch(lib.origin + p)).text();
  ok(alice.includes("auth=Bearer alice"));
  ok(bob.includes("auth=Bearer bob"), "bob never sees alice's response");
  ok(anon.includes("auth= "), "an anonymous request never sees a credentialed response");
  // concurrent credentialed requests are never collapsed into one
  const users = ["u1", "u2", "u3", "u4"];
  const bodies = await Promise.all(users.map((u) => cfetch(lib.origin + "/user2?cc=max-age%3D60&delay=20", { headers: { authorization: u } }).then(body)));
  users.forEach((u, i) => ok(bodies[i].includes(`auth=${u} `), `${u} got its own response`));
  const privateAll = await Promise.all(["a", "b"].map(() => cfetch(lib.origin + "/priv2?cc=private%2C%20max-age%3D60&delay=20").then(body)));
  ok(privateAll[0] !== privateAll[1], "concurrent requests for a private response each get their own");
  const cookies = await Promise.all(["a", "b"].map(() => cfetch(lib.origin + "/ck?cc=max-age%3D60&cookie=1&delay=20")));
  const sc = cookies.map((r) => r.headers.get("set-cookie"));
  ok(sc[0] && sc[1] && sc[0] !== sc[1], "each requester gets its own Set-Cookie, never a shared one");
  await Promise.all(cookies.map((r) => r.text()));
  const pub = "/pub?cc=public%2C%20max-age%3D60";
  await (await cfetch(lib.origin + pub, { headers: { authorization: "x" } })).text();
  equal((await cfetch(lib.origin + pub, { headers: { authorization: "x" } })).headers.get("cache-status"), "edgecache; hit", "public allows storing an authorized answer");
});

test("a stored page answers Authorization only for public, s-maxage or must-revalidate directives, not lookalikes", async (lib) => {
  const { cfetch } = setup(lib);
  for (const cc of ["max-age=60, x-publication-id=3", "max-age=60, x-s-maxage-hint=1", 'max-age=60, community="public"']) {
    const p = `/lookalike-${encodeURIComponent(cc.split(", ")[1].slice(0, 5))}?cc=${encodeURIComponent(cc)}`;
    ok(!(await (await cfetch(lib.origin + p)).text()).includes("alice"));
    const authorized = await cfetch(lib.origin + p, { headers: { authorization: "Bearer alice" } });
    ok(!/hit/.test(authorized.headers.get("cache-status")), `${cc}: the anonymous page is not served to Authorization`);
    ok((await authorized.text()).includes("auth=Bearer alice"), `${cc}: the origin answers the Authorization request`);
  }
  const pub = "/lookalike-pub?cc=max-age%3D60%2C%20public";
  await (await cfetch(lib.origin + pub)).text();
  equal((await cfetch(lib.origin + pub, { headers: { authorization: "Bearer alice" } })).headers.get("cache-status"), "edgecache; hit", "public does allow it");
});

test("unsafe methods pass through and invalidate the URL and its Location", async (lib) => {
  const { cfetch } = setup(lib);
  const a = "/item?cc=max-age%3D600";
  const list = "/list?cc=max-age%3D600";
  await (await cfetch(lib.origin + a)).text();
  await (await cfetch(lib.origin + list)).text();
  equal((await cfetch(lib.origin + a)).headers.get("cache-status"), "edgecache; hit");
  const put = await cfetch(lib.origin + a, { method: "PUT", body: "new" });
  await put.text();
  ok((await cfetch(lib.origin + a)).headers.get("cache-status").includes("fwd=uri-miss"), "PUT invalidated the URL");
  await (await cfetch(`${lib.origin}/create?location=${encodeURIComponent(list)}`, { method: "POST" })).text();
  ok((await cfetch(lib.origin + list)).headers.get("cache-status").includes("fwd=uri-miss"), "POST invalidated its Location");
});

test("no-cache revalidates every time with If-None-Match; a 304 refreshes the stored response", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/nc?cc=no-cache&etag=%22v1%22";
  const first = await (await cfetch(lib.origin + p)).text();
  const second = await cfetch(lib.origin + p);
  equal(second.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  equal(await second.text(), first, "the stored body, validated");
  equal(await count(lib.origin, p), 2);
});

test("a 304 refreshes the stored headers; a 206 without Content-Range, or a status without freshness, is never stored", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/hdr?cc=no-cache&etag=%22h%22&counted=1";
  const first = await cfetch(lib.origin + p);
  equal(first.headers.get("x-origin-count"), "1");
  const body1 = await first.text();
  const second = await cfetch(lib.origin + p);
  equal(second.headers.get("x-origin-count"), "2", "the 304's header replaced the stored one");
  equal(await second.text(), body1, "with the stored body");
  const third = await cfetch(lib.origin + p);
  equal(third.headers.get("x-origin-count"), "3");
  await third.text();
  for (const [status, cc] of [[206, "max-age%3D60"], [500, "public"], [503, "no-cache"]]) {
    const q = `/status${status}?cc=${cc}&status=${status}`;
    await (await cfetch(lib.origin + q)).text();
    const again = await cfetch(lib.origin + q);
    ok(again.headers.get("cache-status").includes("fwd=uri-miss"), `${status} was not stored`);
    await again.text();
    equal(await count(lib.origin, q), 2, `${status} reached the origin twice`);
  }
});

test("must-revalidate: a stale response is revalidated, never served stale", async (lib) => {
  const { t, cfetch } = setup(lib, { staleWhileRevalidate: 60_000 });
  const p = "/mr?cc=max-age%3D10%2C%20must-revalidate&etag=%22e%22";
  await (await cfetch(lib.origin + p)).text();
  t.advance(11_000);
  const r = await cfetch(lib.origin + p);
  equal(r.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  await r.text();
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit", "fresh again after the 304");
});

test("Vary: one stored variant per varying header value; Vary: * is never stored", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/v?cc=max-age%3D60&vary=accept";
  const json = await (await cfetch(lib.origin + p, { headers: { accept: "application/json" } })).text();
  const html = await (await cfetch(lib.origin + p, { headers: { accept: "text/html" } })).text();
  ok(json.includes("accept=application/json") && html.includes("accept=text/html"));
  const again = await cfetch(lib.origin + p, { headers: { accept: "application/json" } });
  equal(again.headers.get("cache-status"), "edgecache; hit");
  equal(await again.text(), json);
  equal(await count(lib.origin, p), 2);
  const star = "/vs?cc=max-age%3D60&vary=*";
  await (await cfetch(lib.origin + star)).text();
  await (await cfetch(lib.origin + star)).text();
  equal(await count(lib.origin, star), 2);
});

test("stale-while-revalidate: stale at once, one background refresh through waitUntil", async (lib) => {
  const { t, cfetch, handed } = setup(lib);
  const p = "/swr?cc=max-age%3D10%2C%20stale-while-revalidate%3D60&delay=30";
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  const a = await cfetch(lib.origin + p);
  const b = await cfetch(lib.origin + p);
  equal(a.headers.get("cache-status"), "edgecache; hit; detail=stale-while-revalidate");
  equal(await a.text(), v1);
  equal(await b.text(), v1);
  equal(handed.length, 1, "one refresh, handed to waitUntil");
  await handed[0];
  const c = await cfetch(lib.origin + p);
  equal(c.headers.get("cache-status"), "edgecache; hit");
  ok((await c.text()).startsWith("v2"));
  equal(await count(lib.origin, p), 2);
});

test("stale-if-error: a failing origin is answered with the stale response inside the window", async (lib) => {
  const { t, cfetch } = setup(lib);
  const path = "/sie";
  const p = `${path}?cc=max-age%3D10%2C%20stale-if-error%3D60`;
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  await failMode(lib.origin, path, "500");
  const r = await cfetch(lib.origin + p);
  equal(r.headers.get("cache-status"), "edgecache; hit; detail=stale-if-error");
  equal(await r.text(), v1);
  await failMode(lib.origin, path, "reset");
  equal(await (await cfetch(lib.origin + p)).text(), v1, "a network error too");
  t.advance(60_000);
  await failMode(lib.origin, path, "500");
  equal((await cfetch(lib.origin + p)).status, 500, "past the window the error goes through");
  await failMode(lib.origin, path, "off");
});

test("stale windows from the options apply to responses that name none", async (lib) => {
  const { t, cfetch, handed } = setup(lib, { staleWhileRevalidate: 30_000, staleIfError: 120_000 });
  const path = "/optswr";
  const p = `${path}?cc=max-age%3D10`;
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(15_000);
  const r = await cfetch(lib.origin + p);
  equal(r.headers.get("cache-status"), "edgecache; hit; detail=stale-while-revalidate");
  equal(await r.text(), v1);
  await handed[0];
  t.advance(60_000);
  await failMode(lib.origin, path, "500");
  const e = await cfetch(lib.origin + p);
  equal(e.headers.get("cache-status"), "edgecache; hit; detail=stale-if-error");
  await e.text();
  await failMode(lib.origin, path, "off");
});

test("an unsafe request invalidates its Content-Location too, but never another origin's URL", async (lib) => {
  const { cfetch } = setup(lib);
  const doc = "/doc?cc=max-age%3D600";
  await (await cfetch(lib.origin + doc)).text();
  const res = await cfetch(`${lib.origin}/edit?clocation=${encodeURIComponent(doc)}`, { method: "PATCH", body: "x" });
  await res.text();
  ok((await cfetch(lib.origin + doc)).headers.get("cache-status").includes("fwd=uri-miss"));
  const other = "/keep?cc=max-age%3D600";
  await (await cfetch(lib.origin + other)).text();
  await (await cfetch(`${lib.origin}/edit?location=${encodeURIComponent("http://elsewhere.test" + other)}`, { method: "DELETE" })).text();
  equal((await cfetch(lib.origin + other)).headers.get("cache-status"), "edgecache; hit", "a Location on another origin is ignored");
});

test("1,000 concurrent cold requests for one URL reach the origin once", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/herd?cc=max-age%3D60&delay=50";
  const responses = await Promise.all(Array.from({ length: 1000 }, () => cfetch(lib.origin + p)));
  const bodies = await Promise.all(responses.map((r) => r.text()));
  equal(await count(lib.origin, p), 1);
  ok(bodies.every((b) => b === bodies[0]), "every waiter got the same body");
  ok(responses.slice(1).every((r) => r.headers.get("cache-status").endsWith("collapsed")));
});

test("an origin failure rejects every collapsed waiter and stores nothing", async (lib) => {
  // Count upstream fetches at the cache's door: some runtimes' HTTP clients
  // retry a GET on a reset connection, which the origin would count twice.
  let upstream = 0;
  const { cfetch } = setup(lib, { fetch: (req) => (upstream++, fetch(req)) });
  const path = "/down";
  await failMode(lib.origin, path, "reset");
  const p = `${path}?cc=max-age%3D60&delay=20`;
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => cfetch(lib.origin + p)));
  ok(results.every((r) => r.status === "rejected"), "every waiter rejects");
  equal(upstream, 1, "one origin attempt");
  await failMode(lib.origin, path, "off");
  const r = await cfetch(lib.origin + p);
  equal(r.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", "nothing was stored");
  await r.text();
});

test("a body larger than the budget passes through unstored; HEAD is answered from a stored GET", async (lib) => {
  const { cfetch } = setup(lib, {}, { maxMemory: 64 * 1024 });
  const big = "/big?cc=max-age%3D60&size=200000";
  const r = await cfetch(lib.origin + big);
  equal((await r.text()).length, 200000);
  ok(r.headers.get("cache-status").includes("detail=too-large"));
  await (await cfetch(lib.origin + big)).text();
  equal(await count(lib.origin, big), 2);
  const p = "/head?cc=max-age%3D60";
  await (await cfetch(lib.origin + p)).text();
  const head = await cfetch(lib.origin + p, { method: "HEAD" });
  equal(head.headers.get("cache-status"), "edgecache; hit");
  equal(await head.text(), "");
  equal(await count(lib.origin, p), 1);
});

test("cachedFetch validates its arguments", async (lib) => {
  const { cache } = setup(lib);
  let threw = 0;
  for (const [args, type] of [[[{}], TypeError], [[cache, { ttl: -1 }], RangeError], [[cache, { waitUntil: 3 }], TypeError], [[cache, 5], TypeError]]) {
    try {
      lib.cachedFetch(...args);
    } catch (err) {
      ok(err instanceof type, String(err));
      threw++;
    }
  }
  for (const opts of [{ maxBodySize: -1 }, { maxBodySize: 1.5 }]) {
    try {
      lib.cachedFetch(cache, opts);
    } catch (err) {
      ok(err instanceof RangeError && String(err).includes("maxBodySize"), String(err));
      threw++;
    }
  }
  for (const opts of [{ keyHeaders: "x-a" }, { keyHeaders: [3] }]) {
    try {
      lib.cachedFetch(cache, opts);
    } catch (err) {
      ok(err instanceof TypeError && String(err).includes("keyHeaders"), String(err));
      threw++;
    }
  }
  for (const opts of [{ tags: "products" }, { tags: [1] }]) {
    try {
      lib.cachedFetch(cache, opts);
    } catch (err) {
      ok(err instanceof TypeError && String(err).includes("tags"), String(err));
      threw++;
    }
  }
  equal(threw, 10);
  const f = lib.cachedFetch(cache);
  await rejects(f("not a url"), TypeError);
});

test("a response to a Cookie or Authorization request is shared only with explicit shared freshness", async (lib) => {
  const { t, cfetch } = setup(lib, { ttl: 60_000 });
  const viaTtl = "/cred-ttl";
  await (await cfetch(lib.origin + viaTtl, { headers: { cookie: "sid=alice" } })).text();
  const anon = await (await cfetch(lib.origin + viaTtl)).text();
  ok(!anon.includes("sid=alice"), "the ttl default never shares a Cookie request's response");
  const authTtl = "/cred-auth-ttl";
  await (await cfetch(lib.origin + authTtl, { headers: { authorization: "Bearer alice" } })).text();
  ok(!(await (await cfetch(lib.origin + authTtl)).text()).includes("alice"), "nor an Authorization request's");
  const heur = `/cred-heur?date=${t.t}&lm=${t.t - 1_000_000}`;
  await (await cfetch(lib.origin + heur, { headers: { cookie: "sid=alice" } })).text();
  ok(!(await (await cfetch(lib.origin + heur)).text()).includes("sid=alice"), "nor heuristic freshness");
  for (const cc of ["max-age%3D60", "s-maxage%3D60", "public%2C%20max-age%3D60"]) {
    const p = `/cred-shared?cc=${cc}`;
    await (await cfetch(lib.origin + p, { headers: { cookie: "sid=alice" } })).text();
    equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit", `${cc} is explicit shared freshness`);
  }
  equal(await count(lib.origin, viaTtl), 2);
  equal(await count(lib.origin, heur), 2);
});

test("concurrent misses that differ only in User-Agent or Cookie reach the origin once", async (lib) => {
  const { cfetch } = setup(lib);
  const ua = "/col-ua?cc=max-age%3D60&delay=50";
  const a = await Promise.all(Array.from({ length: 50 }, (_, i) => cfetch(lib.origin + ua, { headers: { "user-agent": `agent-${i}` } }).then(body)));
  equal(await count(lib.origin, ua), 1, "one origin request for 50 User-Agents");
  ok(a.every((b) => b === a[0]));
  const ck = "/col-ck?cc=max-age%3D60&delay=50";
  await Promise.all(Array.from({ length: 50 }, (_, i) => cfetch(lib.origin + ck, { headers: { cookie: `sid=${i}` } }).then(body)));
  equal(await count(lib.origin, ck), 1, "one origin request for 50 Cookies when the answer is shared");
});

test("collapsed waiters whose Vary headers differ, or whose answer is private, ask the origin themselves", async (lib) => {
  const { cfetch } = setup(lib);
  const accepts = ["a/x", "a/x", "b/y", "c/z", "a/x"];
  const v = "/col-vary?cc=max-age%3D60&vary=accept&delay=50";
  const bodies = await Promise.all(accepts.map((accept) => cfetch(lib.origin + v, { headers: { accept } }).then(body)));
  accepts.forEach((accept, i) => ok(bodies[i].includes(`accept=${accept} `), `${accept} got its own variant`));
  equal(await count(lib.origin, v), 3);
  const vc = "/col-vary-ck?cc=max-age%3D60&vary=cookie&delay=50";
  const users = ["sid=1", "sid=2", "sid=3"];
  const vcBodies = await Promise.all(users.map((cookie) => cfetch(lib.origin + vc, { headers: { cookie } }).then(body)));
  users.forEach((cookie, i) => ok(vcBodies[i].endsWith(`cookie=${cookie}`), `${cookie} got its own Vary: Cookie variant`));
  const priv = "/col-priv?cc=private%2C%20max-age%3D60&delay=50";
  const privBodies = await Promise.all(users.map((cookie) => cfetch(lib.origin + priv, { headers: { cookie } }).then(body)));
  users.forEach((cookie, i) => ok(privBodies[i].endsWith(`cookie=${cookie}`), `${cookie} got its own private page`));
  const noStore = "/col-auth?cc=max-age%3D60&delay=50";
  const authBodies = await Promise.all(users.map((u) => cfetch(lib.origin + noStore, { headers: { authorization: u } }).then(body)));
  users.forEach((u, i) => ok(authBodies[i].includes(`auth=${u} `), `${u} got its own Authorization answer`));
});

test("Vary: an empty header value and an absent header are different variants", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/vary-empty?cc=max-age%3D60&vary=x-variant";
  await (await cfetch(lib.origin + p)).text();
  const empty = await cfetch(lib.origin + p, { headers: { "x-variant": "" } });
  ok(empty.headers.get("cache-status").includes("fwd=uri-miss"), "the empty value is not the absent header's variant");
  await empty.text();
  equal((await cfetch(lib.origin + p, { headers: { "x-variant": "" } })).headers.get("cache-status"), "edgecache; hit");
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  equal(await count(lib.origin, p), 2);
});

test("keyHeaders adds request headers to the cache key", async (lib) => {
  const { cfetch } = setup(lib, { keyHeaders: ["X-Tenant"] });
  const p = "/tenant?cc=max-age%3D60&reflect=x-tenant";
  equal(await (await cfetch(lib.origin + p, { headers: { "x-tenant": "a" } })).text(), "a");
  equal(await (await cfetch(lib.origin + p, { headers: { "x-tenant": "b" } })).text(), "b", "another tenant, another entry");
  const again = await cfetch(lib.origin + p, { headers: { "x-tenant": "a" } });
  equal(again.headers.get("cache-status"), "edgecache; hit");
  equal(await again.text(), "a");
  equal(await (await cfetch(lib.origin + p)).text(), "", "no tenant is its own entry");
  equal(await count(lib.origin, p), 3);
  const put = await cfetch(lib.origin + p, { method: "PUT", body: "x" });
  await put.text();
  ok((await cfetch(lib.origin + p, { headers: { "x-tenant": "a" } })).headers.get("cache-status").includes("fwd=uri-miss"), "an unsafe request invalidates every tenant's entry");
});

test("tags: what a cachedFetch stores carries its tags, and invalidateTag drops it", async (lib) => {
  const { cache, cfetch } = setup(lib, { tags: ["products"] });
  const other = lib.cachedFetch(cache, { tags: ["stock"] });
  const p = "/tagged?cc=max-age%3D60", q = "/other-tag?cc=max-age%3D60";
  await (await cfetch(lib.origin + p)).text();
  await (await other(lib.origin + q)).text();
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  ok(cache.invalidateTag("products") >= 1);
  ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd=uri-miss"), "the tagged entry is gone");
  equal((await other(lib.origin + q)).headers.get("cache-status"), "edgecache; hit", "another tag's entry stays");
  equal(await count(lib.origin, p), 2);
});

test("maxBodySize: a larger body passes through unstored", async (lib) => {
  const { cfetch } = setup(lib, { maxBodySize: 1000 });
  const p = "/cap?cc=max-age%3D60&size=5000";
  const r = await cfetch(lib.origin + p);
  equal((await r.text()).length, 5000);
  ok(r.headers.get("cache-status").includes("detail=too-large"));
  const small = "/cap-small?cc=max-age%3D60&size=900";
  equal((await cfetch(lib.origin + small)).headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  await (await cfetch(lib.origin + p)).text();
  equal(await count(lib.origin, p), 2);
});

test("concurrent misses share one buffering budget: past it a miss passes through unstored until an answer is read", async (lib) => {
  // 1 MiB cache: one body may be 128 KiB, misses buffer 256 KiB together.
  const { cfetch } = setup(lib, {}, { maxMemory: 1024 * 1024 });
  const size = 120_000;
  const path = (n) => `/budget-${n}?cc=max-age%3D60&size=${size}`;
  const held = [];
  for (const n of [1, 2]) {
    held.push(await cfetch(lib.origin + path(n)));
    equal(held.at(-1).headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  }
  const third = await cfetch(lib.origin + path(3));
  ok(third.headers.get("cache-status").includes("detail=buffers-full"), third.headers.get("cache-status"));
  equal((await third.text()).length, size, "the passed-through body is whole");
  equal((await held[0].text()).length, size);
  const fourth = await cfetch(lib.origin + path(4));
  equal(fourth.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", "reading an answer freed its share");
  await fourth.text();
  await held[1].text();
  const hit = await cfetch(lib.origin + path(1));
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal((await hit.text()).length, size);
});

test("a 304 to a credentialed request, or with Set-Cookie, reaches only its requester and leaves the shared entry as it was", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/p304-user?etag=%22v1%22&cc=max-age%3D1&user304=1&cookie304=1";
  await (await cfetch(lib.origin + p)).text();
  t.advance(2000);
  const alice = await cfetch(lib.origin + p, { headers: { cookie: "u=alice" } });
  equal(alice.headers.get("x-user"), "u=alice");
  equal(alice.headers.get("set-cookie"), "session=2; Path=/", "the user gets the 304's Set-Cookie");
  ok(!alice.headers.get("cache-status").includes("stored"), alice.headers.get("cache-status"));
  await alice.text();
  const bob = await cfetch(lib.origin + p);
  ok(bob.headers.get("x-user") !== "u=alice", "another user never gets the first user's 304 headers");
  equal(bob.headers.get("set-cookie"), "session=3; Path=/", "a 304 with Set-Cookie refreshes nothing shared");
  await bob.text();
  // A 304 to an anonymous request without Set-Cookie refreshes the entry, reason phrase kept.
  const q = "/p304-anon?etag=%22v1%22&cc=max-age%3D1&user304=1";
  await (await cfetch(lib.origin + q)).text();
  t.advance(2000);
  const reval = await cfetch(lib.origin + q);
  ok(reval.headers.get("cache-status").includes("fwd-status=304; stored"), reval.headers.get("cache-status"));
  await reval.text();
  const hit = await cfetch(lib.origin + q);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("x-user"), "anon");
  equal(hit.statusText, "OK");
  await hit.text();
});

test("a 304 that makes the response private reaches only its requester, not collapsed waiters", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = `/p304-private?etag=%22v1%22&cc=max-age%3D1&cc304=${encodeURIComponent("private, max-age=60")}&counted=1&delay=50`;
  await (await cfetch(lib.origin + p)).text();
  t.advance(2000);
  const [leader, waiter] = await Promise.all([cfetch(lib.origin + p), cfetch(lib.origin + p)]);
  equal(leader.headers.get("x-origin-count"), "2");
  ok(!waiter.headers.get("cache-status").includes("collapsed"), `the waiter took the leader's private answer: ${waiter.headers.get("cache-status")}`);
  equal(waiter.headers.get("x-origin-count"), "3", "the waiter asked the origin itself");
  await leader.text();
  await waiter.text();
});

test("redirects are not followed upstream: a 3xx is cached or not by its own headers and returned as is", async (lib) => {
  const { cfetch } = setup(lib);
  const target = "/redir-target?cc=max-age%3D60";
  const p = `/redir?status=302&cc=no-store&location=${encodeURIComponent(target)}`;
  for (let i = 0; i < 2; i++) {
    const r = await cfetch(lib.origin + p);
    equal(r.status, 302);
    equal(r.headers.get("location"), target);
    await r.text();
  }
  equal(await count(lib.origin, p), 2, "the no-store 302 was never stored");
  equal(await count(lib.origin, target), 0, "the redirect target was never fetched");
  const moved = `/moved?status=301&cc=max-age%3D60&location=${encodeURIComponent(target)}`;
  await (await cfetch(lib.origin + moved)).text();
  const hit = await cfetch(lib.origin + moved);
  equal(hit.status, 301);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  await hit.text();
  const followed = await cfetch(lib.origin + p, { redirect: "follow" });
  equal(followed.status, 200, "an explicit redirect: follow is honoured");
  ok(!followed.headers.get("cache-status").includes("stored"), "but the target's answer is never stored under the original URL");
  await followed.text();
  const again = await cfetch(lib.origin + p, { redirect: "follow" });
  ok(!again.headers.get("cache-status").includes("hit"));
  await again.text();
});

test("stale-while-revalidate and stale-if-error never serve a shared page to Authorization without public/s-maxage/must-revalidate", async (lib) => {
  const { t, cfetch } = setup(lib);
  const auth = { headers: { authorization: "Bearer alice" } };
  const swr = "/swr-auth?cc=max-age%3D1%2C%20stale-while-revalidate%3D60";
  await (await cfetch(lib.origin + swr)).text();
  t.advance(2000);
  const a = await cfetch(lib.origin + swr, auth);
  ok(!a.headers.get("cache-status").includes("stale-while-revalidate"), a.headers.get("cache-status"));
  ok((await a.text()).includes("auth=Bearer alice"), "the origin answered the credentialed request");
  const sie = "/sie-auth?cc=max-age%3D1%2C%20stale-if-error%3D60";
  await (await cfetch(lib.origin + sie)).text();
  t.advance(2000);
  await failMode(lib.origin, "/sie-auth", "500");
  try {
    const b = await cfetch(lib.origin + sie, auth);
    equal(b.status, 500, "the origin's error, not the shared stale page");
    await b.text();
    const anon = await cfetch(lib.origin + sie);
    equal(anon.status, 200, "an anonymous request still gets the stale page");
    await anon.text();
  } finally {
    await failMode(lib.origin, "/sie-auth", "off");
  }
});

test("a method not known safe (PURGE) invalidates its URL like POST", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/purge?cc=max-age%3D60";
  await (await cfetch(lib.origin + p)).text();
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  await (await cfetch(lib.origin + p, { method: "PURGE" })).text();
  ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd=uri-miss"), "PURGE invalidated the URL");
});

test("a conditional request matching a fresh stored response gets a 304 from the cache (RFC 9111 §4.3.2)", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = `/cond?cc=max-age%3D60&etag=%22a%22&vary=accept&clocation=%2Fcond-here&date=${t.t}&expires=${t.t + 60_000}`;
  const full = await cfetch(lib.origin + p);
  const stored = Object.fromEntries(["etag", "cache-control", "expires", "vary", "date", "content-location"].map((h) => [h, full.headers.get(h)]));
  await full.text();
  const ask = (headers) => cfetch(lib.origin + p, { headers });
  for (const inm of ['"a"', 'W/"a"', '"x", W/"a"', "*"]) {
    const r = await ask({ "if-none-match": inm });
    equal(r.status, 304, `If-None-Match: ${inm}`);
    equal(r.headers.get("cache-status"), "edgecache; hit");
    for (const [h, v] of Object.entries(stored)) equal(r.headers.get(h), v, `${h} as stored`);
    equal(r.headers.get("content-type"), null, "no representation metadata");
    equal(await r.text(), "");
  }
  const other = await ask({ "if-none-match": '"b"' });
  equal(other.status, 200, "a non-matching ETag gets the full response");
  ok((await other.text()).startsWith("v1"));
  const past = new Date(t.t - 3_600_000).toUTCString();
  const future = new Date(t.t + 3_600_000).toUTCString();
  const wins = await ask({ "if-none-match": '"b"', "if-modified-since": future });
  equal(wins.status, 200, "If-None-Match takes precedence over If-Modified-Since");
  await wins.text();
  const wins2 = await ask({ "if-none-match": '"a"', "if-modified-since": past });
  equal(wins2.status, 304, "a matching If-None-Match ignores If-Modified-Since");
  const h = await ask({ "if-none-match": '"a"' }).then(() => cfetch(lib.origin + p, { method: "HEAD", headers: { "if-none-match": '"a"' } }));
  equal(h.status, 304, "HEAD too");
  equal(await count(lib.origin, p), 1);
});

test("If-Modified-Since is answered from the stored Last-Modified; a stale response is revalidated first", async (lib) => {
  const { t, cfetch } = setup(lib);
  const lm = t.t - 3_600_000;
  const p = `/ims?cc=max-age%3D10&lm=${lm}&etag=%22s%22`;
  await (await cfetch(lib.origin + p)).text();
  const since = (ms) => cfetch(lib.origin + p, { headers: { "if-modified-since": new Date(ms).toUTCString() } });
  equal((await since(lm)).status, 304, "not modified since its Last-Modified");
  equal((await since(lm + 60_000)).status, 304, "nor since a later date");
  const older = await since(lm - 60_000);
  equal(older.status, 200, "modified since an earlier date");
  await older.text();
  const bogus = await cfetch(lib.origin + p, { headers: { "if-modified-since": "yesterday" } });
  equal(bogus.status, 200, "an invalid date is ignored");
  await bogus.text();
  equal(await count(lib.origin, p), 1);
  t.advance(20_000);
  const stale = await cfetch(lib.origin + p, { headers: { "if-none-match": '"s"' } });
  equal(stale.status, 304);
  equal(stale.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "revalidated with the origin first");
  equal(await count(lib.origin, p), 2);
});

test("a conditional miss is fetched in full and stored, then answered 304", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/cond-miss?cc=max-age%3D60&etag=%22m%22";
  const first = await cfetch(lib.origin + p, { headers: { "if-none-match": '"m"' } });
  equal(first.status, 304);
  equal(first.headers.get("etag"), '"m"');
  const next = await cfetch(lib.origin + p);
  equal(next.headers.get("cache-status"), "edgecache; hit", "the full response was stored");
  ok((await next.text()).startsWith("v1"));
  equal(await count(lib.origin, p), 1);
});

test("any final status with explicit freshness is stored; heuristics only for cacheable-by-default codes or public", async (lib) => {
  const { t, cfetch } = setup(lib);
  for (const status of [400, 404, 410, 500, 502, 503, 504, 299, 499, 599]) {
    const p = `/st${status}?cc=max-age%3D60&status=${status}`;
    const a = await cfetch(lib.origin + p);
    equal(a.status, status);
    await a.text();
    const b = await cfetch(lib.origin + p);
    equal(b.headers.get("cache-status"), "edgecache; hit", `${status} with max-age is stored`);
    equal(b.status, status);
    await b.text();
  }
  const heur = (status, cc) => `/sth${status}${cc}?status=${status}&date=${t.t}&lm=${t.t - 1_000_000}${cc}`;
  for (const [status, cc, stored] of [[404, "", true], [500, "", false], [299, "", false], [500, "&cc=public", true], [599, "&cc=public", true]]) {
    const p = heur(status, cc);
    await (await cfetch(lib.origin + p)).text();
    const again = await cfetch(lib.origin + p);
    equal(again.headers.get("cache-status") === "edgecache; hit", stored, `${status}${cc} heuristically fresh: ${stored}`);
    await again.text();
  }
});

test("must-understand overrides no-store for a status the cache understands, and only then", async (lib) => {
  const { cfetch } = setup(lib);
  const cc = "no-store%2C%20must-understand%2C%20max-age%3D60";
  for (const [status, stored] of [[200, true], [404, true], [299, false], [206, false]]) {
    const p = `/mu${status}?cc=${cc}&status=${status}`;
    await (await cfetch(lib.origin + p)).text();
    const again = await cfetch(lib.origin + p);
    equal(again.headers.get("cache-status") === "edgecache; hit", stored, `${status}: stored ${stored}`);
    await again.text();
  }
});

test("Age: an invalid value is ignored; with several, the first counts, and an invalid first makes it stale", async (lib) => {
  const { t, cfetch } = setup(lib);
  for (const age of ["-50", "1.5", "abc"]) {
    const p = `/age-bad${age}?cc=max-age%3D60&age=${age}`;
    await (await cfetch(lib.origin + p)).text();
    t.advance(30_000);
    const r = await cfetch(lib.origin + p);
    equal(r.headers.get("cache-status"), "edgecache; hit", `Age: ${age} ignored`);
    equal(r.headers.get("age"), "30", `Age: ${age} counts as 0`);
    await r.text();
  }
  const p = "/age-two?cc=max-age%3D60&age=10&age=50";
  await (await cfetch(lib.origin + p)).text();
  t.advance(45_000);
  const first = await cfetch(lib.origin + p);
  equal(first.headers.get("cache-status"), "edgecache; hit", "the first Age (10) counts, not the second");
  equal(first.headers.get("age"), "55");
  await first.text();
  const q = "/age-badfirst?cc=max-age%3D60&age=abc&age=10&etag=%22q%22";
  await (await cfetch(lib.origin + q)).text();
  const r = await cfetch(lib.origin + q);
  ok(r.headers.get("cache-status").includes("fwd=stale"), `an invalid first Age makes it stale: ${r.headers.get("cache-status")}`);
  await r.text();
});

test("Expires is an HTTP-date (IMF-fixdate, RFC 850, asctime); anything else is already expired", async (lib) => {
  const { t, cfetch } = setup(lib);
  // The clock is Tue, 14 Nov 2023 22:13:20 GMT; each Expires is a day later.
  const valid = ["Wed, 15 Nov 2023 22:13:20 GMT", "Wednesday, 15-Nov-23 22:13:20 GMT", "Wed Nov 15 22:13:20 2023"];
  const invalid = ["Wed, 15 Nov 2023 22:13:20 UTC", "Wed 15 Nov 2023 22:13:20 GMT", "Wed,  15 Nov 2023 22:13:20 GMT",
    "Wed, 15-Nov-2023 22:13:20 GMT", "Wed, 15 Nov 2023 2:13:20 GMT", "2023-11-15T22:13:20Z"];
  for (const [list, fresh] of [[valid, true], [invalid, false]]) {
    for (const e of list) {
      const p = `/expires-${encodeURIComponent(e)}?date=${t.t}&expiresraw=${encodeURIComponent(e)}`;
      await (await cfetch(lib.origin + p)).text();
      t.advance(1000);
      const r = await cfetch(lib.origin + p);
      equal(r.headers.get("cache-status") === "edgecache; hit", fresh, `Expires: ${e} fresh: ${fresh}`);
      await r.text();
    }
  }
});

test("a CDN-Cache-Control that is not a valid Structured Field dictionary, or has a wrong-type member, is ignored", async (lib) => {
  const { cfetch } = setup(lib);
  for (const cdn of ['max-age="60"', "max-age=60.5", "max-age=60, !bad", "max-age=-1", "max-age=60,", "no-store=3, max-age=60"]) {
    const p = `/cdn-bad?cc=no-store&cdn=${encodeURIComponent(cdn)}`;
    await (await cfetch(lib.origin + p)).text();
    const r = await cfetch(lib.origin + p);
    ok(r.headers.get("cache-status").includes("fwd=uri-miss"), `CDN-Cache-Control: ${cdn} ignored, Cache-Control: no-store applies`);
    await r.text();
  }
  for (const cdn of ["max-age=60", "max-age=60;x=1, unknown=\"v\"", "max-age=60, no-cache=?0"]) {
    const p = `/cdn-good?cc=no-store&cdn=${encodeURIComponent(cdn)}`;
    await (await cfetch(lib.origin + p)).text();
    equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit", `CDN-Cache-Control: ${cdn} applies`);
  }
});

test("M-SEARCH, a method not known safe, invalidates its URL", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/msearch?cc=max-age%3D60";
  await (await cfetch(lib.origin + p)).text();
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  let carried = true;
  try {
    new Request(lib.origin + p, { method: "M-SEARCH" });
  } catch {
    carried = false; // workerd's Request knows a fixed list of methods, without M-SEARCH
  }
  if (!carried) {
    await rejects(cfetch(lib.origin + p, { method: "M-SEARCH" }), TypeError);
    equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit", "a refused request leaves the entry");
    return;
  }
  const m = await cfetch(lib.origin + p, { method: "M-SEARCH" });
  equal(m.headers.get("cache-status"), "edgecache; fwd=method");
  await m.text();
  ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd=uri-miss"), "M-SEARCH invalidated the URL");
});

test("headers named in Connection are not stored; a 304's headers update the stored ones, others are kept", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/hop-stored?cc=max-age%3D60&hop=1";
  await (await cfetch(lib.origin + p)).text();
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("x-hop"), null, "X-Hop was named in Connection");
  equal(hit.headers.get("connection"), null);
  await hit.text();
  const q = "/upd304?cc=max-age%3D1&etag=%22u%22&counted=1";
  const first = await cfetch(lib.origin + q);
  const type = first.headers.get("content-type");
  await first.text();
  t.advance(2000);
  await (await cfetch(lib.origin + q)).text();
  const after = await cfetch(lib.origin + q);
  equal(after.headers.get("cache-status"), "edgecache; hit");
  equal(after.headers.get("x-origin-count"), "2", "updated by the 304");
  equal(after.headers.get("content-type"), type, "kept from the stored response");
  await after.text();
});

// ----- over a shared tier: caches on one memoryTier play isolates -----

/** Lets queued microtasks and timers of 0 ms run (the tier's message delivery). */
const tick = () => new Promise((r) => setTimeout(r, 0));

/** `n` caches on one memoryTier and one clock, each with its cachedFetch. */
function isolates(lib, n = 2, opts = {}) {
  const t = clock();
  const tier = lib.memoryTier({ now: t.now });
  const list = Array.from({ length: n }, () => {
    const cache = new lib.Cache({ now: t.now, tier });
    return { cache, cfetch: lib.cachedFetch(cache, opts) };
  });
  return { t, tier, list, free: () => list.forEach((x) => x.cache.free()) };
}

test("over a tier, a response stored by one isolate is a hit in another (detail=l2) with its Age", async (lib) => {
  const { t, list: [a, b], free } = isolates(lib);
  const p = "/l2?cc=max-age%3D60&age=5";
  const first = await a.cfetch(lib.origin + p);
  equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const text = await first.text();
  await a.cache.flush();
  t.advance(20_000);
  const fromL2 = await b.cfetch(lib.origin + p);
  equal(fromL2.headers.get("cache-status"), "edgecache; hit; detail=l2");
  equal(fromL2.headers.get("age"), "25", "the origin's Age plus the time since A stored it");
  equal(await fromL2.text(), text);
  equal(b.cache.stats().tierHits >= 1, true);
  t.advance(10_000);
  const fromL1 = await b.cfetch(lib.origin + p);
  equal(fromL1.headers.get("cache-status"), "edgecache; hit", "L1 was filled");
  equal(fromL1.headers.get("age"), "35");
  equal(await fromL1.text(), text);
  equal(await count(lib.origin, p), 1);
  t.advance(25_000);
  const expired = await b.cfetch(lib.origin + p);
  equal(expired.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=200; stored", "L1 kept the remaining lifetime, not a new one");
  await expired.text();
  equal(await count(lib.origin, p), 2);
  free();
});

test("over a tier, Vary variants stored by one isolate are hits in another; others miss", async (lib) => {
  const { list: [a, b], free } = isolates(lib);
  const p = "/l2vary?cc=max-age%3D60&vary=accept";
  const get = (x, accept) => x.cfetch(lib.origin + p, { headers: { accept } });
  await (await get(a, "text/a")).text();
  await (await get(a, "text/b")).text();
  await a.cache.flush();
  const vb = await get(b, "text/b");
  equal(vb.headers.get("cache-status"), "edgecache; hit; detail=l2");
  ok((await vb.text()).includes("accept=text/b"));
  const va = await get(b, "text/a");
  equal(va.headers.get("cache-status"), "edgecache; hit; detail=l2");
  ok((await va.text()).includes("accept=text/a"));
  const vc = await get(b, "text/c");
  ok(vc.headers.get("cache-status").includes("fwd=uri-miss"), "a variant nobody stored");
  ok((await vc.text()).includes("accept=text/c"));
  equal(await count(lib.origin, p), 3);
  free();
});

test("over a tier, a POST in one isolate invalidates the URL in every isolate and in the tier", async (lib) => {
  const { list: [a, b, c], free } = isolates(lib, 3);
  const p = "/l2post?cc=max-age%3D60";
  await (await a.cfetch(lib.origin + p)).text();
  await a.cache.flush();
  equal((await b.cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit; detail=l2");
  equal((await a.cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
  await (await b.cfetch(lib.origin + p, { method: "POST", body: "x" })).text();
  await b.cache.flush();
  await tick();
  const again = await a.cfetch(lib.origin + p);
  ok(again.headers.get("cache-status").includes("fwd=uri-miss"), "A's stored response was invalidated");
  ok((await again.text()).startsWith("v3"));
  const fresh = await c.cfetch(lib.origin + p);
  ok(!fresh.headers.get("cache-status").includes("fwd="), "C gets A's new response from the tier, never the old one");
  ok((await fresh.text()).startsWith("v3"));
  free();
});

test("over a tier, concurrent misses in one isolate make one origin request", async (lib) => {
  const { list: [, b], free } = isolates(lib);
  const p = "/l2herd?cc=max-age%3D60&delay=50";
  const responses = await Promise.all([1, 2, 3].map(() => b.cfetch(lib.origin + p)));
  const texts = await Promise.all(responses.map((r) => r.text()));
  equal(await count(lib.origin, p), 1);
  ok(texts.every((x) => x === texts[0]));
  free();
});

test("over a tier that is down, cachedFetch answers from the origin and L1; nothing throws", async (lib) => {
  const { tier, list: [a, b], free } = isolates(lib);
  tier.down(true);
  const p = "/l2down?cc=max-age%3D60";
  const ra = await a.cfetch(lib.origin + p);
  equal(ra.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  await ra.text();
  await a.cache.flush();
  const rb = await b.cfetch(lib.origin + p);
  ok(rb.headers.get("cache-status").includes("fwd=uri-miss"));
  await rb.text();
  equal((await a.cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit", "L1 still serves");
  equal(await count(lib.origin, p), 2);
  ok(b.cache.stats().tierErrors >= 1);
  await (await b.cfetch(lib.origin + p, { method: "POST", body: "x" })).text();
  tier.down(false);
  free();
});

/** Expects `fn` to throw `type` with `name` in its message. */
function throwsNaming(fn, type, name) {
  try {
    fn();
  } catch (err) {
    ok(err instanceof type && String(err).includes(name), `${type.name} naming ${name}: ${err}`);
    return;
  }
  ok(false, `expected a ${type.name} naming ${name}`);
}

test("Vary: Accept-Language variants are shared across case, whitespace, q-value spelling and weight order", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/vary-lang?cc=max-age%3D60&vary=accept-language";
  const get = (lang) => cfetch(lib.origin + p, { headers: { "accept-language": lang } });
  const first = await get("en-US, fr;q=0.5");
  equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const v1 = await first.text();
  for (const same of ["en-us,fr;q=0.5", "EN-US , FR;Q=0.50", "fr;q=0.500, en-US", "en-US;q=1.0,, fr ; q=0.5", "en-US;q=1, fr;q=0.5"]) {
    const r = await get(same);
    equal(r.headers.get("cache-status"), "edgecache; hit", `"${same}" is the stored variant`);
    equal(await r.text(), v1);
  }
  equal(await count(lib.origin, p), 1);
  // Equal weights keep their order (origins break ties by it); other weights are other variants.
  for (const other of ["fr, en-US", "en-US, fr;q=0.4", "en-US"]) {
    const r = await get(other);
    ok(r.headers.get("cache-status").includes("fwd=uri-miss"), `"${other}" is another variant`);
    await r.text();
  }
  equal(await count(lib.origin, p), 4);
});

test("Vary: other selecting headers match without list whitespace, across header lines, with case kept", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/vary-ws?cc=max-age%3D60&vary=x-variant%2C%20accept-encoding";
  const get = (headers) => cfetch(lib.origin + p, { headers });
  const first = await get({ "x-variant": "a, b", "accept-encoding": "gzip, br;q=0.8" });
  const v1 = await first.text();
  const lines = new Headers([["x-variant", "a"], ["x-variant", "b"], ["accept-encoding", "GZIP,br;q=0.80"]]);
  for (const headers of [{ "x-variant": "  a,b ", "accept-encoding": "br;q=0.8 , gzip" }, lines]) {
    const r = await get(headers);
    equal(r.headers.get("cache-status"), "edgecache; hit");
    equal(await r.text(), v1);
  }
  const upper = await get({ "x-variant": "A, b", "accept-encoding": "gzip, br;q=0.8" });
  ok(upper.headers.get("cache-status").includes("fwd=uri-miss"), "an unknown header's value keeps its case");
  await upper.text();
  equal(await count(lib.origin, p), 2);
});

test("immutable: a reload does not revalidate a fresh immutable response; a stale one is revalidated", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/immutable?cc=max-age%3D60%2C%20immutable&etag=%22i%22";
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(10_000);
  for (const headers of [{ "cache-control": "no-cache" }, { "cache-control": "max-age=0" }, { pragma: "no-cache" }]) {
    const r = await cfetch(lib.origin + p, { headers });
    equal(r.headers.get("cache-status"), "edgecache; hit", JSON.stringify(headers));
    equal(await r.text(), v1);
  }
  equal(await count(lib.origin, p), 1);
  const mutable = "/mutable?cc=max-age%3D60&etag=%22m%22";
  await (await cfetch(lib.origin + mutable)).text();
  t.advance(10_000);
  const reload = await cfetch(lib.origin + mutable, { headers: { "cache-control": "no-cache" } });
  equal(reload.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "a reload revalidates what is not immutable");
  await reload.text();
  t.advance(51_000);
  const stale = await cfetch(lib.origin + p);
  equal(stale.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "stale immutable is revalidated");
  equal(await stale.text(), v1);
  equal(await count(lib.origin, p), 2);
});

test("a POST answer with explicit freshness and its own URL as Content-Location answers later GETs", async (lib) => {
  const { cfetch } = setup(lib, { ttl: 60_000 });
  const p = "/post-cl?cc=max-age%3D60&selfloc=1";
  const old = await (await cfetch(lib.origin + p)).text();
  const post = await cfetch(lib.origin + p, { method: "POST", body: "x" });
  equal(post.headers.get("cache-status"), "edgecache; fwd=method; stored");
  const posted = await post.text();
  ok(posted.startsWith("v2 POST"), posted);
  for (const method of ["GET", "HEAD"]) {
    const r = await cfetch(lib.origin + p, { method });
    equal(r.headers.get("cache-status"), "edgecache; hit", `${method} after the POST`);
    equal(await r.text(), method === "GET" ? posted : "", "the POST's answer, not the GET stored before it");
  }
  ok(old.startsWith("v1 GET"));
  equal(await count(lib.origin, p), 2);
  // Not reusable: freshness only from the ttl default, another Content-Location, Set-Cookie, an error.
  for (const q of ["/post-cl2?selfloc=1", "/post-cl3?cc=max-age%3D60&clocation=%2Felsewhere", "/post-cl4?cc=max-age%3D60&selfloc=1&cookie=1",
    "/post-cl5?cc=max-age%3D60&selfloc=1&status=409"]) {
    const r = await cfetch(lib.origin + q, { method: "POST", body: "x" });
    equal(r.headers.get("cache-status"), "edgecache; fwd=method", q);
    await r.text();
    const g = await cfetch(lib.origin + q);
    ok((await g.text()).startsWith("v2 GET"), `${q}: the GET reached the origin`);
  }
  const authorized = "/post-cl6?cc=max-age%3D60&selfloc=1";
  const ra = await cfetch(lib.origin + authorized, { method: "POST", body: "x", headers: { authorization: "Bearer alice" } });
  equal(ra.headers.get("cache-status"), "edgecache; fwd=method", "an Authorization POST's answer stays unshared");
  await ra.text();
  ok(!(await (await cfetch(lib.origin + authorized)).text()).includes("alice"));
});

test("cacheKey: sortQuery and dropQuery keep marketing parameters and their order from splitting the cache", async (lib) => {
  const dropMarketing = lib.dropQuery(lib.MARKETING_QUERY_PARAMS);
  const { cache, cfetch } = setup(lib, { cacheKey: (request) => lib.sortQuery(dropMarketing(request)) });
  const a = "/ckey?b=2&cc=max-age%3D60&a=1&utm_source=news&utm_medium=mail";
  const first = await cfetch(lib.origin + a);
  equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  const v1 = await first.text();
  for (const same of ["/ckey?a=1&b=2&cc=max-age%3D60", "/ckey?cc=max-age%3D60&fbclid=x&a=1&gclid=y&b=2#top"]) {
    const r = await cfetch(lib.origin + same);
    equal(r.headers.get("cache-status"), "edgecache; hit", same);
    equal(await r.text(), v1);
  }
  const other = await cfetch(lib.origin + "/ckey?a=1&b=3&cc=max-age%3D60");
  ok(other.headers.get("cache-status").includes("fwd=uri-miss"), "another value is another entry");
  await other.text();
  equal(await count(lib.origin, a), 1, "the origin got the client's own URL");
  // An unsafe request invalidates the key its URL maps to.
  await (await cfetch(lib.origin + "/ckey?utm_campaign=z&a=1&cc=max-age%3D60&b=2", { method: "POST", body: "x" })).text();
  ok((await cfetch(lib.origin + "/ckey?a=1&b=2&cc=max-age%3D60")).headers.get("cache-status").includes("fwd=uri-miss"));
  // A key the function makes up, and keys that are not keys.
  const byPath = lib.cachedFetch(cache, { cacheKey: (request) => `path:${new URL(request.url).pathname}` });
  await (await byPath(lib.origin + "/ckey-path?cc=max-age%3D60&v=1")).text();
  equal((await byPath(lib.origin + "/ckey-path?cc=max-age%3D60&v=2")).headers.get("cache-status"), "edgecache; hit");
  for (const wrong of [() => 42, () => null, () => ({ url: "x" })]) {
    await rejects(lib.cachedFetch(cache, { cacheKey: wrong })(lib.origin + "/ckey-path?cc=max-age%3D60&v=1"), TypeError, /cacheKey/);
  }
  equal((await byPath(lib.origin + "/ckey-path?cc=max-age%3D60&v=3")).headers.get("cache-status"), "edgecache; hit", "a bad key lost nothing");
  const throwing = lib.cachedFetch(cache, { cacheKey: () => null });
  await rejects(throwing(lib.origin + "/ckey-post", { method: "POST", body: "x" }), TypeError, /cacheKey/);
  equal(await count(lib.origin, "/ckey-post"), 0, "a bad key rejects an unsafe request before it reaches the origin");
  throwsNaming(() => lib.cachedFetch(cache, { cacheKey: "url" }), TypeError, "cacheKey");
});

test("sortQuery and dropQuery work on raw query pieces and validate their input", async (lib) => {
  equal(lib.sortQuery("http://x.test/p?b=1&a=2&a=1&&c#f").href, "http://x.test/p?a=2&a=1&b=1&c", "stable: repeated names keep their order");
  equal(lib.sortQuery(new URL("http://x.test/p?flag&flag=")).href, "http://x.test/p?flag&flag=", "?flag and ?flag= stay apart");
  const drop = lib.dropQuery(["utm_*", "fbclid"]);
  equal(drop(new Request("http://x.test/p?utm_source=a&q=%7E&fbclid=1&utm_=2")).href, "http://x.test/p?q=%7E");
  equal(drop("http://x.test/p?fbclid=1").href, "http://x.test/p");
  equal(drop("http://x.test/p?fbclidx=1&xutm_a=1").href, "http://x.test/p?fbclidx=1&xutm_a=1", "patterns match whole names");
  throwsNaming(() => lib.dropQuery("utm_*"), TypeError, "dropQuery");
  throwsNaming(() => lib.dropQuery([""]), TypeError, "dropQuery");
  throwsNaming(() => drop(42), TypeError, "dropQuery");
  throwsNaming(() => lib.sortQuery({}), TypeError, "sortQuery");
  ok(lib.MARKETING_QUERY_PARAMS.includes("gclid") && Object.isFrozen(lib.MARKETING_QUERY_PARAMS));
});

test("downstream: Cache-Tag or Surrogate-Key from the entry's tags, CDN-Cache-Control from its freshness", async (lib) => {
  const { t, cache, cfetch } = setup(lib, { tags: ["products", "p-1"], downstream: { tagHeader: "Cache-Tag", cdnCacheControl: true } });
  const p = "/down?cc=max-age%3D60%2C%20stale-while-revalidate%3D30";
  const miss = await cfetch(lib.origin + p);
  equal(miss.headers.get("cache-tag"), "products,p-1");
  equal(miss.headers.get("cdn-cache-control"), "max-age=60, stale-while-revalidate=30");
  await miss.text();
  t.advance(10_000);
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("age"), "10", "a CDN subtracts Age from max-age");
  equal(hit.headers.get("cdn-cache-control"), "max-age=60, stale-while-revalidate=30");
  equal(hit.headers.get("cache-tag"), "products,p-1");
  await hit.text();
  // Another cachedFetch answers from the same entry with the tags it was stored with.
  const fastly = lib.cachedFetch(cache, { downstream: { tagHeader: "Surrogate-Key" } });
  const viaFastly = await fastly(lib.origin + p);
  equal(viaFastly.headers.get("surrogate-key"), "products p-1");
  equal(viaFastly.headers.get("cdn-cache-control"), null);
  await viaFastly.text();
  const mr = "/down-mr?cc=s-maxage%3D20&etag=%22d%22";
  const r = await cfetch(lib.origin + mr);
  equal(r.headers.get("cdn-cache-control"), "max-age=20, must-revalidate");
  await r.text();
  // Nothing for what is not stored and shared.
  for (const q of ["/down-priv?cc=private%2C%20max-age%3D60", "/down-cookie?cc=max-age%3D60&cookie=1", "/down-ns?cc=no-store"]) {
    const x = await cfetch(lib.origin + q);
    equal(x.headers.get("cache-tag"), null, q);
    equal(x.headers.get("cdn-cache-control"), null, q);
    await x.text();
  }
  const post = await cfetch(lib.origin + p, { method: "POST", body: "x" });
  equal(post.headers.get("cache-tag"), null);
  await post.text();
});

test("downstream: bad values throw a TypeError or RangeError naming the option", async (lib) => {
  const { cache } = setup(lib);
  throwsNaming(() => lib.cachedFetch(cache, { downstream: "Cache-Tag" }), TypeError, "downstream");
  throwsNaming(() => lib.cachedFetch(cache, { downstream: { tagHeader: "X-Tags" } }), RangeError, "downstream.tagHeader");
  throwsNaming(() => lib.cachedFetch(cache, { downstream: { tagHeader: 1 } }), TypeError, "downstream.tagHeader");
  throwsNaming(() => lib.cachedFetch(cache, { downstream: { cdnCacheControl: "yes" } }), TypeError, "downstream.cdnCacheControl");
  throwsNaming(() => lib.cachedFetch(cache, { downstream: { cacheTag: "Cache-Tag" } }), TypeError, "downstream.cacheTag");
  throwsNaming(() => lib.cachedFetch(cache, { tags: ["a b"], downstream: { tagHeader: "Surrogate-Key" } }), RangeError, "tags");
  throwsNaming(() => lib.cachedFetch(cache, { tags: ["a,b"], downstream: { tagHeader: "cache-tag" } }), RangeError, "tags");
  lib.cachedFetch(cache, { tags: ["a b"], downstream: { tagHeader: "cache-tag" } });
});

// ----- ranges and content codings -----

/** Bytes a to b (exclusive) of the origin's ?digits= body. */
const digits = (a, b) => "0123456789".repeat(Math.ceil(b / 10)).slice(a, b);
async function originLog(origin, match) {
  return (await fetch(`${origin}/__log?match=${encodeURIComponent(match)}`)).json();
}

test("a Range request is answered 206 from the stored whole response: bytes=a-b, a-, -n; past the end, 416", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/rng?cc=max-age%3D60&digits=1000";
  const miss = await cfetch(lib.origin + p, { headers: { range: "bytes=0-99" } });
  equal(miss.status, 206);
  equal(miss.headers.get("content-range"), "bytes 0-99/1000");
  equal(miss.headers.get("content-length"), "100");
  equal(miss.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  equal(await miss.text(), digits(0, 100));
  for (const [range, start, end] of [["bytes=100-", 100, 999], ["bytes=-50", 950, 999], ["bytes=990-2000", 990, 999], ["BYTES=5-5", 5, 5], ["bytes=-5000", 0, 999]]) {
    const r = await cfetch(lib.origin + p, { headers: { range } });
    equal(r.status, 206, range);
    equal(r.headers.get("content-range"), `bytes ${start}-${end}/1000`, range);
    equal(r.headers.get("content-length"), String(end - start + 1), range);
    equal(r.headers.get("cache-status"), "edgecache; hit", range);
    equal(await r.text(), digits(start, end + 1), range);
  }
  for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
    const past = await cfetch(lib.origin + p, { headers: { range } });
    equal(past.status, 416, range);
    equal(past.headers.get("content-range"), "bytes */1000", range);
    equal(await past.text(), "", range);
  }
  const whole = await cfetch(lib.origin + p);
  equal(whole.status, 200);
  equal((await whole.text()).length, 1000);
  equal(await count(lib.origin, p), 1, "one origin request");
  const log = await originLog(lib.origin, "/rng?");
  ok(log.every((r) => !("range" in r.headers)), "the cache asked for the whole representation");
});

test("several ranges, another unit, a Range that does not parse, a status other than 200, or HEAD get the whole response", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/rngall?cc=max-age%3D60&digits=100";
  await (await cfetch(lib.origin + p)).text();
  for (const range of ["bytes=0-1,5-6", "items=0-5", "bytes=5-1", "bytes=abc", "bytes 0-5", "bytes="]) {
    const r = await cfetch(lib.origin + p, { headers: { range } });
    equal(r.status, 200, range);
    equal(r.headers.get("content-range"), null, range);
    equal(await r.text(), digits(0, 100), range);
  }
  const q = "/rng404?cc=max-age%3D60&status=404&digits=100";
  await (await cfetch(lib.origin + q)).text();
  const notFound = await cfetch(lib.origin + q, { headers: { range: "bytes=0-4" } });
  equal(notFound.status, 404, "Range applies to a 200 only");
  equal((await notFound.text()).length, 100);
  const head = await cfetch(lib.origin + p, { method: "HEAD", headers: { range: "bytes=0-4" } });
  equal(head.status, 200, "Range applies to GET only");
  await head.text();
  equal(await count(lib.origin, p), 1);
});

test("If-Range: the response's strong ETag or strong Last-Modified lets the range apply; anything else gets the whole 200", async (lib) => {
  const { t, cfetch } = setup(lib);
  const lm = t.t - 10_000;
  const p = `/ifr?cc=max-age%3D60&digits=100&etag=%22r1%22&lm=${lm}&date=${t.t}`;
  await (await cfetch(lib.origin + p)).text();
  const cases = [['"r1"', 206], ['"r2"', 200], ['W/"r1"', 200], [new Date(lm).toUTCString(), 206], [new Date(lm - 1000).toUTCString(), 200], ["garbage", 200]];
  for (const [ifRange, status] of cases) {
    const r = await cfetch(lib.origin + p, { headers: { range: "bytes=10-19", "if-range": ifRange } });
    equal(r.status, status, ifRange);
    equal(await r.text(), status === 206 ? digits(10, 20) : digits(0, 100), ifRange);
  }
  // A Last-Modified less than a second before Date is a weak validator (RFC 9110 §8.8.2.2).
  const q = `/ifr-weak?cc=max-age%3D60&digits=100&lm=${t.t}&date=${t.t}`;
  await (await cfetch(lib.origin + q)).text();
  const weak = await cfetch(lib.origin + q, { headers: { range: "bytes=10-19", "if-range": new Date(t.t).toUTCString() } });
  equal(weak.status, 200);
  await weak.text();
  equal(await count(lib.origin, p), 1);
});

test("a ranged request on a stale response revalidates without Range; the 304 updates the stored response, the range is cut from it", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/rng304?cc=max-age%3D1&etag=%22v%22&digits=100&counted=1";
  await (await cfetch(lib.origin + p)).text();
  t.advance(2000);
  const r = await cfetch(lib.origin + p, { headers: { range: "bytes=10-19" } });
  equal(r.status, 206);
  equal(r.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  equal(r.headers.get("x-origin-count"), "2", "the 304's header");
  equal(r.headers.get("content-range"), "bytes 10-19/100");
  equal(await r.text(), digits(10, 20));
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("x-origin-count"), "2", "the stored response was updated");
  equal(await hit.text(), digits(0, 100));
  const log = await originLog(lib.origin, "/rng304?");
  equal(log.length, 2);
  ok(log.every((e) => !("range" in e.headers)), "the revalidation asked for the whole representation");
});

test("a Range request whose answer may not be stored (private, too large) is asked of the origin with its Range", async (lib) => {
  const { cfetch } = setup(lib, { maxBodySize: 50 });
  const p = "/rngpriv?cc=private&digits=100&ranges=1";
  const r = await cfetch(lib.origin + p, { headers: { range: "bytes=10-19" } });
  equal(r.status, 206);
  equal(r.headers.get("content-range"), "bytes 10-19/100");
  equal(await r.text(), digits(10, 20));
  const q = "/rngbig?cc=max-age%3D60&digits=100&ranges=1";
  const big = await cfetch(lib.origin + q, { headers: { range: "bytes=-5" } });
  equal(big.status, 206);
  equal(big.headers.get("content-range"), "bytes 95-99/100");
  ok(big.headers.get("cache-status").includes("detail=too-large"));
  equal(await big.text(), digits(95, 100));
  const log = await originLog(lib.origin, "/rngbig?");
  equal(log.at(-1).headers.range, "62797465733d2d35", "the client's Range, as sent");
});

test("a 206 the origin sends is stored and answers the ranges inside it; another range completes it with Range and If-Range", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/part?cc=max-age%3D60&digits=100&partial=0-49&etag=%22p%22";
  const first = await cfetch(lib.origin + p, { headers: { range: "bytes=10-19" } });
  equal(first.status, 206);
  equal(first.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
  equal(first.headers.get("content-range"), "bytes 10-19/100");
  equal(await first.text(), digits(10, 20));
  const inside = await cfetch(lib.origin + p, { headers: { range: "bytes=40-49" } });
  equal(inside.status, 206);
  equal(inside.headers.get("cache-status"), "edgecache; hit");
  equal(inside.headers.get("content-range"), "bytes 40-49/100");
  equal(await inside.text(), digits(40, 50));
  const past = await cfetch(lib.origin + p, { headers: { range: "bytes=100-" } });
  equal(past.status, 416, "past the complete length the partial knows");
  equal(past.headers.get("content-range"), "bytes */100");
  equal(await count(lib.origin, p), 1);
  const beyond = await cfetch(lib.origin + p, { headers: { range: "bytes=60-69" } });
  equal(beyond.status, 206);
  equal(beyond.headers.get("cache-status"), "edgecache; fwd=partial; stored");
  equal(beyond.headers.get("content-range"), "bytes 60-69/100");
  equal(await beyond.text(), digits(60, 70));
  const log = await originLog(lib.origin, "/part?");
  equal(log.length, 2);
  equal(log[1].headers.range, "62797465733d35302d", "Range: bytes=50- (hex), only the missing bytes");
  equal(log[1].headers["if-range"], "227022", 'If-Range: "p"');
  const m = "/partmany?cc=max-age%3D60&digits=100&partial=0-49&etag=%22m%22&delay=20";
  await (await cfetch(lib.origin + m, { headers: { range: "bytes=0-9" } })).text();
  const many = await Promise.all(Array.from({ length: 20 }, () => cfetch(lib.origin + m)));
  equal(await count(lib.origin, m), 2, "20 concurrent completions of one partial: one origin request");
  for (const r of many) equal(r.status, 200);
  equal((await Promise.all(many.map((r) => r.text()))).every((text) => text === digits(0, 100)), true);
  const whole = await cfetch(lib.origin + p);
  equal(whole.status, 200);
  equal(whole.headers.get("cache-status"), "edgecache; hit");
  equal(whole.headers.get("content-range"), null);
  equal(whole.headers.get("content-length"), "100");
  equal(await whole.text(), digits(0, 100));
  equal(await count(lib.origin, p), 2);
});

test("a stale stored 206 is revalidated without Range; the 304's headers update it and the range is cut from it", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/part304?cc=max-age%3D1&digits=100&partial=0-49&etag=%22q%22&counted=1";
  await (await cfetch(lib.origin + p, { headers: { range: "bytes=0-9" } })).text();
  t.advance(2000);
  const r = await cfetch(lib.origin + p, { headers: { range: "bytes=20-29" } });
  equal(r.status, 206);
  equal(r.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  equal(r.headers.get("x-origin-count"), "2", "the 304's header");
  equal(r.headers.get("content-range"), "bytes 20-29/100", "the stored Content-Range, kept");
  equal(await r.text(), digits(20, 30));
  const hit = await cfetch(lib.origin + p, { headers: { range: "bytes=30-39" } });
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("x-origin-count"), "2", "stored");
  await hit.text();
  const log = await originLog(lib.origin, "/part304?");
  equal(log.length, 2);
  equal(log[1].headers["if-none-match"], "227122");
  equal(log[1].headers.range, undefined);
});

test("a stored 206 never answers a request without Range; completing it when the representation changed stores the new whole", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/part2?cc=max-age%3D60&digits=100&partial=50-99&etagv=1";
  const r = await cfetch(lib.origin + p);
  equal(r.status, 200, "the stored 206 was completed first");
  equal(r.headers.get("cache-status"), "edgecache; fwd=partial; stored");
  equal(r.headers.get("etag"), '"e2"', "If-Range failed: the origin sent the whole new representation");
  equal(await r.text(), digits(0, 100));
  const log = await originLog(lib.origin, "/part2?");
  equal(log[1].headers["if-range"], "22653122", 'If-Range: "e1"');
  const hit = await cfetch(lib.origin + p, { headers: { range: "bytes=0-9" } });
  equal(hit.status, 206);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(await hit.text(), digits(0, 10));
  const c = "/part4?cc=max-age%3D60&digits=100&partial=0-49&etag=%22c%22";
  await (await cfetch(lib.origin + c, { headers: { range: "bytes=0-9" } })).text();
  const notModified = await cfetch(lib.origin + c, { headers: { "if-none-match": '"c"' } });
  equal(notModified.status, 304, "the client's validator, evaluated on the completed response");
  const asked = (await originLog(lib.origin, "/part4?"))[1].headers;
  equal(asked["if-none-match"], undefined, "the completion asks for bytes, not for a 304");
  equal(asked.range, "62797465733d35302d", "Range: bytes=50-");
  equal((await cfetch(lib.origin + c)).headers.get("cache-status"), "edgecache; hit", "completed and stored");
  const head = await cfetch(lib.origin + "/part3?cc=max-age%3D60&digits=100&partial=0-9&etag=%22h%22", { method: "HEAD" });
  ok(head.headers.get("cache-status").includes("fwd=uri-miss"), "a HEAD miss is forwarded");
  equal(await count(lib.origin, p), 2);
});

test("a body fetch() decoded is stored as what it is: no Content-Encoding, its own length, a weak ETag; hits are the miss", async (lib) => {
  const { cfetch } = setup(lib);
  for (const coding of ["gzip", "br"]) {
    const p = `/ce-${coding}?cc=no-cache&coding=${coding}&etag=%22z%22`;
    const miss = await cfetch(lib.origin + p);
    equal(miss.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", coding);
    const missBytes = new Uint8Array(await miss.arrayBuffer());
    // fetch() hands back decoded content (the Fetch standard): the headers must say so.
    ok(new TextDecoder().decode(missBytes).startsWith(`v1 GET /ce-${coding}`), `${coding}: decoded content`);
    equal(miss.headers.get("content-encoding"), null, `${coding}: decoded bytes are never labelled ${coding}`);
    equal(miss.headers.get("content-length"), String(missBytes.length), `${coding}: the decoded length`);
    equal(miss.headers.get("etag"), 'W/"z"', `${coding}: the strong ETag names the coded bytes`);
    const again = await cfetch(lib.origin + p);
    equal(again.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", coding);
    equal(again.headers.get("content-encoding"), null, coding);
    equal(again.headers.get("etag"), 'W/"z"', `${coding}: still weak after the 304`);
    equal(new Uint8Array(await again.arrayBuffer()).join(), missBytes.join(), `${coding}: the same bytes as the miss`);
    const log = await originLog(lib.origin, `/ce-${coding}?`);
    equal(log[1].headers["if-none-match"], "227a22", `${coding}: revalidated with the origin's own ETag`);
    const ranged = await cfetch(lib.origin + p, { headers: { range: "bytes=0-4" } });
    equal(ranged.status, 206, `${coding}: a range of the decoded content`);
    equal(ranged.headers.get("content-range"), `bytes 0-4/${missBytes.length}`);
    equal(await ranged.text(), "v1 GE");
  }
});

test("a fetch option wrapping fetch() on a chunked gzip or deflate answer: the stored headers describe the bytes", async (lib) => {
  const { cfetch } = setup(lib, { fetch: (r) => fetch(r) });
  for (const coding of ["gzip", "deflate"]) {
    const p = `/ce-chunked-${coding}?cc=max-age%3D60&coding=${coding}&chunked=1`;
    const miss = await cfetch(lib.origin + p);
    equal(miss.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", coding);
    const missBytes = new Uint8Array(await miss.arrayBuffer());
    // Every runtime's fetch() decodes gzip; deflate only some (Deno hands it back coded).
    const label = miss.headers.get("content-encoding");
    if (coding === "gzip") equal(label, null, "gzip: decoded bytes are never labelled gzip");
    const content = label === null ? missBytes : new Uint8Array(await new Response(new Response(missBytes).body.pipeThrough(new DecompressionStream(label))).arrayBuffer());
    ok(new TextDecoder().decode(content).startsWith(`v1 GET /ce-chunked-${coding}`), `${coding} (${label ?? "decoded"}): the bytes are what the headers say`);
    const hit = await cfetch(lib.origin + p);
    equal(hit.headers.get("cache-status"), "edgecache; hit", coding);
    equal(hit.headers.get("content-encoding"), label, `${coding}: the stored header`);
    equal(new Uint8Array(await hit.arrayBuffer()).join(), missBytes.join(), `${coding}: the stored bytes`);
  }
});

test("a body still content-coded (a fetch that does not decode) keeps its Content-Encoding and bytes; a Range gets it whole", async (lib) => {
  let calls = 0;
  const coded = async () => {
    calls++;
    const body = new Response(new TextEncoder().encode("hello coded world")).body.pipeThrough(new CompressionStream("gzip"));
    return new Response(body, { headers: { "content-encoding": "gzip", "cache-control": "max-age=60", "content-type": "text/plain" } });
  };
  const { cfetch } = setup(lib, { fetch: coded });
  const miss = await cfetch(lib.origin + "/coded");
  const missBytes = new Uint8Array(await miss.arrayBuffer());
  equal(miss.headers.get("content-encoding"), "gzip");
  equal(missBytes[0], 0x1f, "gzip bytes");
  const hit = await cfetch(lib.origin + "/coded");
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(hit.headers.get("content-encoding"), "gzip", "the stored header");
  equal(new Uint8Array(await hit.arrayBuffer()).join(), missBytes.join(), "the stored coded bytes");
  const ranged = await cfetch(lib.origin + "/coded", { headers: { range: "bytes=0-3" } });
  equal(ranged.status, 200, "a range of coded bytes is not cut from what a fetch() body is");
  equal(new Uint8Array(await ranged.arrayBuffer()).join(), missBytes.join());
  const text = await new Response(new Response(missBytes).body.pipeThrough(new DecompressionStream("gzip"))).text();
  equal(text, "hello coded world");
  equal(calls, 1);
});

test("request max-age, min-fresh and max-stale choose which stored responses may answer (RFC 9111 §5.2.1)", async (lib) => {
  const { t, cfetch } = setup(lib);
  const ask = async (p, cc) => {
    const r = await cfetch(lib.origin + p, { headers: { "cache-control": cc } });
    await r.text();
    return r;
  };
  const p = "/rq-age?cc=max-age%3D60&etag=%22a%22";
  await (await cfetch(lib.origin + p)).text();
  t.advance(30_000);
  equal((await ask(p, "max-age=40")).headers.get("cache-status"), "edgecache; hit", "30 s old ≤ max-age=40");
  equal((await ask(p, "min-fresh=20")).headers.get("cache-status"), "edgecache; hit", "fresh 30 s more ≥ min-fresh=20");
  equal((await ask(p, "min-fresh=40")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "fresh 30 s more < min-fresh=40");
  t.advance(30_000);
  equal((await ask(p, "max-age=20")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "30 s old > max-age=20");
  equal((await ask(p, "max-age=0")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "max-age=0 always validates");
  equal(await count(lib.origin, p), 4);

  const s = "/rq-stale?cc=max-age%3D10&etag=%22s%22";
  const v1 = await (await cfetch(lib.origin + s)).text();
  t.advance(20_000);
  const any = await cfetch(lib.origin + s, { headers: { "cache-control": "max-stale" } });
  equal(any.headers.get("cache-status"), "edgecache; hit; detail=max-stale", "max-stale without a value: any staleness");
  equal(any.headers.get("age"), "20");
  equal(await any.text(), v1);
  equal((await ask(s, "max-stale=30")).headers.get("cache-status"), "edgecache; hit; detail=max-stale", "10 s stale ≤ 30");
  equal((await ask(s, "max-stale=30, max-age=15")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "max-age still bounds the age");
  t.advance(20_000);
  equal((await ask(s, "max-stale=5")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "10 s stale > 5");
  equal((await ask(s, "max-stale=5")).headers.get("cache-status"), "edgecache; hit", "fresh again after the 304");
  equal(await count(lib.origin, s), 3);

  // Directives that forbid serving stale win over max-stale (§4.2.4).
  for (const cc of ["max-age%3D10%2C%20must-revalidate", "max-age%3D10%2C%20proxy-revalidate", "s-maxage%3D10", "no-cache"]) {
    const q = `/rq-forbid-${cc.length}?cc=${cc}&etag=%22f%22`;
    await (await cfetch(lib.origin + q)).text();
    t.advance(20_000);
    equal((await ask(q, "max-stale")).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", cc);
  }
});

test("a stale response without validators is kept for keepForRevalidation: max-stale can still have it", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/nv-stale?cc=max-age%3D10";
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  const stale = await cfetch(lib.origin + p, { headers: { "cache-control": "max-stale=60" } });
  equal(stale.headers.get("cache-status"), "edgecache; hit; detail=max-stale");
  equal(await stale.text(), v1);
  const plain = await cfetch(lib.origin + p);
  equal(plain.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=200; stored", "without max-stale it is fetched again");
  await plain.text();
  const { t: t2, cfetch: f2 } = setup(lib, { keepForRevalidation: 0 });
  const q = "/nv-stale0?cc=max-age%3D10";
  await (await f2(lib.origin + q)).text();
  t2.advance(20_000);
  const gone = await f2(lib.origin + q, { headers: { "cache-control": "max-stale=60" } });
  equal(gone.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", "keepForRevalidation: 0 keeps nothing stale");
  await gone.text();
});

test("only-if-cached: a stored response that may answer, else 504 without asking the origin", async (lib) => {
  const { t, cfetch } = setup(lib);
  const only = (p, extra = {}) => cfetch(lib.origin + p, { headers: { "cache-control": "only-if-cached", ...extra.headers }, method: extra.method });
  const p = "/oic?cc=max-age%3D10&etag=%22o%22";
  const miss = await only(p);
  equal(miss.status, 504);
  equal(miss.headers.get("cache-status"), "edgecache; detail=only-if-cached");
  equal((await only(p, { method: "HEAD" })).status, 504, "a HEAD too");
  equal(await count(lib.origin, p), 0, "the origin was never asked");
  const v1 = await (await cfetch(lib.origin + p)).text();
  const hit = await only(p);
  equal(hit.status, 200);
  equal(hit.headers.get("cache-status"), "edgecache; hit");
  equal(await hit.text(), v1);
  t.advance(20_000);
  equal((await only(p)).status, 504, "stale, and the client did not allow stale");
  const stale = await cfetch(lib.origin + p, { headers: { "cache-control": "only-if-cached, max-stale=60" } });
  equal(stale.headers.get("cache-status"), "edgecache; hit; detail=max-stale");
  equal(await stale.text(), v1);
  equal((await only(p, { headers: { range: "bytes=0-1" } })).status, 504, "a range of a stale response too");
  equal(await count(lib.origin, p), 1);
});

test("request no-store: a stored response may answer it, and nothing of it is stored", async (lib) => {
  const { t, cfetch } = setup(lib);
  const noStore = { headers: { "cache-control": "no-store" } };
  const p = "/rns?cc=max-age%3D10&etag=%22n%22";
  const v1 = await (await cfetch(lib.origin + p)).text();
  const hit = await cfetch(lib.origin + p, noStore);
  equal(hit.headers.get("cache-status"), "edgecache; hit", "answered from what was stored before");
  equal(await hit.text(), v1);
  t.advance(20_000);
  const fwd = await cfetch(lib.origin + p, noStore);
  equal(fwd.headers.get("cache-status"), "edgecache; fwd=request");
  ok((await fwd.text()).startsWith("v2"));
  const after = await cfetch(lib.origin + p);
  equal(after.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "the stored response was not updated by it");
  equal(await after.text(), v1);
  const q = "/rns-miss?cc=max-age%3D60";
  await (await cfetch(lib.origin + q, noStore)).text();
  equal((await cfetch(lib.origin + q)).headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", "a no-store miss was not stored");
  const r = "/rns-range?digits=100&ranges=1&cc=max-age%3D60";
  const ranged = await cfetch(lib.origin + r, { headers: { "cache-control": "no-store", range: "bytes=0-9" } });
  equal(ranged.status, 206);
  equal(await ranged.text(), "0123456789");
  equal(await count(lib.origin, r), 1, "a ranged no-store miss asks the origin once, with its Range");
});

test("must-revalidate, proxy-revalidate and s-maxage: never stale on error; 504 when the origin cannot be reached", async (lib) => {
  const { t, cfetch } = setup(lib, { staleIfError: 120_000 });
  for (const [i, cc] of ["max-age%3D10%2C%20must-revalidate%2C%20stale-if-error%3D60", "max-age%3D10%2C%20proxy-revalidate", "s-maxage%3D10"].entries()) {
    const path = `/mr-down${i}`;
    const p = `${path}?cc=${cc}&etag=%22d%22`;
    await (await cfetch(lib.origin + p)).text();
    t.advance(20_000);
    await failMode(lib.origin, path, "reset");
    const down = await cfetch(lib.origin + p);
    equal(down.status, 504, cc);
    equal(down.headers.get("cache-status"), "edgecache; fwd=stale; detail=origin-unreachable");
    await failMode(lib.origin, path, "503");
    const error = await cfetch(lib.origin + p, { headers: { "cache-control": "stale-if-error=60" } });
    equal(error.status, 503, `${cc}: the origin's error, not the stale response`);
    await error.text();
    await failMode(lib.origin, path, "off");
  }
  const plain = "/mr-down-plain?cc=max-age%3D10&etag=%22d%22";
  await (await cfetch(lib.origin + plain)).text();
  t.advance(20_000);
  await failMode(lib.origin, "/mr-down-plain", "reset");
  equal((await cfetch(lib.origin + plain)).headers.get("cache-status"), "edgecache; hit; detail=stale-if-error", "without them the option applies");
  await failMode(lib.origin, "/mr-down-plain", "off");
});

test("stale-if-error in the request allows a stale answer; only 500, 502, 503 and 504 count as errors (RFC 5861)", async (lib) => {
  const { t, cfetch } = setup(lib);
  const path = "/rq-sie";
  const p = `${path}?cc=max-age%3D10&etag=%22e%22`;
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  await failMode(lib.origin, path, "502");
  const plain = await cfetch(lib.origin + p);
  equal(plain.status, 502, "neither the response nor the request allows it");
  await plain.text();
  const allowed = await cfetch(lib.origin + p, { headers: { "cache-control": "stale-if-error=30" } });
  equal(allowed.headers.get("cache-status"), "edgecache; hit; detail=stale-if-error");
  equal(await allowed.text(), v1);
  const short = await cfetch(lib.origin + p, { headers: { "cache-control": "stale-if-error=5" } });
  equal(short.status, 502, "10 s stale is past the request's 5 s");
  await short.text();
  const q = `${path}b?cc=max-age%3D10%2C%20stale-if-error%3D60&etag=%22e%22`;
  await (await cfetch(lib.origin + q)).text();
  t.advance(20_000);
  for (const [status, stale] of [["501", false], ["505", false], ["500", true], ["504", true]]) {
    await failMode(lib.origin, `${path}b`, status);
    const r = await cfetch(lib.origin + q);
    equal(r.status === 200, stale, `a ${status}`);
    await r.text();
  }
  await failMode(lib.origin, path, "off");
  await failMode(lib.origin, `${path}b`, "off");
});

test("a 304 naming another ETag does not update the stored response: the whole response is asked for", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/etag-other?cc=max-age%3D10&etag=%22a%22&etag304=%22b%22";
  const v1 = await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  const r = await cfetch(lib.origin + p);
  equal(r.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=200; stored");
  equal(r.headers.get("etag"), '"a"');
  const body = await r.text();
  ok(body.startsWith("v3") && body !== v1, body);
  equal(await count(lib.origin, p), 3, "the conditional request, then the unconditional one");
  const same = "/etag-same?cc=max-age%3D10&etag=W%2F%22a%22";
  await (await cfetch(lib.origin + same)).text();
  t.advance(20_000);
  equal((await cfetch(lib.origin + same)).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "the same weak ETag updates it");
});

test("no-cache and private with field names: the stored copy goes without those fields and is reused", async (lib) => {
  const { cfetch } = setup(lib);
  for (const cc of ['max-age=60, no-cache="X-Origin-Count"', 'max-age=60, private="x-origin-count, x-latin"', 'max-age=60, no-cache="x-latin, X-Origin-Count"']) {
    const p = `/fields-${cc.length}${cc.includes("private") ? "p" : "n"}?cc=${encodeURIComponent(cc)}&counted=1&latin=1`;
    const miss = await cfetch(lib.origin + p);
    equal(miss.headers.get("x-origin-count"), "1", `${cc}: the requester gets the origin's fields`);
    await miss.text();
    const hit = await cfetch(lib.origin + p);
    equal(hit.headers.get("cache-status"), "edgecache; hit", cc);
    equal(hit.headers.get("x-origin-count"), null, `${cc}: not stored`);
    if (cc.includes("x-latin")) equal(hit.headers.get("x-latin"), null, `${cc}: neither is the second name`);
    equal(hit.headers.get("content-type"), "text/plain; charset=utf-8", "the other fields are");
    await hit.text();
    equal(await count(lib.origin, p), 1);
  }
  const whole = "/fields-whole?cc=max-age%3D60%2C%20private";
  await (await cfetch(lib.origin + whole)).text();
  ok((await cfetch(lib.origin + whole)).headers.get("cache-status").includes("fwd=uri-miss"), "unqualified private is never stored");
});

test("a qualified private or no-cache naming a field the stored response needs is read as unqualified", async (lib) => {
  const { cfetch } = setup(lib);
  // Without its Vary the copy would answer every variant; without its
  // Content-Type or Content-Encoding the body would be misread.
  for (const field of ["vary", "Content-Type", "content-encoding", "cache-control"]) {
    const cc = `max-age=60, private="x-latin, ${field}"`;
    const p = `/fields-needed-${field}?cc=${encodeURIComponent(cc)}&vary=accept-language&counted=1`;
    await (await cfetch(lib.origin + p, { headers: { "accept-language": "en" } })).text();
    const again = await cfetch(lib.origin + p, { headers: { "accept-language": "en" } });
    ok(again.headers.get("cache-status").includes("fwd=uri-miss"), `${field}: never stored, got ${again.headers.get("cache-status")}`);
    equal(again.headers.get("vary"), "accept-language", field);
    await again.text();
    equal(await count(lib.origin, p), 2, field);
  }
  const p = `/fields-needed-nocache?cc=${encodeURIComponent('max-age=60, no-cache="content-type"')}&counted=1&etag=%22n%22`;
  await (await cfetch(lib.origin + p)).text();
  const again = await cfetch(lib.origin + p);
  ok(again.headers.get("cache-status").includes("fwd=stale"), `no-cache="content-type" revalidates every time: ${again.headers.get("cache-status")}`);
  equal(again.headers.get("content-type"), "text/plain; charset=utf-8");
  await again.text();
});

test("an unqualified private or no-cache anywhere in Cache-Control wins over a qualified one; a malformed field list is unqualified", async (lib) => {
  const { cfetch } = setup(lib);
  // Two Cache-Control lines (a framework's private="…" and the app's
  // private) arrive joined: the response is still one user's.
  for (const cc of ['max-age=60, private="x-origin-count", private', 'max-age=60, private="x-origin-count, max-age=60', "max-age=60, private=\"x-origin-count\", private=x-latin"]) {
    const p = `/fields-twice-${cc.length}?cc=${encodeURIComponent(cc)}&counted=1&latin=1`;
    await (await cfetch(lib.origin + p)).text();
    const again = await cfetch(lib.origin + p);
    if (cc.endsWith("private=x-latin")) {
      // Two qualified lists: neither field is stored.
      equal(again.headers.get("cache-status"), "edgecache; hit", cc);
      equal(again.headers.get("x-origin-count"), null, cc);
      equal(again.headers.get("x-latin"), null, cc);
    } else {
      ok(again.headers.get("cache-status").includes("fwd=uri-miss"), `${cc}: never stored, got ${again.headers.get("cache-status")}`);
      equal(again.headers.get("x-origin-count"), "2", cc);
    }
    await again.text();
  }
  const p = `/fields-nocache-twice?cc=${encodeURIComponent('max-age=60, no-cache="x-origin-count", no-cache')}&counted=1&etag=%22n%22`;
  await (await cfetch(lib.origin + p)).text();
  const again = await cfetch(lib.origin + p);
  ok(again.headers.get("cache-status").includes("fwd=stale"), `no-cache still revalidates every time: ${again.headers.get("cache-status")}`);
  await again.text();
  equal(await count(lib.origin, p), 2);
});

test("private=\"field\": a collapsed waiter gets the shared copy, without the field; the leader gets it", async (lib) => {
  const { cfetch } = setup(lib);
  const p = `/fields-collapse?cc=${encodeURIComponent('max-age=60, private="x-origin-count"')}&counted=1&delay=50`;
  const [leader, waiter] = await Promise.all([cfetch(lib.origin + p), cfetch(lib.origin + p)]);
  equal(leader.headers.get("x-origin-count"), "1");
  equal(waiter.headers.get("x-origin-count"), null);
  ok(waiter.headers.get("cache-status").includes("collapsed"), waiter.headers.get("cache-status"));
  equal(await leader.text(), await waiter.text());
  equal(await count(lib.origin, p), 1);
});

test("downstream: the miss that carries private=\"field\" fields tells a CDN nothing; hits without them do", async (lib) => {
  const { cfetch } = setup(lib, { tags: ["t"], downstream: { tagHeader: "Cache-Tag", cdnCacheControl: true } });
  const p = `/fields-cdn?cc=${encodeURIComponent('max-age=60, private="x-origin-count"')}&counted=1`;
  const miss = await cfetch(lib.origin + p);
  equal(miss.headers.get("x-origin-count"), "1");
  equal(miss.headers.get("cdn-cache-control"), null, "a CDN would store the private field");
  equal(miss.headers.get("cache-tag"), null);
  await miss.text();
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("x-origin-count"), null);
  equal(hit.headers.get("cdn-cache-control"), "max-age=60");
  equal(hit.headers.get("cache-tag"), "t");
  await hit.text();
});

test("a response without Date is stored with the time it was received; Expires and heuristics count from it", async (lib) => {
  const { t, cfetch } = setup(lib);
  const received = new Date(t.t).toUTCString();
  const p = "/nodate?cc=max-age%3D60";
  const miss = await cfetch(lib.origin + p);
  equal(miss.headers.get("date"), received);
  await miss.text();
  t.advance(5_000);
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("date"), received, "the stored Date");
  equal(hit.headers.get("age"), "5");
  await hit.text();
  const since = await cfetch(lib.origin + p, { headers: { "if-modified-since": new Date(t.t).toUTCString() } });
  equal(since.status, 304, "If-Modified-Since compares with the Date it was stored with");
  const bad = `/baddate?cc=max-age%3D60&dateraw=${encodeURIComponent("yesterday")}`;
  const badMiss = await cfetch(lib.origin + bad);
  equal(badMiss.headers.get("date"), new Date(t.t).toUTCString(), "an invalid Date is replaced by the time received");
  await badMiss.text();
  const e = `/nodate-exp?expires=${t.t + 30_000}`;
  await (await cfetch(lib.origin + e)).text();
  t.advance(29_000);
  equal((await cfetch(lib.origin + e)).headers.get("cache-status"), "edgecache; hit", "Expires − the time received");
  const h = `/nodate-heur?lm=${t.t - 1_000_000}`;
  await (await cfetch(lib.origin + h)).text();
  t.advance(99_000);
  equal((await cfetch(lib.origin + h)).headers.get("cache-status"), "edgecache; hit", "10% of the time since Last-Modified");
  const future = `/lm-future?date=${t.t}&lm=${t.t + 1_000_000}`;
  await (await cfetch(lib.origin + future)).text();
  equal((await cfetch(lib.origin + future)).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=200; stored", "a Last-Modified in the future gives no heuristic freshness");
  const r = "/d304?cc=max-age%3D10&etag=%22d%22";
  await (await cfetch(lib.origin + r)).text();
  t.advance(20_000);
  equal((await cfetch(lib.origin + r)).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  t.advance(5_000);
  equal((await cfetch(lib.origin + r)).headers.get("cache-status"), "edgecache; hit", "a 304 without Date is as new as it was received");
});

test("a 304 without Age refreshes the stored response as new: the old response's Age no longer counts", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/age304?cc=max-age%3D60&age=50&etag=%22g%22&noage304=1";
  await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  t.advance(30_000);
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("cache-status"), "edgecache; hit", "30 s after the 304, not 80");
  equal(hit.headers.get("age"), "30");
  await hit.text();
  const aged = "/age304b?cc=max-age%3D60&age=50&etag=%22g%22";
  await (await cfetch(lib.origin + aged)).text();
  t.advance(20_000);
  const withAge = await cfetch(lib.origin + aged);
  equal(withAge.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  equal(withAge.headers.get("age"), "50", "the 304's Age is the refreshed response's age");
  await withAge.text();
});

test("a full response to a revalidation that is not stored removes the stored one; a 5xx does not", async (lib) => {
  const { t, cfetch } = setup(lib);
  const path = "/replaced";
  const p = `${path}?cc=max-age%3D10&etag=%22r%22`;
  await (await cfetch(lib.origin + p)).text();
  t.advance(20_000);
  await failMode(lib.origin, path, "503");
  equal((await cfetch(lib.origin + p)).status, 503);
  const kept = await cfetch(lib.origin + p, { headers: { "cache-control": "only-if-cached, max-stale" } });
  equal(kept.headers.get("cache-status"), "edgecache; hit; detail=max-stale", "a 5xx leaves the stored response");
  await kept.text();
  await failMode(lib.origin, path, "404");
  const gone = await cfetch(lib.origin + p);
  equal(gone.status, 404);
  equal(gone.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=404");
  await gone.text();
  equal((await cfetch(lib.origin + p, { headers: { "cache-control": "only-if-cached, max-stale" } })).status, 504, "the 404 replaced it");
  await failMode(lib.origin, path, "off");
  equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; fwd=uri-miss; stored");
});

test("Age counts the origin's Age plus the response delay, or the time since Date if larger (RFC 9111 §4.2.3)", async (lib) => {
  const t = clock();
  const cache = new lib.Cache({ now: t.now });
  // The origin takes 4 s (on the cache's clock) to answer.
  const cfetch = lib.cachedFetch(cache, { fetch: async (request) => {
    const response = await fetch(request);
    t.advance(4_000);
    return response;
  } });
  const p = "/delay-age?cc=max-age%3D60&age=10";
  await (await cfetch(lib.origin + p)).text();
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("age"), "14", "Age 10 + a 4 s response delay");
  await hit.text();
  const q = `/date-age?cc=max-age%3D60&age=3&date=${t.t - 30_000}`;
  await (await cfetch(lib.origin + q)).text();
  equal((await cfetch(lib.origin + q)).headers.get("age"), "34", "received 34 s after its Date, more than Age 3 + 4 s");
  cache.free();
});

test("a 304's Content-Length never replaces the stored one (RFC 9111 §3.2)", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/cl304?digits=10&cc=max-age%3D1&etag=%22c%22&cl304=99";
  await (await cfetch(lib.origin + p)).text();
  t.advance(2_000);
  const updated = await cfetch(lib.origin + p);
  equal(updated.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored");
  equal(updated.headers.get("content-length"), "10");
  equal(await updated.text(), "0123456789");
  const hit = await cfetch(lib.origin + p);
  equal(hit.headers.get("content-length"), "10");
  equal(await hit.text(), "0123456789");
});

test("an invalid max-age or s-maxage makes the response stale: neither ttl nor heuristics apply", async (lib) => {
  const { cfetch } = setup(lib, { ttl: 60_000 });
  for (const cc of ["max-age=abc", "max-age=-1", "max-age=1.5", "s-maxage=x, max-age=60", "max-age"]) {
    const p = `/badma-${encodeURIComponent(cc)}?cc=${encodeURIComponent(cc)}`;
    await (await cfetch(lib.origin + p)).text();
    ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd=uri-miss"), cc);
  }
  const quoted = '/badma-quoted?cc=max-age%3D%2260%22';
  await (await cfetch(lib.origin + quoted)).text();
  equal((await cfetch(lib.origin + quoted)).headers.get("cache-status"), "edgecache; hit", 'max-age="60" is read as 60');
});

test("an empty CDN-Cache-Control is ignored: Cache-Control decides (RFC 9213 §2.1)", async (lib) => {
  const { t, cfetch } = setup(lib);
  for (const [cc, stored] of [["max-age%3D60", true], ["no-store", false]]) {
    const p = `/cdn-empty?cc=${cc}&cdn=`;
    await (await cfetch(lib.origin + p)).text();
    const r = await cfetch(lib.origin + p);
    equal(r.headers.get("cache-status") === "edgecache; hit", stored, `Cache-Control: ${decodeURIComponent(cc)} with CDN-Cache-Control empty`);
    await r.text();
  }
  // A member the cache does not know is not empty: Cache-Control is still ignored (RFC 9213 §3.1's "none").
  const none = `/cdn-none?cc=no-store&cdn=none&lm=${t.t - 1_000_000}`;
  await (await cfetch(lib.origin + none)).text();
  equal((await cfetch(lib.origin + none)).headers.get("cache-status"), "edgecache; hit", "CDN-Cache-Control: none");
});

test("an unsafe request's answer with a Location or Content-Location that is no URL passes through and still invalidates its own URL", async (lib) => {
  const { cfetch } = setup(lib);
  for (const [i, header] of ["location", "clocation"].entries()) {
    const p = `/badloc${i}?cc=max-age%3D60`;
    await (await cfetch(lib.origin + p)).text();
    equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
    const post = await cfetch(`${lib.origin}${p}&${header}=${encodeURIComponent("http://[::1")}`, { method: "POST", body: "x" });
    equal(post.status, 200, `${header}: http://[::1`);
    ok((await post.text()).includes("POST"));
    // The POST's own URL (another query) is invalidated; so is the GET's, by a POST to it.
    await (await cfetch(`${lib.origin}${p}`, { method: "POST", body: "x" })).text();
    ok((await cfetch(lib.origin + p)).headers.get("cache-status").includes("fwd=uri-miss"), "invalidated");
  }
});

test("an unsafe answer whose Location carries userinfo passes through, with a cacheKey too (RFC 9110 §4.2.4: it names nothing)", async (lib) => {
  const { cfetch } = setup(lib, { cacheKey: lib.sortQuery });
  const host = new URL(lib.origin).host;
  const target = "/userinfo-target?cc=max-age%3D60";
  await (await cfetch(lib.origin + target)).text();
  for (const [i, loc] of [`http://u:p@${host}${target}`, `//u@${host}${target}`].entries()) {
    for (const header of ["location", "clocation"]) {
      const p = `/userinfo${i}?cc=max-age%3D60`;
      await (await cfetch(lib.origin + p)).text();
      const post = await cfetch(`${lib.origin}${p}&${header}=${encodeURIComponent(loc)}`, { method: "POST", body: "x" });
      equal(post.status, 200, `${header}: ${loc}`);
      ok((await post.text()).includes("POST"));
    }
  }
  // A Location with userinfo is an error, not the URL without it: the stored response there stays.
  equal((await cfetch(lib.origin + target)).headers.get("cache-status"), "edgecache; hit");
});

test("an unsafe answer whose Location the cacheKey cannot key passes through: nothing was stored there", async (lib) => {
  const cache = new lib.Cache({ maxMemory: 1 << 20 });
  // A key function that refuses one path: no GET for it was ever stored, so the
  // POST's answer (the origin has applied it) must not be lost over it.
  const cfetch = lib.cachedFetch(cache, {
    cacheKey: (request) => {
      if (new URL(request.url).pathname === "/unkeyable") throw new Error("no key for this path");
      return request.url;
    },
  });
  for (const header of ["location", "clocation"]) {
    const url = `${lib.origin}/keyable-post?cc=max-age%3D60&${header}=%2Funkeyable`;
    await (await cfetch(url)).text();
    const post = await cfetch(url, { method: "POST", body: "x" });
    equal(post.status, 200, header);
    ok((await post.text()).includes("POST"));
    ok((await cfetch(url)).headers.get("cache-status").includes("fwd=uri-miss"), `${header}: the POST's own URL was invalidated`);
  }
});

test("a Vary naming something that is no field name is never matched, like Vary: *, and never throws", async (lib) => {
  const { cfetch } = setup(lib);
  for (const [i, vary] of ['"accept"', "a b", "a:b", "accept, x@y"].entries()) {
    const p = `/badvary${i}?cc=max-age%3D60&vary=${encodeURIComponent(vary)}`;
    for (let n = 1; n <= 2; n++) {
      const r = await cfetch(lib.origin + p);
      equal(r.status, 200, `Vary: ${vary}`);
      equal(r.headers.get("cache-status"), "edgecache; fwd=uri-miss", `Vary: ${vary} is not stored`);
      ok((await r.text()).startsWith(`v${n} `));
    }
  }
});

test("a 304 that makes the stored response no-store (or private) removes it: the next request goes to the origin", async (lib) => {
  const { cfetch } = setup(lib);
  for (const cc304 of ["no-store", "private, max-age=60"]) {
    const p = `/nostore304-${cc304.length}?cc=max-age%3D60&etag=%22a%22&cc304=${encodeURIComponent(cc304)}`;
    await (await cfetch(lib.origin + p)).text();
    equal((await cfetch(lib.origin + p)).headers.get("cache-status"), "edgecache; hit");
    const reload = await cfetch(lib.origin + p, { headers: { "cache-control": "no-cache" } });
    equal(reload.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304", cc304);
    equal(reload.headers.get("cache-control"), cc304, "the requester gets the 304's directives");
    await reload.text();
    const next = await cfetch(lib.origin + p);
    // (The origin's 200s say max-age=60: that one is stored anew.)
    equal(next.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", `after a 304 with ${cc304}, nothing was left stored`);
    equal(await count(lib.origin, p), 3);
    await next.text();
  }
});

test("a 412 answering the client's If-Match or If-Unmodified-Since is passed on, never stored for plain requests", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/ifmatch?cc=max-age%3D60&etag=%22a%22&ifmatch=1";
  for (const [name, value] of [["if-match", '"nope"'], ["if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT"]]) {
    const q = `${p}&n=${name}`;
    const failed = await cfetch(lib.origin + q, { headers: name === "if-match" ? { [name]: value } : { [name]: value, "if-match": '"nope"' } });
    equal(failed.status, 412, name);
    await failed.text();
    const plain = await cfetch(lib.origin + q);
    equal(plain.status, 200, `a plain GET after a 412 to ${name}`);
    await plain.text();
  }
  // A precondition that holds gets the 200, which is stored as usual.
  const q = `${p}&n=holds`;
  equal((await cfetch(lib.origin + q, { headers: { "if-match": '"a"' } })).status, 200);
  equal((await cfetch(lib.origin + q)).headers.get("cache-status"), "edgecache; hit");
});

test("a 412 answering If-Unmodified-Since alone is not stored either", async (lib) => {
  const { cfetch } = setup(lib);
  // This origin answers 412 to anything: only the request's precondition keeps it out of the cache.
  const p = "/iums412?status=412&cc=max-age%3D60";
  const failed = await cfetch(lib.origin + p, { headers: { "if-unmodified-since": "Sun, 06 Nov 1994 08:49:37 GMT" } });
  equal(failed.status, 412);
  equal(failed.headers.get("cache-status"), "edgecache; fwd=uri-miss", "the 412 to If-Unmodified-Since is not stored");
  await failed.text();
  const plain = await cfetch(lib.origin + p);
  equal(plain.headers.get("cache-status"), "edgecache; fwd=uri-miss; stored", "the plain GET asks the origin");
  await plain.text();
  equal(await count(lib.origin, p), 2);
});

test("Pragma: only its no-cache member (any case, in a list) counts, and only without Cache-Control (RFC 9111 §5.4)", async (lib) => {
  const { cfetch } = setup(lib);
  const p = "/pragma-list?cc=max-age%3D60&etag=%22a%22";
  await (await cfetch(lib.origin + p)).text();
  for (const [pragma, hit] of [["x-no-cache", true], ["no-cache-please", true], ["foo, NO-CACHE", false], ["no-cache", false]]) {
    const r = await cfetch(lib.origin + p, { headers: { pragma } });
    equal(r.headers.get("cache-status") === "edgecache; hit", hit, `Pragma: ${pragma}`);
    await r.text();
  }
  const withCc = await cfetch(lib.origin + p, { headers: { pragma: "no-cache", "cache-control": "max-stale=5" } });
  equal(withCc.headers.get("cache-status"), "edgecache; hit", "Pragma is ignored beside Cache-Control");
  await withCc.text();
});

test("a 412 to the client's If-Match on a stale response leaves the stored response for the next request to revalidate", async (lib) => {
  const { t, cfetch } = setup(lib);
  const p = "/ifmatch-stale?cc=max-age%3D1&etag=%22a%22&ifmatch=1";
  await (await cfetch(lib.origin + p)).text();
  t.advance(2_000);
  const failed = await cfetch(lib.origin + p, { headers: { "if-match": '"nope"' } });
  equal(failed.status, 412);
  await failed.text();
  const next = await cfetch(lib.origin + p);
  equal(next.headers.get("cache-status"), "edgecache; fwd=stale; fwd-status=304; stored", "still stored");
  ok((await next.text()).startsWith("v1 "));
});

test("a variant stored before a response without Vary replaced it is not answered once responses vary again", async (lib) => {
  // One key for the path, whatever the query: the origin's Vary can change between responses.
  const { cfetch } = setup(lib, { cacheKey: (request) => `path:${new URL(request.url).pathname}` });
  const varying = `${lib.origin}/vary-again?cc=max-age%3D60&reflect=x-body&vary=x-lang`;
  const plain = `${lib.origin}/vary-again?cc=max-age%3D60&reflect=x-body`;
  const ask = async (url, headers) => (await cfetch(url, { headers })).text();
  equal(await ask(varying, { "x-lang": "de", "x-body": "old de" }), "old de");
  equal(await ask(plain, { "cache-control": "no-cache", "x-body": "plain" }), "plain");
  equal(await ask(varying, { "x-lang": "de", "x-body": "unused" }), "plain", "the response without Vary answers every language");
  equal(await ask(varying, { "x-lang": "en", "cache-control": "no-cache", "x-body": "new en" }), "new en");
  equal(await ask(varying, { "x-lang": "en", "x-body": "unused" }), "new en");
  equal(await ask(varying, { "x-lang": "de", "x-body": "new de" }), "new de", "not the de variant the response without Vary replaced");
});

export function fetchSuite() {
  return tests;
}

export function runFetchSuite(lib) {
  return run(tests, lib);
}
