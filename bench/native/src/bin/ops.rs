//! The hot small-value paths of `bench/throughput.mjs` (100,000 stock-style
//! keys, 8-byte values) in the core alone, one loop each in a function of its
//! own so that `valgrind --tool=callgrind` can count just that loop:
//!
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='ops::loop_*' \
//!     bench/native/target/release/ops
//!
//! Instructions per op = the count / `OPS` (printed). `loop_lru_*` run the
//! `lru` crate on the same keys (the write there allocates its boxed key,
//! as a byte-keyed cache must).

use edgecache::{Cache, Config, Lookup, Policy, SetOptions};
use std::hint::black_box;

const N: usize = 100_000;
/// Operations per measured loop.
const OPS: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..N * 2)
        .map(|i| {
            let mut k = vec![edgecache::KIND_STR];
            k.extend_from_slice(format!("A{:07}:EA:S{:06}", 12345 + (i % 11000), i).as_bytes());
            k
        })
        .collect()
}

/// Writes of keys not cached, each evicting one entry.
#[inline(never)]
fn loop_set(c: &mut Cache, keys: &[Vec<u8>], next: &mut usize) {
    let opts = SetOptions::default();
    for _ in 0..OPS {
        let _ = black_box(c.set(&keys[*next % keys.len()], b"q0000001", &opts, 0));
        *next += 1;
    }
}

/// Overwrites of cached keys.
#[inline(never)]
fn loop_overwrite(c: &mut Cache, keys: &[Vec<u8>], next: usize) {
    let opts = SetOptions::default();
    for i in 0..OPS {
        let k = &keys[(next - N + (i * 7919) % N) % keys.len()];
        let _ = black_box(c.set(k, b"q0000002", &opts, 0));
    }
}

/// `get` hits, spread over the cached keys.
#[inline(never)]
fn loop_get(c: &mut Cache, keys: &[Vec<u8>], next: usize) -> usize {
    let mut hits = 0;
    for i in 0..OPS {
        let k = &keys[(next - N + (i * 7919) % N) % keys.len()];
        if let Lookup::Fresh(v) = c.get(k, 0, false) {
            hits += black_box(v.len());
        }
    }
    hits
}

/// `peek` hits (no recency change).
#[inline(never)]
fn loop_peek(c: &mut Cache, keys: &[Vec<u8>], next: usize) -> usize {
    let mut hits = 0;
    for i in 0..OPS {
        let k = &keys[(next - N + (i * 7919) % N) % keys.len()];
        if let Some(v) = c.peek(k, 0) {
            hits += black_box(v.len());
        }
    }
    hits
}

/// `get` misses.
#[inline(never)]
fn loop_miss(c: &mut Cache, keys: &[Vec<u8>], next: usize) -> usize {
    let mut hits = 0;
    for i in 0..OPS {
        let k = &keys[(next + (i * 7919) % N) % keys.len()];
        hits += usize::from(matches!(c.get(k, 0, false), Lookup::Fresh(_)));
    }
    hits
}

/// The `lru` crate on the same keys (byte-string keys, 8-byte values): writes
/// that evict, then spread-out `get` hits, the peer the counts compare with.
#[inline(never)]
fn loop_lru_set(c: &mut lru::LruCache<Box<[u8]>, [u8; 8]>, keys: &[Vec<u8>], next: &mut usize) {
    for _ in 0..OPS {
        let k: Box<[u8]> = keys[*next % keys.len()].as_slice().into();
        black_box(c.push(k, *b"q0000001"));
        *next += 1;
    }
}

#[inline(never)]
fn loop_lru_get(c: &mut lru::LruCache<Box<[u8]>, [u8; 8]>, keys: &[Vec<u8>], next: usize) -> usize {
    let mut hits = 0;
    for i in 0..OPS {
        let k = &keys[(next - N + (i * 7919) % N) % keys.len()];
        if let Some(v) = c.get(k.as_slice()) {
            hits += black_box(v.len());
        }
    }
    hits
}

fn main() {
    let policy = match std::env::var("POLICY").as_deref() {
        Ok("allkeys-adaptive") => Policy::AllKeysAdaptive,
        _ => Policy::AllKeysLru,
    };
    let keys = keys();
    let config = Config {
        max_entries: N,
        max_bytes: 1 << 30,
        policy,
        ..Config::default()
    };
    let mut c = Cache::new(config, 1).expect("config");
    let opts = SetOptions::default();
    for key in &keys[..N] {
        let _ = c.set(key, b"q0000001", &opts, 0);
    }
    let mut next = N;
    loop_set(&mut c, &keys, &mut next);
    loop_overwrite(&mut c, &keys, next);
    let hits = loop_get(&mut c, &keys, next)
        + loop_peek(&mut c, &keys, next)
        + loop_miss(&mut c, &keys, next);
    let mut peer = lru::LruCache::new(std::num::NonZeroUsize::new(N).expect("nonzero"));
    let mut next = 0;
    while next < N {
        peer.push(keys[next].as_slice().into(), *b"q0000001");
        next += 1;
    }
    loop_lru_set(&mut peer, &keys, &mut next);
    let peer_hits = loop_lru_get(&mut peer, &keys, next);
    println!("{OPS} ops per loop; {hits} bytes read; lru crate {peer_hits}");
}
