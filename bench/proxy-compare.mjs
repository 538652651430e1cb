// edgecache-proxy against nginx `proxy_cache` and Varnish, in the same run,
// in front of the same origin, with the same request streams and cache size.
// Three scenarios per server, each server started fresh (empty cache):
//
//   hits   HIT_URLS URLs warmed, then wrk cycles over them for HIT_SECONDS
//          (after a warm-up of WARM_SECONDS, so Node's JIT has compiled the
//          hit path); origin requests during it must be 0.
//   zipf   ZIPF_REQUESTS requests drawn from Zipf(0.99) over ZIPF_URLS URLs,
//          in the same order for every server; misses go to the origin.
//   cold   COLD requests for one uncached URL sent at once, each on its own
//          connection; the origin answers after COLD_DELAY_MS, so they all
//          wait on the same miss. Origin requests for that URL are counted.
//
// Responses are BODY_BYTES bytes with `Cache-Control: max-age=300`. Every
// server gets `workers` worker processes (nginx `worker_processes`,
// edgecache-proxy `--workers`; Varnish has one child process, with threads).
// With workers=1 on a machine of 2+ cores the server is pinned to core 0 and
// wrk, this script and the origin to core 1 (PIN=0 turns that off).
// Servers go in a rotated order each run. Figures are only comparable
// within one run: the machine is shared.
//
//   node bench/proxy-compare.mjs [runs=3] [workers=1]
//   env: HIT_URLS=1000 HIT_SECONDS=10 WARM_SECONDS=3 ZIPF_REQUESTS=100000
//        ZIPF_URLS=10000 CONNECTIONS=64 COLD=1000 COLD_DELAY_MS=100
//        BODY_BYTES=1024 CACHE_BYTES=67108864 SERVERS=edgecache,nginx,varnish PIN=1
//   (needs nginx, varnishd and wrk: scripts/setup.sh installs them)
import { execFileSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { startOrigin } from "../tests/runtimes/origin.mjs";
import { zipfSampler } from "../www/zipf.mjs";
import { SERVERS } from "./proxy-servers.mjs";
import { burst, wrkRun } from "./proxy-load.mjs";

const RUNS = Number(process.argv[2] ?? 3);
const WORKERS = Number(process.argv[3] ?? 1);
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const HIT_URLS = env("HIT_URLS", 1000);
const HIT_SECONDS = env("HIT_SECONDS", 10);
const WARM_SECONDS = env("WARM_SECONDS", 3);
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
const coldPath = `/cold?${query}&delay=${COLD_DELAY_MS}`;

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

async function measure(name) {
  const server = await SERVERS[name]({ origin: origin.base, cacheBytes: CACHE_BYTES, workers: WORKERS, cpus: SERVER_CPUS });
  const load = { connections: CONNECTIONS, threads: THREADS, cpus: CLIENT_CPUS };
  try {
    await control("/__reset");
    await warm(server.base, hitPaths);
    const warmed = await originTotal();
    await wrkRun(server.base, hitPaths, { ...load, seconds: WARM_SECONDS });
    const hits = await wrkRun(server.base, hitPaths, { ...load, seconds: HIT_SECONDS });
    hits.origin = (await originTotal()) - warmed;

    await control("/__reset");
    const zipf = await wrkRun(server.base, zipfPaths, { ...load, seconds: 600, limit: ZIPF_REQUESTS });
    zipf.origin = await originTotal();

    await control("/__reset");
    const cold = await burst(server.base, coldPath, COLD);
    cold.origin = (await control(`/__count?url=${encodeURIComponent(coldPath)}`)).count;
    return { name, version: server.version, hits, zipf, cold };
  } finally {
    await server.stop();
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
        `requests ${fmt(s.requests).padStart(7)}  origin ${fmt(s.origin).padStart(6)}  errors ${s.errors}${ratio("nginx")}${ratio("varnish")}`);
    }
  }
  return lines.join("\n");
}

console.log(`workers ${WORKERS}${PIN ? ", server on core 0, wrk + origin + this script on core 1" : ", unpinned"}; ${CONNECTIONS} connections, ${THREADS} wrk thread(s); body ${BODY_BYTES} B, max-age=300, cache ${CACHE_BYTES} B`);
console.log(`hits: ${HIT_URLS} warmed URLs, ${HIT_SECONDS} s after ${WARM_SECONDS} s warm-up; zipf: ${ZIPF_REQUESTS} requests, Zipf(0.99) over ${ZIPF_URLS} URLs (${zipfDistinct} distinct = compulsory misses); cold: ${COLD} at once on one URL, origin delay ${COLD_DELAY_MS} ms`);
const all = [];
for (let run = 1; run <= RUNS; run++) {
  const order = NAMES.map((_, i) => NAMES[(i + run - 1) % NAMES.length]);
  const before = loadavg()[0];
  const results = [];
  for (const name of order) results.push(await measure(name));
  results.sort((a, b) => NAMES.indexOf(a.name) - NAMES.indexOf(b.name));
  if (run === 1) console.log(results.map((r) => `${r.name} ${r.version}`).join(", "));
  console.log(`run ${run} (order ${order.join(", ")}; load average ${fmt(before, 1)} → ${fmt(loadavg()[0], 1)})`);
  console.log(report(run, results));
  all.push(results);
}
await origin.close();
