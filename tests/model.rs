//! Model test: random operation sequences against a naive reference model,
//! for every policy, checking `validate()` and the budget after every step.
//!
//! For `allkeys-lru`, `volatile-lru`, `volatile-ttl` and `noeviction` the
//! model predicts every eviction exactly. For the LFU, random and adaptive
//! policies it accepts any eviction among the entries the policy may evict,
//! then adopts the cache's choice and goes on predicting everything else
//! (values, expiry, stale windows, cascades, tags, refusals) exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgecache::{
    write_charge, Cache, Config, Key, Lookup, OldEntry, Policy, Rng, Room, SetOptions, SetOutcome,
};
use std::collections::BTreeMap;

/// The operations' random source: the crate's SplitMix64.
struct Gen(Rng);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set {
        k: usize,
        len: usize,
        ttl: Option<u64>,
        grace: u64,
        tags: Vec<usize>,
        deps: Vec<usize>,
    },
    Get {
        k: usize,
        stale: bool,
    },
    Peek {
        k: usize,
    },
    Delete {
        k: usize,
    },
    Invalidate {
        k: usize,
    },
    InvalidateTag {
        t: usize,
    },
    Advance {
        ms: u64,
    },
    Clear,
}

const KEYS: usize = 24;
const TAGS: usize = 4;

fn key(k: usize) -> Vec<u8> {
    Key::Str(&format!("k{k}")).to_bytes()
}
fn tag(t: usize) -> Vec<u8> {
    format!("t{t}").into_bytes()
}

fn gen_op(g: &mut Gen, step: u64) -> Op {
    match g.below(100) {
        0..=39 => {
            let ttl = match g.below(3) {
                0 => None,
                1 => Some(0),
                // unique TTLs keep volatile-ttl's order free of ties
                _ => Some(50 + g.below(400) * 64 + step % 64),
            };
            let tags = (0..g.below(3))
                .map(|_| g.below(TAGS as u64) as usize)
                .collect();
            let deps = (0..g.below(3))
                .map(|_| g.below(KEYS as u64) as usize)
                .collect();
            Op::Set {
                k: g.below(KEYS as u64) as usize,
                len: g.below(48) as usize,
                ttl,
                grace: if g.chance(30) { g.below(200) } else { 0 },
                tags,
                deps,
            }
        }
        40..=64 => Op::Get {
            k: g.below(KEYS as u64) as usize,
            stale: g.chance(30),
        },
        65..=69 => Op::Peek {
            k: g.below(KEYS as u64) as usize,
        },
        70..=76 => Op::Delete {
            k: g.below(KEYS as u64) as usize,
        },
        77..=81 => Op::Invalidate {
            k: g.below(KEYS as u64) as usize,
        },
        82..=85 => Op::InvalidateTag {
            t: g.below(TAGS as u64) as usize,
        },
        86..=98 => Op::Advance { ms: g.below(120) },
        _ => {
            if g.chance(20) {
                Op::Clear
            } else {
                Op::Advance { ms: 1 }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct MEntry {
    value: Vec<u8>,
    charge: u64,
    expires: Option<u64>,
    dead_at: Option<u64>,
    tags: Vec<(usize, u64)>,
    deps: Vec<usize>,
    last_use: u64,
}

struct Model {
    policy: Policy,
    now: u64,
    tick: u64,
    entries: BTreeMap<usize, MEntry>,
    tag_gen: [u64; TAGS],
    exact: bool,
}

impl Model {
    fn tracked(&self, e: &MEntry) -> bool {
        match self.policy {
            Policy::NoEviction => false,
            p if p.is_volatile() => e.expires.is_some(),
            _ => true,
        }
    }
    fn visible(&self, e: &MEntry) -> bool {
        e.tags.iter().all(|&(t, g)| self.tag_gen[t] == g) && e.dead_at.is_none_or(|d| self.now < d)
    }
    fn drop_dead(&mut self) {
        let dead: Vec<usize> = self
            .entries
            .iter()
            .filter(|(_, e)| !self.visible(e))
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            self.entries.remove(&k);
        }
    }
    fn fresh(&self, k: usize) -> Option<&MEntry> {
        self.entries
            .get(&k)
            .filter(|e| e.expires.is_none_or(|x| self.now < x))
    }
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
    fn bytes(&self) -> u64 {
        self.entries.values().map(|e| e.charge).sum()
    }
    /// The exact victim for the exact policies.
    fn victim(&self) -> Option<usize> {
        let c = self.entries.iter().filter(|(_, e)| self.tracked(e));
        match self.policy {
            Policy::AllKeysLru | Policy::VolatileLru => {
                c.min_by_key(|(_, e)| e.last_use).map(|(k, _)| *k)
            }
            Policy::VolatileTtl => c.min_by_key(|(_, e)| e.dead_at).map(|(k, _)| *k),
            _ => None,
        }
    }
}

fn run(policy: Policy, seed: u64, steps: u64, max_entries: usize) {
    let max_bytes = 1400u64;
    let config = Config {
        max_bytes: max_bytes as usize,
        max_entries,
        policy,
        ..Config::default()
    };
    let mut cache = Cache::new(config, seed).unwrap();
    let exact = matches!(
        policy,
        Policy::AllKeysLru | Policy::VolatileLru | Policy::VolatileTtl | Policy::NoEviction
    );
    let mut m = Model {
        policy,
        now: 1_000,
        tick: 0,
        entries: BTreeMap::new(),
        tag_gen: [1; TAGS],
        exact,
    };
    let mut g = Gen(Rng::new(seed));
    let mut next_gen = 2u64;
    let mut stored = 0u64;
    let mut rejected = 0u64;
    for step in 0..steps {
        let op = gen_op(&mut g, step);
        m.tick += 1;
        let ctx = format!("policy {policy} seed {seed} step {step} op {op:?}");
        match op.clone() {
            Op::Set {
                k,
                len,
                ttl,
                grace,
                tags,
                deps,
            } => {
                let value: Vec<u8> = (0..len)
                    .map(|i| (i as u8).wrapping_add(step as u8))
                    .collect();
                let kb = key(k);
                let tag_bytes: Vec<Vec<u8>> = tags.iter().map(|&t| tag(t)).collect();
                let dep_bytes: Vec<Vec<u8>> = deps.iter().map(|&d| key(d)).collect();
                let tag_refs: Vec<&[u8]> = tag_bytes.iter().map(|t| t.as_slice()).collect();
                let dep_refs: Vec<&[u8]> = dep_bytes.iter().map(|d| d.as_slice()).collect();
                let opts = SetOptions {
                    ttl_ms: ttl,
                    grace_ms: Some(grace),
                    tags: &tag_refs,
                    depends_on: &dep_refs,
                    // Some writes record a load time (early refresh): it is charged.
                    load_ms: (len % 3 == 0).then_some(len as u32 + 1),
                };
                let eff_ttl = ttl.unwrap_or(0);
                let entry = edgecache::entry_bytes(policy, kb.len(), value.len());
                let charge = write_charge(entry, eff_ttl, &opts);
                // model's expectation
                m.drop_dead();
                let old = m.entries.get(&k).map(|e| OldEntry {
                    charge: e.charge,
                    tracked: m.tracked(e),
                });
                let room = Room {
                    bytes: m.bytes(),
                    max_bytes,
                    entries: m.entries.len(),
                    max_entries,
                    evictable_bytes: m
                        .entries
                        .values()
                        .filter(|e| m.tracked(e))
                        .map(|e| e.charge)
                        .sum(),
                    evictable_entries: m.entries.values().filter(|e| m.tracked(e)).count(),
                };
                let expect = if charge > max_bytes {
                    SetOutcome::TooLarge
                } else if !room.can_fit(charge, old) {
                    SetOutcome::NoRoom
                } else {
                    SetOutcome::Stored
                };
                let got = cache.set(&kb, &value, &opts, m.now).unwrap();
                assert_eq!(got, expect, "{ctx}");
                if got == SetOutcome::Stored {
                    stored += 1;
                    m.entries.remove(&k);
                    m.cascade(k);
                    if m.exact {
                        while m.bytes() + charge > max_bytes
                            || (max_entries > 0 && m.entries.len() + 1 > max_entries)
                        {
                            let v = m.victim().expect("model victim");
                            m.entries.remove(&v);
                        }
                    } else {
                        // adopt the cache's evictions, checking each was allowed
                        let gone: Vec<usize> = m
                            .entries
                            .keys()
                            .copied()
                            .filter(|&x| cache.probe(&key(x), m.now).is_none())
                            .collect();
                        for x in gone {
                            let e = m.entries.remove(&x).unwrap();
                            assert!(m.tracked(&e), "{ctx}: evicted untracked k{x}");
                        }
                        assert!(
                            m.bytes() + charge <= max_bytes,
                            "{ctx}: evicted more than needed? fits check"
                        );
                    }
                    let tags_now = tags.iter().map(|&t| (t, m.tag_gen[t])).collect();
                    let expires = ttl.filter(|&t| t > 0).map(|t| m.now + t);
                    m.entries.insert(
                        k,
                        MEntry {
                            value,
                            charge,
                            expires,
                            dead_at: expires.map(|x| x + grace),
                            tags: tags_now,
                            deps,
                            last_use: m.tick,
                        },
                    );
                } else {
                    rejected += 1;
                }
            }
            Op::Get { k, stale } => {
                m.drop_dead();
                let kb = key(k);
                let got = cache.get(&kb, m.now, stale);
                let want = match m.entries.get(&k) {
                    Some(e) if e.expires.is_none_or(|x| m.now < x) => {
                        Some((e.value.clone(), false))
                    }
                    Some(e) if stale => Some((e.value.clone(), true)),
                    _ => None,
                };
                match (got, want) {
                    (Lookup::Miss, None) => {}
                    (Lookup::Fresh(v), Some((w, false))) => assert_eq!(v, &w[..], "{ctx}"),
                    (Lookup::Stale { value, .. }, Some((w, true))) => {
                        assert_eq!(value, &w[..], "{ctx}")
                    }
                    (g, w) => panic!("{ctx}: got {g:?} want {w:?}"),
                }
                if let Some(e) = m.entries.get_mut(&k) {
                    if e.expires.is_none_or(|x| m.now < x) {
                        e.last_use = m.tick;
                    }
                }
            }
            Op::Peek { k } => {
                m.drop_dead();
                assert_eq!(
                    cache.peek(&key(k), m.now).map(|v| v.to_vec()),
                    m.fresh(k).map(|e| e.value.clone()),
                    "{ctx}"
                );
            }
            Op::Delete { k } => {
                m.drop_dead();
                let was = m.fresh(k).is_some();
                m.entries.remove(&k);
                m.cascade(k);
                assert_eq!(cache.delete(&key(k), m.now), was, "{ctx}");
            }
            Op::Invalidate { k } => {
                m.drop_dead();
                let mut n = usize::from(m.entries.remove(&k).is_some());
                n += m.cascade(k);
                assert_eq!(cache.invalidate(&key(k), m.now), n, "{ctx}");
            }
            Op::InvalidateTag { t } => {
                m.drop_dead();
                let n = m
                    .entries
                    .values()
                    .filter(|e| e.tags.iter().any(|&(x, _)| x == t))
                    .count();
                m.tag_gen[t] = next_gen;
                next_gen += 1;
                m.drop_dead();
                let got = cache.invalidate_tag(&tag(t));
                // entries expired or killed by another tag but not reclaimed yet still count
                assert!(got >= n, "{ctx}: {got} < {n}");
            }
            Op::Advance { ms } => {
                // Half the time, land exactly on (or 1 ms before) the next
                // expiry or end of a stale window: boundaries are where
                // off-by-one bugs live.
                let next = m
                    .entries
                    .values()
                    .flat_map(|e| [e.expires, e.dead_at])
                    .flatten()
                    .filter(|&t| t > m.now)
                    .min();
                match next {
                    Some(t) if ms % 2 == 0 => m.now = t - (ms / 2) % 2,
                    _ => m.now += ms,
                }
            }
            Op::Clear => {
                cache.clear();
                m.entries.clear();
            }
        }
        cache.validate();
        let s = cache.stats();
        assert!(s.bytes <= max_bytes, "{ctx}: budget");
        if max_entries > 0 {
            assert!(s.entries as usize <= max_entries, "{ctx}: entries");
        }
        assert_eq!(s.sets, stored, "{ctx}: sets");
        assert_eq!(s.rejected, rejected, "{ctx}: rejected");
        // every visible key agrees with the model, both ways
        m.drop_dead();
        for k in 0..KEYS {
            let got = cache.probe(&key(k), m.now).map(|(v, s)| (v.to_vec(), s));
            let want = m
                .entries
                .get(&k)
                .map(|e| (e.value.clone(), e.expires.is_some_and(|x| m.now >= x)));
            assert_eq!(got, want, "{ctx}: contents of k{k}");
        }
    }
}

#[test]
fn every_policy_agrees_with_the_model() {
    let steps: u64 = std::env::var("MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_000);
    for policy in Policy::ALL {
        for seed in 1..=6u64 {
            let max_entries = if seed % 3 == 0 { 9 } else { 0 };
            run(policy, seed * 7919, steps, max_entries);
        }
    }
}
