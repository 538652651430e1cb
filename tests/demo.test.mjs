// The demo page in headless Chromium: it loads with no console errors, each
// panel's button runs and changes its chart and counters, the policy race
// ends with different hit ratios per policy, isolates warmed from a snapshot
// start with more hits than cold ones, and a screenshot is saved.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveStatic } from "../scripts/static-server.mjs";
import { launchChromium } from "./runtimes/browser.run.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let server, browser, page;
const errors = [];

before(async () => {
  const s = await serveStatic({ "/": join(root, "www"), "/pkg/": join(root, "js/dist") });
  server = s.server;
  browser = await launchChromium();
  page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  await page.setViewportSize({ width: 1280, height: 900 });
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(s.url);
  await page.waitForFunction(() => window.__demoReady === true, null, { timeout: 30_000 });
});
after(async () => {
  await browser?.close();
  server?.close();
});

const canvasData = (id) => page.evaluate((id) => document.getElementById(id).toDataURL(), id);
const waitDone = (id) => page.waitForFunction((id) => document.getElementById(id).dataset.state === "done", id, { timeout: 120_000 });

test("the page loads the wasm engine with no console errors", async () => {
  assert.match(await page.textContent("#status"), /wasm engine ready/);
  assert.deepEqual(errors, []);
});

test("policy race: the chart moves and the policies end with different hit ratios", async () => {
  const before = await canvasData("race-lines");
  await page.click("#race-start");
  await waitDone("race");
  assert.notEqual(await canvasData("race-lines"), before);
  const ratios = JSON.parse(await page.getAttribute("#race", "data-ratios"));
  assert.equal(Object.keys(ratios).length, 9);
  const distinct = new Set(Object.values(ratios).map((v) => v.toFixed(4)));
  assert.ok(distinct.size >= 4, `different hit ratios: ${JSON.stringify(ratios)}`);
  assert.ok(ratios["allkeys-adaptive"] > ratios["allkeys-random"], "adaptive beats random on Zipf");
  assert.match(await page.textContent("#race-note"), /finished: best/);
});

test("the race replays the bundled real trace", async () => {
  await page.selectOption("#race-workload", "trace");
  await page.click("#race-start");
  await waitDone("race");
  const ratios = JSON.parse(await page.getAttribute("#race", "data-ratios"));
  assert.ok(ratios["allkeys-lru"] > 0.2, JSON.stringify(ratios));
});

test("expiry herd: jitter lowers the origin's peak load", async () => {
  const before = await canvasData("herd-load");
  await page.click("#herd-start");
  await waitDone("herd");
  assert.notEqual(await canvasData("herd-load"), before);
  const text = await page.textContent("#herd-counters");
  const peaks = [...text.matchAll(/peak (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(peaks.length, 2, text);
  assert.equal(peaks[0], 2000, "without jitter every key reloads in the same second");
  assert.ok(peaks[1] < peaks[0] / 3, `jitter spreads the reloads: ${text}`);
});

test("hot key: with early refresh off reads stall at each expiry; on, none do", async () => {
  const run = async (early) => {
    await page.setChecked("#hot-early", early);
    await page.click("#hot-start");
    await waitDone("hot");
    const state = await page.$eval("#hot", (el) => ({ stalled: Number(el.dataset.stalled), loads: Number(el.dataset.loads) }));
    await page.evaluate(() => (document.getElementById("hot").dataset.state = ""));
    return state;
  };
  const before = await canvasData("hot-chart");
  const off = await run(false);
  assert.notEqual(await canvasData("hot-chart"), before);
  assert.ok(off.stalled >= 5 * 20, `off: each of the 5 expiries stalls ~20 reads: ${JSON.stringify(off)}`);
  assert.match(await page.textContent("#hot-counters"), /earlyRefresh 0/);
  const on = await run(true);
  assert.equal(on.stalled, 0, `on: no read waits at expiry: ${JSON.stringify(on)}`);
  assert.ok(on.loads > off.loads - 1, "the refreshes still load");
  assert.match(await page.textContent("#hot-counters"), /earlyRefresh 1.*waited at expiry: 0/);
});

test("thundering herd: getOrLoad calls the origin once", async () => {
  await page.fill("#stampede-n", "300");
  await page.click("#stampede-start");
  await waitDone("stampede");
  const text = await page.textContent("#stampede-counters");
  assert.match(text, /without: 300 origin calls/);
  assert.match(text, /with getOrLoad: 1 origin call/);
  assert.match(text, /coalesced 299/);
});

test("Russian doll: editing a comment rebuilds exactly its ancestors", async () => {
  await page.click("#doll-render");
  await page.waitForFunction(() => document.getElementById("doll").dataset.renders === "1");
  assert.equal(await page.getAttribute("#doll", "data-rebuilt"), "8", "first render builds every fragment");
  await page.click("#doll-render");
  await page.waitForFunction(() => document.getElementById("doll").dataset.renders === "2");
  assert.equal(await page.getAttribute("#doll", "data-rebuilt"), "0", "then everything is cached");
  await page.click("#doll-edit");
  await page.waitForFunction(() => document.getElementById("doll").dataset.renders === "3");
  const rebuilt = await page.$$eval(".frag.rebuilt", (els) => els.map((e) => e.dataset.key));
  assert.deepEqual(new Set(rebuilt), new Set(['["frag","page"]', '["frag","comments"]', '["frag","comment",2]']));
  assert.equal(await page.getAttribute("#doll", "data-rebuilt"), "3");
});

test("Try it shows the Prometheus text of every cache on the page", async () => {
  await page.fill("#pg-key", "metrics-demo");
  await page.click("#pg-set");
  await page.waitForFunction(() => /edgecache_sets_total\{cache="playground"\} 1$/m.test(document.getElementById("pg-metrics").textContent));
  await page.click("#pg-get");
  await page.waitForFunction(() => /edgecache_hits_total\{cache="playground"\} 1$/m.test(document.getElementById("pg-metrics").textContent));
  const scrapes = Number(await page.getAttribute("#pg-metrics", "data-scrapes"));
  await page.click("#pg-scrape");
  await page.waitForFunction((n) => Number(document.getElementById("pg-metrics").dataset.scrapes) > n, scrapes);
  const text = await page.textContent("#pg-metrics");
  assert.match(text, /^# HELP edgecache_hits_total Reads that found a fresh value\.$/m);
  assert.match(text, /^# TYPE edgecache_bytes gauge$/m);
  const names = await page.$$eval("#memory-table tr", (trs) => trs.slice(1).map((tr) => tr.children[0].textContent));
  assert.ok(names.length >= 12, `caches: ${names.length}`);
  for (const name of names) {
    const label = name.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
    assert.ok(text.includes(`edgecache_entries{cache="${label}"} `), `the text has ${name}`);
  }
  assert.match(text, /^edgecache_loads_total\{cache="hot key: earlyRefresh 1"\} \d+$/m);
});

test("cold start: isolates loaded from the last one's snapshot start with more hits", async () => {
  const before = await canvasData("coldstart-chart");
  await page.click("#coldstart-start");
  await waitDone("coldstart");
  assert.notEqual(await canvasData("coldstart-chart"), before);
  const early = JSON.parse(await page.getAttribute("#coldstart", "data-early"));
  assert.ok(early.cold > 0 && early.warm > early.cold + 0.1, `hit ratio after a restart, warm vs cold: ${JSON.stringify(early)}`);
  const overall = JSON.parse(await page.getAttribute("#coldstart", "data-overall"));
  assert.ok(overall.warm > overall.cold, `overall: ${JSON.stringify(overall)}`);
  const [cold, warm] = await page.$$eval("#coldstart-counters span", (spans) => spans.map((s) => s.textContent));
  assert.match(warm, /^warm: .* snapshot \d+ KiB, [\d,]+ entries, dump [\d.]+ ms, load [\d.]+ ms$/);
  assert.match(cold, /^cold: /);
  assert.doesNotMatch(cold, /snapshot/);
});

test("memory panel lists every cache with bytes within its budget; screenshot saved", async () => {
  await page.waitForTimeout(600);
  const rows = await page.$$eval("#memory-table tr", (trs) => trs.slice(1).map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.ok(rows.length >= 12, `rows: ${rows.length}`);
  for (const r of rows) {
    const pct = Number(/\(([\d.]+) %\)/.exec(r[2])[1]);
    assert.ok(pct <= 100, `${r[0]} within budget: ${r[2]}`);
  }
  assert.match(await page.textContent("#memory-wasm"), /wasm linear memory/);
  assert.deepEqual(errors, [], "no console errors after every panel ran");
  const dir = join(root, "target/screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "demo.png");
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
});
