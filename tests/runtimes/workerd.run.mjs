// workerd runner: bundles tests/runtimes/workerd/worker.js with wrangler (as a
// user's Worker is bundled: the "workerd" export condition, .wasm imported as
// a WebAssembly.Module), runs it in workerd through miniflare, and reports
// each test of the contract suite.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { report } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const require = createRequire(join(root, "js/package.json"));
const { Miniflare } = require("miniflare");

export async function bundleWorker(dir) {
  const nm = join(dir, "node_modules");
  mkdirSync(nm, { recursive: true });
  const link = join(nm, "edgecache");
  rmSync(link, { force: true, recursive: true });
  symlinkSync(join(root, "js"), link, "dir");
  const out = join(dir, ".build");
  rmSync(out, { force: true, recursive: true });
  execFileSync(join(root, "js/node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const main = readdirSync(out).find((f) => f.endsWith(".js"));
  if (!main || !existsSync(join(out, main))) throw new Error("wrangler produced no bundle");
  return join(out, main);
}

export async function startWorker(scriptPath, options = {}) {
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    compatibilityDate: "2026-04-01",
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    host: "127.0.0.1",
    port: 0,
    ...options,
  });
  const url = await mf.ready;
  return { mf, url };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const script = await bundleWorker(join(here, "workerd"));
  const { mf, url } = await startWorker(script);
  let passed = 0, failed = 0;
  try {
    const res = await fetch(new URL("/run", url));
    if (!res.ok) throw new Error(`worker answered ${res.status}: ${await res.text()}`);
    [passed, failed] = report(await res.json());
  } finally {
    await mf.dispose();
  }
  console.log(`workerd: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
