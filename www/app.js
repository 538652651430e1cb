// The demo page: every number shown comes from stats() or the workload.
import { Cache, POLICIES } from "/pkg/browser.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
status.textContent = `wasm engine ready · ${POLICIES.length} policies`;
status.classList.add("ready");

// ----- playground -----
const pg = new Cache({ maxMemory: 4096 });
const show = (extra) => {
  const s = pg.stats();
  $("pg-out").textContent = `${extra}\n\n${JSON.stringify(s, null, 2)}`;
};
$("pg-form").addEventListener("submit", (e) => {
  e.preventDefault();
  let value;
  try {
    value = JSON.parse($("pg-value").value);
  } catch (err) {
    show(`value is not JSON: ${err.message}`);
    return;
  }
  try {
    const stored = pg.set($("pg-key").value, value, { ttl: Number($("pg-ttl").value) });
    show(stored ? "stored" : "refused (larger than the budget)");
  } catch (err) {
    show(`${err.name}: ${err.message}`);
  }
});
$("pg-get").addEventListener("click", () => {
  const v = pg.get($("pg-key").value);
  show(v === undefined ? "miss" : `hit: ${JSON.stringify(v)}`);
});
$("pg-fill").addEventListener("click", () => {
  for (let i = 0; i < 100; i++) pg.set(`fill:${i}`, { i, qty: i % 7 });
  show("wrote 100 keys: the budget holds, the least recently used went");
});
show("ready");
window.__demoReady = true;
