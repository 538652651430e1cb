// Fresh hits through two builds of edgecache-proxy, alternated, with nothing
// else of proxy-compare.mjs running: a quicker A/B of a change to the hit
// path. Each build is started fresh in front of the same origin, pinned to
// core 0 (this script, the origin and wrk on core 1), HIT_URLS URLs warmed,
// WARM_SECONDS of load, then `seconds` of wrk cycling over them. With
// PROF=1 each proxy writes a V8 CPU profile (node --cpu-prof) to PROF_DIR.
// Besides requests/s, each line gives the proxy's own CPU time per request
// (user + system, from /proc), which a busy machine disturbs far less.
//
//   EDGECACHE_BASELINE=<checkout>/js/bin/edgecache-proxy.js node bench/proxy-hit-ab.mjs [seconds=8] [rounds=2]
//   env: HIT_URLS=1000 WARM_SECONDS=3 CONNECTIONS=64 BODY_BYTES=1024 PROF=0 PROF_DIR=<tmp>
//   (the baseline is a whole checkout with its own built js/dist: the
//   script imports ../dist/)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "../tests/runtimes/origin.mjs";
import { wrkRun } from "./proxy-load.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 2);
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const HIT_URLS = env("HIT_URLS", 1000);
const WARM_SECONDS = env("WARM_SECONDS", 3);
const CONNECTIONS = env("CONNECTIONS", 64);
const BODY_BYTES = env("BODY_BYTES", 1024);
const PROF_DIR = process.env.PROF === "1" ? (process.env.PROF_DIR ?? mkdtempSync(join(tmpdir(), "proxy-prof-"))) : null;
const PIN = availableParallelism() >= 2;
const builds = [["edgecache-proxy", join(root, "js/bin/edgecache-proxy.js")]];
if (process.env.EDGECACHE_BASELINE) builds.push(["baseline", process.env.EDGECACHE_BASELINE]);

if (PIN) execFileSync("taskset", ["-a", "-cp", "1", String(process.pid)], { stdio: "ignore" });
const origin = await startOrigin();
const paths = Array.from({ length: HIT_URLS }, (_, i) => `/h/${i}?cc=max-age%3D300&size=${BODY_BYTES}`);

/** CPU seconds (user + system) process `pid` has used so far, or NaN. */
function cpuSeconds(pid) {
  try {
    // Fields after the command name, which ends in ") ": utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "latin1" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Requests/s of fresh hits through the proxy at `script`, and its CPU µs per request. */
async function measure(script) {
  const node = [...(PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`] : []), script, "--origin", origin.base, "--port", "0"];
  const child = PIN ? spawn("taskset", ["-c", "0", process.execPath, ...node], { stdio: ["ignore", "pipe", "inherit"] }) : spawn(process.execPath, node, { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const base = await new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => {
        const m = /listening on (http:\/\/\S+)/.exec(String(d));
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    });
    for (const p of paths) await (await fetch(base + p)).arrayBuffer();
    const load = { connections: CONNECTIONS, threads: 1, cpus: PIN ? "1" : undefined };
    await wrkRun(base, paths, { ...load, seconds: WARM_SECONDS });
    const cpuBefore = cpuSeconds(child.pid);
    const r = await wrkRun(base, paths, { ...load, seconds: SECONDS });
    const cpuUs = ((cpuSeconds(child.pid) - cpuBefore) * 1e6) / r.requests;
    return { rps: r.requests / r.seconds, errors: r.errors, cpuUs };
  } finally {
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    await exited;
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 ? builds : [...builds].reverse();
  const results = {};
  for (const [name, script] of order) results[name] = await measure(script);
  const line = builds.map(([name]) => {
    const r = results[name];
    return `${name} ${Math.round(r.rps).toLocaleString("en-US")} req/s ${r.cpuUs.toFixed(1)} µs CPU/req (errors ${r.errors})`;
  }).join(", ");
  const [mine, base] = [results["edgecache-proxy"], results.baseline];
  const ratio = base ? `; ${(mine.rps / base.rps).toFixed(2)}× baseline req/s, ${(mine.cpuUs / base.cpuUs).toFixed(2)}× its CPU/req` : "";
  console.log(`round ${round}: ${line}${ratio}`);
}
if (PROF_DIR) console.log(`profiles in ${PROF_DIR}`);
await origin.close();
