// The JS contract suite. One file, run unchanged by the Node, Deno, workerd
// and Chromium runners in tests/runtimes/. Time is an injected clock; nothing
// sleeps. Each test receives the package's exports.

import { ok, equal, notEqual, deepEqual, throws, rejects } from "./assert.js";
import { registry, run } from "./harness.js";

const { tests, test } = registry();

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t, advance: (ms) => (c.t += ms) };
  return c;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Rejects when `p` has not settled after `ms` of real time: a guard that
 * turns a hang into a failure, not a timing target. */
function settles(p, what, ms = 5000) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** `n` arrays nested in one another: [[[…]]]. */
function nested(n) {
  let v = [];
  for (let i = 1; i < n; i++) v = [v];
  return v;
}

// ----- basics -----

test("new Cache() works right after import, with every stats field", ({ Cache }) => {
  const c = new Cache();
  const s = c.stats();
  for (const f of ["hits", "misses", "staleHits", "sets", "rejected", "evictions", "expirations", "invalidations",
    "loads", "coalesced", "loadErrors", "entries", "bytes", "maxMemory", "hitRatio", "wasmMemory"]) {
    equal(typeof s[f], "number", f);
  }
  equal(s.maxMemory, 32 * 1024 * 1024);
  equal(s.hitRatio, 0);
  ok(s.wasmMemory > 0);
  c.free();
});

test("set/get round-trips JSON values and returns a fresh copy", ({ Cache }) => {
  const c = new Cache();
  const values = [0, -1, 1.5, -2.25e-9, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, "", "héllo wörld ✓ 😀",
    "x".repeat(1000), true, false, null, [], {}, [1, [2, [3]]], { qty: 3, updatedAt: 1732000000000 },
    { a: { b: { c: ["d", null, true] } }, "": 1, "k\u0000ey": 2 }];
  values.forEach((v, i) => {
    equal(c.set(`k${i}`, v), true);
    deepEqual(c.get(`k${i}`), v, `value ${i}`);
  });
  const got = c.get("k16");
  got.qty = 99;
  equal(c.get("k16").qty, 3, "mutating a read does not change the cache");
});

test("strings of every short length round-trip, ASCII or not, through text and json", ({ Cache }) => {
  for (const codec of ["text", "json"]) {
    const c = new Cache({ codec });
    for (let n = 0; n <= 70; n++) {
      const ascii = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(2).slice(0, n);
      c.set(`a${n}`, ascii);
      equal(c.get(`a${n}`), ascii, `${codec} ascii ${n}`);
      if (n > 0) {
        const mixed = ascii.slice(0, n - 1) + "é";
        c.set(`m${n}`, mixed);
        equal(c.get(`m${n}`), mixed, `${codec} non-ascii at ${n - 1}`);
        const first = "😀" + ascii.slice(1);
        c.set(`f${n}`, first);
        equal(c.get(`f${n}`), first, `${codec} non-ascii first`);
      }
    }
  }
});

test("the json codec keeps JSON's semantics", ({ Cache }) => {
  const c = new Cache();
  const d = new Date(Date.UTC(2026, 0, 2));
  c.set("k", { a: undefined, f() {}, n: NaN, i: -Infinity, d, arr: [undefined, () => 1, 1], z: -0 });
  deepEqual(c.get("k"), JSON.parse(JSON.stringify({ a: undefined, f() {}, n: NaN, i: -Infinity, d, arr: [undefined, () => 1, 1], z: -0 })));
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  throws(() => c.set("c", cyclic), TypeError, /cyclic/);
  throws(() => c.set("b", 10n), TypeError, /bigint/);
  equal(c.has("c"), false);
});

test("a plain write stores what the general path stores", ({ Cache }) => {
  // A write with a short ASCII key and no tags or dependsOn takes a fast
  // path; a write with a tag takes the general one. Same value and key
  // length: the charges differ by exactly the tag's (1 byte + 24), and both
  // read back.
  const cases = {
    text: ["", "q0001234", "x".repeat(100), "x".repeat(101), "caf\u00e9"],
    json: ["", "q0001234", "x".repeat(100), "x".repeat(101), "caf\u00e9", 0, -7, 2 ** 40, 1.5, null, true,
      [1, "a"], { qty: 3, updatedAt: 1732000000000 }, { qty: 4, updatedAt: 1732000000001 }, { a: "\u00e9" }],
    bytes: [new Uint8Array(0), new Uint8Array([0, 255, 7])],
  };
  for (const [codec, values] of Object.entries(cases)) {
    for (const key of ["k", "K".repeat(64), "K".repeat(65), "k\u00e9"]) {
      for (const value of values) {
        const fast = new Cache({ codec });
        const general = new Cache({ codec });
        fast.set(key, value);
        general.set(key, value, { tags: ["t"] });
        const what = `${codec} key ${key.length} value ${JSON.stringify(value)}`;
        equal(general.stats().bytes - fast.stats().bytes, 25, what);
        deepEqual(fast.get(key), value, what);
        deepEqual(general.get(key), value, what);
        fast.free();
        general.free();
      }
    }
  }
});

test("a write right after a read stores under its own key, whatever the read staged", ({ Cache }) => {
  // A write of the key a read has just staged reuses its bytes in wasm
  // memory; every other staging in between (another key, a tag, a long key,
  // a non-ASCII key, a write in place) must make the write encode its own.
  for (const codec of ["text", "json"]) {
    const c = new Cache({ codec });
    const big = "v".repeat(70_000);
    const steps = [
      () => c.get("a0000001"),
      () => c.set("a0000001", "one"),
      () => c.get("a0000002"),
      () => c.set("a0000003", "three"), // same length, another key
      () => c.get("a0000004"),
      () => c.invalidateTag("tag-longer-than-the-key"),
      () => c.set("a0000004", "four"),
      () => c.get("a0000005"),
      () => c.has("k\u00e9y"),
      () => c.set("a0000005", "five"),
      () => c.get("a0000006"),
      () => c.get("K".repeat(200)),
      () => c.set("a0000006", "six"),
      () => c.get("a0000007"),
      () => c.set("a0000007", big), // in place: too long to stage
      () => c.set("a0000008", "eight"),
      () => c.get("a0000008"),
      () => c.set("a0000008", "eight again"),
      () => c.get("a0000009"),
      () => c.set("a0000009", "nine", { tags: ["t"] }),
      () => c.set("a0000009", "nine again"),
    ];
    for (const step of steps) step();
    const want = {
      a0000001: "one", a0000002: undefined, a0000003: "three", a0000004: "four", a0000005: "five",
      a0000006: "six", a0000007: big, a0000008: "eight again", a0000009: "nine again",
    };
    for (const [k, v] of Object.entries(want)) equal(c.get(k), v, `${codec} ${k}`);
    equal(c.get("tag-longer-than-the-key"), undefined, `${codec}: no entry under the tag's bytes`);
    equal(c.stats().entries, 8, `${codec}: one entry per key written`);
    c.free();
  }
  // A value's toJSON that reads the same cache stages another key while the
  // write encodes it: the write still stores under its own key.
  const c = new Cache();
  c.get("b0000001");
  c.set("b0000001", { toJSON: () => (c.get("b0000002"), 1) });
  c.get("b0000003");
  c.set("b0000003", { toJSON: () => (c.has("b0000004x"), 3) });
  deepEqual(["b0000001", "b0000002", "b0000003", "b0000004x"].map((k) => c.get(k)), [1, undefined, 3, undefined]);
  equal(c.stats().entries, 2);
});

test("a clock that uses the same cache changes no operation's key", ({ Cache }) => {
  // Every operation stages its key in wasm memory; a now() that reads or
  // writes this cache stages its own meanwhile. Each operation must still
  // act on its own key: read the clock before staging.
  let c;
  let inside = false;
  const now = () => {
    if (!inside) {
      inside = true;
      try {
        c.peek("clock-key-longer");
        c.set("clock-set", "c");
      } finally {
        inside = false;
      }
    }
    return 1_000;
  };
  for (const options of [{}, { tags: ["t"] }]) {
    c = new Cache({ ttl: 60_000, now });
    c.set("a", "one", options);
    c.set("b", { n: 2 }, options);
    c.set("x", "x".repeat(70_000), options);
    equal(c.get("a"), "one");
    deepEqual(c.peek("b"), { n: 2 });
    equal(c.has("x"), true);
    equal(c.get("clock-key-longer"), undefined, "nothing under the clock's read");
    equal(c.delete("a"), true);
    equal(c.invalidate("b"), 1);
    deepEqual(["a", "b", "x", "clock-set"].map((k) => c.peek(k)?.length ?? c.peek(k)), [undefined, undefined, 70_000, 1]);
    equal(c.stats().entries, 2);
    c.free();
  }
});

test("a codec's decode that reads the same cache leaves getOrLoad's early refresh to its own key", async ({ Cache }) => {
  // getOrLoad decodes a hit, then asks the core whether the key is due an
  // early refresh. A decode that reads another key (staging it) must not
  // make the question about that key (of the same length): "hot" (loaded
  // slowly, about to expire) is due, "old" (set, no load time) never is.
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let c;
  let inside = false;
  const peekHot = () => {
    if (inside) return;
    inside = true;
    try {
      c.peek("hot");
    } finally {
      inside = false;
    }
  };
  const codec = { encode: (v) => enc.encode(v), decode: (u) => (peekHot(), dec.decode(u)) };
  let t = 0;
  c = new Cache({ codec, now: () => t, ttl: 10_000 });
  await c.getOrLoad("hot", async () => ((t += 5_000), "h"), { earlyRefresh: 1 });
  c.set("old", "p");
  t = 5_000 + 9_990;
  let loads = 0;
  for (let i = 0; i < 20; i++) {
    equal(await c.getOrLoad("old", async () => (loads++, "again"), { earlyRefresh: 1 }), "p");
  }
  equal(loads, 0, "no early refresh of a key without a load time");
  c.free();
});

test("a value's toJSON that writes to the same cache changes neither write", ({ Cache }) => {
  // The nested writes run while the outer value is half encoded: each must
  // store its own bytes, and the outer one its own key and whole value.
  const c = new Cache();
  c.set("kept", "old", { tags: ["t"] });
  const value = {
    toJSON() {
      c.set("inner-plain", { n: 1, s: "x".repeat(40) });
      c.set("inner-tagged", [1, 2, 3], { tags: ["u"], dependsOn: ["base"] });
      c.invalidateTag("t");
      return { qty: 7, name: "outer" };
    },
  };
  c.set("outer-plain", value);
  deepEqual(c.get("outer-plain"), { qty: 7, name: "outer" });
  c.set("outer-tagged", value, { tags: ["v"] });
  deepEqual(c.get("outer-tagged"), { qty: 7, name: "outer" });
  deepEqual(c.get("inner-plain"), { n: 1, s: "x".repeat(40) });
  deepEqual(c.get("inner-tagged"), [1, 2, 3]);
  equal(c.get("kept"), undefined, "the nested invalidateTag applied");
  equal(c.invalidateTag("v"), 1, "the outer write kept its tag");
  equal(c.stats().entries, 3);
  c.free();
});

test("objects of one shape share their keys (compact default codec)", ({ Cache }) => {
  const c = new Cache();
  c.set("a", { qty: 1, updatedAt: 2 });
  const small = c.stats().bytes;
  c.set("b", { qty: 1, updatedAt: 2 });
  const text = new Cache({ codec: "text" });
  text.set("a", JSON.stringify({ qty: 1, updatedAt: 2 }));
  ok(c.stats().bytes - small < text.stats().bytes, "a shaped object is smaller than its JSON text");
  deepEqual(c.get("b"), { qty: 1, updatedAt: 2 });
  c.set("c", { updatedAt: 2, qty: 1 });
  deepEqual(Object.keys(c.get("c")), ["updatedAt", "qty"], "key order survives");
  // integer-only objects take the bare-varint form; anything else in the same shape still round-trips
  const shaped = [{ qty: 0, updatedAt: 1732000000000 }, { qty: 499, updatedAt: 2 ** 53 - 1 }, { qty: -1, updatedAt: 5 },
    { qty: 1.5, updatedAt: 5 }, { qty: "7", updatedAt: 5 }, { qty: null, updatedAt: -0 }];
  shaped.forEach((v, i) => {
    c.set(["s", i], v);
    deepEqual(c.get(["s", i]), JSON.parse(JSON.stringify(v)), JSON.stringify(v));
  });
  for (let i = 0; i < 300; i++) c.set(["many", i], { [`f${i}`]: i, n: 1 });
  for (let i = 0; i < 300; i++) deepEqual(c.get(["many", i]), { [`f${i}`]: i, n: 1 }, `shape ${i}`);
});

test("objects read back as JSON.parse gives them, whatever their keys", ({ Cache }) => {
  const c = new Cache();
  const values = [
    { qty: 3, updatedAt: 1732900000000 }, { ["__proto__"]: 1, n: 2 }, { ["__proto__"]: { polluted: true }, n: "x" },
    { "0": 5, "a b": 6, "\u2028\"q": 7 }, { a: 1, b: 2, c: 3, d: 4, e: 5 }, { constructor: 3, toString: 4 }, { x: 1 },
    { nested: { ["__proto__"]: [1], k: null } },
  ];
  for (let round = 0; round < 2; round++) {
    values.forEach((v, i) => {
      c.set(["v", i], v);
      const got = c.get(["v", i]);
      const want = JSON.parse(JSON.stringify(v));
      deepEqual(Object.keys(got), Object.keys(want), `keys of ${JSON.stringify(v)}`);
      equal(JSON.stringify(got), JSON.stringify(want), JSON.stringify(v));
      equal(Object.getPrototypeOf(got), Object.prototype, `prototype of ${JSON.stringify(v)}`);
    });
  }
});

test("an object like the last integer-shaped one stores only its own enumerable keys", ({ Cache }) => {
  // A write of an object with the keys and integer values of the last
  // shaped one reuses its shape without listing the keys (Cache's json
  // fast path): inherited, non-enumerable or extra keys, arrays and
  // toJSON must still give what JSON.parse(JSON.stringify(v)) gives.
  const c = new Cache();
  const inherited = Object.create({ updatedAt: 5 });
  inherited.qty = 1;
  const extraInherited = Object.create({ extra: 9 });
  extraInherited.qty = 2;
  extraInherited.updatedAt = 3;
  const hidden = { qty: 4 };
  Object.defineProperty(hidden, "updatedAt", { value: 6, enumerable: false });
  class Stock { constructor() { this.qty = 7; this.updatedAt = 8; } }
  const values = [
    inherited, extraInherited, hidden, new Stock(), { qty: 1, updatedAt: 2, more: 3 }, { qty: 1 },
    { updatedAt: 2, qty: 1 }, { qty: 1, updatedAt: -2 }, { qty: 1, updatedAt: 2 ** 53 },
    { qty: 1, updatedAt: 2, toJSON: () => "json" }, { qty: [1], updatedAt: 2 },
  ];
  for (const v of values) {
    c.set("shape", { qty: 0, updatedAt: 1 }); // the last integer shape, before each
    c.set("v", v);
    deepEqual(c.get("v"), JSON.parse(JSON.stringify(v)), JSON.stringify(v));
  }
  c.set("idx", { 0: 1, 1: 2 });
  c.set("arr", [1, 2]);
  deepEqual(c.get("arr"), [1, 2], "an array with the last shape's index keys stays an array");
  deepEqual(c.get("idx"), { 0: 1, 1: 2 });
  c.set("nested", { a: { qty: 1, updatedAt: 2 }, b: { qty: 3, updatedAt: 4 } });
  deepEqual(c.get("nested"), { a: { qty: 1, updatedAt: 2 }, b: { qty: 3, updatedAt: 4 } });
  c.free();
});

test("a set reads each getter once, as JSON.stringify does, after an integer-shaped object", ({ Cache }) => {
  // Cache's json fast path reads values to see whether an object is like
  // the last integer-shaped one: when it is not, the general path must not
  // read them again (a getter or a Proxy's get trap runs once per key).
  const c = new Cache();
  const counted = () => {
    const calls = { qty: 0, updatedAt: 0 };
    const v = { get qty() { calls.qty++; return 1; }, get updatedAt() { calls.updatedAt++; return 1.5; } };
    return { calls, v };
  };
  const json = counted();
  JSON.stringify(json.v);
  for (const wrap of [(v) => v, (v) => ({ inner: v }), (v) => [v]]) {
    c.set("shape", { qty: 0, updatedAt: 1 }); // the last integer shape
    const { calls, v } = counted();
    c.set("v", wrap(v));
    deepEqual(calls, json.calls, JSON.stringify(wrap("v")));
    deepEqual(c.get("v"), wrap({ qty: 1, updatedAt: 1.5 }));
  }
  const gets = [];
  const proxy = () => new Proxy({ qty: 1, updatedAt: 2, more: 3 }, { get: (t, k) => (gets.push(String(k)), t[k]) });
  JSON.stringify(proxy());
  const jsonGets = gets.splice(0);
  c.set("shape", { qty: 0, updatedAt: 1 });
  c.set("p", proxy());
  deepEqual(gets, jsonGets, "a Proxy's get trap runs once per key (and for toJSON)");
  deepEqual(c.get("p"), { qty: 1, updatedAt: 2, more: 3 });
  c.free();
});

test("the json codec stores a boxed number, string or boolean as its primitive, as JSON does", ({ Cache }) => {
  const c = new Cache();
  class Price extends Number {}
  const values = [new Number(5), new Number(-1.5), new String("ab"), new Boolean(false), new Price(7),
    { qty: new Number(3), updatedAt: 2 }, [new String("x"), new Boolean(true)],
    Object.assign(new Number(2), { valueOf: () => 9 })];
  for (const v of values) {
    c.set("shape", { qty: 0, updatedAt: 1 }); // the last integer shape, before each
    equal(c.set("v", v), true);
    deepEqual(c.get("v"), JSON.parse(JSON.stringify(v)), JSON.stringify(v));
  }
  throws(() => c.set("v", { big: Object(1n) }), TypeError, /bigint/);
  deepEqual(c.get("v"), 9, "a refused value loses nothing already cached");
  c.free();
});

test("the json codec keeps lone surrogates in strings, as JSON.parse(JSON.stringify(v)) does", ({ Cache }) => {
  // JSON.stringify escapes a lone surrogate ("\\ud800") and JSON.parse
  // restores it; UTF-8 cannot carry it (TextEncoder writes U+FFFD).
  const c = new Cache();
  const long = "é".repeat(100) + "\udc00";
  const values = ["\ud800", "a\udc00b", "\ud83d", "😀\ud83d", long, ["\ud800", "ok"], { k: "\udfff", n: 1 },
    { ["\ud800" + "x".repeat(40)]: "v" }, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}\ud800`, i]))];
  for (const v of values) {
    equal(c.set("v", v), true);
    deepEqual(c.get("v"), JSON.parse(JSON.stringify(v)), JSON.stringify(v));
  }
  equal(c.get("v")["k39\ud800"], 39);
  const b = new Cache();
  c.set("s", "x\udbff");
  b.load(c.dump());
  equal(b.get("s"), "x\udbff", "after dump and load");
  c.free();
  b.free();
});

test("the json codec refuses nesting past its limit at set, and returns every value it accepted", ({ Cache }) => {
  const c = new Cache();
  c.set("k", "kept");
  const err = throws(() => c.set("k", nested(8200)), TypeError, /value.*nest/);
  const limit = Number(/(\d+)/.exec(err.message)?.[1]);
  ok(limit >= 100 && limit < 8200, `the message names the limit: ${err.message}`);
  equal(c.get("k"), "kept", "a refused value loses nothing");
  equal(c.set("deep", nested(limit)), true, "at the limit");
  let v = c.get("deep");
  for (let i = 1; i < limit; i++) v = v[0];
  deepEqual(v, [], "read back at the limit");
  throws(() => c.set("deep", nested(limit + 1)), TypeError, new RegExp(String(limit)));
  ok(Array.isArray(c.get("deep")), "past the limit the old value stays");
  let obj = {};
  for (let i = 1; i < limit; i++) obj = { a: obj, n: i };
  equal(c.set("obj", obj), true, "objects at the limit");
  equal(c.get("obj").n, limit - 1);
  throws(() => c.set("obj", { a: obj }), TypeError, /nest/);
  equal(c.get("obj").n, limit - 1);
});

test("text, bytes and custom codecs", ({ Cache }) => {
  const t = new Cache({ codec: "text" });
  t.set("k", "plain ✓");
  equal(t.get("k"), "plain ✓");
  throws(() => t.set("n", 1), TypeError, /text/);
  const b = new Cache({ codec: "bytes" });
  const u8 = new Uint8Array([1, 2, 3]);
  b.set("k", u8);
  const out = b.get("k");
  deepEqual(out, new Uint8Array([1, 2, 3]));
  out[0] = 9;
  deepEqual(b.get("k"), new Uint8Array([1, 2, 3]), "bytes come back as a fresh copy");
  throws(() => b.set("s", "str"), TypeError, /bytes/);
  const enc = new TextEncoder(), dec = new TextDecoder();
  const custom = new Cache({ codec: { encode: (v) => enc.encode(v.toUpperCase()), decode: (u) => dec.decode(u) } });
  custom.set("k", "abc");
  equal(custom.get("k"), "ABC");
});

// ----- keys -----

test("17, \"17\" and [\"17\"] are three keys; composite parts are length-delimited", ({ Cache }) => {
  const c = new Cache();
  c.set(17, "number");
  c.set("17", "string");
  c.set(["17"], "array");
  c.set(["a:b", "c"], 1);
  c.set(["a", "b:c"], 2);
  c.set("a:b:c", 3);
  c.set(["a", "b", "c"], 4);
  equal(c.get(17), "number");
  equal(c.get("17"), "string");
  equal(c.get(["17"]), "array");
  equal(c.get([17]), undefined);
  equal(c.get(["a:b", "c"]), 1);
  equal(c.get(["a", "b:c"]), 2);
  equal(c.get("a:b:c"), 3);
  equal(c.get(["a", "b", "c"]), 4);
  c.set(0, "zero");
  equal(c.get(-0), "zero", "-0 and 0 are the same key");
});

test("strings with lone surrogates stay distinct keys (no U+FFFD folding)", ({ Cache }) => {
  const c = new Cache();
  c.set("\ud800", "a");
  c.set("\ud801", "b");
  c.set(["x\ud800"], "c");
  c.set(["x\ud801"], "d");
  equal(c.get("\ud800"), "a");
  equal(c.get("\ud801"), "b");
  equal(c.get(["x\ud800"]), "c");
  equal(c.get(["x\ud801"]), "d");
  equal(c.get("\ufffd"), undefined);
  c.set("é😀", "well-formed");
  equal(c.get("é😀"), "well-formed");
});

test("key() is printable and injective", ({ key }) => {
  equal(key("story", 12, "v3"), "story:12:v3");
  const cases = [["a:b", "c"], ["a", "b:c"], ["a:b:c"], [17], ["17"], ["a\\", "b"], ["a", "\\b"], ["a", ""], ["a:"], [""], [1, 2], ["1:2"], ["1", 2], [-1.5], ["-1.5"], ["1e+21"], [1e21]];
  const seen = new Map();
  for (const parts of cases) {
    const s = key(...parts);
    equal(typeof s, "string");
    ok(!seen.has(s), `key(${JSON.stringify(parts)}) collides with key(${JSON.stringify(seen.get(s))})`);
    seen.set(s, parts);
    equal(key(...parts), s, "stable");
  }
  equal(key(0), key(-0));
  throws(() => key(), RangeError);
  throws(() => key(NaN), TypeError, /part 0/);
  throws(() => key("a", {}), TypeError, /part 1/);
});

test("tags \\ud800, \\udc00 and \\ufffd are three tags (no U+FFFD folding)", ({ Cache }) => {
  const c = new Cache();
  const tags = ["\ud800", "\udc00", "\ufffd", "\ud800\udc00", "x\ud800", "x\udc00"];
  tags.forEach((t, i) => c.set(`k${i}`, i, { tags: [t] }));
  tags.forEach((t, i) => {
    equal(c.invalidateTag(t), 1, `tag ${i}`);
    equal(c.has(`k${i}`), false, `tag ${i} removed its entry`);
    for (let j = i + 1; j < tags.length; j++) equal(c.get(`k${j}`), j, `tag ${i} left entry ${j}`);
  });
});

// ----- TTL and jitter -----

test("TTL: a hit while now < t + d, expired from t + d", ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now });
  c.set("k", "v", { ttl: 1000 });
  c.set("forever", "v", { ttl: 0 });
  t.advance(999);
  equal(c.get("k"), "v");
  t.advance(1);
  equal(c.get("k"), undefined);
  equal(c.has("k"), false);
  equal(c.get("forever"), "v");
  ok(c.stats().expirations >= 1);
});

test("reads and writes skip the clock until an entry can expire, then honour it", ({ Cache }) => {
  const t = clock();
  let readings = 0;
  const c = new Cache({ now: () => (readings++, t.now()) });
  c.set("a", 1);
  const before = readings;
  c.get("a");
  c.has("a");
  c.peek("a");
  c.set("a2", 1);
  equal(readings, before, "no TTL anywhere: reads and writes need no clock");
  c.set("b", 2, { ttl: 100 });
  const r1 = readings;
  c.set("c", 3);
  equal(readings, r1 + 1, "once a TTL exists, every write reads the clock");
  t.advance(99);
  equal(c.get("b"), 2);
  t.advance(1);
  equal(c.get("b"), undefined, "expired exactly at t + d");
  ok(readings > before + 2, "reads consult the clock once a TTL exists");
  const lfu = new Cache({ policy: "allkeys-lfu", now: () => (readings++, t.now()) });
  lfu.set("x", 1);
  const r0 = readings;
  lfu.get("x");
  equal(readings, r0 + 1, "LFU's decay needs the clock on every read");
});

test("the default ttl applies when a write gives none", ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, ttl: 100 });
  c.set("d", 1);
  c.set("own", 1, { ttl: 500 });
  t.advance(100);
  equal(c.get("d"), undefined);
  equal(c.get("own"), 1);
});

test("jitter only shortens, within [ttl·(1−j), ttl], and spreads expiry", ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, ttl: 1000, jitter: 0.5 });
  const n = 400;
  for (let i = 0; i < n; i++) c.set(i, i);
  t.advance(499);
  equal(c.stats().entries, n);
  for (let i = 0; i < n; i++) ok(c.has(i), "nothing expires before ttl·(1−j)");
  const alive = [];
  for (const step of [101, 100, 100, 100, 100]) {
    t.advance(step);
    let a = 0;
    for (let i = 0; i < n; i++) if (c.has(i)) a++;
    alive.push(a);
  }
  equal(alive[alive.length - 1], 0, "everything is expired at ttl");
  ok(alive[0] > n * 0.6 && alive[0] < n * 0.95, `about 80% alive at 0.6·ttl, got ${alive[0]}`);
  ok(alive[2] > n * 0.2 && alive[2] < n * 0.6, `about 40% alive at 0.8·ttl, got ${alive[2]}`);
});

test("a TTL or stale window below 1 ms rounds up to 1 ms instead of meaning no expiry", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now });
  c.set("half", 1, { ttl: 0.5 });
  equal(c.get("half"), 1);
  t.advance(1);
  equal(c.get("half"), undefined, "per-call ttl 0.5 expires after 1 ms");
  const d = new Cache({ now: t.now, ttl: 0.25 });
  d.set("k", 1);
  t.advance(1);
  equal(d.get("k"), undefined, "default ttl 0.25 expires after 1 ms");
  const windows = [["staleWhileRevalidate", async () => "new"], ["staleIfError", async () => { throw new Error("down"); }]];
  for (const [name, loader] of windows) {
    for (const where of ["per call", "default"]) {
      const w = where === "default" ? new Cache({ now: t.now, [name]: 0.5 }) : new Cache({ now: t.now });
      const opts = where === "default" ? { ttl: 10 } : { ttl: 10, [name]: 0.5 };
      w.set("k", "old", opts);
      t.advance(10);
      equal(await w.getOrLoad("k", loader, opts), "old", `${name} 0.5 (${where}) serves the stale value at its expiry`);
      w.free();
    }
  }
});

test("a TTL or window beyond what the core keeps is a RangeError naming it; nothing is lost", async ({ Cache }) => {
  const c = new Cache();
  c.set("keep", 1, { ttl: 1e15 });
  const names = ["ttl", "staleWhileRevalidate", "staleIfError"];
  for (const name of names) {
    throws(() => c.set("keep", 2, { [name]: 1e17 }), RangeError, new RegExp(name));
    throws(() => c.set("keep", 2, { [name]: Number.MAX_VALUE }), RangeError, new RegExp(name));
    await rejects(c.getOrLoad("other", async () => 2, { [name]: 1e17 }), RangeError, new RegExp(name));
    throws(() => new Cache({ [name]: 1e17 }), RangeError, new RegExp(name));
    equal(c.get("keep"), 1, `after ${name}`);
  }
  equal(c.has("other"), false);
  equal(c.stats().loads, 0, "a bad option starts no load");
});

test("maxEntries above 2^32 - 1 is a RangeError", ({ Cache }) => {
  throws(() => new Cache({ maxEntries: 2 ** 32 + 5 }), RangeError, /maxEntries/);
  throws(() => new Cache({ maxEntries: 2 ** 32 }), RangeError, /maxEntries/);
  const c = new Cache({ maxEntries: 2 ** 32 - 1 });
  for (let i = 0; i < 10; i++) c.set(i, i);
  equal(c.stats().entries, 10, "2^32 - 1 entries is a bound, not 5 or 0");
});

// ----- budget -----

test("bytes stay within maxMemory after every call; too-large values are refused", ({ Cache }) => {
  const c = new Cache({ maxMemory: 4096 });
  c.set("keep", "small");
  for (let i = 0; i < 500; i++) {
    c.set(`k${i}`, "v".repeat(i % 50));
    ok(c.stats().bytes <= 4096, "budget after set");
  }
  const before = c.stats();
  equal(c.set("huge", "x".repeat(5000)), false);
  const after = c.stats();
  equal(after.rejected, before.rejected + 1);
  equal(after.entries, before.entries, "nothing lost by a refused write");
  equal(c.has("huge"), false);
});

test("maxEntries bounds the count", ({ Cache }) => {
  const c = new Cache({ maxEntries: 10 });
  for (let i = 0; i < 100; i++) {
    c.set(i, i);
    ok(c.stats().entries <= 10);
  }
  equal(c.stats().entries, 10);
  equal(c.stats().evictions, 90);
});

// ----- policies -----

test("allkeys-lru evicts the least recently used; get refreshes, peek and has do not", ({ Cache }) => {
  const c = new Cache({ maxEntries: 3, policy: "allkeys-lru" });
  c.set("a", 1); c.set("b", 2); c.set("c", 3);
  c.get("a");
  c.peek("b");
  c.has("b");
  c.set("d", 4);
  equal(c.has("b"), false, "b was least recently used (peek/has do not count)");
  ok(c.has("a") && c.has("c") && c.has("d"));
  c.set("c", 33);
  c.set("e", 5);
  equal(c.has("a"), false, "set refreshes recency too");
});

test("allkeys-lfu keeps the frequently used", ({ Cache }) => {
  const c = new Cache({ maxEntries: 3, policy: "allkeys-lfu", seed: 1 });
  c.set("hot", 1); c.set("warm", 2); c.set("cold", 3);
  for (let i = 0; i < 200; i++) c.get("hot");
  for (let i = 0; i < 20; i++) c.get("warm");
  c.set("new", 4);
  equal(c.has("hot"), true);
  equal(c.has("warm"), true);
  equal(c.has("cold") && c.has("new"), false, "one of the unused two went");
});

test("allkeys-random evicts within the budget and spreads its victims", ({ Cache }) => {
  const c = new Cache({ maxEntries: 10, policy: "allkeys-random", seed: 7 });
  const survivors = new Map();
  for (let round = 0; round < 50; round++) {
    c.clear();
    for (let i = 0; i < 20; i++) c.set(i, i);
    for (let i = 0; i < 20; i++) if (c.has(i)) survivors.set(i, (survivors.get(i) ?? 0) + 1);
  }
  ok(survivors.has(0) && survivors.has(19), "early and late keys both survive sometimes");
});

test("volatile-lru evicts only keys with a TTL, and refuses when none is left", ({ Cache }) => {
  const c = new Cache({ maxEntries: 3, policy: "volatile-lru" });
  c.set("p1", 1); c.set("p2", 2);
  c.set("t1", 3, { ttl: 10_000 });
  c.set("t2", 4, { ttl: 10_000 });
  ok(c.has("p1") && c.has("p2") && c.has("t2"));
  equal(c.has("t1"), false);
  c.set("p3", 5);
  equal(c.has("t2"), false);
  equal(c.set("p4", 6), false, "no TTL key left: refused");
  ok(c.has("p1") && c.has("p2") && c.has("p3"), "everything already cached stays");
  equal(c.stats().rejected, 1);
});

test("volatile-ttl evicts the key that expires soonest", ({ Cache }) => {
  const c = new Cache({ maxEntries: 3, policy: "volatile-ttl" });
  c.set("late", 1, { ttl: 9000 });
  c.set("soon", 2, { ttl: 1000 });
  c.set("mid", 3, { ttl: 5000 });
  c.set("new", 4, { ttl: 7000 });
  equal(c.has("soon"), false);
  ok(c.has("late") && c.has("mid") && c.has("new"));
});

test("volatile-lfu and volatile-random only consider keys with a TTL", ({ Cache }) => {
  for (const policy of ["volatile-lfu", "volatile-random"]) {
    const c = new Cache({ maxEntries: 2, policy, seed: 3 });
    c.set("persist", 1);
    c.set("t1", 2, { ttl: 1000 });
    c.set("t2", 3, { ttl: 1000 });
    equal(c.has("persist"), true, policy);
    equal(c.set("p2", 4), true, policy);
    equal(c.set("p3", 5), false, `${policy}: no TTL key left`);
  }
});

test("noeviction refuses writes that do not fit and keeps everything", ({ Cache }) => {
  const c = new Cache({ maxEntries: 2, policy: "noeviction" });
  equal(c.set("a", 1), true);
  equal(c.set("b", 2), true);
  equal(c.set("c", 3), false);
  ok(c.has("a") && c.has("b"));
  equal(c.set("a", 11), true, "an overwrite fits");
  equal(c.get("a"), 11);
  const s = c.stats();
  equal(s.rejected, 1);
  equal(s.evictions, 0);
});

test("allkeys-adaptive resists a scan: the hot set survives", ({ Cache }) => {
  const hot = 50;
  const results = {};
  for (const policy of ["allkeys-lru", "allkeys-adaptive"]) {
    const c = new Cache({ maxEntries: 100, policy, seed: 5 });
    for (let r = 0; r < 30; r++) for (let i = 0; i < hot; i++) if (c.get(`hot${i}`) === undefined) c.set(`hot${i}`, i);
    for (let i = 0; i < 1000; i++) if (c.get(`scan${i}`) === undefined) c.set(`scan${i}`, i);
    let kept = 0;
    for (let i = 0; i < hot; i++) if (c.has(`hot${i}`)) kept++;
    results[policy] = kept;
  }
  equal(results["allkeys-lru"], 0, "LRU loses the hot set to the scan");
  ok(results["allkeys-adaptive"] >= hot * 0.9, `adaptive keeps the hot set, kept ${results["allkeys-adaptive"]}`);
});

// ----- Russian doll -----

test("overwrite, delete and invalidate cascade to dependents, transitively", ({ Cache }) => {
  const c = new Cache();
  const build = () => {
    c.set("author:1", "ann");
    c.set("comment:1", "hi", { dependsOn: ["author:1"] });
    c.set("comment:2", "yo");
    c.set("comments", "[1,2]", { dependsOn: ["comment:1", "comment:2"] });
    c.set("page", "<html>", { dependsOn: ["comments", "article"] });
    c.set("other", "stays");
  };
  build();
  c.set("author:1", "anne");
  equal(c.has("comment:1"), false);
  equal(c.has("comments"), false);
  equal(c.has("page"), false);
  ok(c.has("comment:2") && c.has("other") && c.has("author:1"));
  build();
  equal(c.delete("comment:2"), true);
  ok(!c.has("comments") && !c.has("page") && c.has("comment:1"));
  build();
  equal(c.invalidate("article"), 1, "an uncached child still invalidates its dependents");
  equal(c.has("page"), false);
  build();
  equal(c.invalidate("author:1"), 4);
});

test("eviction and expiry cascade nothing; cycles are safe", ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, maxEntries: 3 });
  c.set("child", 1, { ttl: 100 });
  c.set("parent", 2, { dependsOn: ["child"] });
  t.advance(100);
  equal(c.get("child"), undefined);
  equal(c.get("parent"), 2, "expiry of the child is not a change");
  c.set("x", 3);
  c.set("y", 4);
  c.set("z", 5);
  c.set("a", 1, { dependsOn: ["b"] });
  c.set("b", 2, { dependsOn: ["a"] });
  c.set("b", 22, { dependsOn: ["a"] });
  equal(c.has("a"), false);
  equal(c.get("b"), 22);
  equal(c.invalidate("b"), 1);
  const d = new Cache({ maxEntries: 2 });
  d.set("c", 1);
  d.set("p", 2, { dependsOn: ["c"] });
  d.set("q", 3);
  equal(d.has("c"), false, "c was evicted");
  equal(d.has("p"), true, "eviction of c cascaded nothing");
});

// ----- tags -----

test("invalidateTag removes entries set before the call, not after", ({ Cache }) => {
  const c = new Cache();
  c.set("a", 1, { tags: ["catalogue", "x"] });
  c.set("b", 2, { tags: ["catalogue"] });
  c.set("c", 3, { tags: ["other"] });
  equal(c.invalidateTag("catalogue"), 2);
  equal(c.has("a"), false);
  equal(c.has("b"), false);
  equal(c.has("c"), true);
  c.set("d", 4, { tags: ["catalogue"] });
  equal(c.get("d"), 4, "set after the invalidation");
  equal(c.invalidateTag("nothing"), 0);
  equal(c.invalidateTag("x"), 0, "a was already gone");
});

// ----- getOrLoad -----

test("getOrLoad: 200 concurrent callers share one load", async ({ Cache }) => {
  const c = new Cache();
  let calls = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const loader = async ({ key, stale, signal }) => {
    calls++;
    equal(key, "k");
    equal(stale, undefined);
    ok(signal && typeof signal.aborted === "boolean");
    await gate;
    return { v: 1 };
  };
  const all = Array.from({ length: 200 }, () => c.getOrLoad("k", loader));
  await tick();
  release();
  const values = await Promise.all(all);
  equal(calls, 1);
  values.forEach((v) => deepEqual(v, { v: 1 }));
  const s = c.stats();
  equal(s.loads, 1);
  equal(s.coalesced, 199);
  deepEqual(await c.getOrLoad("k", loader), { v: 1 });
  equal(calls, 1, "then a hit");
});

test("getOrLoad: a failed load rejects every waiter and caches nothing", async ({ Cache }) => {
  const c = new Cache();
  let calls = 0;
  const boom = new Error("origin down");
  const loader = async () => {
    calls++;
    await tick();
    throw boom;
  };
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.getOrLoad("k", loader)));
  equal(calls, 1);
  results.forEach((r) => {
    equal(r.status, "rejected");
    equal(r.reason, boom);
  });
  equal(c.has("k"), false);
  equal(c.stats().loadErrors, 1);
  equal(await c.getOrLoad("k", async () => 2), 2, "a later load runs again");
});

test("getOrLoad: stale-while-revalidate serves stale at once, one background refresh via waitUntil", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now });
  await c.getOrLoad("k", async () => "v1", { ttl: 1000, staleWhileRevalidate: 500 });
  t.advance(1200);
  let calls = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const handed = [];
  const loader = async ({ stale }) => {
    calls++;
    equal(stale, "v1", "the loader sees the stale value");
    await gate;
    return "v2";
  };
  const opts = { ttl: 1000, staleWhileRevalidate: 500, waitUntil: (p) => handed.push(p) };
  equal(await c.getOrLoad("k", loader, opts), "v1");
  equal(await c.getOrLoad("k", loader, opts), "v1");
  equal(calls, 1, "one refresh");
  equal(handed.length, 1, "handed to waitUntil");
  release();
  await handed[0];
  equal(c.get("k"), "v2");
  ok(c.stats().staleHits >= 2);
  t.advance(1600);
  equal(await c.getOrLoad("k", async () => "v3", opts), "v3", "past the window: a plain load");
});

// ----- early refresh (XFetch) -----

/** A hot key's loader on a simulated clock: its first load takes `ms` of
 * it (the load time the entry records), later ones none; with `gated`, the
 * later ones wait for release(); with `fail`, they throw. */
function hotLoader(t, ms = 200) {
  const l = async () => {
    const n = ++l.calls;
    l.startedAt = t.t;
    if (n === 1) t.advance(ms);
    if (n > 1 && l.fail) throw new Error("origin down");
    if (n > 1 && l.gated) await new Promise((r) => l.waiting.push(r));
    return `v${n}`;
  };
  l.calls = 0;
  l.waiting = [];
  l.release = () => l.waiting.splice(0).forEach((r) => r());
  return l;
}

test("earlyRefresh: a hot key is refreshed once before it expires while the old value is served", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, seed: 42 });
  const loader = hotLoader(t);
  loader.gated = true;
  const handed = [];
  const opts = { ttl: 10_000, earlyRefresh: 1, waitUntil: (p) => handed.push(p) };
  equal(await c.getOrLoad("hot", loader, opts), "v1");
  const expiry = t.t + 10_000;
  for (let i = 0; i < 200; i++) equal(await c.getOrLoad("hot", loader, opts), "v1", "far from expiry");
  equal(loader.calls, 1, "5 s before expiry (25 load times) no refresh");
  t.t = expiry - 20; // 0.1 load times before expiry: each read refreshes with probability ~0.9
  const reads = await Promise.all(Array.from({ length: 50 }, () => c.getOrLoad("hot", loader, opts)));
  ok(reads.every((v) => v === "v1"), "the old value is served while the refresh runs");
  equal(loader.calls, 2, "one refresh for 50 concurrent reads");
  equal(handed.length, 1, "handed to waitUntil");
  equal(await c.getOrLoad("hot", loader, opts), "v1");
  equal(loader.calls, 2, "still one while it runs");
  loader.release();
  ok(loader.startedAt < expiry, "the refresh started before expiry");
  equal(await handed[0], "v2");
  equal(c.get("hot"), "v2");
  t.t = expiry + 1;
  equal(await c.getOrLoad("hot", loader, opts), "v2", "past the old expiry the refreshed value is fresh: no stall");
  equal(loader.calls, 2);
  equal(c.stats().loads, 2);
});

test("earlyRefresh 0 (the default) never refreshes early; a cache default applies to getOrLoad and memoize", async ({ Cache }) => {
  const t = clock();
  const off = new Cache({ now: t.now, seed: 42 });
  const loader = hotLoader(t);
  await off.getOrLoad("hot", loader, { ttl: 10_000 });
  await off.getOrLoad("zero", loader, { ttl: 10_000, earlyRefresh: 0 });
  t.advance(10_000 - 205);
  for (let i = 0; i < 500; i++) {
    await off.getOrLoad("hot", loader, { ttl: 10_000 });
    await off.getOrLoad("zero", loader, { ttl: 10_000, earlyRefresh: 0 });
  }
  equal(loader.calls, 2, "no early refresh without earlyRefresh");

  const t2 = clock();
  const on = new Cache({ now: t2.now, seed: 42, earlyRefresh: 1 });
  const l2 = hotLoader(t2);
  await on.getOrLoad("hot", l2, { ttl: 10_000 });
  t2.advance(10_000 - 5);
  for (let i = 0; i < 20 && l2.calls === 1; i++) equal(await on.getOrLoad("hot", l2, { ttl: 10_000 }), "v1");
  equal(l2.calls, 2, "the cache's default earlyRefresh refreshed it");
  await tick();
  equal(on.get("hot"), "v2");
  await on.getOrLoad("cold", l2, { ttl: 10_000, earlyRefresh: 0 });
  t2.advance(10_000 - 5);
  for (let i = 0; i < 200; i++) await on.getOrLoad("cold", l2, { ttl: 10_000, earlyRefresh: 0 });
  equal(l2.calls, 3, "a call's earlyRefresh: 0 overrides the default");

  const t3 = clock();
  const m = new Cache({ now: t3.now, seed: 7 });
  let calls = 0;
  const price = m.memoize(async (sku) => { calls++; t3.advance(200); return `${sku}@${calls}`; }, { ttl: 10_000, earlyRefresh: 2 });
  equal(await price("A1"), "A1@1");
  t3.advance(10_000 - 210);
  for (let i = 0; i < 20 && calls === 1; i++) equal(await price("A1"), "A1@1");
  equal(calls, 2, "memoize refreshes early too");
  await tick();
  equal(await price("A1"), "A1@2");
});

test("earlyRefresh: a failed early refresh keeps the old value and counts loadErrors", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, seed: 42 });
  const loader = hotLoader(t);
  loader.fail = true;
  const handed = [];
  const opts = { ttl: 10_000, earlyRefresh: 1, waitUntil: (p) => handed.push(p) };
  await c.getOrLoad("hot", loader, opts);
  t.advance(10_000 - 10);
  for (let i = 0; i < 20 && loader.calls === 1; i++) equal(await c.getOrLoad("hot", loader, opts), "v1");
  equal(loader.calls, 2);
  await rejects(handed[0], Error, /origin down/);
  equal(c.stats().loadErrors, 1);
  equal(c.get("hot"), "v1", "the old value stays until it expires");
  equal(await c.getOrLoad("hot", loader, { ...opts, earlyRefresh: 0 }), "v1");
});

test("earlyRefresh: values that were set, or have no TTL, are never refreshed early", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, seed: 42, earlyRefresh: 4 });
  const loader = hotLoader(t);
  await c.getOrLoad("forever", loader, { ttl: 0 });
  c.set("set", "s", { ttl: 10_000 });
  t.advance(10_000 - 1);
  for (let i = 0; i < 200; i++) {
    equal(await c.getOrLoad("set", loader), "s");
    equal(await c.getOrLoad("forever", loader), "v1");
  }
  equal(loader.calls, 1, "no load time recorded (set) or no expiry: nothing to refresh ahead of");
});

test("bad earlyRefresh is a TypeError/RangeError naming it, and loses nothing", async ({ Cache }) => {
  for (const [bad, type] of [[-1, RangeError], [NaN, RangeError], [Infinity, RangeError], ["1", TypeError], [true, TypeError], [null, TypeError]]) {
    throws(() => new Cache({ earlyRefresh: bad }), type, /earlyRefresh/);
    const c = new Cache();
    await c.getOrLoad("keep", async () => 1, { ttl: 1000, earlyRefresh: 1 });
    await rejects(c.getOrLoad("keep", async () => 2, { earlyRefresh: bad }), type, /earlyRefresh/);
    await rejects(c.getOrLoad("other", async () => 2, { earlyRefresh: bad }), type, /earlyRefresh/);
    throws(() => c.memoize(async () => 1, { earlyRefresh: bad }), type, /earlyRefresh/);
    equal(c.get("keep"), 1);
    equal(c.has("other"), false);
    equal(c.stats().loads, 1, "no load started");
    c.free();
  }
});

test("getOrLoad: stale-if-error returns the stale value when the refresh fails", async ({ Cache }) => {
  const t = clock();
  const c = new Cache({ now: t.now, staleIfError: 5000 });
  await c.getOrLoad("k", async () => "old", { ttl: 1000 });
  t.advance(2000);
  equal(await c.getOrLoad("k", async () => { throw new Error("down"); }), "old");
  equal(await c.getOrLoad("k", async () => "new", { ttl: 1000 }), "new");
  t.advance(7000);
  await rejects(c.getOrLoad("k", async () => { throw new Error("down"); }), Error, /down/);
});

test("a change during a load keeps the loaded value out of the cache", async ({ Cache }) => {
  const c = new Cache();
  let release;
  const gate = new Promise((r) => (release = r));
  const p = c.getOrLoad("k", async () => { await gate; return "old"; });
  await tick();
  c.set("k", "new");
  release();
  equal(await p, "old", "the waiter still gets its value");
  equal(c.get("k"), "new", "but the newer write wins");
});

test("nested loads with dependsOn store every level (a child's first load does not supersede its parent)", async ({ Cache }) => {
  const c = new Cache();
  let builds = 0;
  const child = () => c.getOrLoad("child", async () => (builds++, "c"));
  const parent = () => c.getOrLoad("parent", async () => (builds++, `p(${await child()})`), { dependsOn: ["child"] });
  equal(await parent(), "p(c)");
  equal(await parent(), "p(c)");
  equal(builds, 2, "both cached after one build each");
  c.invalidate("child");
  equal(c.has("parent"), false, "a change of the child still removes the parent");
});

test("a change of a key detaches its load: later callers start a new one, the old result is not stored", async ({ Cache }) => {
  const changes = {
    delete: (c) => c.delete("k"),
    invalidate: (c) => c.invalidate("k"),
    set: (c) => c.set("k", "set", { ttl: 1 }),
    invalidateTag: (c) => c.invalidateTag("t"),
    "invalidate of what it depends on": (c) => c.invalidate("dep"),
    clear: (c) => c.clear(),
  };
  for (const [name, change] of Object.entries(changes)) {
    const t = clock();
    const c = new Cache({ now: t.now });
    let finish;
    const stuck = c.getOrLoad("k", () => new Promise((r) => (finish = r)), { tags: ["t"], dependsOn: ["dep"] });
    await tick();
    change(c);
    t.advance(1);
    let calls = 0;
    const next = c.getOrLoad("k", async () => (calls++, "fresh"));
    await tick();
    equal(calls, 1, `after ${name}, a new load starts`);
    equal(await settles(next, name), "fresh", name);
    finish("old");
    equal(await stuck, "old", `${name}: the old waiter still gets its value`);
    equal(c.get("k"), "fresh", `${name}: the old load's result is not stored`);
    equal(c.stats().loads, 2, name);
    c.free();
  }
});

test("loadTimeout rejects the waiters naming the key and the timeout, and aborts the loader", async ({ Cache }) => {
  const never = (seen) => ({ signal }) => {
    seen.push(signal);
    return new Promise(() => {});
  };
  const signals = [];
  const c = new Cache({ loadTimeout: 20 });
  const waiters = [c.getOrLoad("slow", never(signals)), c.getOrLoad("slow", never(signals))];
  for (const w of waiters) await rejects(settles(w, "a load past loadTimeout"), Error, /"slow".*20 ms.*loadTimeout/);
  equal(signals.length, 1, "one load");
  equal(signals[0].aborted, true, "the loader's signal is aborted");
  equal(c.stats().loadErrors, 1);
  equal(await c.getOrLoad("slow", async () => "ok"), "ok", "a later caller starts a new load");
  equal(c.get("slow"), "ok");
  // per call: getOrLoad, memoize and prewarm (which counts it and never rejects)
  const d = new Cache();
  await rejects(settles(d.getOrLoad(["a", 1], never([]), { loadTimeout: 10 }), "getOrLoad"), Error, /\["a",1\].*10 ms/);
  const m = d.memoize(never([]), { loadTimeout: 10, key: (x) => ["m", x] });
  await rejects(settles(m(1), "memoize"), Error, /\["m",1\].*10 ms/);
  equal(await settles(d.prewarm([["p", never([]), { loadTimeout: 10 }], ["q", 1]]), "prewarm"), 1);
  equal(d.stats().loadErrors, 3);
  equal(await d.getOrLoad("fast", async () => 1, { loadTimeout: 1000 }), 1, "a load that settles in time");
  // bad values
  throws(() => new Cache({ loadTimeout: -1 }), RangeError, /loadTimeout/);
  throws(() => new Cache({ loadTimeout: "1s" }), TypeError, /loadTimeout/);
  throws(() => new Cache({ loadTimeout: 2 ** 31 }), RangeError, /loadTimeout/);
  await rejects(d.getOrLoad("k", async () => 1, { loadTimeout: NaN }), RangeError, /loadTimeout/);
  throws(() => d.memoize(async () => 1, { loadTimeout: -5 }), RangeError, /loadTimeout/);
  await rejects(d.prewarm([["k", 1, { loadTimeout: "x" }]]), TypeError, /loadTimeout/);
});

test("a loader that waits for its own key gets an error naming the key, not a deadlock", async ({ Cache }) => {
  const c = new Cache();
  await rejects(settles(c.getOrLoad("self", async () => c.getOrLoad("self", async () => 1)), "self"), Error, /"self"/);
  const a = () => c.getOrLoad("a", async () => `a(${await b()})`);
  const b = () => c.getOrLoad("b", async () => `b(${await a()})`);
  await rejects(settles(a(), "a → b → a"), Error, /"a"/);
  // b started while a was in flight and a's loader then joins b: a → b → a again
  let releaseB;
  const gateB = new Promise((r) => (releaseB = r));
  const b2 = c.getOrLoad("b2", async () => { await gateB; return "b2"; });
  const a2 = c.getOrLoad("a2", async () => `a2(${await c.getOrLoad("b2", async () => "unused")})`);
  releaseB();
  equal(await settles(a2, "a2"), "a2(b2)", "joining a load that does not wait for you is fine");
  equal(await b2, "b2");
  // after an await the chain is not visible: loadTimeout ends the wait
  const late = c.getOrLoad("late", async () => {
    await tick();
    return c.getOrLoad("late", async () => 1);
  }, { loadTimeout: 20 });
  await rejects(settles(late, "late"), Error, /"late".*loadTimeout/);
  equal(await c.getOrLoad("self", async () => 1), 1, "nothing stays stuck");
  equal(await c.getOrLoad("a", async () => 2), 2);
});

test("a loaded value the cache cannot store rejects the waiters and counts in loadErrors", async ({ Cache }) => {
  const c = new Cache();
  await rejects(c.getOrLoad("k", async () => 10n), TypeError, /bigint/);
  equal(c.stats().loadErrors, 1);
  equal(c.has("k"), false);
});

test("writeThrough saves, caches the result and cascades", async ({ Cache }) => {
  const c = new Cache();
  c.set("price", 1);
  c.set("page", "p", { dependsOn: ["price"] });
  const saved = [];
  equal(await c.writeThrough("price", async () => { saved.push(2); return 2; }), 2);
  deepEqual(saved, [2]);
  equal(c.get("price"), 2);
  equal(c.has("page"), false);
  c.set("page", "p", { dependsOn: ["price"] });
  await rejects(c.writeThrough("price", async () => { throw new Error("db"); }), Error, /db/);
  equal(c.get("price"), 2, "a failed save changes nothing");
  equal(c.has("page"), true);
});

test("memoize caches per arguments, with an optional key function", async ({ Cache, memoize }) => {
  const c = new Cache();
  let calls = 0;
  const slow = c.memoize(async (a, b) => { calls++; return a + b; }, { ttl: 1000 });
  equal(await slow(1, 2), 3);
  equal(await slow(1, 2), 3);
  equal(await slow(2, 2), 4);
  equal(calls, 2);
  const other = c.memoize(async (a, b) => a * b);
  equal(await other(1, 2), 2, "two memoized functions never share entries");
  const byKey = memoize(c, async (id) => ({ id }), { key: (id) => ["user", id] });
  deepEqual(await byKey(7), { id: 7 });
  deepEqual(c.get(["user", 7]), { id: 7 });
});

test("prewarm stores values and loader results", async ({ Cache }) => {
  const c = new Cache();
  const n = await c.prewarm([["a", 1], ["b", async () => 2], [["c", 3], "three"], ["bad", async () => { throw new Error("x"); }]]);
  equal(n, 3);
  equal(c.get("b"), 2);
  equal(c.get(["c", 3]), "three");
  await rejects(c.prewarm("nope"), TypeError, /entries/);
});

test("clear keeps the configuration; free makes later calls throw", ({ Cache }) => {
  const c = new Cache({ maxEntries: 2 });
  c.set("a", 1); c.set("b", 2);
  c.clear();
  equal(c.stats().entries, 0);
  equal(c.stats().bytes, 0);
  c.set("a", 1); c.set("b", 2); c.set("c", 3);
  equal(c.stats().entries, 2, "maxEntries still holds");
  c.free();
  throws(() => c.get("a"), Error, /freed/);
  throws(() => c.set("a", 1), Error, /freed/);
  c.free();
});

test("stats count hits, misses and the hit ratio", ({ Cache }) => {
  const c = new Cache();
  c.set("a", 1);
  c.get("a"); c.get("a"); c.get("a"); c.get("nope");
  const s = c.stats();
  equal(s.hits, 3);
  equal(s.misses, 1);
  equal(s.hitRatio, 0.75);
  equal(s.sets, 1);
  equal(s.entries, 1);
  ok(s.bytes > 0);
});

// ----- bad input -----

test("bad options throw TypeError/RangeError naming the option", ({ Cache }) => {
  const cases = [
    [{ maxMemory: 0 }, RangeError, /maxMemory/],
    [{ maxMemory: -5 }, RangeError, /maxMemory/],
    [{ maxMemory: "1mb" }, TypeError, /maxMemory/],
    [{ maxEntries: -1 }, RangeError, /maxEntries/],
    [{ maxEntries: 1.5 }, RangeError, /maxEntries/],
    [{ policy: "lru" }, TypeError, /policy/],
    [{ codec: "xml" }, TypeError, /codec/],
    [{ codec: {} }, TypeError, /codec/],
    [{ jitter: 1 }, RangeError, /jitter/],
    [{ jitter: -0.1 }, RangeError, /jitter/],
    [{ ttl: NaN }, RangeError, /ttl/],
    [{ ttl: -1 }, RangeError, /ttl/],
    [{ ttl: Infinity }, RangeError, /ttl/],
    [{ staleWhileRevalidate: -1 }, RangeError, /staleWhileRevalidate/],
    [{ now: 5 }, TypeError, /now/],
    ["opts", TypeError, /options/],
  ];
  for (const [opts, type, pattern] of cases) throws(() => new Cache(opts), type, pattern);
});

test("bad calls throw naming the argument and lose nothing already cached", async ({ Cache }) => {
  const c = new Cache();
  c.set("keep", { v: 1 }, { tags: ["t"] });
  c.set("dep", 2, { dependsOn: ["keep"] });
  const calls = [
    [() => c.set({}, 1), TypeError, /key/],
    [() => c.set(NaN, 1), TypeError, /key/],
    [() => c.set([["nested"]], 1), TypeError, /key\[0\]/],
    [() => c.set("keep", undefined), TypeError, /undefined/],
    [() => c.set("keep", 1, { ttl: -1 }), RangeError, /ttl/],
    [() => c.set("keep", 1, { ttl: NaN }), RangeError, /ttl/],
    [() => c.set("keep", 1, { ttl: "1s" }), TypeError, /ttl/],
    [() => c.set("keep", 1, { tags: "t" }), TypeError, /tags/],
    [() => c.set("keep", 1, { tags: [1] }), TypeError, /tags\[0\]/],
    [() => c.set("keep", 1, { dependsOn: "keep" }), TypeError, /dependsOn/],
    [() => c.set("keep", 1, { dependsOn: [{}] }), TypeError, /dependsOn\[0\]/],
    [() => c.set("keep", 1, 5), TypeError, /options/],
    [() => c.set("keep", 10n), TypeError, /bigint/],
    [() => c.get(null), TypeError, /key/],
    [() => c.get(undefined), TypeError, /key/],
    [() => c.peek(Symbol("x")), TypeError, /key/],
    [() => c.has(Infinity), TypeError, /key/],
    [() => c.delete(true), TypeError, /key/],
    [() => c.invalidate([1, null]), TypeError, /key\[1\]/],
    [() => c.invalidateTag(3), TypeError, /tag/],
    [() => c.memoize(5), TypeError, /fn/],
  ];
  for (const [fn, type, pattern] of calls) {
    throws(fn, type, pattern);
    deepEqual(c.peek("keep"), { v: 1 }, `after ${fn}`);
    equal(c.peek("dep"), 2, `after ${fn}`);
    equal(c.stats().entries, 2);
  }
  await rejects(c.getOrLoad("keep2", "notfn"), TypeError, /loader/);
  await rejects(c.getOrLoad({}, async () => 1), TypeError, /key/);
  await rejects(c.getOrLoad("k", async () => 1, { waitUntil: 1 }), TypeError, /waitUntil/);
  await rejects(c.getOrLoad("k", async () => undefined), TypeError, /undefined/);
  await rejects(c.writeThrough("keep", 1), TypeError, /save/);
  deepEqual(c.peek("keep"), { v: 1 });
  equal(c.stats().entries, 2);
});

test("a TTL or window above what the core keeps is a RangeError naming it, and loses nothing", ({ Cache }) => {
  const c = new Cache();
  c.set("keep", { v: 1 });
  throws(() => c.set("keep", 2, { ttl: 1e17 }), RangeError, /ttl/);
  throws(() => c.set("big", "x".repeat(1 << 17), { ttl: 1e17 }), RangeError, /ttl/);
  throws(() => c.set("keep", 2, { staleWhileRevalidate: 1e17 }), RangeError, /staleWhileRevalidate/);
  throws(() => c.set("keep", 2, { staleIfError: 1e17 }), RangeError, /staleIfError/);
  deepEqual(c.get("keep"), { v: 1 });
  equal(c.set("keep", 3, { ttl: 2 ** 53 }), true, "the largest TTL kept");
  c.free();
});

test("the constructor's errors are real RangeError and TypeError instances", ({ Cache }) => {
  throws(() => new Cache({ ttl: 1e17 }), RangeError, /ttl/);
  throws(() => new Cache({ staleWhileRevalidate: 1e17 }), RangeError);
});

test("no input makes the wasm instance trap", ({ Cache }) => {
  const c = new Cache({ maxMemory: 1 << 20 });
  const big = "x".repeat(1 << 21);
  equal(c.set(big, 1), false, "a key larger than the budget is refused");
  equal(c.set("k", big), false);
  c.set("k\u0000\ud800", "lone surrogate and NUL");
  equal(c.get("k\u0000\ud800"), "lone surrogate and NUL");
  c.set("", "");
  equal(c.get(""), "");
  c.set([], "empty composite");
  equal(c.get([]), "empty composite");
  for (let i = 0; i < 2000; i++) c.set(["k", i, "x".repeat(i % 300)], { i, s: "y".repeat(i % 200) });
  ok(c.stats().bytes <= 1 << 20);
  equal(c.get("k"), undefined);
  c.set("after", 1);
  equal(c.get("after"), 1, "still works");
});

// ----- the memory bound -----

const MiB = 1024 * 1024;

/** The most wasm memory may grow for one cache of `maxMemory` bytes
 * (README, "Security model"). The module's memory is shared by every cache in
 * the isolate and never shrinks, so tests bound its growth. */
const memoryBound = (maxMemory) => 1.25 * maxMemory + 4 * MiB;

function checkGrowth(c, before, maxMemory, what) {
  const grown = c.stats().wasmMemory - before;
  ok(grown <= memoryBound(maxMemory), `${what}: wasm memory grew ${(grown / MiB).toFixed(1)} MiB, bound ${(memoryBound(maxMemory) / MiB).toFixed(1)} MiB`);
}

/** A value that says which write made it: `n` bytes of `seed`, its first
 * four bytes `seed` in little-endian. */
function marked(n, seed) {
  const v = new Uint8Array(n).fill(seed & 0xff);
  for (let i = 0; i < Math.min(4, n); i++) v[i] = (seed >>> (8 * i)) & 0xff;
  return v;
}

/** `n` bytes that differ with their position, also from one 8 KiB block to
 * the next, so a piece out of place or out of order shows. */
function patterned(n, seed) {
  const v = new Uint8Array(n);
  for (let i = 0; i < n; i++) v[i] = (i + (i >>> 13) * 31 + seed) & 0xff;
  return v;
}

/** Whether two byte arrays are equal (without a per-byte assertion). */
function sameBytes(a, b) {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Runs first in this section: the tests after it free caches of 60 and 100
// MiB, whose holes would hide a missing contiguous hole here.
test("a value near the budget after churn grows wasm memory within the bound", ({ Cache }) => {
  const maxMemory = 8 * MiB;
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (const policy of ["allkeys-lru", "allkeys-adaptive"]) {
    const c = new Cache({ maxMemory, policy, codec: "bytes" });
    const before = c.stats().wasmMemory;
    const pool = patterned(64 * 1024, 1);
    for (let i = 0; i < 8000; i++) {
      const n = Math.max(1, Math.round(2 ** (rand() * 16))); // 1 B – 64 KiB, log-uniform
      c.set(`k${Math.floor(rand() * 1500)}`, pool.subarray(0, n));
    }
    checkGrowth(c, before, maxMemory, `${policy} churn`);
    // Nearly the whole budget: it evicts everything else, and needs no
    // contiguous hole of its size among what the churn left.
    const big = patterned(7 * MiB, 3);
    equal(c.set("big", big), true, policy);
    checkGrowth(c, before, maxMemory, `${policy} churn, then a 7 MiB value`);
    ok(c.stats().bytes <= maxMemory, policy);
    ok(sameBytes(c.get("big"), big), `${policy}: the 7 MiB value reads back`);
    c.free();
  }
});

test("values in blocks (8 KiB and more) round-trip through every codec, staged or written in place", ({ Cache }) => {
  const sizes = [8175, 8176, 8177, 16352, 16353, 60000, 65536, 200003];
  const c = new Cache({ maxMemory: 16 * MiB, codec: "bytes" });
  for (const n of sizes) {
    const v = patterned(n, n);
    equal(c.set(`b${n}`, v), true, `${n}`);
  }
  for (const n of sizes) {
    ok(sameBytes(c.get(`b${n}`), patterned(n, n)), `get ${n}`);
    ok(sameBytes(c.peek(`b${n}`), patterned(n, n)), `peek ${n}`);
  }
  c.free();
  const text = new Cache({ maxMemory: 16 * MiB, codec: "text" });
  const json = new Cache({ maxMemory: 16 * MiB });
  for (const n of [9000, 70000, 300000]) {
    const s = "é".repeat(n / 4) + "x".repeat(n / 2) + "\ud83d\ude00".repeat(n / 8);
    equal(text.set(`t${n}`, s), true);
    equal(text.get(`t${n}`), s, `text ${n}`);
    const o = { n, items: Array.from({ length: n / 10 }, (_, i) => ({ i, s: `v${i}` })) };
    equal(json.set(["j", n], o, { tags: ["big"] }), true);
    deepEqual(json.get(["j", n]), o, `json ${n}`);
  }
  // Replacing and invalidating values in blocks frees their blocks.
  const textBytes = text.stats().bytes;
  for (const n of [9000, 70000, 300000]) text.set(`t${n}`, "short");
  ok(text.stats().bytes < textBytes / 100);
  equal(json.invalidateTag("big"), 3);
  equal(json.get(["j", 9000]), undefined);
  text.free();
  json.free();
});

test("a refused 100 MiB write grows wasm memory within the bound and loses nothing", ({ Cache }) => {
  const maxMemory = 32 * MiB;
  const c = new Cache({ maxMemory, codec: "bytes" });
  const before = c.stats().wasmMemory;
  const keep = marked(1000, 7);
  c.set("keep", keep);
  const huge = new Uint8Array(100 * MiB);
  for (let i = 0; i < 3; i++) equal(c.set(`huge${i}`, huge), false, "larger than the budget");
  equal(c.stats().rejected, 3, "each refusal is counted");
  checkGrowth(c, before, maxMemory, "refused writes");
  deepEqual(c.get("keep"), keep);
  c.free();
});

test("a 60 MiB value in a 64 MiB cache costs memory once", ({ Cache }) => {
  const maxMemory = 64 * MiB;
  const c = new Cache({ maxMemory, codec: "bytes" });
  const before = c.stats().wasmMemory;
  const keep = marked(1000, 9);
  c.set("keep", keep);
  for (let i = 0; i < 3; i++) {
    const big = marked(60 * MiB, 100 + i);
    equal(c.set("big", big), true, `write ${i}`);
    const got = c.get("big");
    equal(got.length, big.length);
    equal(got[0], big[0]);
    equal(got[got.length - 1], big[big.length - 1]);
    checkGrowth(c, before, maxMemory, `60 MiB write ${i}`);
  }
  deepEqual(c.get("keep"), keep);
  c.free();
});

test("over-long keys, tags and dependsOn are refused without growing memory; reads of them miss", ({ Cache }) => {
  const maxMemory = 1 * MiB;
  const c = new Cache({ maxMemory });
  const before = c.stats().wasmMemory;
  c.set("keep", { v: 1 });
  const long = "k".repeat(8 * MiB);
  equal(c.set(long, 1), false);
  equal(c.set("x", 1, { tags: [long] }), false);
  equal(c.set("x", 1, { dependsOn: [long] }), false);
  equal(c.set(["a", long], 1), false);
  equal(c.stats().rejected, 4);
  equal(c.get(long), undefined);
  equal(c.peek(long), undefined);
  equal(c.has(long), false);
  equal(c.delete(long), false);
  equal(c.invalidate(long), 0);
  equal(c.invalidateTag(long), 0);
  checkGrowth(c, before, maxMemory, "long keys");
  deepEqual(c.get("keep"), { v: 1 });
  equal(c.get("x"), undefined);
  c.free();
});

test("churn of random 1 B–64 KB writes keeps the memory bound and every value intact, for every policy", ({ Cache, POLICIES }) => {
  const maxMemory = 2 * MiB;
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (const policy of POLICIES) {
    const c = new Cache({ maxMemory, policy, codec: "bytes" });
    const before = c.stats().wasmMemory;
    const keep = marked(100, 1);
    c.set("keep", keep);
    const written = new Map();
    for (let i = 0; i < 1500; i++) {
      const n = Math.max(1, Math.round(2 ** (rand() * 16))); // 1 B – 64 KiB, log-uniform
      const k = `k${Math.floor(rand() * 400)}`;
      const v = marked(n, i);
      // A refused write leaves the old value in place.
      if (c.set(k, v, { ttl: 1e9 })) written.set(k, v);
    }
    checkGrowth(c, before, maxMemory, policy);
    ok(c.stats().bytes <= maxMemory, policy);
    for (const [k, v] of written) {
      const got = c.peek(k);
      if (got !== undefined) deepEqual(got, v, `${policy} ${k}`);
    }
    // Entries without a TTL are not evictable under volatile-* and noeviction.
    if (policy.startsWith("volatile") || policy === "noeviction") deepEqual(c.get("keep"), keep, policy);
    c.free();
  }
});

// ----- snapshots -----

/** Every entry of `c` as [key, value] pairs, read with peek (no recency change). */
function peekAll(c, keys) {
  return keys.map((k) => [k, c.peek(k)]);
}

test("dump/load round-trips values, absolute expiry, stale windows, tags and dependencies", async ({ Cache }) => {
  const clk = clock();
  const a = new Cache({ now: clk.now });
  const keys = ["plain", 17, ["story", 12, "v3"], "obj", "big", "ttl", "swr", "tagged", "page"];
  a.set("plain", "p");
  a.set(17, [1, "two", null]);
  a.set(["story", 12, "v3"], { title: "t", n: 1.5 });
  a.set("obj", { qty: 3, updatedAt: 1732000000000 });
  a.set("big", "x".repeat(100_000));
  a.set("ttl", 1, { ttl: 1000 });
  a.set("swr", 2, { ttl: 1000, staleWhileRevalidate: 500 });
  a.set("tagged", 3, { tags: ["red", "blue"] });
  a.set("user", "ada");
  a.set("page", "<p>ada</p>", { dependsOn: ["user"], tags: ["red"] });
  clk.advance(100);
  const snap = a.dump();
  ok(snap instanceof Uint8Array);
  const b = new Cache({ now: clk.now, policy: "allkeys-lfu" });
  equal(b.load(snap), 10);
  deepEqual(peekAll(b, keys), peekAll(a, keys));
  // The same absolute expiry (set at t0 with ttl 1000: fresh until t0 + 1000).
  clk.advance(899);
  equal(b.get("ttl"), 1);
  clk.advance(1);
  equal(b.get("ttl"), undefined);
  // The stale window came along.
  equal(await b.getOrLoad("swr", () => 20, { staleWhileRevalidate: 500 }), 2);
  // Tags and dependencies act on what was loaded.
  equal(b.invalidateTag("blue"), 1);
  equal(b.has("tagged"), false);
  equal(b.has("page"), true);
  b.set("user", "grace");
  equal(b.has("page"), false, "a change of a loaded entry's dependency cascades");
  a.free();
  b.free();
});

test("load keeps the most recently used entries when the cache is smaller, under every policy", ({ Cache, POLICIES }) => {
  const a = new Cache({ codec: "bytes" });
  for (let i = 0; i < 200; i++) a.set(`k${String(i).padStart(3, "0")}`, new Uint8Array(100).fill(i));
  a.get("k000"); // now the most recently used
  const snap = a.dump();
  for (const policy of POLICIES) {
    const b = new Cache({ codec: "bytes", policy, maxEntries: 50 });
    equal(b.load(snap), 50, policy);
    equal(b.has("k000"), true, `${policy}: the most recent`);
    equal(b.has("k199"), true, policy);
    equal(b.has("k151"), true, policy);
    equal(b.has("k150"), false, `${policy}: older than the 49 most recent`);
    b.free();
  }
  a.free();
});

test("load skips what expired since the dump; tags invalidated before it stay invalidated", ({ Cache }) => {
  const clk = clock();
  const a = new Cache({ now: clk.now });
  a.set("short", 1, { ttl: 100 });
  a.set("long", 2, { ttl: 10_000 });
  a.set("forever", 3);
  a.set("old", 4, { tags: ["gone"] });
  equal(a.invalidateTag("gone"), 1);
  a.set("new", 5, { tags: ["gone"] });
  const snap = a.dump();
  clk.advance(200);
  const b = new Cache({ now: clk.now });
  equal(b.load(snap), 3);
  deepEqual(peekAll(b, ["short", "long", "forever", "old", "new"]), [["short", undefined], ["long", 2], ["forever", 3], ["old", undefined], ["new", 5]]);
  a.free();
  b.free();
});

test("keys already cached keep their values; loading counts no write", ({ Cache }) => {
  const a = new Cache();
  a.set("a", "old");
  a.set("b", "old");
  const b = new Cache();
  b.set("a", "mine");
  equal(b.load(a.dump()), 1);
  equal(b.get("a"), "mine");
  equal(b.get("b"), "old");
  equal(b.stats().sets, 1);
  a.free();
  b.free();
});

test("a truncated, flipped, foreign-version or foreign-codec snapshot is a TypeError and changes nothing", ({ Cache }) => {
  const clk = clock();
  const a = new Cache({ now: clk.now });
  for (let i = 0; i < 20; i++) a.set(`k${i}`, { qty: i, updatedAt: 1 }, { ttl: 60_000, tags: ["t"] });
  const good = a.dump();
  const b = new Cache({ now: clk.now });
  b.set("mine", { qty: 1, updatedAt: 2 });
  const before = b.dump();
  const stats = JSON.stringify(b.stats());
  const flipped = good.slice();
  flipped[Math.floor(good.length / 2)] ^= 0x40;
  const version = good.slice();
  version[8] = 99;
  const cases = [
    [good.subarray(0, good.length - 1), /truncated/],
    [good.subarray(0, 5), /truncated/],
    [new Uint8Array(0), /truncated/],
    [flipped, /checksum/],
    [version, /version 99/],
    [new TextEncoder().encode("[1,2,3] not a snapshot"), /not an edgecache snapshot/],
  ];
  for (const [bytes, why] of cases) {
    const err = throws(() => b.load(bytes), TypeError, why);
    equal(err.code, "INVALID_SNAPSHOT");
  }
  const text = new Cache({ codec: "text", now: clk.now });
  text.set("s", "str");
  throws(() => b.load(text.dump()), TypeError, /"text" codec; this cache uses "json"/);
  throws(() => b.load([1, 2, 3]), TypeError, /snapshot must be a Uint8Array/);
  deepEqual(b.dump(), before, "nothing changed");
  equal(JSON.stringify(b.stats()), stats);
  equal(b.load(good), 20, "the good one still loads");
  a.free();
  b.free();
  text.free();
});

test("a plain snapshot of many pieces loads into an empty cache whole, and a broken one changes nothing", ({ Cache }) => {
  // Over 256 KiB: load() reads it in pieces, checking all of them before
  // it stores any entry (src/snapshot_stream.rs).
  const clk = clock();
  const a = new Cache({ maxMemory: 8 << 20, now: clk.now });
  const n = 24_000;
  for (let i = 0; i < n; i++) a.set(`A${String(i).padStart(7, "0")}:EA:S170`, { qty: i, updatedAt: 1 });
  const good = a.dump();
  ok(good.length > 2 * 256 * 1024, `${good.length} bytes`);
  const b = new Cache({ maxMemory: 8 << 20, now: clk.now });
  const empty = b.dump();
  const late = good.slice();
  late[good.length - 20] ^= 0x01; // in the last piece
  const early = good.slice();
  early[100] ^= 0x08; // in the first piece
  for (const [bytes, why] of [[late, /checksum/], [early, /checksum/], [good.subarray(0, good.length - 3), /truncated/]]) {
    const err = throws(() => b.load(bytes), TypeError, why);
    equal(err.code, "INVALID_SNAPSHOT");
    deepEqual(b.dump(), empty, "nothing stored");
    equal(b.get("A0012345:EA:S170"), undefined);
  }
  equal(b.load(good), n);
  deepEqual(b.dump(), good, "the same entries in the same order");
  deepEqual(b.get("A0012345:EA:S170"), { qty: 12_345, updatedAt: 1 });
  a.free();
  b.free();
});

/** src/checksum.rs's snapshot checksum, so that a test can forge a snapshot
 * whose checksum holds, as anyone who can write where snapshots are kept can. */
function snapshotChecksum(b) {
  const K = 0x9e3779b97f4a7c15n, M = (1n << 64n) - 1n;
  const mix = (h, w) => {
    const x = ((h ^ w) * K) & M;
    return ((x << 29n) | (x >> 35n)) & M;
  };
  // Word i (the last padded with zeros) goes to lane i mod 4; then the lanes, then the length.
  const padded = new Uint8Array(Math.ceil(b.length / 8) * 8);
  padded.set(b);
  const view = new DataView(padded.buffer);
  const lanes = [K, K ^ 1n, K ^ 2n, K ^ 3n];
  for (let i = 0; i * 8 < padded.length; i++) lanes[i % 4] = mix(lanes[i % 4], view.getBigUint64(i * 8, true));
  let h = K;
  for (const lane of lanes) h = mix(h, lane);
  h = mix(h, BigInt(b.length));
  return h ^ (h >> 32n);
}

/** `bytes` with its last 8 bytes set to the checksum of the rest. */
function resealed(bytes) {
  const out = bytes.slice();
  new DataView(out.buffer).setBigUint64(out.length - 8, snapshotChecksum(out.subarray(0, out.length - 8)), true);
  return out;
}

/** Where `pattern` first occurs in `bytes`. */
function indexOfBytes(bytes, pattern) {
  for (let i = 0; i + pattern.length <= bytes.length; i++) if (pattern.every((p, j) => bytes[i + j] === p)) return i;
  throw new Error(`pattern ${pattern} not found`);
}

test("forged value bytes in a resealed snapshot are a corrupt value on read, never other entries' bytes", ({ Cache }) => {
  const a = new Cache();
  a.set("s", "x".repeat(200));
  a.set("arr", [7, 7, 7]);
  const good = a.dump();
  deepEqual(resealed(good), good, "the test's checksum is the snapshot's");
  const T_STR = 6, T_ARR = 7, T_UINT = 3;
  // A string of 200 bytes that claims 16,383, and an array of 3 that claims 2^35.
  const forged = good.slice();
  const s = indexOfBytes(forged, [T_STR, 0xc8, 0x01, 0x78]);
  forged.set([0xff, 0x7f], s + 1);
  const arr = indexOfBytes(forged, [T_ARR, 3, T_UINT, 7]);
  const huge = resealed(new Uint8Array([...forged.subarray(0, arr + 1), 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, ...forged.subarray(arr + 2)]));
  const b = new Cache();
  equal(b.load(resealed(forged)), 2);
  for (let i = 0; i < 50; i++) b.set(`secret${i}`, `password-of-user-${i}`.padEnd(300, "!"));
  const err = throws(() => b.get("s"), Error, /corrupt value/);
  ok(!String(err).includes("password"), String(err));
  equal(b.get("secret7"), "password-of-user-7".padEnd(300, "!"), "other entries are intact");
  deepEqual(b.get("arr"), [7, 7, 7]);
  // The snapshot's own length fields grew with the count's bytes: it may be refused whole, or load
  // and fail on read; either way no value comes back.
  const c = new Cache();
  let loaded = 0;
  try {
    loaded = c.load(huge);
  } catch (e) {
    ok(e instanceof TypeError, String(e));
  }
  if (loaded > 0) throws(() => c.get("arr"), Error, /corrupt value/);
  a.free();
  b.free();
  c.free();
});

test("a forged shaped object whose last number runs past its end is a corrupt value", ({ Cache }) => {
  const a = new Cache();
  a.set("o", { qty: 77, updatedAt: 99 });
  a.set("p", "after");
  const forged = a.dump();
  const at = indexOfBytes(forged, [0x4d, 0x63]); // the two varints of { qty: 77, updatedAt: 99 }
  forged[at + 1] = 0x63 | 0x80; // the last one claims a byte more
  const b = new Cache();
  equal(b.load(resealed(forged)), 2);
  throws(() => b.get("o"), Error, /corrupt value/);
  equal(b.get("p"), "after", "the next entry is intact");
  a.free();
  b.free();
});

test("a custom codec that names itself refuses another custom codec's snapshot; a bad name is a TypeError", ({ Cache }) => {
  const upper = { name: "upper-v1", encode: (v) => new TextEncoder().encode(v.toUpperCase()), decode: (b) => new TextDecoder().decode(b) };
  const reversed = { name: "reversed-v1", encode: (v) => new TextEncoder().encode([...v].reverse().join("")), decode: (b) => [...new TextDecoder().decode(b)].reverse().join("") };
  const a = new Cache({ codec: upper });
  a.set("k", "abc");
  const snap = a.dump();
  const b = new Cache({ codec: reversed });
  b.set("mine", "xyz");
  throws(() => b.load(snap), TypeError, /"custom:upper-v1" codec; this cache uses "custom:reversed-v1"/);
  equal(b.get("mine"), "xyz");
  equal(b.get("k"), undefined);
  const c = new Cache({ codec: { ...upper } });
  equal(c.load(snap), 1, "the same name loads");
  equal(c.get("k"), "ABC");
  for (const name of ["", 7, "has space", "x".repeat(101)]) {
    throws(() => new Cache({ codec: { ...upper, name } }), TypeError, /codec\.name/);
  }
  a.free();
  b.free();
  c.free();
});

test("json shapes travel with the snapshot; a cache with other shapes refuses it unchanged", ({ Cache }) => {
  const a = new Cache();
  a.set("o1", { qty: 1, updatedAt: 2 });
  a.set("o2", { name: "x", tags: ["a"] });
  const snap = a.dump();
  const fresh = new Cache();
  equal(fresh.load(snap), 2);
  deepEqual(fresh.get("o1"), { qty: 1, updatedAt: 2 });
  deepEqual(fresh.get("o2"), { name: "x", tags: ["a"] });
  // Shapes adopted from the snapshot keep working for new writes.
  fresh.set("o3", { qty: 5, updatedAt: 6 });
  deepEqual(fresh.get("o3"), { qty: 5, updatedAt: 6 });
  const same = new Cache();
  same.set("first", { qty: 9, updatedAt: 9 }); // the same first shape: compatible
  equal(same.load(snap), 2);
  deepEqual(same.get("o2"), { name: "x", tags: ["a"] });
  const other = new Cache();
  other.set("mine", { other: 1 });
  throws(() => other.load(snap), TypeError, /shapes differ/);
  equal(other.stats().entries, 1);
  deepEqual(other.get("mine"), { other: 1 });
  for (const c of [a, fresh, same, other]) c.free();
});

test("text and bytes snapshots round-trip", ({ Cache }) => {
  for (const codec of ["text", "bytes"]) {
    const a = new Cache({ codec });
    const v = codec === "text" ? "héllo ✓" : new Uint8Array([0, 1, 255]);
    a.set("k", v);
    const b = new Cache({ codec });
    equal(b.load(a.dump()), 1, codec);
    deepEqual(b.get("k"), v, codec);
    a.free();
    b.free();
  }
});

export function suite() {
  return tests;
}

/** Runs the suite and returns per-test results (used by the workerd and browser runners). */
export function runAll(lib, filter) {
  return run(tests, lib, filter);
}
