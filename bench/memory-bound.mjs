// Red-team churn against the memory bound `stats().wasmMemory ≤ 1.25 ×
// maxMemory + 4 MiB` (README, "Security model"): for every policy, in a fresh
// Node process each (wasm memory never shrinks, so each policy starts from an
// empty module), one cache goes through
//
//   refused   three 100 MiB writes (larger than the budget)
//   big       three 60 MiB values (when they fit the budget)
//   churn     `writes` random writes of 1 B – 64 KiB under 50,000 keys
//   big-after three 60 MiB values again, after the churn fragmented memory
//   refused   three more 100 MiB writes
//   rounds    three rounds of writes/10 churn writes and three 60 MiB values
//
// and the peak of wasmMemory / maxMemory is reported after each phase.
//
//   node bench/memory-bound.mjs [writes=2000000] [maxMiB=64] [sizes=log|uniform]
//
// sizes: `log` draws lengths log-uniformly (as many 10-byte as 10-KiB
// values), `uniform` uniformly over 1 B – 64 KiB (mean 32 KiB: slow).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const MiB = 1024 * 1024;
const [writesArg = "2000000", maxArg = "64", sizes = "log"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const writes = Number(writesArg);
const maxMemory = Number(maxArg) * MiB;
const bound = 1.25 * maxMemory + 4 * MiB;

if (process.argv.includes("--child")) {
  const { Cache } = await import("../js/dist/node.js");
  const policy = process.argv[process.argv.indexOf("--child") + 1];
  const c = new Cache({ maxMemory, policy, codec: "bytes" });
  let peak = 0;
  const sample = () => (peak = Math.max(peak, c.stats().wasmMemory));
  const phases = {};
  const mark = (name) => {
    sample();
    phases[name] = +(peak / maxMemory).toFixed(3);
  };
  const huge = new Uint8Array(100 * MiB);
  const big = new Uint8Array(60 * MiB);
  const refused = () => {
    for (let i = 0; i < 3; i++) c.set(`huge${i}`, huge);
  };
  const bigs = () => {
    for (let i = 0; i < 3; i++) c.set(`big${i % 2}`, big, { ttl: 1e9 });
  };
  sample();
  refused();
  mark("refused");
  bigs();
  mark("big");
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const pool = new Uint8Array(64 * 1024).fill(0xab);
  const churn = (count) => {
    for (let i = 0; i < count; i++) {
      const n = sizes === "uniform" ? 1 + Math.floor(rand() * 65536) : Math.max(1, Math.round(2 ** (rand() * 16)));
      c.set(`k${Math.floor(rand() * 50_000)}`, pool.subarray(0, n), { ttl: 1e9 });
      if (i % 10_000 === 0) sample();
    }
  };
  churn(writes);
  mark("churn");
  bigs();
  mark("big-after");
  refused();
  mark("refused-again");
  // Three more rounds of churn and big values: does the peak keep growing?
  for (let round = 0; round < 3; round++) {
    churn(Math.ceil(writes / 10));
    bigs();
  }
  mark("3-more-rounds");
  const s = c.stats();
  process.send({ policy, phases, peakMiB: +(peak / MiB).toFixed(1), entries: s.entries, rejected: s.rejected, ok: peak <= bound });
} else {
  const { POLICIES } = await import("../js/dist/node.js");
  console.log(`${writes} writes (${sizes} sizes), maxMemory ${maxMemory / MiB} MiB, bound ${(bound / MiB).toFixed(1)} MiB = ${(bound / maxMemory).toFixed(3)} × maxMemory`);
  console.log("peak wasmMemory / maxMemory after each phase:");
  console.log(["policy", "refused", "big", "churn", "big-after", "refused-again", "3-more-rounds", "peak MiB", "within bound"].join(" | "));
  let failed = 0;
  for (const policy of POLICIES) {
    const r = await new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), "--child", policy]);
      child.on("message", resolve);
      child.on("exit", (code) => code && reject(new Error(`${policy}: exit ${code}`)));
    });
    const p = r.phases;
    console.log([policy, p.refused, p.big, p.churn, p["big-after"], p["refused-again"], p["3-more-rounds"], r.peakMiB, r.ok ? "yes" : "NO"].join(" | "));
    if (!r.ok) failed++;
  }
  process.exitCode = failed ? 1 : 0;
}
