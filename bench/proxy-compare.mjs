// edgecache-proxy against nginx's proxy_cache, same run, same origin, same
// request sequence (Zipf 0.9 over 5,000 URLs with max-age=300, ~1 KiB bodies),
// same cache size. Reports origin requests (how much each cache absorbed) and
// requests per second through each proxy as a ratio. The load generator runs
// on the same 2 cores, so throughput is only comparable within one run.
//
//   node bench/proxy-compare.mjs [requests=20000] [concurrency=32] [cacheBytes=4194304]
//   (needs nginx: apt-get install nginx-light)
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "../tests/runtimes/origin.mjs";
import { zipfSampler } from "../www/zipf.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const REQUESTS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const CACHE_BYTES = Number(process.argv[4] ?? 4 * 1024 * 1024);
const URLS = 5000;

const next = zipfSampler(URLS, 0.9, 42);
const paths = Array.from({ length: REQUESTS }, () => `/p/${next()}?cc=max-age%3D300&size=1024`);

async function load(base) {
  let i = 0, failed = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (i < paths.length) {
      const p = paths[i++];
      const r = await fetch(base + p);
      if (r.status !== 200) failed++;
      await r.arrayBuffer();
    }
  }));
  return { seconds: (performance.now() - started) / 1000, failed };
}

const total = async (origin) => (await (await fetch(`${origin.base}/__total`)).json()).count;
const reset = async (origin) => (await fetch(`${origin.base}/__reset`)).text();

async function waitListening(url) {
  for (let t = 0; t < 100; t++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listening at ${url}`);
}

const origin = await startOrigin();
const results = [];

// edgecache-proxy
{
  const proxy = spawn(process.execPath, [join(root, "js/bin/edgecache-proxy.js"), "--origin", origin.base, "--port", "0", "--max-memory", String(CACHE_BYTES)], { stdio: ["ignore", "pipe", "inherit"] });
  const base = await new Promise((resolve) => proxy.stdout.on("data", (d) => {
    const m = /listening on (http:\/\/\S+)/.exec(String(d));
    if (m) resolve(m[1]);
  }));
  await reset(origin);
  const r = await load(base);
  results.push({ name: "edgecache-proxy", ...r, origin: await total(origin) });
  proxy.kill();
}

// nginx proxy_cache with the same size
{
  const dir = mkdtempSync(join(tmpdir(), "nginx-bench-"));
  mkdirSync(join(dir, "logs"));
  mkdirSync(join(dir, "cache"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(dir, "nginx.conf"), `
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:8m max_size=${CACHE_BYTES} inactive=1h use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${origin.base};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}`);
  const nginx = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "inherit" });
  await waitListening(`http://127.0.0.1:${port}/__total`);
  await reset(origin);
  const r = await load(`http://127.0.0.1:${port}`);
  results.push({ name: `nginx ${execFileSync("nginx", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) || ""}`.trim(), ...r, origin: await total(origin) });
  nginx.kill("SIGQUIT");
  await new Promise((r) => setTimeout(r, 300));
  if (r.failed) console.error(execFileSync("tail", ["-5", join(dir, "logs/error.log")], { encoding: "utf8" }));
  rmSync(dir, { recursive: true, force: true });
}
await origin.close();

const base = results[0];
console.log(`${REQUESTS} requests, concurrency ${CONCURRENCY}, ${URLS} URLs (Zipf 0.9, max-age=300, 1 KiB), cache ${CACHE_BYTES} bytes`);
for (const r of results) {
  const rps = REQUESTS / r.seconds;
  console.log(`${r.name.padEnd(18)} ${rps.toFixed(0).padStart(6)} req/s (${(rps / (REQUESTS / base.seconds)).toFixed(2)}× edgecache-proxy)  origin requests ${r.origin} (hit ratio ${(100 * (1 - r.origin / REQUESTS)).toFixed(1)} %)  failed ${r.failed}`);
}
