//! Live heap allocations of the core through `bench/memory-bound.mjs`'s
//! phases (60 MiB values, then random writes of 1 B – 64 KiB under 50,000
//! keys, then 60 MiB values again), counted with a counting allocator: what
//! each policy keeps beside the entries it is charged for.
//!
//!   cargo run --release --manifest-path bench/native/Cargo.toml --bin memory -- [writes] [maxMiB] [policies]

use edgecache::{Cache, Config, Key, Policy, SetOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let now = LIVE.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(now, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: Counting = Counting;

const MIB: usize = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let writes: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let max_mib: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let names = args
        .get(2)
        .cloned()
        .unwrap_or("allkeys-lru,allkeys-adaptive".into());
    let big = vec![0xabu8; 60 * MIB];
    let pool = vec![0xabu8; 64 * 1024];
    let base = LIVE.load(Relaxed);
    println!("{writes} writes, maxMemory {max_mib} MiB; live heap in MiB (peak in brackets)");
    for name in names.split(',') {
        let policy = Policy::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .expect(name);
        PEAK.store(LIVE.load(Relaxed), Relaxed);
        let config = Config {
            max_bytes: max_mib * MIB,
            policy,
            ..Config::default()
        };
        let mut c = Cache::new(config, 7).unwrap();
        let opts = SetOptions::default();
        let show = |phase: &str, c: &Cache| {
            let live = (LIVE.load(Relaxed) - base) as f64 / MIB as f64;
            let peak = (PEAK.load(Relaxed) - base) as f64 / MIB as f64;
            println!(
                "{name:18} {phase:10} live {live:7.1} [{peak:7.1}]  charged {:7.1}  entries {}",
                c.bytes() as f64 / MIB as f64,
                c.len()
            );
        };
        let bigs = |c: &mut Cache| {
            for i in 0..3 {
                let k = Key::Str(&format!("big{}", i % 2)).to_bytes();
                let _ = c.set(&k, &big, &opts, 0);
            }
        };
        let mut seed: u32 = 0x9e37_79b9;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as f64 / 4_294_967_296.0
        };
        let mut churn = |c: &mut Cache, n: usize| {
            for _ in 0..n {
                let len = (2f64.powf(rand() * 16.0).round() as usize).max(1);
                let k = Key::Str(&format!("k{}", (rand() * 50_000.0) as u32)).to_bytes();
                let _ = c.set(&k, &pool[..len], &opts, 0);
            }
        };
        bigs(&mut c);
        show("big", &c);
        churn(&mut c, writes);
        show("churn", &c);
        bigs(&mut c);
        show("big-after", &c);
        for _ in 0..3 {
            churn(&mut c, writes / 10);
            bigs(&mut c);
        }
        show("rounds", &c);
        drop(c);
    }
}
