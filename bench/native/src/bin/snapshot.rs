//! `Cache::dump`, `Snapshot::parse` and `Cache::load` of stock-style entries
//! (`A0012345:EA:S170` → a 20-byte value), one function each so that
//! `valgrind --tool=callgrind` can count just that step:
//!
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='snapshot::step_*' \
//!     bench/native/target/release/snapshot 200000
//!
//! `step_stream_load` loads the same snapshot the way the wasm build loads
//! a plain one: read twice in 256 KiB pieces through a `PlainStream`
//! (checked, then stored entry by entry through `Cache::plain_load_entry`).
//!
//! Instructions per entry = a step's count / the entries (printed), and the
//! wall time of each step. `POLICY=allkeys-lfu` (any policy's name) runs
//! both caches under that policy.

#![allow(clippy::panic, clippy::unwrap_used)]

use edgecache::snapshot_stream::PlainStream;
use edgecache::{Cache, Config, Policy, SetOptions, Snapshot};
use std::hint::black_box;
use std::time::Instant;

fn key(i: usize) -> Vec<u8> {
    let mut k = vec![edgecache::KIND_STR];
    let article = 12345 + (i % 11000);
    let store = 1 + i / 11000;
    k.extend_from_slice(format!("A{article:07}:EA:S{store:03}").as_bytes());
    k
}

/// The default policy, or the one `POLICY` names (`allkeys-lfu`, ...).
fn config() -> Config {
    let policy = std::env::var("POLICY").ok().map(|name| {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .unwrap_or_else(|| panic!("no policy {name}"))
    });
    Config {
        max_bytes: 1 << 30,
        policy: policy.unwrap_or(Config::default().policy),
        ..Config::default()
    }
}

#[inline(never)]
fn step_set(c: &mut Cache, n: usize) {
    let opts = SetOptions::default();
    for i in 0..n {
        let v = format!("{{\"q\":{},\"u\":{}}}", i % 500, 1_732_000_000 + i);
        black_box(c.set(&key(i), v.as_bytes(), &opts, 0)).ok();
    }
}

#[inline(never)]
fn step_dump(c: &Cache) -> Vec<u8> {
    c.dump(0, "json", b"").unwrap_or_default()
}

#[inline(never)]
fn step_parse(bytes: &[u8]) -> bool {
    Snapshot::parse(bytes).is_ok()
}

#[inline(never)]
fn step_load(c: &mut Cache, bytes: &[u8]) -> usize {
    c.load(bytes, 0).unwrap_or(0)
}

/// Loads `bytes` as `WasmCache.load` loads a plain snapshot: checked in
/// 256 KiB pieces, then stored from them.
#[inline(never)]
fn step_stream_load(c: &mut Cache, bytes: &[u8]) -> usize {
    const PIECE: usize = 256 << 10;
    let mut s = PlainStream::new(bytes.len() as u64);
    for p in bytes.chunks(PIECE) {
        s.room(p.len()).unwrap().copy_from_slice(p);
        s.take(|_, _| Ok::<(), ()>(())).unwrap();
    }
    let (entries, totals) = s.checked().map(|(h, t)| (h.entries, t)).unwrap();
    let mut load = c.begin_plain_load(&totals, entries, 0).unwrap().unwrap();
    for p in bytes.chunks(PIECE) {
        s.room(p.len()).unwrap().copy_from_slice(p);
        s.take(|k, v| c.plain_load_entry(&mut load, k, v, 0))
            .unwrap();
    }
    c.end_plain_load(load).unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_870_000);
    let mut a = Cache::new(config(), 1).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    step_set(&mut a, n);
    println!("set   {:>7.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let bytes = step_dump(&a);
    println!(
        "dump  {:>7.0} ms  ({} bytes, {:.3} × stats().bytes)",
        t.elapsed().as_secs_f64() * 1e3,
        bytes.len(),
        bytes.len() as f64 / a.stats().bytes as f64
    );
    let t = Instant::now();
    assert!(step_parse(&bytes));
    println!("parse {:>7.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let mut b = Cache::new(config(), 2).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let loaded = step_load(&mut b, &bytes);
    println!(
        "load  {:>7.0} ms  ({loaded} of {n} entries)",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(loaded, n);
    let mut c = Cache::new(config(), 3).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let streamed = step_stream_load(&mut c, &bytes);
    println!(
        "load streamed {:>7.0} ms  ({streamed} of {n} entries)",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(streamed, n);
}
