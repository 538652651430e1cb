// The demo page's wiring: one registry of caches, six panels and the playground.
import * as lib from "/pkg/browser.js";
import { createRegistry, setupMemory } from "./memory.js";
import { setupRace } from "./race.js";
import { setupHerd } from "./herd.js";
import { setupStampede } from "./stampede.js";
import { setupDoll } from "./doll.js";
import { setupHotKey } from "./hotkey.js";
import { setupMetrics } from "./metrics.js";
import { setupColdStart } from "./coldstart.js";

const $ = (id) => document.getElementById(id);
const registry = createRegistry();

setupRace(lib, registry, $);
setupHerd(lib, registry, $);
setupHotKey(lib, registry, $);
setupStampede(lib, registry, $);
setupDoll(lib, registry, $);
setupColdStart(lib, registry, $);

// playground
const pg = registry.add("playground", "playground", new lib.Cache({ maxMemory: 4096 }));
const scrape = setupMetrics(registry, $);
const show = (text) => {
  $("pg-out").textContent = `${text}\n\n${JSON.stringify(pg.stats(), null, 2)}`;
  scrape();
};
$("pg-form").addEventListener("submit", (e) => {
  e.preventDefault();
  try {
    const stored = pg.set($("pg-key").value, JSON.parse($("pg-value").value), { ttl: Number($("pg-ttl").value) });
    show(stored ? "stored" : "refused: larger than the 4 KiB budget");
  } catch (err) {
    show(`${err.name}: ${err.message}`);
  }
});
$("pg-get").addEventListener("click", () => {
  const v = pg.get($("pg-key").value);
  show(v === undefined ? "miss" : `hit: ${JSON.stringify(v)}`);
});
show("ready");

setupMemory(registry, $);
$("status").textContent = `wasm engine ready · ${lib.POLICIES.length} policies · per-entry overhead documented in the crate docs`;
$("status").classList.add("ready");
window.__demoReady = true;
