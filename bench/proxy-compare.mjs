// edgecache-proxy against nginx `proxy_cache` and Varnish, in the same run,
// in front of the same origin, with the same request streams and cache size.
// Each run starts every server fresh (empty cache) and measures three
// scenarios:
//
//   hits   HIT_URLS URLs warmed, a warm-up of WARM_SECONDS (so Node's JIT has
//          compiled the hit path), then wrk cycles over them for HIT_SECONDS;
//          origin requests during it must be 0.
//   zipf   ZIPF_REQUESTS requests drawn from Zipf(0.99) over ZIPF_URLS URLs,
//          in the same order for every server; misses go to the origin.
//   cold   COLD requests for one uncached URL sent at once, each on its own
//          connection; the origin answers after COLD_DELAY_MS, so they all
//          wait on the same miss. Origin requests for that URL are counted.
//
// hits and zipf are taken in ROUNDS slices, server after server (zipf's
// stream in consecutive parts), so that a burst of load from the rest of the
// machine lands on every server; p50 and p99 are over all of a server's
// requests (wrk's latency histograms merged). Responses are BODY_BYTES bytes
// with `Cache-Control: max-age=300`. Every server gets `workers` worker
// processes (nginx `worker_processes`; edgecache-proxy is one process and
// refuses more; Varnish has one child process, with threads). With
// workers=1 on a machine of 2+ cores the servers are pinned to core 0 and
// wrk, this script and the origin to core 1 (PIN=0 turns that off). The
// order of the servers rotates each run. Figures are only comparable within
// one run: the machine is shared.
//
//   node bench/proxy-compare.mjs [runs=3] [workers=1]
//   env: HIT_URLS=1000 HIT_SECONDS=10 WARM_SECONDS=3 ROUNDS=5 ZIPF_REQUESTS=100000
//        ZIPF_URLS=10000 CONNECTIONS=64 COLD=1000 COLD_DELAY_MS=100
//        BODY_BYTES=1024 CACHE_BYTES=67108864 SERVERS=edgecache,nginx,varnish PIN=1
//   (needs nginx, varnishd and wrk: scripts/setup.sh installs them;
//   SERVERS=...,baseline with EDGECACHE_BASELINE=js/bin/<copy>.js adds
//   another build of the proxy, for an A/B)
import { execFileSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { startOrigin } from "../tests/runtimes/origin.mjs";
import { zipfSampler } from "../www/zipf.mjs";
import { SERVERS } from "./proxy-servers.mjs";
import { burst, stopLoad, summary, wrkRun } from "./proxy-load.mjs";

const RUNS = Number(process.argv[2] ?? 3);
const WORKERS = Number(process.argv[3] ?? 1);
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const HIT_URLS = env("HIT_URLS", 1000);
const HIT_SECONDS = env("HIT_SECONDS", 10);
const WARM_SECONDS = env("WARM_SECONDS", 3);
const ROUNDS = env("ROUNDS", 5);
const ZIPF_REQUESTS = env("ZIPF_REQUESTS", 100_000);
const ZIPF_URLS = env("ZIPF_URLS", 10_000);
const CONNECTIONS = env("CONNECTIONS", 64);
const COLD = env("COLD", 1000);
const COLD_DELAY_MS = env("COLD_DELAY_MS", 100);
const BODY_BYTES = env("BODY_BYTES", 1024);
const CACHE_BYTES = env("CACHE_BYTES", 64 * 1024 * 1024);
const NAMES = (process.env.SERVERS ?? "edgecache,nginx,varnish").split(",");
const PIN = process.env.PIN !== "0" && WORKERS === 1 && availableParallelism() >= 2;
const SERVER_CPUS = PIN ? "0" : undefined;
const CLIENT_CPUS = PIN ? "1" : undefined;
const THREADS = PIN ? 1 : Math.min(WORKERS, availableParallelism());

const query = `cc=max-age%3D300&size=${BODY_BYTES}`;
const hitPaths = Array.from({ length: HIT_URLS }, (_, i) => `/h/${i}?${query}`);
const draw = zipfSampler(ZIPF_URLS, 0.99, 42);
const zipfPaths = Array.from({ length: ZIPF_REQUESTS }, () => `/z/${draw()}?${query}`);
const zipfDistinct = new Set(zipfPaths).size;
const coldQuery = `${query}&delay=${COLD_DELAY_MS}`;

// This process runs the origin and the cold burst: on the client's core.
if (PIN) execFileSync("taskset", ["-a", "-cp", CLIENT_CPUS, String(process.pid)], { stdio: "ignore" });
const origin = await startOrigin();
const control = async (path) => (await (await fetch(origin.base + path)).json());
const originTotal = async () => (await control("/__total")).count;

/** Requests every path once, `concurrency` at a time. */
async function warm(base, paths, concurrency = 16) {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < paths.length) await (await fetch(base + paths[i++])).arrayBuffer();
  }));
}

/** The servers of the run in progress: stopped on SIGINT/SIGTERM too. */
let live = [];
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    stopLoad();
    for (const s of live) await s.stop();
    process.exit(130);
  });
}

/** One run: every server started fresh, each scenario's slices taken in
 * turn across the servers (a burst of load from the rest of the machine
 * then lands on all of them), then all stopped. */
async function measureRun(run, order) {
  const servers = [];
  live = servers;
  try {
    for (const key of order) servers.push({ key, ...(await SERVERS[key]({ origin: origin.base, cacheBytes: CACHE_BYTES, workers: WORKERS, cpus: SERVER_CPUS })) });
    const load = { connections: CONNECTIONS, threads: THREADS, cpus: CLIENT_CPUS };
    const slices = (server) => ({ hits: [], zipf: [], origin: { hits: 0, zipf: 0 }, server });
    const by = new Map(servers.map((s) => [s.name, slices(s)]));
    /** Runs `fn` with the origin's request count before and after charged to `scenario`. */
    const counted = async (name, scenario, fn) => {
      const before = await originTotal();
      const out = await fn();
      by.get(name).origin[scenario] += (await originTotal()) - before;
      return out;
    };

    for (const s of servers) {
      await warm(s.base, hitPaths);
      await wrkRun(s.base, hitPaths, { ...load, seconds: WARM_SECONDS });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of servers) by.get(s.name).hits.push(await counted(s.name, "hits", () => wrkRun(s.base, hitPaths, { ...load, seconds: HIT_SECONDS / ROUNDS })));
    }
    // The Zipf stream in ROUNDS consecutive parts: each server has served
    // the same requests, in the same order, at the end of each round.
    for (let round = 0; round < ROUNDS; round++) {
      const part = zipfPaths.slice(Math.floor((round * ZIPF_REQUESTS) / ROUNDS), Math.floor(((round + 1) * ZIPF_REQUESTS) / ROUNDS));
      for (const s of servers) by.get(s.name).zipf.push(await counted(s.name, "zipf", () => wrkRun(s.base, part, { ...load, seconds: 600, limit: part.length })));
    }
    const results = [];
    for (const s of servers) {
      const path = `/cold/${s.name}/${run}?${coldQuery}`;
      const cold = await burst(s.base, path, COLD);
      cold.origin = (await control(`/__count?url=${encodeURIComponent(path)}`)).count;
      const r = by.get(s.name);
      results.push({
        key: s.key, name: s.name, version: s.version, cold,
        hits: { ...summary(r.hits), origin: r.origin.hits },
        zipf: { ...summary(r.zipf), origin: r.origin.zipf },
      });
    }
    return results;
  } finally {
    for (const s of servers) await s.stop();
  }
}

const fmt = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n) => (n < 10 ? fmt(n, 2) : fmt(n, 1));

function report(run, results) {
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const lines = [];
  for (const scenario of ["hits", "zipf", "cold"]) {
    for (const r of results) {
      const s = r[scenario];
      const ratio = (peer) => (by[peer] && peer !== r.name ? ` ${fmt(s.rps / by[peer][scenario].rps, 2)}× ${peer}` : "");
      lines.push(`${String(run).padStart(3)}  ${scenario.padEnd(5)} ${r.name.padEnd(16)} ${fmt(s.rps).padStart(8)} req/s  p50 ${ms(s.p50).padStart(7)} ms  p99 ${ms(s.p99).padStart(7)} ms  ` +
        `requests ${fmt(s.requests).padStart(7)}  origin ${fmt(s.origin).padStart(6)}  errors ${s.errors}${s.status ? ` (${s.status} not 2xx/3xx)` : ""}${ratio("nginx")}${ratio("varnish")}`);
    }
  }
  return lines.join("\n");
}

console.log(`workers ${WORKERS}${PIN ? ", server on core 0, wrk + origin + this script on core 1" : ", unpinned"}; ${CONNECTIONS} connections, ${THREADS} wrk thread(s); body ${BODY_BYTES} B, max-age=300, cache ${CACHE_BYTES} B`);
console.log(`hits: ${HIT_URLS} warmed URLs, ${HIT_SECONDS} s after ${WARM_SECONDS} s warm-up; zipf: ${ZIPF_REQUESTS} requests, Zipf(0.99) over ${ZIPF_URLS} URLs (${zipfDistinct} distinct = compulsory misses); cold: ${COLD} at once on one URL, origin delay ${COLD_DELAY_MS} ms`);
for (let run = 1; run <= RUNS; run++) {
  const order = NAMES.map((_, i) => NAMES[(i + run - 1) % NAMES.length]);
  const before = loadavg()[0];
  const results = await measureRun(run, order);
  results.sort((a, b) => NAMES.indexOf(a.key) - NAMES.indexOf(b.key));
  if (run === 1) console.log(results.map((r) => `${r.name} ${r.version}`).join(", "));
  console.log(`run ${run} (order ${order.join(", ")}; load average ${fmt(before, 1)} → ${fmt(loadavg()[0], 1)})`);
  console.log(report(run, results));
}
await origin.close();
