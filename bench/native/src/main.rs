//! Native throughput of the core against quick_cache (unsync) and lru.
//! Same stream, same capacity, same run; ratios are what to read.
//!
//! On a shared machine the times move with the load; instructions and
//! simulated cache misses per op do not. One subject at a time:
//!
//!   ONLY=allkeys-lru OPS=300000 valgrind --tool=callgrind --cache-sim=yes \
//!     --collect-atstart=no --toggle-collect='*run_edgecache*' \
//!     --toggle-collect='*measure*' target/release/edgecache-native-bench
//!
//! (`ONLY=quick` or `ONLY=crate` for a peer; each count covers 3 × `OPS` ops;
//! `CAPACITY` sets the capacity, 100,000 by default.)

use edgecache::{Cache, Config, Key, Lookup, Policy, SetOptions};
use std::time::Instant;

/// Zipf(s) sampler by inverse CDF over a precomputed table.
struct Zipf {
    cdf: Vec<f64>,
    state: u64,
}

impl Zipf {
    fn new(n: usize, s: f64, seed: u64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf, state: seed }
    }
    fn next(&mut self) -> usize {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let u = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf.partition_point(|&c| c < u)
    }
}

/// The edgecache loop, in a function of its own so that callgrind can count
/// it alone (`--toggle-collect='*run_edgecache*'`, as `*measure*` for the peers).
#[inline(never)]
fn run_edgecache(c: &mut Cache, stream: &[u64], value: &[u8]) -> u64 {
    let opts = SetOptions::default();
    let mut hits = 0u64;
    let mut key = [edgecache::KIND_NUM, 0, 0, 0, 0, 0, 0, 0, 0];
    for &k in stream {
        key[1..].copy_from_slice(&k.to_be_bytes());
        if let Lookup::Fresh(_) = c.get(&key, 0, false) {
            hits += 1;
        } else {
            let _ = c.set(&key, value, &opts, 0);
        }
    }
    hits
}

fn main() {
    let universe = 1_000_000;
    let capacity: usize = std::env::var("CAPACITY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let ops: usize = std::env::var("OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let mut z = Zipf::new(universe, 0.99, 42);
    let stream: Vec<u64> = (0..ops).map(|_| z.next() as u64).collect();
    let value = [7u8; 16];
    println!(
        "Zipf(0.99) over {universe} keys, capacity {capacity}, {ops} get-or-insert ops, best of 3"
    );

    let mut results: Vec<(&str, f64, f64)> = Vec::new();

    let only = std::env::var("ONLY").unwrap_or_default();
    let want = |name: &str| only.is_empty() || name.contains(only.as_str());
    for policy in [Policy::AllKeysLru, Policy::AllKeysAdaptive] {
        if !want(policy.name()) {
            continue;
        }
        let mut best = f64::MAX;
        let mut ratio = 0.0;
        for _ in 0..3 {
            let config = Config {
                max_bytes: usize::MAX / 4,
                max_entries: capacity,
                policy,
                ..Config::default()
            };
            let mut c = Cache::new(config, 1).expect("config");
            let t = Instant::now();
            let hits = run_edgecache(&mut c, &stream, &value);
            best = best.min(t.elapsed().as_nanos() as f64 / ops as f64);
            ratio = hits as f64 / ops as f64;
        }
        results.push((
            if policy == Policy::AllKeysLru {
                "edgecache allkeys-lru"
            } else {
                "edgecache allkeys-adaptive"
            },
            best,
            ratio,
        ));
    }
    let _ = Key::Num(0.0);

    // One measurement loop for both peers: `step` answers one request and
    // reports whether it was a hit.
    #[inline(never)]
    fn measure<C>(
        stream: &[u64],
        make: impl Fn() -> C,
        step: impl Fn(&mut C, u64) -> bool,
    ) -> (f64, f64) {
        let mut best = f64::MAX;
        let mut ratio = 0.0;
        for _ in 0..3 {
            let mut c = make();
            let t = Instant::now();
            let hits = stream.iter().filter(|&&k| step(&mut c, k)).count();
            best = best.min(t.elapsed().as_nanos() as f64 / stream.len() as f64);
            ratio = hits as f64 / stream.len() as f64;
        }
        (best, ratio)
    }
    if want("quick_cache") {
        let (ns, hit) = measure(
            &stream,
            || quick_cache::unsync::Cache::<u64, [u8; 16]>::new(capacity),
            |c, k| {
                if c.get(&k).is_some() {
                    return true;
                }
                c.insert(k, value);
                false
            },
        );
        results.push(("quick_cache unsync", ns, hit));
    }
    if want("lru-crate") {
        let cap = std::num::NonZeroUsize::new(capacity).expect("nonzero");
        let (ns, hit) = measure(
            &stream,
            || lru::LruCache::<u64, [u8; 16]>::new(cap),
            |c, k| {
                if c.get(&k).is_some() {
                    return true;
                }
                c.put(k, value);
                false
            },
        );
        results.push(("lru", ns, hit));
    }
    let qc = results
        .iter()
        .find(|r| r.0 == "quick_cache unsync")
        .map_or(1.0, |r| r.1);
    for (name, ns, hit) in &results {
        println!(
            "{name:28} {ns:7.1} ns/op  hit ratio {:5.2}%  time vs quick_cache {:.2}×",
            hit * 100.0,
            ns / qc
        );
    }
    if want("breakdown") || only.is_empty() {
        breakdown();
    }
}

/// The engine alone on the JS throughput benchmark's workload (`bench/throughput.mjs`: 100,000
/// stock-style keys, 8-byte values, reads spread over all keys): what a `get` hit, a `peek` hit (no
/// LRU relink) and a write that evicts cost without the JS↔wasm boundary.
fn breakdown() {
    let n = 100_000usize;
    let keys: Vec<Vec<u8>> = (0..n * 2)
        .map(|i| {
            let mut k = vec![edgecache::KIND_STR];
            k.extend_from_slice(format!("A{:07}:EA:S{:06}", 12345 + (i % 11000), i).as_bytes());
            k
        })
        .collect();
    let config = Config {
        max_entries: n,
        max_bytes: 1 << 30,
        ..Config::default()
    };
    let mut c = Cache::new(config, 1).expect("config");
    let opts = SetOptions::default();
    for key in &keys[..n] {
        let _ = c.set(key, b"q0000001", &opts, 0);
    }
    let (mut set, mut get, mut peek) = (f64::MAX, f64::MAX, f64::MAX);
    let mut next = n;
    let mut hits = 0usize;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            let _ = c.set(&keys[next % keys.len()], b"q0000001", &opts, 0);
            next += 1;
        }
        set = set.min(t.elapsed().as_nanos() as f64 / n as f64);
        // The n keys written last are the ones cached, read in a spread-out order.
        let cached = |i: usize| &keys[(next - n + (i * 7919) % n) % keys.len()];
        let t = Instant::now();
        for i in 0..n {
            hits += usize::from(matches!(c.get(cached(i), 0, false), Lookup::Fresh(_)));
        }
        get = get.min(t.elapsed().as_nanos() as f64 / n as f64);
        let t = Instant::now();
        for i in 0..n {
            hits += usize::from(c.peek(cached(i), 0).is_some());
        }
        peek = peek.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    assert_eq!(hits, 10 * n, "every read hits");
    println!("engine alone, allkeys-lru, {n} keys: set-evict {set:.0} ns, get-hit {get:.0} ns, peek-hit {peek:.0} ns (get − peek = the exact-LRU relink)");
}
