// Panel 5: every cache on the page, from stats().

export function createRegistry() {
  const entries = [];
  return {
    entries,
    add(group, name, cache) {
      entries.push({ group, name, cache });
      return cache;
    },
    drop(group) {
      for (let i = entries.length - 1; i >= 0; i--) {
        if (entries[i].group === group) {
          entries[i].cache.free();
          entries.splice(i, 1);
        }
      }
    },
  };
}

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;

export function setupMemory(registry, $) {
  const draw = () => {
    const rows = registry.entries.map(({ name, cache }) => ({ name, s: cache.stats() }));
    const wasm = rows[0]?.s.wasmMemory ?? 0;
    $("memory-wasm").innerHTML = `<span>wasm linear memory <b>${(wasm / 2 ** 20).toFixed(2)} MiB</b></span><span>caches <b>${rows.length}</b></span>` +
      `<span>entries in all <b>${rows.reduce((a, r) => a + r.s.entries, 0).toLocaleString()}</b></span>`;
    $("memory-table").innerHTML = "<tr><th>cache</th><th>entries</th><th>bytes / maxMemory</th><th>evicted</th><th>expired</th><th>invalidated</th><th>rejected</th><th>hit ratio</th></tr>" +
      rows.map(({ name, s }) => `<tr><td>${name}</td><td>${s.entries.toLocaleString()}</td><td>${kib(s.bytes)} / ${kib(s.maxMemory)} (${((100 * s.bytes) / s.maxMemory).toFixed(1)} %)</td>` +
        `<td>${s.evictions.toLocaleString()}</td><td>${s.expirations.toLocaleString()}</td><td>${s.invalidations.toLocaleString()}</td><td>${s.rejected.toLocaleString()}</td><td>${(s.hitRatio * 100).toFixed(1)} %</td></tr>`).join("");
  };
  draw();
  setInterval(draw, 500);
}
