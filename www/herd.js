// Panel 2: synchronized expiry with and without jitter, in simulated time.
import { lineChart, barChart } from "./charts.js";

const KEYS = 2000, TTL = 60_000, SECONDS = 240;

export function setupHerd({ Cache }, registry, $) {
  const section = $("herd");
  lineChart($("herd-load"), [], { xMax: SECONDS, yMax: 1 });
  $("herd-start").addEventListener("click", () => {
    $("herd-start").disabled = true;
    section.dataset.state = "running";
    const jitter = Number($("herd-jitter").value);
    registry.drop("herd");
    const clock = { t: 0 };
    const runs = [
      { name: "no jitter", color: "#e03131", cache: registry.add("herd", "herd: no jitter", new Cache({ ttl: TTL, now: () => clock.t, seed: 3 })) },
      { name: `jitter ${jitter * 100} %`, color: "#2f9e44", cache: registry.add("herd", `herd: jitter ${jitter}`, new Cache({ ttl: TTL, jitter, now: () => clock.t, seed: 3 })) },
    ];
    for (const r of runs) {
      r.load = [];
      r.expiries = new Map();
      r.loaded = 0;
    }
    let second = 0;
    const frame = () => {
      for (let s = 0; s < 8 && second <= SECONDS; s++, second++) {
        clock.t = second * 1000;
        for (const r of runs) {
          let loads = 0;
          for (let k = 0; k < KEYS; k++) {
            if (r.cache.get(k) === undefined) {
              loads++;
              if (second > 0 && second <= 75) r.expiries.set(second, (r.expiries.get(second) ?? 0) + 1);
              r.cache.set(k, { k, loadedAt: second });
            }
          }
          r.loaded += loads;
          r.load.push([second, loads]);
        }
      }
      const peak = Math.max(...runs.flatMap((r) => r.load.slice(1).map((p) => p[1])), 1);
      lineChart($("herd-load"), runs.map((r) => ({ name: `${r.name}: origin loads/s`, color: r.color, points: r.load.slice(1) })), {
        xMax: SECONDS, yMax: peak, xLabel: `simulated second ${Math.min(second, SECONDS)}`, yFormat: (v) => v.toFixed(0),
      });
      const buckets = [];
      for (let b = 44; b <= 64; b += 2) {
        for (const r of runs) {
          let n = 0;
          for (let s = b; s < b + 2; s++) n += r.expiries.get(s) ?? 0;
          buckets.push({ name: `${b}s`, value: n, color: r.color });
        }
      }
      barChart($("herd-hist"), buckets, { yMax: Math.max(...buckets.map((b) => b.value), 1), yFormat: (v) => v.toFixed(0), valueFormat: (v) => (v ? String(v) : "") });
      $("herd-counters").innerHTML = runs.map((r) => `<span>${r.name}: peak <b>${Math.max(...r.load.slice(1).map((p) => p[1]))}</b> origin loads in one second, <b>${r.loaded.toLocaleString()}</b> loads in all</span>`).join("");
      if (second <= SECONDS) requestAnimationFrame(frame);
      else {
        section.dataset.state = "done";
        $("herd-start").disabled = false;
      }
    };
    requestAnimationFrame(frame);
  });
}
