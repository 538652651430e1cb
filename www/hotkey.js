// Panel 2, second half: a hot key that expires, read through getOrLoad with
// early refresh off or on (the toggle). Simulated time, the real cache: 100
// reads per simulated second for 60 s, a 10 s TTL and a loader that takes
// 200 ms of that clock. A read waited when it did not resolve within the
// 10 ms step it was made in.
import { lineChart } from "./charts.js";

const SECONDS = 60, STEP_MS = 10, TTL = 10_000, LOAD_MS = 200;

/** Lets every promise settle that can at this simulated moment (a message
 * task: unlike setTimeout, never clamped to 4 ms). */
function drainer() {
  const channel = new MessageChannel();
  const queue = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return () => new Promise((resolve) => {
    queue.push(resolve);
    channel.port2.postMessage(0);
  });
}

export function setupHotKey({ Cache }, registry, $) {
  const section = $("hot");
  const drain = drainer();
  lineChart($("hot-chart"), [], { xMax: SECONDS, yMax: 1 });
  $("hot-start").addEventListener("click", async () => {
    $("hot-start").disabled = true;
    section.dataset.state = "running";
    const beta = $("hot-early").checked ? 1 : 0;
    registry.drop("hot");
    const clock = { t: 0 };
    const cache = registry.add("hot", `hot key: earlyRefresh ${beta}`, new Cache({ ttl: TTL, now: () => clock.t, seed: 5 }));
    const timers = [];
    let loads = 0, waited = 0, stalled = 0;
    const loader = () => {
      loads++;
      return new Promise((resolve) => timers.push({ at: clock.t + LOAD_MS, resolve }));
    };
    const perSecond = Array.from({ length: SECONDS }, (_, s) => [s + 1, 0]);
    const draw = () => {
      lineChart($("hot-chart"), [{ name: `reads that waited for a load, per second (earlyRefresh ${beta})`, color: beta ? "#2f9e44" : "#e03131", points: perSecond }], {
        xMax: SECONDS, yMax: 100, xLabel: `simulated second ${Math.floor(clock.t / 1000)}`, yFormat: (v) => v.toFixed(0),
      });
      $("hot-counters").innerHTML = `<span>earlyRefresh <b>${beta}</b></span>` +
        `<span>reads that waited at expiry: <b>${stalled}</b></span>` +
        `<span>waited for the first load: <b>${waited - stalled}</b></span>` +
        `<span>loader calls: <b>${loads}</b></span>`;
    };
    for (; clock.t < SECONDS * 1000; clock.t += STEP_MS) {
      for (let i = timers.length - 1; i >= 0; i--) if (timers[i].at <= clock.t) timers.splice(i, 1)[0].resolve({ price: 42, at: clock.t });
      const at = clock.t;
      cache.getOrLoad("product:7", loader, { earlyRefresh: beta }).then(() => {
        if (clock.t === at) return;
        waited++;
        if (at >= LOAD_MS) stalled++;
        perSecond[Math.min(SECONDS - 1, Math.floor(at / 1000))][1]++;
      });
      await drain();
      if (clock.t % 5000 === 0) draw();
    }
    draw();
    section.dataset.stalled = String(stalled);
    section.dataset.loads = String(loads);
    section.dataset.state = "done";
    $("hot-start").disabled = false;
  });
}
