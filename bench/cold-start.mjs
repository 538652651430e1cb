// Cold starts: a shared trace replayed through a sequence of isolates (fresh
// Cache instances) recycled every ISOLATE requests, once cold (each isolate
// starts empty) and once warm (each starts from the previous isolate's
// dump(), loaded with load()). A single cache that lives through the whole
// trace is the ceiling both are measured against.
//
//   node bench/cold-start.mjs [traces=cache2k-web07,scarab-recs] [maxMemory MiB=4] [policies=allkeys-lru,allkeys-adaptive]
//
// Keys are request paths (`/o/<id>`); values are strings of 200-2,000
// characters drawn from the id (text codec, 1.1 KB on average), standing in
// for rendered fragments or API responses. Every miss is an origin call that
// stores the value. maxMemory is 4 MiB by default: a modest share of a 128 MB
// Workers isolate, and less than what the distinct keys of one isolate's
// 20,000 requests take on both default traces (printed as "isolate
// footprint": distinct keys per isolate × the mean bytes an entry is charged,
// from filling an unbounded cache with the whole trace), so every isolate
// evicts within its own life, cold or warm.
//
// Reported per trace, policy and run: hit ratio in the first WINDOW requests
// of each isolate after the first (which starts cold in both runs; for the
// single cache, the same requests) and over the whole trace; for the warm run the snapshot size against
// stats().bytes at dump time and the dump and load times, with the time to
// refill a fresh cache with the same entries by set() one at a time as the
// same-run peer of load().
// Env: ISOLATE (requests per isolate, 20000), WINDOW (5000), LIMIT (requests
// read from each trace, all).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const { Cache } = await import("../js/dist/node.js");

const here = dirname(fileURLToPath(import.meta.url));
const TRACES = join(here, "../../shared/traces");
const names = (process.argv[2] ?? "cache2k-web07,scarab-recs").split(",");
const MAX_MEMORY = Math.round(Number(process.argv[3] ?? 4) * 2 ** 20);
const POLICIES = (process.argv[4] ?? "allkeys-lru,allkeys-adaptive").split(",");
const ISOLATE = Number(process.env.ISOLATE ?? 20_000);
const WINDOW = Number(process.env.WINDOW ?? 5_000);
const LIMIT = Number(process.env.LIMIT ?? Infinity);

/** The trace's keys as request paths, in request order. */
function readTrace(name) {
  const file = ["trace.xz", "trace.gz"].map((ext) => join(TRACES, `${name}.${ext}`)).find(existsSync);
  if (!file) throw new Error(`no trace ${name} in ${TRACES}`);
  const raw = file.endsWith(".gz") ? gunzipSync(readFileSync(file)) : execFileSync("xz", ["-dc", file], { maxBuffer: 1 << 30 });
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const keys = [];
  if (name.startsWith("cache2k-")) {
    for (let o = 0; o + 4 <= raw.length && keys.length < LIMIT; o += 4) keys.push(view.getInt32(o, false));
  } else if (name.startsWith("scarab-") || name.startsWith("corda-")) {
    for (let o = 0; o + 8 <= raw.length && keys.length < LIMIT; o += 8) keys.push(view.getBigInt64(o, false));
  } else if (name.startsWith("lirs-")) {
    for (const line of raw.toString("latin1").split("\n")) if (/^\d+$/.test(line.trim()) && keys.length < LIMIT) keys.push(Number(line));
  } else throw new Error(`format of ${name} not supported here (cache2k-, scarab-, corda-, lirs-)`);
  return keys.map((id) => `/o/${id}`);
}

// One long filler string: values are slices of it (cheap to make, real bytes to store).
const FILLER = Array.from({ length: 2100 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");
function valueOf(key) {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  const len = 200 + ((h >>> 0) % 1801);
  return key + FILLER.slice(0, len - key.length);
}

const newCache = (maxMemory, policy = POLICIES[0]) => new Cache({ maxMemory, policy, codec: "text", seed: 7 });

function footprint(keys) {
  const c = newCache(2 ** 31);
  for (const k of keys) if (!c.has(k)) c.set(k, valueOf(k));
  const s = c.stats();
  c.free();
  return { bytes: s.bytes, distinct: s.entries };
}

/** Replays keys[from, to) on cache; returns its hits, and those among the
 * first WINDOW requests of each isolate after the first (the same requests
 * for every mode, so the single cache is measured on them too). */
function serve(cache, keys, from, to) {
  let early = 0, earlyN = 0, hits = 0;
  for (let i = from; i < to; i++) {
    const k = keys[i];
    const inWindow = i >= ISOLATE && i % ISOLATE < WINDOW;
    if (inWindow) earlyN++;
    if (cache.get(k) !== undefined) {
      hits++;
      if (inWindow) early++;
    } else cache.set(k, valueOf(k));
  }
  return { early, earlyN, hits };
}

function run(keys, maxMemory, policy, mode) {
  const isolates = [];
  let snapshot = null;
  let held = []; // the keys the last dumped cache held (for the peer of load())
  for (let from = 0; from < keys.length; from += mode === "one cache" ? keys.length : ISOLATE) {
    const to = Math.min(keys.length, from + (mode === "one cache" ? keys.length : ISOLATE));
    const cache = newCache(maxMemory, policy);
    const row = { n: to - from };
    if (snapshot) {
      const t = performance.now();
      row.loaded = cache.load(snapshot);
      row.loadMs = performance.now() - t;
      row.peerMs = refillBySet(held, maxMemory, policy);
    }
    Object.assign(row, serve(cache, keys, from, to));
    const s = cache.stats();
    row.evictions = s.evictions;
    if (mode === "warm" && to < keys.length) {
      const t = performance.now();
      snapshot = cache.dump();
      row.dumpMs = performance.now() - t;
      row.dumpBytes = snapshot.length;
      row.charged = s.bytes;
      row.entries = s.entries;
      // has() changes nothing, so this leaves the dumped state as it was
      const candidates = new Set(held);
      for (let i = from; i < to; i++) candidates.add(keys[i]);
      held = [...candidates].filter((k) => cache.has(k));
      if (held.length !== s.entries) throw new Error(`peer keys: ${held.length} of ${s.entries}`);
    }
    cache.free();
    isolates.push(row);
  }
  return isolates;
}

/** The peer of load(): the same entries set() one at a time into a fresh
 * cache of the same budget, values already in hand (no origin). */
function refillBySet(keys, maxMemory, policy) {
  const values = keys.map(valueOf);
  const c = newCache(maxMemory, policy);
  const t = performance.now();
  for (let i = 0; i < keys.length; i++) c.set(keys[i], values[i]);
  const ms = performance.now() - t;
  c.free();
  return ms;
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log(`node ${process.version} · maxMemory ${(MAX_MEMORY / 2 ** 20).toFixed(2)} MiB · isolate ${ISOLATE.toLocaleString()} requests · window ${WINDOW.toLocaleString()}`);
for (const name of names) {
  const keys = readTrace(name);
  const fp = footprint(keys);
  const perIsolate = [];
  for (let from = 0; from < keys.length; from += ISOLATE) perIsolate.push(new Set(keys.slice(from, from + ISOLATE)).size);
  const isolateBytes = (mean(perIsolate) * fp.bytes) / fp.distinct;
  console.log(`\n${name}: ${keys.length.toLocaleString()} requests, ${fp.distinct.toLocaleString()} distinct keys, footprint ${(fp.bytes / 2 ** 20).toFixed(1)} MiB; ` +
    `isolate footprint ≈ ${(isolateBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(mean(perIsolate)).toLocaleString()} distinct keys): maxMemory is ${pct(MAX_MEMORY / isolateBytes)} of it, ${pct(MAX_MEMORY / fp.bytes)} of the trace's`);
  for (const policy of POLICIES) {
    console.log(`  ${policy}`);
    const results = {};
    for (const mode of ["one cache", "cold", "warm"]) results[mode] = run(keys, MAX_MEMORY, policy, mode);
    const hitAll = (rows) => rows.reduce((a, r) => a + r.hits, 0) / keys.length;
    for (const mode of ["one cache", "cold", "warm"]) {
      const rows = results[mode];
      const early = rows.reduce((a, r) => a + r.early, 0) / rows.reduce((a, r) => a + r.earlyN, 0);
      console.log(`    ${mode.padEnd(9)} ${String(rows.length).padStart(3)} isolates  first ${WINDOW.toLocaleString()} of each isolate ${pct(early)}  overall ${pct(hitAll(rows))}  evictions/isolate ${Math.round(mean(rows.map((r) => r.evictions))).toLocaleString()}`);
    }
    const warm = results.warm;
    const dumps = warm.filter((r) => r.dumpMs !== undefined);
    const loads = warm.filter((r) => r.loadMs !== undefined);
    console.log(`    snapshot  median ${(median(dumps.map((r) => r.dumpBytes)) / 2 ** 20).toFixed(2)} MiB, ${median(dumps.map((r) => r.entries)).toLocaleString()} entries, ` +
      `${mean(dumps.map((r) => r.dumpBytes / r.charged)).toFixed(3)} × stats().bytes`);
    console.log(`    dump      median ${median(dumps.map((r) => r.dumpMs)).toFixed(2)} ms   load median ${median(loads.map((r) => r.loadMs)).toFixed(2)} ms (${median(loads.map((r) => r.loaded)).toLocaleString()} entries); ` +
      `set() of the same entries ${median(loads.map((r) => r.peerMs)).toFixed(2)} ms: load ${median(loads.map((r) => r.peerMs / r.loadMs)).toFixed(1)}× as fast`);
  }
}
