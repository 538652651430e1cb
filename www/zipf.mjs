// Seeded draws for request streams: a uniform generator (mulberry32) and a
// Zipf(s) sampler over n keys by inverse CDF on it. The demo's policy race,
// bench/proxy-compare.mjs and bench/workloads.mjs draw their streams from them.

/** Uniform draws in [0, 1) from a 32-bit seed. */
export function uniform(seed = 1) {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ranks 0..n-1 drawn from Zipf(s); `draw` gives the uniform draws (default: uniform(seed)). */
export function zipfSampler(n, s, seed = 1, draw = uniform(seed)) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += 1 / Math.pow(k, s);
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return () => {
    const u = draw();
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
