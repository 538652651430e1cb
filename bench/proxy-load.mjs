// The load bench/proxy-compare.mjs puts on each proxy: a closed loop of
// keep-alive connections from wrk (in C, so the generator costs far less
// than the servers it measures) over a fixed list of paths, and a burst of
// concurrent cold requests from Node, each on its own connection.
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** wrk's Lua: thread t of T sends paths t, t+T, t+2T… in order, cycling,
 * and (with `limit`) stops after limit/T answers and says so (wrk itself
 * runs on to its duration unless interrupted: see wrkRun); `done` prints one
 * line of JSON and the latency histogram (µs:count for each latency seen),
 * so that runs can be merged exactly. Requests are formatted once, in `init`. */
function wrkScript(paths, threads, limit) {
  const list = paths.map((p) => JSON.stringify(p)).join(",\n");
  return `local paths = {
${list}
}
local threads = ${threads}
local per_thread = ${limit ? Math.ceil(limit / threads) : 0}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
local reqs = {}
local at = 0
local got = 0
function init(args)
  for k, p in ipairs(paths) do reqs[k] = wrk.format("GET", p) end
  at = tid
end
function request()
  local r = reqs[at % #reqs + 1]
  at = at + threads
  return r
end
${limit ? `function response(status, headers, body)
  got = got + 1
  if got == per_thread then
    io.write("WRK-THREAD-DONE\\n")
    io.flush()
    wrk.thread:stop()
  end
end` : ""}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
  local parts = {}
  for i = 1, #latency do
    local v, c = latency(i)
    parts[i] = v .. ":" .. c
  end
  io.write("HIST " .. table.concat(parts, ",") .. "\\n")
end
`;
}

/** The wrk processes running now. */
const running = new Set();

/** Stops every wrk this module started (when the benchmark is interrupted). */
export function stopLoad() {
  for (const child of running) child.kill("SIGKILL");
}

/**
 * Runs wrk against `base` over `paths`: for `seconds`, or until `limit`
 * answers. Resolves { requests, seconds, errors, hist: Map(µs → count) };
 * `summary` turns one or more of these into figures.
 */
export async function wrkRun(base, paths, { connections, threads, seconds, limit, cpus }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-wrk-"));
  const script = join(dir, "paths.lua");
  writeFileSync(script, wrkScript(paths, threads, limit));
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "30s", "-s", script, base];
  const [command, argv] = cpus ? ["taskset", ["-c", cpus, "wrk", ...args]] : ["wrk", args];
  try {
    const out = await new Promise((resolve, reject) => {
      const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
      running.add(child);
      child.on("exit", () => running.delete(child));
      let text = "";
      child.stdout.on("data", (d) => {
        text += d;
        // Every thread has sent its share: SIGINT makes wrk stop and report
        // the time it actually ran.
        if (limit && text.split("WRK-THREAD-DONE").length - 1 === threads) child.kill("SIGINT");
      });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
    });
    const line = /^WRK (.*)$/m.exec(out);
    if (!line) throw new Error(`no summary from wrk: ${out}`);
    const s = JSON.parse(line[1]);
    const hist = new Map();
    for (const pair of /^HIST (.*)$/m.exec(out)[1].split(",").filter(Boolean)) {
      const [us, n] = pair.split(":").map(Number);
      hist.set(us, n);
    }
    return { requests: s.requests, seconds: s.us / 1e6, errors: s.status + s.connect + s.read + s.write + s.timeout, status: s.status, hist };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The p-th percentile (ms) of a histogram of µs → count. */
function histPercentile(hist, total, p) {
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const us of [...hist.keys()].sort((a, b) => a - b)) {
    seen += hist.get(us);
    if (seen >= want) return us / 1000;
  }
  return NaN;
}

/** wrk runs (slices of one scenario on one server) as one figure:
 * { requests, rps, p50, p99 (ms, of all requests together), errors (of
 * which status: answers not 2xx/3xx) }. */
export function summary(runs) {
  const hist = new Map();
  let requests = 0, seconds = 0, errors = 0, status = 0;
  for (const r of runs) {
    requests += r.requests;
    seconds += r.seconds;
    errors += r.errors;
    status += r.status;
    for (const [us, n] of r.hist) hist.set(us, (hist.get(us) ?? 0) + n);
  }
  const recorded = [...hist.values()].reduce((a, b) => a + b, 0);
  return { requests, rps: requests / seconds, p50: histPercentile(hist, recorded, 50), p99: histPercentile(hist, recorded, 99), errors, status };
}

/**
 * `count` GETs of one path, all sent at once, each on a new connection.
 * Resolves { requests, rps, p50, p99, max (ms), errors } over the burst.
 */
export async function burst(base, path, count) {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const url = new URL(path, base);
  const times = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, agent }, (res) => {
      if (res.statusCode !== 200) errors++;
      res.resume();
      res.on("end", () => {
        times.push(performance.now() - t0);
        resolve();
      });
      res.on("error", () => (errors++, resolve()));
    });
    req.on("error", () => (errors++, resolve()));
    req.end();
  })));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  return { requests: times.length, rps: times.length / seconds, p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1), errors };
}
