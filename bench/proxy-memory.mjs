// edgecache-proxy's resident memory under large responses (issue 12 item 5):
// a client that pauses on a 200 MB response, then four concurrent 100 MB
// responses, with a 64 MiB budget. Prints the proxy's RSS before, its peak
// (VmHWM) during each case, and what the origin had sent to the paused client.
//
//   node bench/proxy-memory.mjs [path/to/edgecache-proxy.js]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "../tests/runtimes/origin.mjs";

const MiB = 1024 * 1024;
const PAUSE_MS = 3000;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const proxyPath = process.argv[2] ?? join(root, "js/bin/edgecache-proxy.js");

const origin = await startOrigin();
const child = spawn(process.execPath, [proxyPath, "--origin", origin.base, "--port", "0", "--max-memory", String(64 * MiB)], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve) => child.stdout.on("data", (d) => {
  const m = /listening on (http:\/\/\S+)/.exec(String(d));
  if (m) resolve(m[1]);
}));

/** The proxy's current and peak resident set, in MiB (Linux /proc). */
function rss() {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)[1]) / 1024;
  return { now: field("VmRSS"), peak: field("VmHWM") };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = (path, onResponse) => new Promise((resolve, reject) => {
  const req = request(base + path, (res) => onResponse(req, res, resolve));
  req.on("error", reject);
  req.end();
});

await sleep(500);
const idle = rss().now;
let peakPaused = 0;
const paused = "/mem-paused?cc=max-age%3D60&size=200000000";
await get(paused, (req, res, done) => res.once("data", async () => {
  res.pause();
  for (let t = 0; t < PAUSE_MS; t += 100) {
    peakPaused = Math.max(peakPaused, rss().now);
    await sleep(100);
  }
  req.destroy();
  done();
}));
const sent = (await (await fetch(`${origin.base}/__sent?url=${encodeURIComponent(paused)}`)).json()).bytes;
await sleep(1000);
let peakConcurrent = 0;
const sampler = setInterval(() => (peakConcurrent = Math.max(peakConcurrent, rss().now)), 50);
await Promise.all([1, 2, 3, 4].map((i) => get(`/mem-concurrent-${i}?cc=max-age%3D60&size=100000000`, (req, res, done) => {
  res.on("data", () => {});
  res.on("end", done);
})));
clearInterval(sampler);
console.log(`proxy: ${proxyPath}`);
console.log(`idle RSS ${idle.toFixed(0)} MiB`);
console.log(`paused client on 200 MB: peak RSS ${peakPaused.toFixed(0)} MiB, origin sent ${(sent / MiB).toFixed(1)} MiB in ${PAUSE_MS / 1000} s`);
console.log(`4 × 100 MB concurrent: peak RSS ${peakConcurrent.toFixed(0)} MiB (process VmHWM ${rss().peak.toFixed(0)} MiB)`);
child.kill();
await origin.close();
