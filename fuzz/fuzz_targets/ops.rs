//! Random operation sequences against every policy: after each operation the
//! cache's structures must agree (`validate()`), the budget must hold, and
//! nothing may panic. The input's first byte picks the policy and limits;
//! each following op takes a few bytes. Some budgets and writes are large
//! enough for values stored in blocks (`edgecache::BLOCK` bytes or more).
#![no_main]

use edgecache::{Cache, Config, Key, KeyPart, Lookup, Policy, SetOptions};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
}

fn key(b: u8) -> Vec<u8> {
    match b % 4 {
        0 => Key::Str(&format!("k{}", b % 29)).to_bytes(),
        1 => Key::Num(f64::from(b % 17)).to_bytes(),
        2 => Key::Parts(&[KeyPart::Str("p"), KeyPart::Num(f64::from(b % 13))]).to_bytes(),
        _ => Key::Parts(&[KeyPart::Str(&"x".repeat((b % 7) as usize))]).to_bytes(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let Some(head) = input.next() else { return };
    let policy = Policy::ALL[(head % 9) as usize];
    let max_bytes = 300 + (head as usize / 9) * 40;
    // One cache in four is large enough for values that lie in blocks.
    let max_bytes = if (head >> 5) & 3 == 1 { max_bytes * 60 } else { max_bytes };
    let max_entries = if head & 0x80 != 0 { 1 + (head % 11) as usize } else { 0 };
    let config = Config { max_bytes, max_entries, policy, jitter: f64::from(head % 4) / 5.0, ..Config::default() };
    let Ok(mut cache) = Cache::new(config, u64::from(head)) else { return };
    let mut now = 0u64;
    while let Some(op) = input.next() {
        let a = input.next().unwrap_or(0);
        match op % 8 {
            0 | 1 => {
                let len = input.next().unwrap_or(0) as usize;
                // A write in eight is up to 3.1 blocks long.
                let len = if a % 8 == 7 { len * edgecache::BLOCK / 80 } else { len };
                let value: Vec<u8> = (0..len).map(|i| a.wrapping_add((i / 1000) as u8)).collect();
                let tags: Vec<Vec<u8>> = (0..a % 3).map(|i| vec![b't', i + a % 5]).collect();
                let deps: Vec<Vec<u8>> = (0..(a / 3) % 3).map(|i| key(a.wrapping_add(i * 7))).collect();
                let tag_refs: Vec<&[u8]> = tags.iter().map(|t| t.as_slice()).collect();
                let dep_refs: Vec<&[u8]> = deps.iter().map(|d| d.as_slice()).collect();
                let ttl = match a % 3 {
                    0 => None,
                    1 => Some(0),
                    _ => Some(u64::from(a) * 10 + 1),
                };
                let opts = SetOptions { ttl_ms: ttl, grace_ms: Some(u64::from(a % 4) * 20), tags: &tag_refs, depends_on: &dep_refs, load_ms: (a % 3 == 0).then_some(u32::from(a) + 1) };
                // Half the writes fill their value in place, as the wasm layer does.
                let outcome = if op % 8 == 0 {
                    cache.set(&key(a), &value, &opts, now)
                } else {
                    cache.set_with(&key(a), value.len(), &opts, now, |at, v| v.copy_from_slice(&value[at..at + v.len()]))
                };
                if outcome == Ok(edgecache::SetOutcome::Stored) && matches!(ttl, None | Some(0)) {
                    assert_eq!(cache.peek(&key(a), now).map(|v| v.to_vec()), Some(value), "a stored write reads back");
                }
            }
            2 => {
                if let Lookup::Fresh(v) | Lookup::Stale { value: v, .. } = cache.get(&key(a), now, a & 1 == 1) {
                    assert!(v.len() <= max_bytes);
                }
                let _ = cache.refresh_due(&key(a), now, f64::from(a % 4));
            }
            3 => {
                let _ = cache.delete(&key(a), now);
            }
            4 => {
                let _ = cache.invalidate(&key(a), now);
            }
            5 => {
                let _ = cache.invalidate_tag(&[b't', a % 7]);
            }
            6 => now += u64::from(a) * 3,
            _ => {
                if a == 0 {
                    cache.clear();
                } else {
                    let _ = cache.reclaim(now, a as usize % 5);
                }
            }
        }
        cache.validate();
        let s = cache.stats();
        assert!(s.bytes <= max_bytes as u64);
        assert!(max_entries == 0 || s.entries as usize <= max_entries);
    }
});
