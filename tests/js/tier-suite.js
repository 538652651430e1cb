// The tier layer's semantics (L1 → L2 → loader, queued writes, coherence,
// faults), run against memoryTier: several Cache instances on one tier play
// the isolates of one deployment. Each test receives the package's exports
// plus `memoryTier`. Engine tiers (Redis, KV, Deno KV) have their own suites.

import { ok, equal, deepEqual, throws } from "./assert.js";
import { registry } from "./harness.js";
import { counted, sleep } from "./loaders.js";
import { writeChanged, changeAfterSave, assertNoneChanged as noneChanged, local } from "./warm-cases.js";

const assertNoneChanged = (cache, where) => noneChanged(local(cache), where);

const { tests, test } = registry();

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t, advance: (ms) => (c.t += ms) };
  return c;
}

/** Lets queued microtasks and timers of 0 ms run (message delivery). */
const tick = () => new Promise((r) => setTimeout(r, 0));

/** `n` caches ("isolates") on one memory tier and one clock. */
function isolates(lib, n = 2, options = {}) {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now, ...options.tierOptions });
  const caches = Array.from({ length: n }, () => new lib.Cache({ now: c.now, tier, ...options.cache }));
  return { clock: c, tier, caches, free: () => caches.forEach((x) => x.free()) };
}


test("an L2 hit fills L1 with the entry's remaining lifetime, tags and dependencies", async (lib) => {
  const { clock: c, caches: [a, b], free } = isolates(lib);
  const load = counted({ page: 1 });
  await a.getOrLoad("page", load, { ttl: 10_000, tags: ["pages"], dependsOn: [["comment", 7]] });
  await a.flush();
  c.advance(4_000);
  const other = counted({ page: "other" });
  deepEqual(await b.getOrLoad("page", other), { page: 1 });
  equal(other.calls, 0, "served from L2, not loaded");
  equal(b.stats().tierHits, 1);
  deepEqual(b.get("page"), { page: 1 }, "L1 was filled");
  c.advance(5_999);
  ok(b.has("page"), "alive until the original expiry");
  c.advance(1);
  equal(b.has("page"), false, "expired at the original expiry, not 10 s after the fill");
  c.t -= 6_000;
  await b.getOrLoad("page", other);
  equal(b.invalidate(["comment", 7]) >= 1, true, "the dependency came with the entry");
  equal(b.has("page"), false);
  free();
});

test("a set reaches L2 and another isolate reads it without loading", async (lib) => {
  const { caches: [a, b], free } = isolates(lib);
  equal(a.set("k", "v1"), true);
  await a.flush();
  const load = counted("loaded");
  equal(await b.getOrLoad("k", load), "v1");
  equal(load.calls, 0);
  free();
});

test("a set, delete, invalidate and invalidateTag in one isolate reach the others' L1", async (lib) => {
  const { caches: [a, b], free } = isolates(lib);
  b.set("x", 1);
  b.set("y", 1);
  b.set("z", 1, { tags: ["t"] });
  b.set("page", 1, { dependsOn: ["y"] });
  await b.flush();
  a.set("x", 2);
  a.delete("y");
  a.invalidateTag("t");
  await a.flush();
  await tick();
  equal(b.get("x"), undefined, "the other isolate dropped its copy of x");
  equal(b.get("y"), undefined);
  equal(b.get("page"), undefined, "and what was built on y");
  equal(b.get("z"), undefined, "and what carried the tag");
  equal(await b.getOrLoad("x", counted(0)), 2, "the new value comes from L2");
  equal(a.get("x"), 2, "the writer keeps its own write");
  free();
});

test("a tag invalidation hides every L2 entry written before it, not those written after", async (lib) => {
  const { caches: [a, b, c], free } = isolates(lib, 3);
  a.set("old", "o", { tags: ["stock"] });
  await a.flush();
  b.invalidateTag("stock");
  await b.flush();
  c.set("new", "n", { tags: ["stock"] });
  await c.flush();
  const fresh = counted("reloaded");
  equal(await a.getOrLoad("old", fresh), "reloaded", "the old value is never served again");
  equal(fresh.calls, 1);
  equal(await b.getOrLoad("new", counted("x")), "n");
  free();
});

test("a cascade removes L2 dependents that no isolate holds in memory", async (lib) => {
  const { caches: [a, b], free } = isolates(lib);
  a.set(["comment", 7], "c");
  a.set("page", "built on 7", { dependsOn: [["comment", 7]] });
  a.set("site", "built on page", { dependsOn: ["page"] });
  await a.flush();
  a.free();
  b.set(["comment", 7], "c2"); // a change: the page and the site go, in L2 too
  await b.flush();
  const rebuild = counted("rebuilt");
  equal(await b.getOrLoad("page", rebuild), "rebuilt");
  equal(await b.getOrLoad("site", rebuild), "rebuilt");
  equal(rebuild.calls, 2);
  free();
});

test("a cascade reaches a dependent another isolate holds without the entries between", async (lib) => {
  // b holds "site" (built on "page", built on ["comment", 7]) but neither "page" nor the
  // comment: only the tier knows that "site" is built on the comment.
  const { caches: [a, b], free } = isolates(lib);
  a.set(["comment", 7], "c");
  a.set("page", "built on 7", { dependsOn: [["comment", 7]] });
  a.set("site", "built on page", { dependsOn: ["page"] });
  await a.flush();
  await tick();
  equal(await b.getOrLoad("site", counted("loaded")), "built on page");
  equal(b.get("site"), "built on page", "L1 was filled");
  a.invalidate(["comment", 7]);
  await a.flush();
  await tick();
  equal(b.get("site"), undefined, "the other isolate no longer serves the dependent's dependent");
  a.set("page", "built on 7", { dependsOn: [["comment", 7]] });
  a.set("site", "again", { dependsOn: ["page"] });
  await a.flush();
  await tick();
  equal(await b.getOrLoad("site", counted("loaded")), "again");
  a.set(["comment", 7], "c2"); // a change cascades too
  await a.flush();
  await tick();
  equal(b.get("site"), undefined, "a cascading set reaches it as well");
  free();
});

test("operations on one key reach L2 in the order they were made", async (lib) => {
  const { caches: [a, b], tier, free } = isolates(lib);
  a.set("k", 1);
  a.delete("k");
  await a.flush();
  equal(tier.size, 0, "the set did not land after the delete");
  a.delete("j");
  a.set("j", 2);
  await a.flush();
  equal(await b.getOrLoad("j", counted(0)), 2);
  free();
});

test("concurrent misses in two isolates call the loader once", async (lib) => {
  const { caches: [a, b], free } = isolates(lib);
  const load = counted("v", 40);
  const got = await Promise.all([a.getOrLoad("hot", load), b.getOrLoad("hot", load), a.getOrLoad("hot", load)]);
  deepEqual(got, ["v", "v", "v"]);
  equal(load.calls, 1);
  free();
});

/**
 * Cache `b` on the same memory tier as `a`, whose reads of `key` that miss
 * do not return before `meanwhile()` ran: another isolate's whole load fits
 * in the gap between b's read and its lock.
 */
function withGapAfterMiss(lib, tier, key, meanwhile) {
  let done;
  const gap = { ...tier, async get(id, options) {
    const bytes = await tier.get(id, options);
    if (bytes === null && id === lib.tierKeyId(key)) await (done ??= meanwhile());
    return bytes;
  } };
  return gap;
}

test("a miss whose lock comes after another isolate's whole load serves its value, not a second load", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now });
  const a = new lib.Cache({ now: c.now, tier });
  const load = counted("v");
  const gap = withGapAfterMiss(lib, tier, "k", async () => {
    equal(await a.getOrLoad("k", load), "v");
    await a.flush();
    await tick();
    const probe = await tier.lock(lib.tierKeyId("k"), 1_000);
    ok(probe !== null, "a wrote L2 and released its lock before b locks");
    probe.release();
  });
  const b = new lib.Cache({ now: c.now, tier: gap, tierTimeout: 5_000 });
  equal(await b.getOrLoad("k", load), "v");
  equal(load.calls, 1, "the loader ran once across both isolates");
  const s = b.stats();
  equal(s.tierMisses, 1, "b's read missed");
  equal(s.tierHits, 1, "the lock answered with a's entry");
  equal(b.get("k"), "v", "b's L1 holds it");
  a.free();
  b.free();
});

test("bytes found in place of the lock that do not parse: a tier error, then the load as for a miss", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now });
  const gap = withGapAfterMiss(lib, tier, "k", async () => tier.putRaw(lib.tierKeyId("k"), new Uint8Array([1, 2, 3])));
  const b = new lib.Cache({ now: c.now, tier: gap, tierTimeout: 5_000 });
  const load = counted("mine");
  equal(await b.getOrLoad("k", load), "mine");
  equal(load.calls, 1);
  equal(b.stats().tierErrors, 1);
  b.free();
});

test("a waiter whose lock holder died loads by itself after the lock expires", async (lib) => {
  const { caches: [b], tier, free } = isolates(lib, 1, { tierOptions: { lockTtl: 60 } });
  const { tierKeyId } = lib;
  await tier.lock(tierKeyId("orphan"), 60); // an isolate took the lock and died
  const load = counted("mine");
  equal(await b.getOrLoad("orphan", load), "mine");
  equal(load.calls, 1);
  free();
});

test("a lock the tier grants after the call gave up is released, not left to block others", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now, lockTtl: 60_000 });
  // The same tier, with a lock call slower than tierTimeout.
  const slowLock = { ...tier, get: tier.get, apply: tier.apply, subscribe: tier.subscribe,
    lock: async (id, ttl) => { await sleep(40); return tier.lock(id, ttl); } };
  const a = new lib.Cache({ now: c.now, tier: slowLock, tierTimeout: 10 });
  equal(await a.getOrLoad("k", counted("mine")), "mine", "loads by itself when the lock does not answer in time");
  await sleep(80);
  const again = await tier.lock(lib.tierKeyId("k"), 1_000);
  ok(again !== null, "the late lock was released");
  a.free();
});

test("writeThrough resolves once L2 has the value; waitUntil gets the background writes", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now });
  const handed = [];
  const a = new lib.Cache({ now: c.now, tier, waitUntil: (p) => handed.push(p) });
  const b = new lib.Cache({ now: c.now, tier });
  await a.writeThrough("w", async () => "saved");
  equal(await b.getOrLoad("w", counted("no")), "saved", "no flush needed");
  ok(handed.length >= 1, "the queue's work went to waitUntil");
  a.set("s", 1);
  ok(handed.length >= 2);
  await Promise.all(handed);
  equal(await b.getOrLoad("s", counted(0)), 1);
  a.free();
  b.free();
});

test("an L2 entry inside its stale-while-revalidate window is served at once and refreshed once", async (lib) => {
  const { clock: c, caches: [a, b], free } = isolates(lib);
  a.set("s", "old", { ttl: 1_000, staleWhileRevalidate: 10_000 });
  await a.flush();
  c.advance(2_000);
  let release;
  const gate = new Promise((r) => (release = r));
  const load = async () => {
    load.calls++;
    await gate;
    return "new";
  };
  load.calls = 0;
  equal(await b.getOrLoad("s", load), "old");
  equal(await b.getOrLoad("s", load), "old", "a second caller joins the refresh");
  equal(load.calls, 1);
  release();
  await b.flush();
  await tick();
  equal(b.get("s"), "new");
  free();
});

test("early refresh with a tier calls the loader before expiry (L2's copy expires with L1's) and reaches the others", async (lib) => {
  const { clock: c, caches: [a, b], free } = isolates(lib, 2, { cache: { seed: 42 } });
  let calls = 0;
  const loader = async () => {
    calls++;
    if (calls === 1) c.advance(200);
    return `v${calls}`;
  };
  const handed = [];
  const opts = { ttl: 10_000, earlyRefresh: 1, waitUntil: (p) => handed.push(p) };
  equal(await a.getOrLoad("hot", loader, opts), "v1");
  await a.flush();
  c.advance(10_000 - 10);
  for (let i = 0; i < 20 && calls === 1; i++) equal(await a.getOrLoad("hot", loader, opts), "v1");
  equal(calls, 2, "the loader ran, not a refill from L2");
  equal(await handed[0], "v2");
  await a.flush();
  c.advance(20);
  equal(a.get("hot"), "v2", "fresh past the old expiry");
  equal(await b.getOrLoad("hot", loader, opts), "v2", "another isolate reads the refreshed value from L2");
  equal(calls, 2);
  free();
});

test("an entry past its windows in L2 is a miss", async (lib) => {
  const { clock: c, caches: [a, b], free } = isolates(lib);
  a.set("e", "old", { ttl: 1_000 });
  await a.flush();
  c.advance(1_000);
  equal(await b.getOrLoad("e", counted("loaded")), "loaded");
  free();
});

test("a tier that is down: calls go on through the loader, nothing throws, L1 is kept", async (lib) => {
  const { caches: [a], tier, free } = isolates(lib, 1);
  a.set("kept", 1);
  await a.flush();
  tier.down(true);
  equal(a.set("during", 2), true);
  equal(a.delete("nothing"), false);
  equal(await a.getOrLoad("miss", counted("loaded")), "loaded");
  equal(a.get("kept"), 1, "L1 data is not lost");
  equal(a.get("during"), 2);
  ok(a.stats().tierErrors >= 1, "counted");
  tier.down(false);
  await a.flush(); // the kept invalidation is delivered once the tier is back
  free();
});

test("a tier that comes back: this isolate drops what it cannot vouch for, and invalidation resumes", async (lib) => {
  const { caches: [a, b], tier, free } = isolates(lib);
  b.set("k", 1);
  await b.flush();
  tier.down(true);
  await sleep(5);
  tier.down(false); // subscribers are told they may have missed messages
  await tick();
  equal(b.get("k"), undefined, "L1 dropped");
  b.set("k", 2);
  await b.flush();
  await sleep(60); // past the back-off
  a.set("k", 3);
  await a.flush();
  await tick();
  equal(b.get("k"), undefined, "invalidations arrive again");
  free();
});

test("a tier slower than tierTimeout: the call goes on without it", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now });
  const a = new lib.Cache({ now: c.now, tier, tierTimeout: 10 });
  tier.delay(300);
  const load = counted("loaded");
  const started = Date.now();
  equal(await a.getOrLoad("slow", load), "loaded");
  ok(Date.now() - started < 300, "did not wait for the tier");
  ok(a.stats().tierErrors >= 1);
  tier.delay(0);
  a.free();
});

test("garbage, another codec or another version under a key is a miss counted in tierErrors", async (lib) => {
  const { caches: [a], tier, free } = isolates(lib, 1);
  const { tierKeyId } = lib;
  tier.putRaw(tierKeyId("g"), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  equal(await a.getOrLoad("g", counted("loaded")), "loaded");
  const text = new lib.Cache({ tier, codec: "text" });
  const json = new lib.Cache({ tier });
  json.set("codec", "json value");
  await json.flush();
  equal(await text.getOrLoad("codec", counted("text value")), "text value");
  const bytes = new Uint8Array([0x45, 0x43, 99, 0]);
  tier.putRaw(tierKeyId("v"), bytes);
  equal(await a.getOrLoad("v", counted("loaded")), "loaded");
  ok(a.stats().tierErrors >= 2);
  equal(text.stats().tierErrors, 1);
  text.free();
  json.free();
  free();
});

test("undeliverable invalidations are never dropped silently: coherence is lost and L1 dropped", async (lib) => {
  const { caches: [a], tier, free } = isolates(lib, 1);
  a.set("k", 1);
  await a.flush();
  tier.down(true);
  for (let i = 0; i < 10_050; i++) a.delete(`gone${i}`);
  a.set("local", 1);
  await a.flush();
  equal(a.get("k"), undefined, "L1 was dropped when the invalidations could not be delivered");
  tier.down(false);
  free();
});

test("tier options are checked: a TypeError or RangeError naming the option, nothing lost", (lib) => {
  throws(() => new lib.Cache({ tier: {} }), TypeError, /tier\.get/);
  throws(() => new lib.Cache({ tier: 5 }), TypeError, /tier/);
  throws(() => new lib.Cache({ tier: lib.memoryTier(), tierTimeout: 0 }), RangeError, /tierTimeout/);
  throws(() => new lib.Cache({ tier: lib.memoryTier(), waitUntil: 1 }), TypeError, /waitUntil/);
});

test("stats() of a cache with a tier counts tier hits, misses, errors and dropped writes", async (lib) => {
  const { caches: [a, b], free } = isolates(lib);
  await a.getOrLoad("m", counted(1));
  await a.flush();
  await b.getOrLoad("m", counted(2));
  const s = b.stats();
  equal(s.tierHits, 1);
  equal(a.stats().tierMisses, 1);
  equal(s.tierErrors, 0);
  equal(s.tierDropped, 0);
  equal(new lib.Cache().stats().tierHits, undefined, "no tier, no tier fields");
  free();
});

// ----- snapshots in the tier -----

const SNAPSHOT_KEY = ["\u0000edgecache", "snapshot", "default"];

test("a new isolate with warmStart loads the tier's snapshot before its first getOrLoad", async (lib) => {
  const { clock: c, tier, caches: [a], free } = isolates(lib, 1);
  for (let i = 0; i < 50; i++) a.set(["stock", i], { qty: i }, { ttl: 60_000, tags: ["stock"] });
  await a.flush();
  equal(await a.saveSnapshot(), true);
  c.advance(1_000);
  const b = new lib.Cache({ now: c.now, tier, warmStart: true });
  const load = counted({ qty: -1 });
  deepEqual(await b.getOrLoad(["stock", 7], load), { qty: 7 });
  equal(load.calls, 0);
  equal(b.stats().entries, 50, "the whole snapshot is in L1");
  deepEqual(b.get(["stock", 49]), { qty: 49 }, "a sync read after the warm start hits");
  c.advance(59_000);
  equal(b.has(["stock", 1]), false, "loaded entries keep their absolute expiry");
  // The snapshot is loaded once only.
  const second = new lib.Cache({ now: c.now, tier, warmStart: "other-name" });
  equal(await second.getOrLoad("x", counted(1)), 1);
  equal(second.stats().entries, 1, "no snapshot under that name: nothing loaded");
  b.free();
  second.free();
  free();
});

test("invalidating a tag a stored snapshot holds hides the snapshot", async (lib) => {
  const { tier, caches: [a, b], clock: c, free } = isolates(lib, 2);
  a.set("p1", 1, { tags: ["products"] });
  a.set("n", 2);
  equal(await a.saveSnapshot(), true);
  const fresh = new lib.Cache({ now: c.now, tier });
  equal(await fresh.loadSnapshot(), 2);
  b.invalidateTag("products");
  await b.flush();
  const later = new lib.Cache({ now: c.now, tier });
  equal(await later.loadSnapshot(), 0, "the snapshot is hidden");
  equal(later.has("p1"), false);
  fresh.free();
  later.free();
  free();
});

test("a corrupt snapshot in the tier loads nothing and counts a tierError", async (lib) => {
  const { tier, caches: [a], clock: c, free } = isolates(lib, 1);
  a.set("k", "v");
  await a.saveSnapshot();
  const id = lib.tierKeyId(SNAPSHOT_KEY);
  const stored = await tier.get(id);
  const flipped = stored.slice();
  flipped[flipped.length - 20] ^= 1;
  tier.putRaw(id, flipped);
  const b = new lib.Cache({ now: c.now, tier });
  b.set("mine", 1);
  equal(await b.loadSnapshot(), 0);
  equal(b.stats().tierErrors, 1);
  equal(b.stats().entries, 1);
  tier.putRaw(id, new Uint8Array([1, 2, 3]));
  equal(await b.loadSnapshot(), 0);
  equal(b.stats().tierErrors, 2);
  b.free();
  free();
});

/** Writes warm-cases.js's entries through `a`, lets their messages settle,
 * and saves a snapshot of them. */
async function saveChanged(a) {
  writeChanged(a);
  await a.flush();
  await tick();
  equal(await a.saveSnapshot(), true);
}

test("a warm start never serves a key deleted, invalidated, written through or cascaded after the save", async (lib) => {
  const { clock: c, tier, caches: [a, b], free } = isolates(lib, 2);
  writeChanged(a);
  await a.flush();
  equal(await a.saveSnapshot(), true);
  await changeAfterSave(b);
  const warm = new lib.Cache({ now: c.now, tier, warmStart: true });
  equal(await warm.getOrLoad("first", async () => "loaded"), "loaded");
  await assertNoneChanged(warm, "warmStart");
  equal(await warm.getOrLoad("k4", counted("not used")), "new-k4", "the new value comes from L2");
  const explicit = new lib.Cache({ now: c.now, tier });
  equal(await explicit.loadSnapshot(), 7, "every entry was loaded, then the changes applied");
  await assertNoneChanged(explicit, "loadSnapshot");
  equal(explicit.stats().tierErrors, 0);
  warm.free();
  explicit.free();
  free();
});

test("saveSnapshot first applies the invalidations its channel has not delivered yet", async (lib) => {
  const c = clock();
  const shared = lib.memoryTier({ now: c.now });
  // The saver's channel holds every message back (a slow subscription).
  const slow = { ...shared, get: shared.get, apply: shared.apply, lock: shared.lock, changes: shared.changes,
    subscribe: (listener) => shared.subscribe({ invalidate: () => {}, lost: () => listener.lost() }) };
  const a = new lib.Cache({ now: c.now, tier: slow });
  const b = new lib.Cache({ now: c.now, tier: shared });
  writeChanged(a);
  await a.flush();
  await changeAfterSave(b);
  await tick();
  equal(a.get("k1"), "old-k1", "not delivered to the saver");
  equal(await a.saveSnapshot(), true);
  equal(a.has("k1"), false, "applied to the saver's L1 before the dump");
  await assertNoneChanged(a, "saver");
  const warm = new lib.Cache({ now: c.now, tier: shared });
  await warm.loadSnapshot();
  await assertNoneChanged(warm, "warm");
  for (const x of [a, b, warm]) x.free();
});

/** `shared` as a tier whose log answers (a read after a position) come back
 * only after `meanwhile()` (when set) has run: another isolate's change
 * lands after the tier read its log, before the answer arrives. */
function lateLog(shared, meanwhile) {
  return { get: shared.get, apply: shared.apply, lock: shared.lock, subscribe: shared.subscribe,
    changes: async (after, o) => {
      const r = await shared.changes(after, o);
      const run = meanwhile();
      if (after !== undefined && run !== null) await run();
      return r;
    } };
}

test("a warm start applies a message delivered between its read of the log and the load", async (lib) => {
  const c = clock();
  const shared = lib.memoryTier({ now: c.now });
  const a = new lib.Cache({ now: c.now, tier: shared });
  const b = new lib.Cache({ now: c.now, tier: shared });
  await saveChanged(a);
  let meanwhile = null;
  // The log's answer takes a while to come back (a network): another isolate's delete lands meanwhile,
  // after the tier read its log, and its message reaches the loading isolate before the answer does.
  const slowAnswer = lateLog(shared, () => meanwhile);
  const warm = new lib.Cache({ now: c.now, tier: slowAnswer });
  meanwhile = async () => {
    b.delete("kept");
    await b.flush();
    await tick();
  };
  equal(await warm.loadSnapshot(), 7);
  equal(warm.has("kept"), false, "the delete delivered before the load is applied to the loaded entries");
  equal(warm.get("k1"), "old-k1", "what did not change is served");
  for (const x of [a, b, warm]) x.free();
});

test("a warm start does not undo this isolate's own delete made while the snapshot loads", async (lib) => {
  const c = clock();
  const tier = lib.memoryTier({ now: c.now });
  const a = new lib.Cache({ now: c.now, tier });
  await saveChanged(a);
  await a.flush();
  // Every tier call takes 20 ms: the snapshot is read in 0-20 ms, the log in 20-40 ms; the delete
  // made at 30 ms reaches the tier at 50 ms, after the log was read, and its message comes back
  // after the load.
  tier.delay(20);
  const warm = new lib.Cache({ now: c.now, tier });
  const loading = warm.loadSnapshot();
  await sleep(30);
  equal(warm.delete("kept"), false, "not loaded yet");
  equal(await loading, 7);
  await warm.flush();
  await sleep(10);
  equal(warm.has("kept"), false, "deleted here while the snapshot loaded: it stays deleted");
  equal(warm.get("k1"), "old-k1");
  a.free();
  warm.free();
});

test("a warm start is refused when the channel loses messages between its read of the log and the load", async (lib) => {
  const c = clock();
  const shared = lib.memoryTier({ now: c.now });
  const a = new lib.Cache({ now: c.now, tier: shared });
  const b = new lib.Cache({ now: c.now, tier: shared });
  await saveChanged(a);
  let meanwhile = null;
  let dropping = false;
  // A channel that drops what it cannot deliver and says so, and a log answer that comes back late.
  const lossy = { ...lateLog(shared, () => meanwhile),
    subscribe: (listener) => shared.subscribe({
      invalidate: (m) => (dropping ? listener.lost() : listener.invalidate(m)),
      lost: () => listener.lost(),
    }) };
  const warm = new lib.Cache({ now: c.now, tier: lossy });
  meanwhile = async () => {
    dropping = true;
    b.delete("kept");
    await b.flush();
    await tick();
    dropping = false;
  };
  const n = await warm.loadSnapshot();
  equal(warm.has("kept"), false, "a message lost after the log was read cannot be replayed");
  equal(n, 0, "so the snapshot is not loaded");
  equal(await warm.getOrLoad("k1", counted("not used")), "old-k1", "the cache works on from L2");
  for (const x of [a, b, warm]) x.free();
});

test("a snapshot older than the tier's log is not loaded; the cache works on", async (lib) => {
  const { clock: c, tier, caches: [a, b], free } = isolates(lib, 2, { tierOptions: { logSize: 2 } });
  await saveChanged(a);
  b.delete("k1");
  b.invalidate("k2");
  b.delete("kept");
  await b.flush();
  const late = new lib.Cache({ now: c.now, tier });
  late.set("mine", 1);
  equal(await late.loadSnapshot(), 0, "three messages since the save, two kept: refused");
  equal(late.stats().tierErrors, 1, "counted like a snapshot that cannot be read");
  equal(late.stats().entries, 1, "nothing was loaded, nothing lost");
  equal(late.has("k4"), false);
  const warm = new lib.Cache({ now: c.now, tier, warmStart: true });
  equal(await warm.getOrLoad("x", counted("loaded")), "loaded");
  equal(await warm.getOrLoad("k4", counted("not used")), "old-k4", "L2 still serves");
  equal(warm.has("kept"), false);
  // A snapshot saved now is within the log again.
  equal(await a.saveSnapshot(), true);
  const next = new lib.Cache({ now: c.now, tier });
  ok(await next.loadSnapshot() > 0);
  equal(next.has("k1"), false, "the saver applied the deletes before saving");
  late.free();
  warm.free();
  next.free();
  free();
});

test("an isolate whose own position fell out of the tier's log saves again (its messages carry no position)", async (lib) => {
  const c = clock();
  const shared = lib.memoryTier({ now: c.now, logSize: 8 });
  // A custom tier may deliver messages without their position (TierMessage.position is optional).
  const plain = { get: shared.get, apply: shared.apply, lock: shared.lock, changes: shared.changes,
    subscribe: (listener) => shared.subscribe({
      invalidate: ({ origin, keys, tags }) => listener.invalidate({ origin, keys, tags }),
      lost: () => listener.lost(),
    }) };
  const a = new lib.Cache({ now: c.now, tier: plain });
  const b = new lib.Cache({ now: c.now, tier: shared });
  writeChanged(a);
  await a.flush();
  equal(await a.saveSnapshot(), true, "seven messages since its position, eight kept");
  for (const k of ["k1", "k2", "k4", "z1", "z2", "z3", "z4", "z5", "z6"]) b.delete(k);
  await b.flush();
  await tick();
  equal(await a.saveSnapshot(), false, "nine messages since its last position, eight kept: it cannot vouch for its L1");
  equal(await a.saveSnapshot(), true, "it starts again from the log's head");
  a.set("after", 1);
  await a.flush();
  equal(await a.saveSnapshot(), true);
  const warm = new lib.Cache({ now: c.now, tier: shared });
  ok((await warm.loadSnapshot()) >= 1);
  equal(warm.get("after"), 1);
  for (const k of ["k1", "k2", "k3", "k4"]) equal(warm.has(k), false, `${k} was deleted (or cascaded) after the first save`);
  for (const x of [a, b, warm]) x.free();
});

test("a snapshot exactly logSize messages old is loaded and replayed; one more and it is refused", async (lib) => {
  for (const [deletes, loaded] of [[2, 7], [3, 0]]) {
    const { clock: c, tier, caches: [a, b], free } = isolates(lib, 2, { tierOptions: { logSize: 2 } });
    await saveChanged(a);
    for (const k of ["k1", "k2", "k4"].slice(0, deletes)) b.delete(k);
    await b.flush();
    const warm = new lib.Cache({ now: c.now, tier });
    equal(await warm.loadSnapshot(), loaded, `${deletes} messages since the save, 2 kept`);
    if (loaded > 0) {
      equal(warm.has("k1"), false);
      equal(warm.has("k2"), false);
      equal(warm.has("k3"), false, "k3 is built on k2");
      equal(warm.get("k4"), "old-k4");
    }
    warm.free();
    free();
  }
});

test("a tier that answers a log position too long to store: saveSnapshot resolves false, nothing thrown or lost", async (lib) => {
  const shared = lib.memoryTier();
  const long = "p".repeat(70_000);
  const garbage = { get: shared.get, apply: shared.apply, subscribe: shared.subscribe,
    changes: async () => ({ position: long, messages: [] }) };
  const c = new lib.Cache({ tier: garbage });
  c.set("k", 1);
  const errors = c.stats().tierErrors;
  equal(await c.saveSnapshot(), false);
  equal(c.stats().tierErrors, errors + 1, "counted");
  equal(c.get("k"), 1, "nothing cached was lost");
  c.free();
});

test("a tier without an invalidation log takes no snapshots: a TypeError naming it", async (lib) => {
  const shared = lib.memoryTier();
  const bare = { get: shared.get, apply: shared.apply, subscribe: shared.subscribe };
  const c = new lib.Cache({ tier: bare });
  c.set("k", 1);
  await c.saveSnapshot().then(() => ok(false, "saved"), (err) => ok(err instanceof TypeError && /invalidation log \(tier\.changes\)/.test(err.message), err.message));
  await c.loadSnapshot().then(() => ok(false, "loaded"), (err) => ok(err instanceof TypeError && /loadSnapshot needs a tier with an invalidation log/.test(err.message), err.message));
  throws(() => new lib.Cache({ tier: bare, warmStart: true }), TypeError, /warmStart needs a tier with an invalidation log/);
  throws(() => new lib.Cache({ tier: { ...bare, changes: "log" } }), TypeError, /tier\.changes must be a function/);
  equal(c.get("k"), 1, "nothing cached was lost");
  c.free();
});

test("snapshot helpers need a tier: a TypeError naming it", async (lib) => {
  const c = new lib.Cache();
  await lib.Cache.prototype.saveSnapshot.call(c).then(() => ok(false, "saved without a tier"), (err) => ok(err instanceof TypeError && /needs a tier/.test(err.message), err.message));
  throws(() => new lib.Cache({ warmStart: true }), TypeError, /warmStart needs a tier/);
  throws(() => new lib.Cache({ warmStart: 1, tier: lib.memoryTier() }), TypeError, /warmStart must be/);
  c.free();
});

export function tierSuite() {
  return tests;
}
