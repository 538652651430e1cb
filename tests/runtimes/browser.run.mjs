// Chromium runner: serves the built package and the suite on 127.0.0.1, opens
// tests/runtimes/browser.html in Debian's headless Chromium via
// playwright-core, and reports each test. Console errors fail the run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { serveStatic } from "../../scripts/static-server.mjs";
import { report } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const require = createRequire(join(root, "js/package.json"));
const { chromium } = require("playwright-core");

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export async function launchChromium() {
  const dir = mkdtempSync(join(tmpdir(), "edgecache-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const close = async () => {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { server, url } = await serveStatic({ "/pkg/": join(root, "js/dist"), "/tests/": join(root, "tests") });
  const { ctx, close } = await launchChromium();
  let passed = 0, failed = 0;
  const consoleErrors = [];
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(new URL("/tests/runtimes/browser.html", url).href);
    await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 60_000 });
    [passed, failed] = report(await page.evaluate(() => window.__results));
    const ua = await page.evaluate(() => navigator.userAgent);
    console.log(`# ${ua}`);
  } catch (err) {
    failed++;
    console.log(`not ok - the page ran the suite\n  ${err}\n  console: ${consoleErrors.join("\n  ")}`);
  } finally {
    await close();
    server.close();
  }
  if (consoleErrors.length) {
    failed++;
    console.log(`not ok - no console errors\n  ${consoleErrors.join("\n  ")}`);
  }
  console.log(`chromium: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
