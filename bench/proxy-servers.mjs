// The three caching proxies bench/proxy-compare.mjs measures, each started
// fresh (empty cache) in front of the same origin, on a free loopback port,
// with a config written to its own temp dir, and stopped afterwards:
//
// - edgecache-proxy (js/bin/edgecache-proxy.js), one process;
// - nginx `proxy_cache`, `worker_processes N`, `proxy_cache_lock on`;
// - Varnish (`varnishd -F`), one child process with its thread pools.
//
// Each gives its `pid` (the process that taskset, if any, became: its
// children are the server's other processes).
// `cpus` (a taskset list such as "0") pins the server's processes, so that
// the server and the load generator do not take turns on one core.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const WAIT_TRIES = 200;
const WAIT_STEP_MS = 50;

/** A loopback port nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().on("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `url` answers at all (any status). */
async function waitListening(url, child) {
  for (let t = 0; t < WAIT_TRIES; t++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode}`);
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      await sleep(WAIT_STEP_MS);
    }
  }
  throw new Error(`nothing listening at ${url}`);
}

function pinned(cpus, command, args) {
  return cpus ? ["taskset", ["-c", cpus, command, ...args]] : [command, args];
}

function stopped(child, signal) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill(signal);
  });
}

/** What `command args` prints about its version (nginx and varnishd print to stderr). */
function version(command, args) {
  const r = spawnSync(command, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0];
}

async function startEdgecache({ origin, cacheBytes, workers, cpus }, script = join(root, "js/bin/edgecache-proxy.js"), name = "edgecache-proxy") {
  // One process, one cache: several would each miss once (see bench/README.md).
  if (workers > 1) throw new Error("edgecache-proxy runs one process: measure workers > 1 with SERVERS=nginx,varnish");
  const port = await freePort();
  const args = [script, "--origin", origin, "--port", String(port), "--max-memory", String(cacheBytes)];
  const child = spawn(...pinned(cpus, process.execPath, args), { stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await waitListening(`${base}/__ready`, child);
  return { name, version: `node ${process.version}`, base, pid: child.pid, stop: () => stopped(child, "SIGTERM") };
}

async function startNginx({ origin, cacheBytes, workers, cpus }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-nginx-"));
  mkdirSync(join(dir, "logs"));
  const port = await freePort();
  const upstream = new URL(origin);
  // Its best settings for the job: sendfile from the cache files, upstream
  // keep-alive, and no cap on requests per client connection (the default
  // 1,000 would make the load generator reconnect; Node has no such cap).
  writeFileSync(join(dir, "nginx.conf"), `
worker_processes ${workers};
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:16m max_size=${cacheBytes} inactive=1h use_temp_path=off;
  upstream origin {
    server ${upstream.host};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 30s;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}`);
  const child = spawn(...pinned(cpus, "nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"]), { stdio: "inherit" });
  const base = `http://127.0.0.1:${port}`;
  await waitListening(`${base}/__ready`, child);
  return {
    name: "nginx", version: version("nginx", ["-v"]).replace(/^nginx version: /, ""), base, pid: child.pid,
    async stop() {
      await stopped(child, "SIGQUIT");
      const log = readFileSync(join(dir, "logs/error.log"), "utf8").trim();
      if (log) console.error(`nginx error log:\n${log.split("\n").slice(-5).join("\n")}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startVarnish({ origin, cacheBytes, cpus }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-varnish-"));
  const port = await freePort();
  const upstream = new URL(origin);
  // Varnish's built-in VCL already honours the origin's Cache-Control
  // (s-maxage, max-age, then Expires) and, like the other two, passes
  // requests with Cookie or Authorization and never stores a Set-Cookie
  // response; this VCL only names the origin. The parameters below remove
  // what the others do not do: default_ttl (120 s for a response without
  // freshness; nginx and edgecache store none without it), and grace (10 s
  // of serving stale, which neither does here).
  writeFileSync(join(dir, "bench.vcl"), `vcl 4.1;
backend origin {
  .host = "${upstream.hostname}";
  .port = "${upstream.port}";
}
`);
  const args = ["-F", "-j", "none", "-n", join(dir, "work"), "-a", `127.0.0.1:${port}`, "-f", join(dir, "bench.vcl"),
    "-s", `malloc,${cacheBytes}`, "-p", "default_ttl=0", "-p", "default_grace=0", "-p", "default_keep=0"];
  const child = spawn(...pinned(cpus, "varnishd", args), { stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await waitListening(`${base}/__ready`, child);
  return {
    name: "varnish", version: version("varnishd", ["-V"]).replace(/^varnishd \((varnish-[^ ]+).*$/, "$1"), base, pid: child.pid,
    async stop() {
      await stopped(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `start` with a `stop` that does its work once, however often it is called. */
function stoppable(start) {
  return async (...args) => {
    const server = await start(...args);
    let stopping;
    return { ...server, stop: () => (stopping ??= server.stop()) };
  };
}

export const SERVERS = {
  edgecache: stoppable(startEdgecache),
  nginx: stoppable(startNginx),
  varnish: stoppable(startVarnish),
  // Another build of the proxy (a file beside js/bin/edgecache-proxy.js, as
  // EDGECACHE_BASELINE names it), for an A/B of a change in the same run.
  baseline: stoppable((options) => startEdgecache(options, process.env.EDGECACHE_BASELINE, "edgecache-baseline")),
};
