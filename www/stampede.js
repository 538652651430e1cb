// Panel 3: N concurrent requests for one cold key, with and without single-flight.
import { barChart } from "./charts.js";

const ORIGIN_MS = 300;

export function setupStampede({ Cache }, registry, $) {
  const section = $("stampede");
  $("stampede-start").addEventListener("click", async () => {
    $("stampede-start").disabled = true;
    section.dataset.state = "running";
    const n = Math.max(1, Math.min(5000, Number($("stampede-n").value) || 1));
    registry.drop("stampede");
    const naive = registry.add("stampede", "stampede: get + set", new Cache());
    const flight = registry.add("stampede", "stampede: getOrLoad", new Cache());
    let calls = 0;
    const origin = () => new Promise((r) => setTimeout(() => r({ price: 42, call: ++calls }), ORIGIN_MS));

    calls = 0;
    let t = performance.now();
    await Promise.all(Array.from({ length: n }, async () => {
      let v = naive.get("product:7");
      if (v === undefined) {
        v = await origin();
        naive.set("product:7", v);
      }
      return v;
    }));
    const naiveCalls = calls, naiveMs = performance.now() - t;

    calls = 0;
    t = performance.now();
    await Promise.all(Array.from({ length: n }, () => flight.getOrLoad("product:7", origin)));
    const flightCalls = calls, flightMs = performance.now() - t;
    const s = flight.stats();

    barChart($("stampede-chart"), [
      { name: "origin calls without single-flight", value: naiveCalls, color: "#e03131" },
      { name: "origin calls with getOrLoad", value: flightCalls, color: "#2f9e44" },
    ], { yMax: Math.max(naiveCalls, 1), yFormat: (v) => v.toFixed(0), valueFormat: (v) => v.toFixed(0) });
    $("stampede-counters").innerHTML =
      `<span>without: <b>${naiveCalls}</b> origin calls in <b>${naiveMs.toFixed(0)} ms</b></span>` +
      `<span>with getOrLoad: <b>${flightCalls}</b> origin call in <b>${flightMs.toFixed(0)} ms</b></span>` +
      `<span>stats(): loads <b>${s.loads}</b>, coalesced <b>${s.coalesced}</b></span>`;
    section.dataset.state = "done";
    $("stampede-start").disabled = false;
  });
}
