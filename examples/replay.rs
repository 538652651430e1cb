//! Trace replay: hit ratios of the cache's policies on real access traces,
//! beside the reference numbers in `../shared/traces/REFERENCE.md`.
//!
//! ```text
//! cargo run --release --example replay -- [--traces DIR] [--trace NAME] [--policy P,P…]
//!                                         [--capacity N | --percent 1,5,20] [--markdown]
//!                                         [--seed N]
//! ```
//!
//! `--seed` (default `0x5eed`) seeds the cache's hashing and randomness: the
//! hit ratios of `allkeys-adaptive` move a little with it (see `bench/REPLAY.md`).
//!
//! Each request is a `get`; a miss is followed by a `set` (demand fill), cold
//! misses count, no warm-up: the convention REFERENCE.md uses. Entry-count
//! capacities set `max_entries` (with an unbounded byte budget); the one trace
//! with object sizes (`oracle`) is also replayed against byte budgets.

// A developer tool: it stops with a message on bad arguments or a missing trace.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::zombie_processes
)]

use edgecache::{Cache, Config, Lookup, Policy, SetOptions};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Trace {
    keys: Vec<u64>,
    sizes: Option<Vec<u32>>,
    distinct: usize,
}

fn open(path: &Path) -> Box<dyn Read> {
    let tool = if path.extension().is_some_and(|e| e == "xz") {
        "xz"
    } else {
        "gzip"
    };
    let child = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    Box::new(BufReader::with_capacity(
        1 << 20,
        child.stdout.unwrap_or_else(|| panic!("no stdout")),
    ))
}

fn load(path: &Path, format: &str) -> Trace {
    let mut keys = Vec::new();
    let mut sizes = None;
    let mut r = open(path);
    match format {
        "arc" => {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                let mut it = line.split_whitespace();
                let (Some(start), Some(count)) = (it.next(), it.next()) else {
                    continue;
                };
                let (Ok(start), Ok(count)) = (start.parse::<u64>(), count.parse::<u64>()) else {
                    continue;
                };
                keys.extend(start..start + count);
            }
        }
        "lirs" => {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if let Ok(k) = line.trim().parse::<u64>() {
                    keys.push(k);
                }
            }
        }
        "cache2k" | "u32be" => {
            let mut buf = [0u8; 4];
            while r.read_exact(&mut buf).is_ok() {
                keys.push(u32::from_be_bytes(buf) as u64);
            }
        }
        "i64be" => {
            let mut buf = [0u8; 8];
            while r.read_exact(&mut buf).is_ok() {
                keys.push(u64::from_be_bytes(buf));
            }
        }
        "oracle" => {
            let mut buf = [0u8; 24];
            let mut s = Vec::new();
            while r.read_exact(&mut buf).is_ok() {
                keys.push(u64::from_le_bytes(
                    buf[4..12].try_into().unwrap_or_default(),
                ));
                s.push(u32::from_le_bytes(
                    buf[12..16].try_into().unwrap_or_default(),
                ));
            }
            sizes = Some(s);
        }
        other => panic!("unknown trace format {other}"),
    }
    let distinct = keys.iter().collect::<HashSet<_>>().len();
    Trace {
        keys,
        sizes,
        distinct,
    }
}

/// Replays `trace` and returns the hit ratio in percent.
fn replay(trace: &Trace, policy: Policy, entries: usize, bytes: Option<usize>, seed: u64) -> f64 {
    let config = Config {
        max_bytes: bytes.unwrap_or(usize::MAX / 4),
        max_entries: if bytes.is_some() { 0 } else { entries },
        policy,
        ..Config::default()
    };
    let mut cache = Cache::new(config, seed).unwrap_or_else(|e| panic!("{e}"));
    let mut key = [edgecache::KIND_STR, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut hits = 0u64;
    let value = vec![
        0u8;
        trace
            .sizes
            .as_ref()
            .map_or(0, |s| s.iter().copied().max().unwrap_or(0) as usize)
    ];
    let opts = SetOptions::default();
    for (i, &k) in trace.keys.iter().enumerate() {
        key[1..].copy_from_slice(&k.to_le_bytes());
        if let Lookup::Fresh(_) = cache.get(&key, 0, false) {
            hits += 1;
        } else {
            // Byte mode charges the object's size (minus the fixed overhead, so that
            // the charge equals the object size the reference simulator counts).
            let len = match (&trace.sizes, bytes) {
                (Some(s), Some(_)) => {
                    (s[i] as usize).saturating_sub(edgecache::entry_bytes(policy, key.len(), 0))
                }
                _ => 0,
            };
            let _ = cache.set(&key, &value[..len], &opts, 0);
        }
    }
    100.0 * hits as f64 / trace.keys.len() as f64
}

/// REFERENCE.md rows: (trace, capacity) → column → value.
fn reference(dir: &Path) -> BTreeMap<(String, u64), BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(dir.join("REFERENCE.md")) else {
        return out;
    };
    let mut header: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells.first().is_some_and(|c| c == "trace") {
            header = cells;
            continue;
        }
        if cells.len() != header.len() || cells[0].starts_with("--") {
            continue;
        }
        let Ok(cap) = cells[1].replace(',', "").parse::<u64>() else {
            continue;
        };
        let mut row = BTreeMap::new();
        for (h, c) in header.iter().zip(&cells).skip(3) {
            if let Ok(v) = c.parse::<f64>() {
                row.insert(h.clone(), v);
            }
        }
        out.insert((cells[0].clone(), cap), row);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = PathBuf::from(arg("--traces").unwrap_or_else(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        here.join("../shared/traces").to_string_lossy().into_owned()
    }));
    let policies: Vec<Policy> = arg("--policy")
        .unwrap_or_else(|| "allkeys-lru,allkeys-adaptive".into())
        .split(',')
        .map(|p| p.parse().unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let only = arg("--trace");
    let seed: u64 = arg("--seed").map_or(0x5eed, |s| {
        s.parse().unwrap_or_else(|_| panic!("bad seed {s}"))
    });
    let percents: Vec<f64> = arg("--percent")
        .unwrap_or_else(|| "1,5,20".into())
        .split(',')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("bad percent {p}")))
        .collect();
    let fixed: Option<usize> =
        arg("--capacity").map(|c| c.parse().unwrap_or_else(|_| panic!("bad capacity")));
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let refs = reference(&dir);

    let mut cols: Vec<String> = policies.iter().map(|p| p.name().to_string()).collect();
    cols.extend(
        [
            "opt", "lru", "arc", "wtinylfu", "s3fifo", "target", "margin",
        ]
        .map(String::from),
    );
    println!("| trace | capacity | unit | {} |", cols.join(" | "));
    println!("|---|---:|---|{}", "---:|".repeat(cols.len()));
    let (mut rows, mut met) = (0, 0);
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, format, ..] = f[..] else { continue };
        if only.as_ref().is_some_and(|o| !file.contains(o.as_str())) {
            continue;
        }
        let trace = load(&dir.join(file), format);
        let mut runs: Vec<(u64, &str, usize, Option<usize>)> = Vec::new();
        let caps: Vec<usize> = match fixed {
            Some(c) => vec![c],
            None => percents
                .iter()
                .map(|p| ((trace.distinct as f64) * p / 100.0).round() as usize)
                .collect(),
        };
        for &c in &caps {
            runs.push((c as u64, "entries", c, None));
        }
        if let Some(sizes) = &trace.sizes {
            let mut seen = HashSet::new();
            let footprint: u64 = trace
                .keys
                .iter()
                .zip(sizes)
                .filter(|(k, _)| seen.insert(**k))
                .map(|(_, s)| *s as u64)
                .sum();
            for p in &percents {
                let b = ((footprint as f64) * p / 100.0).round() as usize;
                runs.push((b as u64, "bytes", 0, Some(b)));
            }
        }
        for (cap, unit, entries, bytes) in runs {
            let ours: Vec<f64> = policies
                .iter()
                .map(|&p| replay(&trace, p, entries, bytes, seed))
                .collect();
            let r = refs
                .get(&(file.to_string(), cap))
                .cloned()
                .unwrap_or_default();
            let get = |c: &str| r.get(c).copied();
            let best = ["wtinylfu", "s3fifo", "arc"]
                .iter()
                .filter_map(|c| get(c))
                .fold(f64::NAN, f64::max);
            let lru = get("lru");
            let target = match (best.is_nan(), lru) {
                (false, Some(l)) => Some((best - 1.0).max(l - 1.0)),
                (false, None) => Some(best - 1.0),
                (true, Some(l)) => Some(l - 1.0),
                _ => None,
            };
            let adaptive = policies
                .iter()
                .position(|&p| p == Policy::AllKeysAdaptive)
                .map(|i| ours[i]);
            let margin = match (adaptive, target) {
                (Some(a), Some(t)) => {
                    rows += 1;
                    if a >= t {
                        met += 1;
                    }
                    format!("{:+.2}", a - t)
                }
                _ => "—".into(),
            };
            let fmt = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.2}"));
            let mut cells: Vec<String> = ours.iter().map(|v| format!("{v:.2}")).collect();
            let opt = get("opt").or(get("belady"));
            cells.extend([
                fmt(opt),
                fmt(lru),
                fmt(get("arc")),
                fmt(get("wtinylfu")),
                fmt(get("s3fifo")),
                fmt(target),
                margin,
            ]);
            println!("| {file} | {cap} | {unit} | {} |", cells.join(" | "));
        }
    }
    if rows > 0 {
        println!("\nallkeys-adaptive meets max(best of wtinylfu/s3fifo/arc, lru) − 1 on {met} of {rows} rows");
    }
}
