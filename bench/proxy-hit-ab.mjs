// Fresh hits through two builds of edgecache-proxy, alternated, with nothing
// else of proxy-compare.mjs running: a quicker A/B of a change to the hit
// path, and (PEERS=nginx,varnish) the same measure of the peers. Each server
// is started fresh in front of the same origin, pinned to core 0 (this
// script, the origin and wrk on core 1), HIT_URLS URLs warmed, WARM_SECONDS
// of load, then `seconds` of wrk cycling over them. With PROF=1 each proxy
// writes a V8 CPU profile (node --cpu-prof) to PROF_DIR.
// Besides requests/s, each line gives each server's own CPU time per request
// (user + system of all its processes, from /proc), which a busy machine
// disturbs far less, and its ratio to nginx's when nginx is measured.
//
//   EDGECACHE_BASELINE=<checkout>/js/bin/edgecache-proxy.js node bench/proxy-hit-ab.mjs [seconds=8] [rounds=2]
//   env: HIT_URLS=1000 WARM_SECONDS=3 CONNECTIONS=64 BODY_BYTES=1024 PEERS= PROF=0 PROF_DIR=<tmp>
//   (the baseline is a whole checkout with its own built js/dist: the
//   script imports ../dist/)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { startOrigin } from "../tests/runtimes/origin.mjs";
import { wrkRun } from "./proxy-load.mjs";
import { SERVERS } from "./proxy-servers.mjs";

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 2);
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const HIT_URLS = env("HIT_URLS", 1000);
const WARM_SECONDS = env("WARM_SECONDS", 3);
const CONNECTIONS = env("CONNECTIONS", 64);
const BODY_BYTES = env("BODY_BYTES", 1024);
const CACHE_BYTES = 64 * 1024 * 1024;
const PROF_DIR = process.env.PROF === "1" ? (process.env.PROF_DIR ?? mkdtempSync(join(tmpdir(), "proxy-prof-"))) : null;
const PIN = availableParallelism() >= 2;
const builds = ["edgecache"];
if (process.env.EDGECACHE_BASELINE) builds.push("baseline");
for (const peer of (process.env.PEERS ?? "").split(",").filter(Boolean)) {
  if (!(peer in SERVERS)) throw new Error(`PEERS: unknown server ${peer}`);
  builds.push(peer);
}

if (PIN) execFileSync("taskset", ["-a", "-cp", "1", String(process.pid)], { stdio: "ignore" });
const origin = await startOrigin();
const paths = Array.from({ length: HIT_URLS }, (_, i) => `/h/${i}?cc=max-age%3D300&size=${BODY_BYTES}`);

/** CPU seconds (user + system) that process `pid` and its children (the
 * server's other processes) have used so far, or NaN. */
function cpuSeconds(pid) {
  let total = 0;
  let found = false;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    // Fields after the command name, which ends in ") ": ppid is the 2nd, utime and stime the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    if (Number(entry) !== pid && Number(f[1]) !== pid) continue;
    found = true;
    total += (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  }
  return found ? total : NaN;
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "latin1" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Requests/s of fresh hits through server `key`, and its CPU µs per request. */
async function measure(key) {
  const nodeOptions = process.env.NODE_OPTIONS;
  if (PROF_DIR && (key === "edgecache" || key === "baseline")) process.env.NODE_OPTIONS = `${nodeOptions ?? ""} --cpu-prof --cpu-prof-dir=${PROF_DIR}`;
  const server = await SERVERS[key]({ origin: origin.base, cacheBytes: CACHE_BYTES, workers: 1, cpus: PIN ? "0" : undefined });
  if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = nodeOptions;
  try {
    for (const p of paths) await (await fetch(server.base + p)).arrayBuffer();
    const load = { connections: CONNECTIONS, threads: 1, cpus: PIN ? "1" : undefined };
    await wrkRun(server.base, paths, { ...load, seconds: WARM_SECONDS });
    const cpuBefore = cpuSeconds(server.pid);
    const r = await wrkRun(server.base, paths, { ...load, seconds: SECONDS });
    const cpuUs = ((cpuSeconds(server.pid) - cpuBefore) * 1e6) / r.requests;
    return { name: server.name, rps: r.requests / r.seconds, errors: r.errors, cpuUs };
  } finally {
    await server.stop();
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 ? builds : [...builds].reverse();
  const results = {};
  for (const key of order) results[key] = await measure(key);
  const line = builds.map((key) => {
    const r = results[key];
    return `${r.name} ${Math.round(r.rps).toLocaleString("en-US")} req/s ${r.cpuUs.toFixed(1)} µs CPU/req (errors ${r.errors})`;
  }).join(", ");
  const mine = results.edgecache;
  const ratios = ["baseline", "nginx"].filter((k) => results[k]).map((k) => `${(mine.rps / results[k].rps).toFixed(2)}× ${results[k].name} req/s, ${(mine.cpuUs / results[k].cpuUs).toFixed(2)}× its CPU/req`);
  console.log(`round ${round}: ${line}${ratios.length ? `; ${ratios.join("; ")}` : ""}`);
}
if (PROF_DIR) console.log(`profiles in ${PROF_DIR}`);
await origin.close();
