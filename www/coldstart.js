// Panel 6: isolates recycled with and without a snapshot. One Zipf request
// stream is served by two sequences of isolates (fresh Caches): the cold one
// starts every isolate empty; the warm one loads the previous isolate's
// dump() into the next with load().
import { lineChart } from "./charts.js";
import { zipfSampler } from "./zipf.mjs";

const BUDGET = 256 * 1024, KEYS = 20_000, SKEW = 0.9, ISOLATES = 5, BATCH = 500;
/** Requests after a restart whose hit ratio the counters compare. */
const EARLY = 1_000;

const value = (k) => `value of ${k} `.padEnd(96, "·");

/** Draws a dashed vertical line at each restart, in lineChart's frame. */
function markRestarts(canvas, xs, xMax) {
  const ctx = canvas.getContext("2d");
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  ctx.save();
  ctx.strokeStyle = "#868e96";
  ctx.setLineDash([4, 4]);
  for (const x of xs) {
    const px = pad.l + ((canvas.width - pad.l - pad.r) * x) / xMax;
    ctx.beginPath();
    ctx.moveTo(px, pad.t);
    ctx.lineTo(px, canvas.height - pad.b);
    ctx.stroke();
  }
  ctx.restore();
}

export function setupColdStart({ Cache }, registry, $) {
  const section = $("coldstart"), chart = $("coldstart-chart");
  lineChart(chart, [], { xMax: 1, yLabel: "hit ratio" });

  $("coldstart-start").addEventListener("click", () => {
    $("coldstart-start").disabled = true;
    section.dataset.state = "running";
    const life = Number($("coldstart-life").value);
    const total = life * ISOLATES;
    const next = zipfSampler(KEYS, SKEW, 5);
    const runs = [
      { name: "cold: every isolate starts empty", group: "coldstart-cold", color: "#e03131", warm: false },
      { name: "warm: load() the last isolate's dump()", group: "coldstart-warm", color: "#2f9e44", warm: true },
    ];
    const spawn = (r, n, snapshot) => {
      registry.drop(r.group);
      r.cache = registry.add(r.group, `cold start: ${r.warm ? "warm" : "cold"} isolate ${n}`, new Cache({ maxMemory: BUDGET, seed: 11 }));
      if (snapshot) {
        const t = performance.now();
        r.loaded = r.cache.load(snapshot);
        r.loadMs.push(performance.now() - t);
      }
    };
    for (const r of runs) {
      Object.assign(r, { points: [], hits: 0, early: [], earlyHits: 0, snapshotBytes: 0, loaded: 0, dumpMs: [], loadMs: [] });
      spawn(r, 1, null);
    }
    const batch = new Array(BATCH);
    const restarts = [];
    let done = 0;
    const step = () => {
      const since = done % life;
      for (let i = 0; i < BATCH; i++) batch[i] = next();
      for (const r of runs) {
        let hits = 0;
        for (let i = 0; i < BATCH; i++) {
          const k = batch[i];
          if (r.cache.get(k) !== undefined) hits++;
          else r.cache.set(k, value(k));
          if (since + i + 1 === EARLY && done >= life) r.early.push((r.earlyHits + hits) / EARLY);
        }
        if (since < EARLY) r.earlyHits += hits;
        r.hits += hits;
        r.points.push([done + BATCH, hits / BATCH]);
      }
      done += BATCH;
      if (done % life === 0 && done < total) {
        restarts.push(done);
        for (const r of runs) {
          let snapshot = null;
          if (r.warm) {
            const t = performance.now();
            snapshot = r.cache.dump();
            r.dumpMs.push(performance.now() - t);
            r.snapshotBytes = snapshot.length;
          }
          spawn(r, done / life + 1, snapshot);
          r.earlyHits = 0;
        }
      }
      lineChart(chart, runs.map((r) => ({ name: r.name, color: r.color, points: r.points })), {
        xMax: total, yMax: 1, xLabel: `${done.toLocaleString()} / ${total.toLocaleString()} requests · hit ratio per ${BATCH} requests`, yLabel: "hit ratio",
      });
      markRestarts(chart, restarts, total);
      const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
      const pct = (x) => `${(100 * x).toFixed(1)} %`;
      $("coldstart-counters").innerHTML = runs.map((r) => `<span>${r.warm ? "warm" : "cold"}: <b>${pct(mean(r.early))}</b> hits in the first ${EARLY.toLocaleString()} requests after a restart, ` +
        `<b>${pct(r.hits / done)}</b> overall, <b>${(done - r.hits).toLocaleString()}</b> origin loads` +
        (r.warm && r.dumpMs.length ? ` · snapshot <b>${(r.snapshotBytes / 1024).toFixed(0)} KiB</b>, ${r.loaded.toLocaleString()} entries, dump ${mean(r.dumpMs).toFixed(1)} ms, load ${mean(r.loadMs).toFixed(1)} ms` : "") +
        "</span>").join("");
      if (done < total) {
        requestAnimationFrame(step);
        return;
      }
      section.dataset.early = JSON.stringify(Object.fromEntries(runs.map((r) => [r.warm ? "warm" : "cold", mean(r.early)])));
      section.dataset.overall = JSON.stringify(Object.fromEntries(runs.map((r) => [r.warm ? "warm" : "cold", r.hits / done])));
      section.dataset.state = "done";
      $("coldstart-start").disabled = false;
    };
    requestAnimationFrame(step);
  });
}
