//! The snapshot parser and loader against any bytes. The first input byte
//! picks the policies and the mode: the rest of the input as a snapshot as
//! it is; or a real snapshot (of a cache the input fills) with bytes flipped
//! and cut where the input says; or the same with its length and checksum
//! repaired, so that the parser's checks past the checksum are reached.
//! The source entries carry TTLs, stale windows, tags, `dependsOn` keys and
//! load times.
//! The cache loaded into holds one entry or none (an input of even or odd
//! length). A load either fails with `InvalidSnapshot` and leaves the cache exactly
//! as it was (its own dump is unchanged), or loads within the budget with
//! every structure consistent. Nothing may panic.
//! The same bytes also go through the piecewise reader of plain snapshots
//! (`PlainStream`, pieces of a size the input picks; the source cache then
//! holds plain entries for an input length divisible by 3): whatever it
//! takes, `Snapshot::parse` must take too, with the same header, totals
//! and entries.
#![no_main]

use edgecache::snapshot_stream::read_plain_in_pieces;
use edgecache::{snapshot_checksum, Cache, CacheError, Config, Key, Policy, SetOptions, Snapshot};
use libfuzzer_sys::fuzz_target;

fn key(b: u8) -> Vec<u8> {
    Key::Str(&format!("k{}", b % 23)).to_bytes()
}

/// A cache with entries of every kind, chosen by `data`.
fn source(policy: Policy, data: &[u8], plain: bool) -> Cache {
    let mut cache = Cache::new(Config { policy, max_bytes: 1 << 16, ..Config::default() }, 3).unwrap();
    for chunk in data.chunks(2).take(24) {
        let a = chunk[0];
        let b = chunk.get(1).copied().unwrap_or(0);
        let value: Vec<u8> = (0..b % 40).collect();
        let tags: Vec<Vec<u8>> = (0..a % 3).map(|i| vec![b't', i + b % 3]).collect();
        let deps: Vec<Vec<u8>> = (0..(a / 3) % 3).map(|i| key(a.wrapping_add(i * 5))).collect();
        let tag_refs: Vec<&[u8]> = tags.iter().map(|t| t.as_slice()).collect();
        let dep_refs: Vec<&[u8]> = deps.iter().map(|d| d.as_slice()).collect();
        let ttl = if a % 2 == 0 { None } else { Some(u64::from(b) * 7 + 1) };
        if plain {
            let _ = cache.set(&key(a), &value, &SetOptions::default(), 0);
            continue;
        }
        let opts = SetOptions { ttl_ms: ttl, grace_ms: Some(u64::from(a % 3) * 50), tags: &tag_refs, depends_on: &dep_refs, load_ms: (b % 4 == 1).then_some(u32::from(b) + 1) };
        let _ = cache.set(&key(a), &value, &opts, u64::from(a));
    }
    cache
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let from = Policy::ALL[(head % 9) as usize];
    let to = Policy::ALL[((head / 9) % 9) as usize];
    let now = u64::from(head) * 4;
    let snapshot = match head % 3 {
        0 => rest.to_vec(),
        mode => {
            let (fill, edits) = rest.split_at(rest.len().min(48));
            let mut s = source(from, fill, data.len() % 3 == 0).dump(now, "json", b"[]").unwrap();
            for e in edits.chunks(3) {
                if e.len() < 3 || s.is_empty() {
                    break;
                }
                let at = usize::from(u16::from_le_bytes([e[0], e[1]])) % s.len();
                if e[2] == 0 {
                    s.truncate(at);
                } else {
                    s[at] ^= e[2];
                }
            }
            if mode == 2 && s.len() >= 28 {
                let len = s.len() as u64;
                s[12..20].copy_from_slice(&len.to_le_bytes());
                let sum = snapshot_checksum(&s[..s.len() - 8]);
                let end = s.len();
                s[end - 8..].copy_from_slice(&sum.to_le_bytes());
            }
            s
        }
    };
    let piece = 1 + data.len() % 41;
    let mut streamed = Vec::new();
    if let Some((h, totals)) = read_plain_in_pieces(&snapshot, piece, |k, v| streamed.push((k.to_vec(), v.to_vec()))) {
        let snap = Snapshot::parse(&snapshot).expect("the stream took a snapshot the parser refuses");
        assert_eq!(snap.plain_totals(), Some(totals));
        let head = snap.header();
        assert_eq!((head.codec, head.codec_state, head.taken_at, head.entries), (h.codec.as_str(), h.codec_state.as_slice(), h.taken_at, h.entries));
        let parsed: Vec<_> = snap.plain_entries().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(parsed, streamed);
    }
    let max_bytes = 200 + usize::from(head) * 40;
    let config = Config { policy: to, max_bytes, max_entries: usize::from(head % 4) * 3, ..Config::default() };
    let mut cache = Cache::new(config, 9).unwrap();
    // A cache holding an entry, or an empty one (whose load stores entries
    // before it indexes them).
    if data.len() % 2 == 0 {
        let _ = cache.set(&key(1), b"mine", &SetOptions::default(), 0);
    }
    let before = cache.dump(now, "json", &[]).unwrap();
    match cache.load(&snapshot, now) {
        Ok(_) => {}
        Err(CacheError::InvalidSnapshot(_)) => {
            assert_eq!(cache.dump(now, "json", &[]).unwrap(), before, "a bad snapshot changed the cache");
        }
        Err(e) => panic!("load failed with {e}"),
    }
    cache.validate();
    let s = cache.stats();
    assert!(s.bytes <= max_bytes as u64);
});
