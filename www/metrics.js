// The "Try it" panel's Prometheus text: every cache on the page registered on
// a textRegistry (edgecache/prometheus, the code a Node service uses with
// prom-client), scraped on demand.
import { register, textRegistry } from "/pkg/integrations/prometheus.js";

export function setupMetrics(registry, $) {
  const scrape = async () => {
    const text = textRegistry();
    const names = new Set();
    for (const { name, cache } of registry.entries) {
      let label = name;
      for (let n = 2; names.has(label); n++) label = `${name} #${n}`;
      names.add(label);
      register(cache, text, { name: label });
    }
    $("pg-metrics").textContent = await text.metrics();
    $("pg-metrics").dataset.scrapes = String(Number($("pg-metrics").dataset.scrapes ?? 0) + 1);
  };
  $("pg-scrape").addEventListener("click", scrape);
  return scrape;
}
