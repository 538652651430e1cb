// Install test: `npm pack` of js/, installed into a fresh temporary project,
// imported by name from that project's node_modules in Node and in Deno (each
// through its own export condition), and type-checked through the package's
// "types" export: the way a user who never saw this repository gets it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "js/node_modules/.bin", name);
let passed = 0, failed = 0;

function step(name, fn) {
  try {
    const out = fn();
    passed++;
    console.log(`ok - ${name}${out ? `\n  ${String(out).trim().replace(/\n/g, "\n  ")}` : ""}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(err.stdout ?? "")}${String(err.stderr ?? "")}${err.message}`.replace(/\n/g, "\n  "));
  }
}

const dir = mkdtempSync(join(tmpdir(), "edgecache-install-"));
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });

const smoke = `
import { Cache, key } from "edgecache";
const runtime = typeof Deno !== "undefined" ? "deno" : "node";
const c = new Cache({ maxMemory: 1 << 20, policy: "allkeys-adaptive" });
c.set(key("A0012345", "EA", "S170"), { qty: 3, updatedAt: 1 }, { ttl: 60000 });
const v = c.get("A0012345:EA:S170");
if (v?.qty !== 3) throw new Error("round trip failed: " + JSON.stringify(v));
let loads = 0;
const all = await Promise.all(Array.from({ length: 50 }, () => c.getOrLoad("k", async () => (loads++, "v"))));
if (loads !== 1 || all.some((x) => x !== "v")) throw new Error("single flight failed");
const { memoryTier } = await import("edgecache/memory");
const { redisTier } = await import("edgecache/redis");
if (typeof redisTier !== "function") throw new Error("edgecache/redis has no redisTier");
const cf = await import("edgecache/cloudflare");
if (typeof cf.kvTier !== "function" || typeof cf.cacheApiTier !== "function" || typeof cf.EdgecacheCoordinator !== "function") {
  throw new Error("edgecache/cloudflare lacks kvTier, cacheApiTier or EdgecacheCoordinator");
}
const { denoKvTier } = await import("edgecache/deno");
if (typeof denoKvTier !== "function") throw new Error("edgecache/deno has no denoKvTier");
// The metrics modules import no peer: they load without prom-client or
// @opentelemetry/api installed, and work on what they are handed.
const { register } = await import("edgecache/prometheus");
const promMetrics = [];
register(c, { registerMetric: (m) => promMetrics.push(m), getSingleMetric: () => undefined }, { name: "smoke" });
const hitsSample = promMetrics.find((m) => m.name === "edgecache_hits_total").get().values[0];
if (hitsSample.value !== c.stats().hits || hitsSample.labels.cache !== "smoke") throw new Error("edgecache/prometheus: " + JSON.stringify(hitsSample));
const { instrument } = await import("edgecache/otel");
const observed = [];
const meter = {
  createObservableCounter: (name) => ({ name }), createObservableGauge: (name) => ({ name }),
  addBatchObservableCallback: (cb) => cb({ observe: (o, value, attrs) => observed.push([o.name, value, attrs["cache.name"]]) }),
  removeBatchObservableCallback: () => {},
};
instrument(c, meter, { name: "smoke" });
if (!observed.some(([n, v, name]) => n === "edgecache.entries" && v === c.stats().entries && name === "smoke")) throw new Error("edgecache/otel: " + JSON.stringify(observed));
const { edgeCache } = await import("edgecache/hono");
if (typeof edgeCache({ cache: c }) !== "function") throw new Error("edgecache/hono: edgeCache gave no middleware");
let denoKv = "";
if (runtime === "deno") {
  // A Deno KV tier on a file of this project, shared by two caches.
  const kv = await Deno.openKv("./tier.sqlite");
  const dt = denoKvTier(kv);
  const x = new Cache({ tier: dt }), y = new Cache({ tier: dt });
  x.set("kv", { n: 3 });
  await x.flush();
  if ((await y.getOrLoad("kv", async () => ({ n: 4 }))).n !== 3) throw new Error("Deno KV tier round trip failed");
  x.free(); y.free(); await dt.close(); kv.close();
  denoKv = " denoKv";
}
const tier = memoryTier();
const a = new Cache({ tier }), b = new Cache({ tier });
a.set("shared", { n: 1 });
await a.flush();
if ((await b.getOrLoad("shared", async () => ({ n: 2 }))).n !== 1) throw new Error("tier round trip failed");
console.log(runtime + " ok" + denoKv, JSON.stringify({ entries: c.stats().entries, wasmMemory: c.stats().wasmMemory, tierHits: b.stats().tierHits }));
`;

try {
  let tgz;
  step("npm pack js/", () => {
    const out = sh("npm", ["pack", join(root, "js"), "--pack-destination", dir, "--json", "--loglevel=error"]);
    const info = JSON.parse(out)[0];
    tgz = join(dir, info.filename);
    const files = info.files.map((f) => f.path);
    for (const need of ["package.json", "dist/node.js", "dist/deno.js", "dist/workerd.js", "dist/browser.js", "dist/index.d.ts", "dist/wasm/edgecache_bg.wasm",
      "dist/tiers/memory.js", "dist/tiers/redis.js", "dist/tiers/redis.d.ts", "dist/tiers/deno.js", "dist/tiers/deno.d.ts",
      "dist/tiers/cloudflare.js", "dist/tiers/cloudflare.d.ts", "dist/tiers/cloudflare-coordinator.js", "dist/tier/link.js",
      "dist/integrations/metrics.js", "dist/integrations/prometheus.js", "dist/integrations/prometheus.d.ts",
      "dist/integrations/otel.js", "dist/integrations/otel.d.ts", "dist/integrations/hono.js", "dist/integrations/hono.d.ts"]) {
      if (!files.includes(need)) throw new Error(`${need} missing from the tarball`);
    }
    return `${info.filename}: ${info.files.length} files, ${info.size} bytes packed`;
  });
  step("npm install the tarball into a fresh project", () => {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    sh("npm", ["install", tgz, "--no-audit", "--no-fund", "--loglevel=error", "--offline"]);
    return JSON.parse(readFileSync(join(dir, "node_modules/edgecache/package.json"), "utf8")).version;
  });
  writeFileSync(join(dir, "smoke.mjs"), smoke);
  step("Node imports it by name and runs", () => sh("node", ["smoke.mjs"]));
  step("Deno imports it by name from node_modules and runs", () =>
    sh(bin("deno"), ["run", "--no-check", "--no-prompt", "--unstable-kv", `--allow-read=${dir}`, `--allow-write=${dir}`, "smoke.mjs"], { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } }));
  step("npx edgecache-proxy runs from the installed package", () => {
    const r = spawnSync("npx", ["--no-install", "edgecache-proxy", "--help"], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0 || !/usage: edgecache-proxy --origin URL --port N/.test(r.stderr)) {
      throw new Error(`exit ${r.status}: ${r.stderr}${r.stdout}`);
    }
    return r.stderr.trim();
  });
  step("tsc resolves its types through the package exports", () => {
    copyFileSync(join(root, "tests/types/usage.ts"), join(dir, "usage.ts"));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: [], lib: ["ES2022", "DOM"] },
      files: ["usage.ts"],
    }));
    return sh(bin("tsc"), ["-p", "tsconfig.json"]);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`install: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
