//! Model test of the engine's index paths (tests/model.rs checks the
//! policies' choices on a few keys; this one the index under them): thousands
//! of keys of every length around the 48 bytes a miss remembers, so that
//! index tables grow and entries lie past their home buckets; reads followed
//! by a write of the same key with other operations in between (the miss
//! memo); TTLs set and overwritten without one (the index hint kept in an
//! entry's record); tags, `dependsOn` cascades, clears, reclaim sweeps,
//! snapshot loads (into an empty cache, the bulk path, and into a full one,
//! one by one) and tight budgets (evictions), against a map.
//!
//! Evictions are the one thing the model does not predict: it adopts them,
//! checking their count against the cache's counter. Everything else (values,
//! expiry, cascades, tags, what a load adds) it predicts exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgecache::{Cache, Config, Lookup, Policy, Rng, SetOptions, SetOutcome};
use std::collections::BTreeMap;

/// The operations' random source: the crate's SplitMix64.
struct Gen(Rng);
impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

const KEYS: usize = 5_000;
const TAGS: usize = 6;
/// Keys other entries depend on (few, so that cascades happen).
const ROOTS: usize = 40;

/// Key `k`: unique (its hex number, then a dot), 1 to 64 bytes long, so
/// that some are exactly 47, 48 and 49 bytes (the miss memo keeps ≤ 48).
fn key(k: usize) -> Vec<u8> {
    let len = 1 + (k * 7) % 64;
    let mut b = format!("{k:x}.").into_bytes();
    while b.len() < len {
        b.push(b'a' + (k % 26) as u8);
    }
    b
}
fn tag(t: usize) -> Vec<u8> {
    format!("tag{t}").into_bytes()
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    value: Vec<u8>,
    expires: Option<u64>,
    tags: Vec<usize>,
    deps: Vec<usize>,
}

/// A write's options, owned.
#[derive(Clone, Debug)]
struct Write {
    ttl: Option<u64>,
    tags: Vec<usize>,
    deps: Vec<usize>,
    len: usize,
}

fn gen_write(g: &mut Gen) -> Write {
    let ttl = match g.below(4) {
        0 | 1 => None,
        2 => Some(0),
        _ => Some(1 + g.below(300)),
    };
    let tags = if g.chance(20) {
        (0..1 + g.below(2)).map(|_| g.pick(TAGS)).collect()
    } else {
        vec![]
    };
    let deps = if g.chance(15) {
        (0..1 + g.below(2)).map(|_| g.pick(ROOTS)).collect()
    } else {
        vec![]
    };
    Write {
        ttl,
        tags,
        deps,
        len: g.pick(40),
    }
}

/// Writes `w` of key `k` (value from `stamp`) to `cache`.
fn write(cache: &mut Cache, k: usize, w: &Write, stamp: u64, now: u64) -> (SetOutcome, Entry) {
    let value: Vec<u8> = (0..w.len)
        .map(|i| (i as u64 ^ stamp.wrapping_mul(31) ^ k as u64) as u8)
        .collect();
    let tag_bytes: Vec<Vec<u8>> = w.tags.iter().map(|&t| tag(t)).collect();
    let dep_bytes: Vec<Vec<u8>> = w.deps.iter().map(|&d| key(d)).collect();
    let tag_refs: Vec<&[u8]> = tag_bytes.iter().map(|t| t.as_slice()).collect();
    let dep_refs: Vec<&[u8]> = dep_bytes.iter().map(|d| d.as_slice()).collect();
    let opts = SetOptions {
        ttl_ms: w.ttl,
        grace_ms: Some(0),
        tags: &tag_refs,
        depends_on: &dep_refs,
        load_ms: None,
    };
    let got = cache.set(&key(k), &value, &opts, now).unwrap();
    let entry = Entry {
        value,
        expires: w.ttl.filter(|&t| t > 0).map(|t| now + t),
        tags: w.tags.clone(),
        deps: w.deps.clone(),
    };
    (got, entry)
}

struct Model {
    now: u64,
    entries: BTreeMap<usize, Entry>,
}

impl Model {
    fn drop_dead(&mut self) {
        let now = self.now;
        self.entries
            .retain(|_, e| e.expires.is_none_or(|x| now < x));
    }
    /// Removes the entries built on `k`, transitively; how many.
    fn cascade(&mut self, k: usize) -> usize {
        let mut work = vec![k];
        let mut n = 0;
        while let Some(k) = work.pop() {
            let hit: Vec<usize> = self
                .entries
                .iter()
                .filter(|(_, e)| e.deps.contains(&k))
                .map(|(p, _)| *p)
                .collect();
            for p in hit {
                self.entries.remove(&p);
                n += 1;
                work.push(p);
            }
        }
        n
    }
}

struct Run {
    policy: Policy,
    cache: Cache,
    /// A second cache whose dumps the first loads.
    source: Cache,
    /// What was last written to `source` per key (its contents are the
    /// keys it still has).
    source_writes: BTreeMap<usize, Entry>,
    m: Model,
    g: Gen,
    stamp: u64,
    evictions: u64,
    /// The most keys a burst writes (fewer under a tight budget, where
    /// each write's evictions are adopted by a scan of the model).
    burst_max: usize,
    ctx: String,
}

impl Run {
    fn probe(&self, k: usize) -> Option<Vec<u8>> {
        self.cache.probe(&key(k), self.m.now).map(|(v, stale)| {
            assert!(!stale, "{}: no entry has a stale window", self.ctx);
            v.to_vec()
        })
    }

    /// The cache holds `k` exactly as the model says.
    fn check_key(&self, k: usize) {
        assert_eq!(
            self.probe(k),
            self.m.entries.get(&k).map(|e| e.value.clone()),
            "{}: k{k}",
            self.ctx
        );
    }

    /// Every key, and every structure.
    fn check_all(&self) {
        self.cache.validate();
        for k in 0..KEYS {
            self.check_key(k);
        }
        assert!(self.cache.len() >= self.m.entries.len(), "{}", self.ctx);
    }

    /// Removes from the model the entries the cache no longer has; which.
    fn drop_missing(&mut self) -> Vec<usize> {
        let gone: Vec<usize> = self
            .m
            .entries
            .keys()
            .copied()
            .filter(|&k| self.probe(k).is_none())
            .collect();
        for k in &gone {
            self.m.entries.remove(k);
        }
        gone
    }

    /// Adopts the evictions since the last call: the model's entries the
    /// cache no longer has, which must be as many as it counted beyond
    /// `extra` (entries it evicted that the model never had).
    fn adopt_evictions(&mut self, extra: u64) {
        let evictions = self.cache.stats().evictions;
        let new = evictions - self.evictions;
        self.evictions = evictions;
        if new == 0 {
            return;
        }
        let gone = self.drop_missing();
        assert_eq!(
            gone.len() as u64 + extra,
            new,
            "{}: evicted {gone:?}",
            self.ctx
        );
    }

    fn set(&mut self, k: usize, w: &Write) {
        self.stamp += 1;
        self.m.drop_dead();
        let (got, entry) = write(&mut self.cache, k, w, self.stamp, self.m.now);
        match got {
            SetOutcome::Stored => {
                self.m.entries.remove(&k);
                self.m.cascade(k);
                self.adopt_evictions(0);
                if entry.expires.is_none_or(|x| self.m.now < x) {
                    self.m.entries.insert(k, entry);
                }
            }
            refused => {
                // Eviction frees room for any write of these sizes.
                assert!(
                    !matches!(
                        self.policy,
                        Policy::AllKeysLru | Policy::AllKeysLfu | Policy::AllKeysRandom
                    ),
                    "{}: {refused:?}",
                    self.ctx
                );
                self.adopt_evictions(0);
            }
        }
        self.check_key(k);
    }

    fn get(&mut self, k: usize) -> bool {
        self.m.drop_dead();
        let got = match self.cache.get(&key(k), self.m.now, false) {
            Lookup::Fresh(v) => Some(v.to_vec()),
            Lookup::Stale { .. } => panic!("{}: no entry has a stale window", self.ctx),
            Lookup::Miss => None,
        };
        let want = self.m.entries.get(&k).map(|e| e.value.clone());
        assert_eq!(got, want, "{}: get k{k}", self.ctx);
        got.is_some()
    }

    fn delete(&mut self, k: usize) {
        self.m.drop_dead();
        let was = self.m.entries.remove(&k).is_some();
        self.m.cascade(k);
        assert_eq!(self.cache.delete(&key(k), self.m.now), was, "{}", self.ctx);
        self.check_key(k);
    }

    fn invalidate(&mut self, k: usize) {
        self.m.drop_dead();
        let mut n = usize::from(self.m.entries.remove(&k).is_some());
        n += self.m.cascade(k);
        assert_eq!(
            self.cache.invalidate(&key(k), self.m.now),
            n,
            "{}",
            self.ctx
        );
        self.check_key(k);
    }

    fn invalidate_tag(&mut self, t: usize) {
        self.m.drop_dead();
        let before = self.m.entries.len();
        self.m.entries.retain(|_, e| !e.tags.contains(&t));
        let n = before - self.m.entries.len();
        let got = self.cache.invalidate_tag(&tag(t));
        // Expired entries not reclaimed yet still carry it.
        assert!(got >= n, "{}: {got} < {n}", self.ctx);
    }

    fn clear(&mut self) {
        self.cache.clear();
        self.m.entries.clear();
    }

    /// Writes `n` random keys to the source cache (and `must`, if given).
    fn fill_source(&mut self, n: usize, must: Option<usize>) {
        for i in 0..n + usize::from(must.is_some()) {
            let k = match must {
                Some(k) if i == n => k,
                _ => self.g.pick(KEYS),
            };
            let mut w = gen_write(&mut self.g);
            // Plain now and then: the load's fastest path.
            if self.g.chance(50) {
                w.ttl = None;
                w.tags.clear();
                w.deps.clear();
            }
            self.stamp += 1;
            let (got, entry) = write(&mut self.source, k, &w, self.stamp, self.m.now);
            if got == SetOutcome::Stored {
                self.source_writes.insert(k, entry);
            }
        }
    }

    /// Loads the source's dump; the model gains each key it lacked that the
    /// cache now holds, with the source's entry.
    fn load_source(&mut self) {
        self.m.drop_dead();
        let now = self.m.now;
        let snapshot = self.source.dump(now, "bytes", &[]).unwrap();
        let in_source: BTreeMap<usize, Entry> = self
            .source_writes
            .iter()
            .filter(|(&k, _)| self.source.probe(&key(k), now).is_some())
            .map(|(&k, e)| (k, e.clone()))
            .collect();
        let loaded = self.cache.load(&snapshot, now).unwrap() as u64;
        // Keys the cache held keep their values, unless evicted.
        let evictions = self.cache.stats().evictions;
        let new_evictions = evictions - self.evictions;
        self.evictions = evictions;
        let gone = self.drop_missing();
        let mut added = 0u64;
        for (k, e) in in_source {
            if self.m.entries.contains_key(&k) {
                continue;
            }
            if let Some(v) = self.probe(k) {
                assert_eq!(v, e.value, "{}: loaded k{k}", self.ctx);
                self.m.entries.insert(k, e);
                added += 1;
            }
        }
        // Loaded then evicted by a later entry of the same load.
        let lost = loaded
            .checked_sub(added)
            .unwrap_or_else(|| panic!("{}: loaded {loaded}, added {added}", self.ctx));
        assert_eq!(
            gone.len() as u64 + lost,
            new_evictions,
            "{}: evictions during the load",
            self.ctx
        );
        self.check_all();
    }

    /// Loads a dump of the cache itself after clearing it: the same keys,
    /// the same count, all back.
    fn reload_self(&mut self) {
        self.m.drop_dead();
        let snapshot = self.cache.dump(self.m.now, "bytes", &[]).unwrap();
        self.cache.clear();
        let n = self.cache.load(&snapshot, self.m.now).unwrap();
        assert_eq!(n, self.m.entries.len(), "{}", self.ctx);
        self.adopt_evictions(0);
        self.check_all();
    }

    /// Writes many new keys in a row: index tables grow.
    fn burst(&mut self, n: usize) {
        let start = self.g.pick(KEYS);
        for i in 0..n {
            let k = (start + i) % KEYS;
            let w = gen_write(&mut self.g);
            self.set(k, &w);
        }
    }

    /// Any one operation but the miss-then-write sequence.
    fn op(&mut self) {
        match self.g.below(100) {
            0..=29 => {
                let k = self.g.pick(KEYS);
                let w = gen_write(&mut self.g);
                self.set(k, &w);
            }
            30..=49 => {
                // Read-through: a miss, then the write it was for.
                let k = self.g.pick(KEYS);
                if !self.get(k) {
                    let w = gen_write(&mut self.g);
                    self.set(k, &w);
                }
            }
            50..=62 => {
                let k = self.g.pick(KEYS);
                self.get(k);
            }
            63..=69 => {
                let k = self.g.pick(KEYS);
                self.delete(k);
            }
            70..=74 => {
                let k = self.g.pick(ROOTS);
                self.invalidate(k);
            }
            75..=77 => {
                let t = self.g.pick(TAGS);
                self.invalidate_tag(t);
            }
            78..=83 => self.m.now += self.g.below(60),
            84..=85 => {
                let max = self.g.pick(200);
                self.cache.reclaim(self.m.now, max);
            }
            86..=87 => {
                let n = self.g.pick(300);
                self.fill_source(n, None);
                if self.g.chance(40) {
                    self.clear();
                }
                self.load_source();
            }
            88 => self.reload_self(),
            89 => {
                let n = self.burst_max / 8 + self.g.pick(self.burst_max);
                self.burst(n);
            }
            90 => {
                if self.g.chance(30) {
                    self.clear();
                }
            }
            _ => {
                let k = self.g.pick(KEYS);
                self.miss_then_write(k);
            }
        }
    }

    /// A miss of `k`, something else, then a write of `k`: whatever came in
    /// between, the write must find (and replace) a `k` stored since.
    fn miss_then_write(&mut self, k: usize) {
        self.delete(k);
        assert!(!self.get(k), "{}", self.ctx);
        let between = self.g.below(11);
        self.ctx.push_str(&format!(" between {between}"));
        match between {
            0 => self.op(),
            1 => {
                // Stored since by a load into the emptied cache.
                self.clear();
                let n = self.g.pick(50);
                self.fill_source(n, Some(k));
                self.load_source();
            }
            2 => {
                // Stored since by a load into the cache as it is.
                let n = self.g.pick(50);
                self.fill_source(n, Some(k));
                self.load_source();
            }
            3 => {
                let w = gen_write(&mut self.g);
                self.set(k, &w);
            }
            4 => self.burst(self.burst_max),
            5 => self.clear(),
            6 => {
                // Another key missed, then this one again.
                let other = self.g.pick(KEYS);
                self.get(other);
                self.get(k);
            }
            7 => self.reload_self(),
            8 => {
                self.m.now += 1 + self.g.below(300);
                self.cache.reclaim(self.m.now, usize::MAX);
            }
            9 => {
                let t = self.g.pick(TAGS);
                self.invalidate_tag(t);
            }
            _ => {
                // Emptied by deletes (no clear), missed, then a load into
                // the empty cache: a bulk insert, which counts no change but
                // the entries it adds.
                let keys: Vec<usize> = self.m.entries.keys().copied().collect();
                for other in keys {
                    self.delete(other);
                }
                self.m.now += 301;
                self.cache.reclaim(self.m.now, usize::MAX);
                self.m.drop_dead();
                self.cache.invalidate_tag(b"never used");
                assert!(!self.get(k), "{}", self.ctx);
                if self.cache.is_empty() {
                    self.ctx.push_str(" (empty)");
                }
                let n = self.g.pick(50);
                self.fill_source(n, Some(k));
                self.load_source();
            }
        }
        let w = gen_write(&mut self.g);
        self.set(k, &w);
        if self.g.chance(50) {
            // Written twice: the second replaces the first.
            let w = gen_write(&mut self.g);
            self.set(k, &w);
        }
        self.cache.validate();
    }
}

fn run(policy: Policy, seed: u64, steps: u64, max_bytes: usize, max_entries: usize) {
    let config = Config {
        max_bytes,
        max_entries,
        policy,
        ..Config::default()
    };
    let mut r = Run {
        policy,
        cache: Cache::new(config.clone(), seed).unwrap(),
        source: Cache::new(
            Config {
                max_bytes: 32 << 20,
                max_entries: 0,
                ..config
            },
            seed + 1,
        )
        .unwrap(),
        source_writes: BTreeMap::new(),
        m: Model {
            now: 1_000,
            entries: BTreeMap::new(),
        },
        g: Gen(Rng::new(seed)),
        stamp: 0,
        evictions: 0,
        burst_max: if max_bytes < 1 << 20 { 300 } else { 1_600 },
        ctx: String::new(),
    };
    for step in 0..steps {
        r.ctx = format!("{policy} seed {seed} max {max_bytes}/{max_entries} step {step}");
        r.op();
        if step % 500 == 499 {
            r.m.drop_dead();
            r.check_all();
        }
    }
    r.m.drop_dead();
    r.check_all();
}

fn steps() -> u64 {
    std::env::var("CORE_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

#[test]
fn the_index_agrees_with_the_model_with_room_for_everything() {
    for policy in [
        Policy::AllKeysLru,
        Policy::AllKeysAdaptive,
        Policy::VolatileLru,
    ] {
        for seed in 1..=2u64 {
            run(policy, seed * 104_729, steps(), 32 << 20, 0);
        }
    }
}

#[test]
fn the_index_agrees_with_the_model_under_eviction() {
    for policy in [
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::AllKeysAdaptive,
        Policy::VolatileTtl,
        Policy::NoEviction,
    ] {
        for seed in 1..=2u64 {
            let max_entries = if seed == 2 { 900 } else { 0 };
            run(policy, seed * 7_919, steps(), 96 << 10, max_entries);
        }
    }
}
