// Fresh hits through two builds of edgecache-proxy, alternated, with nothing
// else of proxy-compare.mjs running: a quicker A/B of a change to the hit
// path. Each build is started fresh in front of the same origin, pinned to
// core 0 (this script, the origin and wrk on core 1), HIT_URLS URLs warmed,
// WARM_SECONDS of load, then `seconds` of wrk cycling over them. With
// PROF=1 each proxy writes a V8 CPU profile (node --cpu-prof) to PROF_DIR.
//
//   EDGECACHE_BASELINE=<checkout>/js/bin/edgecache-proxy.js node bench/proxy-hit-ab.mjs [seconds=8] [rounds=2]
//   env: HIT_URLS=1000 WARM_SECONDS=3 CONNECTIONS=64 BODY_BYTES=1024 PROF=0 PROF_DIR=<tmp>
//   (the baseline is a whole checkout with its own built js/dist: the
//   script imports ../dist/)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
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

/** Requests/s of fresh hits through the proxy at `script`. */
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
    const r = await wrkRun(base, paths, { ...load, seconds: SECONDS });
    return { rps: r.requests / r.seconds, errors: r.errors };
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
  const line = builds.map(([name]) => `${name} ${Math.round(results[name].rps).toLocaleString("en-US")} req/s (errors ${results[name].errors})`).join(", ");
  const ratio = results.baseline ? `; ${(results["edgecache-proxy"].rps / results.baseline.rps).toFixed(2)}× baseline` : "";
  console.log(`round ${round}: ${line}${ratio}`);
}
if (PROF_DIR) console.log(`profiles in ${PROF_DIR}`);
await origin.close();
