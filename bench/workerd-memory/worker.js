// Fills the stock data set inside workerd and reports edgecache's wasm memory.
import { Cache } from "edgecache";

function keyOf(i) {
  return `A${String(12345 + (i % 11000)).padStart(7, "0")}:EA:S${String(1 + Math.floor(i / 11000)).padStart(3, "0")}`;
}

export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? 1_870_000);
    const kind = q.get("value") ?? "object";
    const cache = new Cache({ maxMemory: 1 << 30, codec: kind === "string" ? "text" : "json" });
    const before = cache.stats().wasmMemory;
    for (let i = 0; i < n; i++) {
      cache.set(keyOf(i), kind === "string" ? `q${String(i % 10_000_000).padStart(7, "0")}` : { qty: i % 500, updatedAt: 1732000000000 + i });
    }
    const s = cache.stats();
    const ok = JSON.stringify(cache.get(keyOf(7))) !== undefined;
    cache.free(); // linear memory never shrinks, but the next run reuses it
    return Response.json({ n, kind, entries: s.entries, charged: s.bytes / n, wasmGrowth: s.wasmMemory - before, perEntry: (s.wasmMemory - before) / n, wasmMemory: s.wasmMemory, ok });
  },
};
