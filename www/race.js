// Panel 1: the same stream against nine caches of the same byte budget.
import { lineChart, barChart, COLORS } from "./charts.js";
import { zipfSampler } from "./zipf.mjs";

const BATCH = 1500;

async function loadTrace() {
  const r = await fetch("traces/web07.bin");
  if (!r.ok) throw new Error("the trace is not bundled (run scripts/build.sh with ../shared/traces present)");
  const view = new DataView(await r.arrayBuffer());
  const keys = new Int32Array(view.byteLength / 4);
  for (let i = 0; i < keys.length; i++) keys[i] = view.getInt32(i * 4, false);
  return keys;
}

export function setupRace({ Cache, POLICIES }, registry, $) {
  const lines = $("race-lines"), bars = $("race-bars"), note = $("race-note"), section = $("race");
  const skew = $("race-skew");
  skew.addEventListener("input", () => ($("race-skew-v").textContent = skew.value));
  let scanQueued = 0;
  $("race-scan").addEventListener("click", () => (scanQueued += 5000));
  lineChart(lines, [], { xMax: 1, yLabel: "hit ratio" });

  $("race-start").addEventListener("click", async () => {
    $("race-start").disabled = true;
    $("race-scan").disabled = false;
    section.dataset.state = "running";
    const budget = Number($("race-budget").value);
    const workload = $("race-workload").value;
    let next, total;
    try {
      if (workload === "trace") {
        const keys = await loadTrace();
        let i = 0;
        next = () => keys[i++];
        total = keys.length;
      } else {
        const z = zipfSampler(20_000, Number(skew.value), 7);
        next = z;
        total = 60_000;
      }
    } catch (err) {
      note.textContent = String(err.message);
      $("race-start").disabled = false;
      return;
    }
    registry.drop("race");
    const caches = POLICIES.map((policy, i) => ({
      policy,
      color: COLORS[i % COLORS.length],
      cache: registry.add("race", policy, new Cache({ maxMemory: budget, policy, seed: 11 })),
      points: [[0, 0]],
    }));
    const value = (k) => `value of ${k} `.padEnd(96, "·");
    let done = 0, scanId = 0;
    const batch = new Array(BATCH);
    const step = () => {
      let n = 0;
      while (n < BATCH && done + n < total) {
        if (scanQueued > 0) {
          batch[n++] = `scan:${scanId++}`;
          scanQueued--;
        } else batch[n++] = `k:${next()}`;
      }
      for (const c of caches) {
        for (let i = 0; i < n; i++) {
          const k = batch[i];
          // every write has a TTL, so the volatile-* policies may evict it too
          if (c.cache.get(k) === undefined) c.cache.set(k, value(k), { ttl: 3_600_000 });
        }
        c.points.push([done + n, c.cache.stats().hitRatio]);
      }
      done += n;
      lineChart(lines, caches.map((c) => ({ name: c.policy, color: c.color, points: c.points })), {
        xMax: total, yMax: 1, xLabel: `${done.toLocaleString()} / ${total.toLocaleString()} requests`, yLabel: "hit ratio",
      });
      const final = caches.map((c) => ({ name: c.policy, value: c.cache.stats().hitRatio, color: c.color }));
      barChart(bars, final, { yMax: 1 });
      if (done < total) {
        requestAnimationFrame(step);
        return;
      }
      const best = [...final].sort((a, b) => b.value - a.value);
      note.textContent = `finished: best ${best[0].name} ${(best[0].value * 100).toFixed(1)} %, worst ${best.at(-1).name} ${(best.at(-1).value * 100).toFixed(1)} %` +
        (caches.find((c) => c.policy === "noeviction").cache.stats().rejected > 0 ? " · noeviction refused writes once full" : "");
      section.dataset.ratios = JSON.stringify(Object.fromEntries(final.map((b) => [b.name, b.value])));
      section.dataset.state = "done";
      $("race-start").disabled = false;
      $("race-scan").disabled = true;
    };
    requestAnimationFrame(step);
  });
}
