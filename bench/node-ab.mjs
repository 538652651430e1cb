// A/B of edgecache builds against lru-cache 11 in one process: the loops of
// throughput.mjs (get-hit, 1k hot keys, set-evict of strings and objects; and
// get-hit of { qty, updatedAt } objects, `getobj`) and
// workloads.mjs (Zipf read-through at 10k and 100k entries, TTL-heavy), each
// build and lru-cache in turn, best of ROUNDS. Timed in CPU time
// (process.cpuUsage), which a busy machine's waits for a core do not inflate.
//
//   OPS=500000 node bench/node-ab.mjs get,hot,getobj,set,setobj,rt10k,rt100k,ttl,rt10k-a,rt100k-a,ttl-a 3 /abs/distA /abs/distB
//
// A dist is a copy of js/dist (scripts/build.sh) of one build; `-a` runs the
// workload as allkeys-adaptive; set the env JSON=1 for get/hot/set under json.
import { createRequire } from "node:module";
import { uniform, zipfSampler } from "../www/zipf.mjs";
import { READ_THROUGH } from "./loop-sources.mjs";
const require = createRequire(new URL("../js/package.json", import.meta.url));
const { LRUCache } = require("lru-cache");

const tests = process.argv[2].split(",");
const ROUNDS = Number(process.argv[3]);
const dists = process.argv.slice(4);
const builds = [];
for (const d of dists) builds.push({ name: d.split("/").filter(Boolean).slice(-1)[0], Cache: (await import(d + "/node.js")).Cache });

const N = 100_000;
const tkeys = Array.from({ length: N * 2 }, (_, i) => `A${String(12345 + (i % 11000)).padStart(7, "0")}:EA:S${String(i).padStart(6, "0")}`);
const value = (i) => `q${String(i).padStart(7, "0")}`;
const OPS = Number(process.env.OPS ?? 1_000_000);
const UNIVERSE = 1_000_000;
const wkeys = Array.from({ length: UNIVERSE }, (_, i) => `A${String(i).padStart(7, "0")}:EA:S170`);
const draw = uniform(42);
const rank = zipfSampler(UNIVERSE, 0.99, 42, draw);
const ranks = new Int32Array(OPS), coin = new Float64Array(OPS);
for (let i = 0; i < OPS; i++) { ranks[i] = rank(); coin[i] = draw(); }

const LOOPS = `return {
  get(c, keys, N) { let s = 0; for (let i = 0; i < N; i++) s += c.get(keys[(i * 7919) % N]).length; return s; },
  hot(c, keys, N) { let s = 0; for (let i = 0; i < N; i++) s += c.get(keys[(i * 7919) % 1000]).length; return s; },
  getObj(c, keys, N) { let s = 0; for (let i = 0; i < N; i++) s += c.get(keys[(i * 7919) % N]).qty; return s; },
  set(c, keys, N, at, value) { for (let i = 0; i < N; i++) c.set(keys[(at + i) % keys.length], value(i)); },
  setObj(c, keys, N, at) { for (let i = 0; i < N; i++) c.set(keys[(at + i) % keys.length], { qty: i % 500, updatedAt: 1732900000000 + i }); },
${READ_THROUGH}  ttlHeavy(c, keys, ranks, coin, clock) {
    let hits = 0;
    for (let i = 0; i < ranks.length; i++) {
      clock.t += 1;
      const k = keys[ranks[i]];
      if (coin[i] < 0.5) c.set(k, { qty: i % 500, updatedAt: 1732900000000 + i }, { ttl: 1000 + (i % 9001) });
      else if (c.get(k) !== undefined) hits++;
    }
    return hits;
  },
};`;

const now = () => { const u = process.cpuUsage(); return BigInt(u.user + u.system) * 1000n; };
function runTest(t) {
  const adaptive = t.endsWith("-a");
  const base = t.replace(/-a$/, "");
  const subjects = [];
  const clock = { t: 1_000_000 };
  const nowF = () => clock.t;
  if (base === "get" || base === "hot" || base === "getobj" || base === "set" || base === "setobj") {
    const json = base === "setobj" || base === "getobj" || process.env.JSON === "1";
    // getobj reads the stock data set's { qty, updatedAt } values (json codec; lru-cache keeps the reference).
    const fill = base === "getobj" ? (i) => ({ qty: i % 500, updatedAt: 1732900000000 + i }) : value;
    for (const b of builds) subjects.push({ name: b.name, make: () => new b.Cache({ maxEntries: N, maxMemory: 1 << 30, codec: json ? "json" : "text" }) });
    subjects.push({ name: "lru-cache", make: () => new LRUCache({ max: N }) });
    for (const s of subjects) {
      s.c = s.make();
      for (let i = 0; i < N; i++) s.c.set(tkeys[i], fill(i));
      s.next = N; s.loops = new Function(LOOPS)(); s.best = Infinity;
    }
    const run = (s) => {
      if (base === "get") s.loops.get(s.c, tkeys, N);
      else if (base === "hot") s.loops.hot(s.c, tkeys, N);
      else if (base === "getobj") s.loops.getObj(s.c, tkeys, N);
      else if (base === "set") { s.loops.set(s.c, tkeys, N, s.next, value); s.next += N; }
      else { s.loops.setObj(s.c, tkeys, N, s.next); s.next += N; }
    };
    for (let r = 0; r < ROUNDS; r++) for (const s of subjects) {
      run(s);
      const t0 = now(); run(s); s.best = Math.min(s.best, Number(now() - t0) / N);
    }
  } else {
    const cap = base === "rt10k" ? 10_000 : 100_000;
    const policy = adaptive ? "allkeys-adaptive" : "allkeys-lru";
    for (const b of builds) subjects.push({ name: b.name, make: () => new b.Cache({ maxEntries: cap, maxMemory: 1 << 30, policy, now: nowF }) });
    subjects.push({ name: "lru-cache", make: () => new LRUCache({ max: cap, perf: { now: nowF }, ttlResolution: 0 }) });
    for (const s of subjects) { s.loops = new Function(LOOPS)(); s.best = Infinity; }
    for (let r = 0; r < ROUNDS; r++) for (const s of subjects) {
      const c = s.make();
      const t0 = now();
      s.hits = base === "ttl" ? s.loops.ttlHeavy(c, wkeys, ranks, coin, clock) : s.loops.readThrough(c, wkeys, ranks, coin);
      s.best = Math.min(s.best, Number(now() - t0) / OPS);
      c.free?.();
    }
  }
  const lru = subjects.find((s) => s.name === "lru-cache").best;
  const a = subjects[0].best;
  console.log(`${t.padEnd(9)} ` + subjects.map((s) => `${s.name} ${s.best.toFixed(0)} ns (${(lru / s.best).toFixed(2)}x lru, ${(a / s.best).toFixed(2)}x A)`).join(" | "));
}
for (const t of tests) runTest(t);
