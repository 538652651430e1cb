// Expiry stalls on a hot key, with and without early refresh (XFetch).
//
// A simulated clock: one getOrLoad of the same key every millisecond (1,000
// requests/s) for 10 minutes, a 10 s TTL, a loader that takes 200 ms of the
// simulated clock. A read "waited" when it did not resolve within the
// millisecond it was made (it started or joined a load). Run once per
// earlyRefresh (beta) given, same seed:
//
//   node bench/early-refresh.mjs [minutes=10] [betas=0,1,2] [seed=42]
const { Cache } = await import("../js/dist/node.js");

const minutes = Number(process.argv[2] ?? 10);
const betas = (process.argv[3] ?? "0,1,2").split(",").map(Number);
const seed = Number(process.argv[4] ?? 42);
const TTL = 10_000;
const LOAD_MS = 200;
const RATE_PER_MS = 1;

/** Lets every promise settle that can at this simulated moment. */
const drain = () => new Promise((r) => setImmediate(r));

async function run(beta) {
  let t = 0;
  /** Loads in flight: each resolves when the clock reaches its `at`. */
  const timers = [];
  let loaderCalls = 0;
  const loader = () => {
    loaderCalls++;
    const version = loaderCalls;
    return new Promise((resolve) => timers.push({ at: t + LOAD_MS, done: () => resolve({ version }) }));
  };
  const cache = new Cache({ now: () => t, seed, ttl: TTL });
  const opts = { earlyRefresh: beta };
  let reads = 0;
  let waited = 0;
  let waitedMs = 0;
  let longest = 0;
  /** Reads that waited for a load other than the very first (the cold start every run has). */
  let stalled = 0;
  const end = minutes * 60_000;
  for (; t < end; t++) {
    for (let i = timers.length - 1; i >= 0; i--) {
      if (timers[i].at <= t) timers.splice(i, 1)[0].done();
    }
    for (let r = 0; r < RATE_PER_MS; r++) {
      const at = t;
      reads++;
      cache.getOrLoad("hot", loader, opts).then(() => {
        if (t > at) {
          waited++;
          waitedMs += t - at;
          longest = Math.max(longest, t - at);
          if (at >= LOAD_MS) stalled++;
        }
      });
    }
    await drain();
  }
  const s = cache.stats();
  cache.free();
  return { beta, reads, waited, stalled, waitedMs, longest, loaderCalls, loads: s.loads, coalesced: s.coalesced };
}

console.log(`hot key, ${RATE_PER_MS * 1000} reads/s for ${minutes} min, TTL ${TTL / 1000} s, loader ${LOAD_MS} ms, seed ${seed}`);
console.log("| earlyRefresh | reads | reads that waited | of them at expiry (after the first load) | total wait | longest wait | loader calls |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
const results = [];
for (const beta of betas) {
  const r = await run(beta);
  results.push(r);
  console.log(`| ${beta} | ${r.reads} | ${r.waited} (${((100 * r.waited) / r.reads).toFixed(2)} %) | ${r.stalled} | ${(r.waitedMs / 1000).toFixed(1)} s | ${r.longest} ms | ${r.loaderCalls} |`);
}
const off = results.find((r) => r.beta === 0);
if (off) {
  for (const r of results) {
    if (r === off) continue;
    console.log(`earlyRefresh ${r.beta}: ${r.stalled} reads stalled on expiry vs ${off.stalled} off; ${(r.loaderCalls / off.loaderCalls).toFixed(2)}× the loader calls`);
  }
}
