//! wasm-bindgen-test tests of the bindings, run in Node and in headless
//! Chromium (`WASM_BINDGEN_USE_BROWSER=1`). They drive `WasmCache` exactly as
//! the JS layer does: bytes in the I/O buffer, lengths across the boundary.
#![cfg(all(target_arch = "wasm32", feature = "wasm"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgecache::wasm::{
    constants, WasmCache, WasmSnapshot, WasmSnapshotStream, BAD_LAYOUT, FRESH, INVALID_TTL,
    INVALID_WINDOW, MAX_STAGED, MISS, NOT_READY, NO_ROOM, STORED, TOO_LARGE,
};
use edgecache::{Key, BLOCK};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn cache() -> WasmCache {
    let mut c = WasmCache::new(options(&[("maxMemory", 1_000_000.into())])).unwrap();
    c.init().unwrap();
    c
}

fn stage(c: &mut WasmCache, parts: &[&[u8]]) -> usize {
    let io = c.io_mut();
    io.clear();
    for p in parts {
        io.extend_from_slice(p);
    }
    io.len()
}

/// A byte view of the module's linear memory (taken afresh: memory may grow).
fn memory() -> js_sys::Uint8Array {
    let mem: js_sys::WebAssembly::Memory = wasm_bindgen::memory().dyn_into().unwrap();
    js_sys::Uint8Array::new(&mem.buffer())
}

/// The `(address, length)` pairs of the last reported value's pieces.
fn reported_pieces(c: &WasmCache) -> Vec<(u32, usize)> {
    let (list, _) = c.last_value();
    let words = js_sys::Uint32Array::new(&memory().buffer());
    (0..c.last_pieces())
        .map(|i| {
            let at = list / 4 + 2 * i;
            (words.get_index(at), words.get_index(at + 1) as usize)
        })
        .collect()
}

fn field(v: &JsValue, name: &str) -> f64 {
    js_sys::Reflect::get(v, &JsValue::from_str(name))
        .unwrap()
        .as_f64()
        .unwrap()
}

#[wasm_bindgen_test]
fn set_then_get_reports_the_value() {
    let mut c = cache();
    let k = Key::Str("A0012345:EA:S170").to_bytes();
    stage(&mut c, &[&k, b"value"]);
    assert_eq!(c.set(k.len(), 5, -1.0, -1.0, 0, 0, 1000.0), 0);
    stage(&mut c, &[&k]);
    assert_eq!(c.get(k.len(), 1000.0, false), 0);
    assert_eq!(c.last_value().1, 5);
    assert_eq!(c.has(k.len(), 1000.0), 1);
    let stats = c.stats().unwrap();
    assert_eq!(field(&stats, "hits"), 1.0);
    assert_eq!(field(&stats, "entries"), 1.0);
    assert_eq!(field(&stats, "maxMemory"), 1_000_000.0);
}

#[wasm_bindgen_test]
fn seeds_come_from_getrandom() {
    // No seed given: the first use draws one through crypto.getRandomValues.
    let mut c = cache();
    let k = Key::Num(1.0).to_bytes();
    stage(&mut c, &[&k, b"v"]);
    assert_eq!(c.set(k.len(), 1, -1.0, -1.0, 0, 0, 0.0), 0);
}

#[wasm_bindgen_test]
fn bad_options_become_js_errors() {
    let bad_policy = WasmCache::new(options(&[
        ("maxMemory", 10.into()),
        ("policy", "lru".into()),
    ]));
    let err = bad_policy.err().expect("unknown policy is an error");
    assert!(err.is_instance_of::<js_sys::TypeError>());
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("UNKNOWN_POLICY"));
    let zero = WasmCache::new(options(&[("maxMemory", 0.into())]))
        .err()
        .unwrap();
    assert!(zero.is_instance_of::<js_sys::RangeError>());
    let ttl = WasmCache::new(options(&[("maxMemory", 10.into()), ("ttl", 1e17.into())]));
    assert!(ttl.err().unwrap().is_instance_of::<js_sys::RangeError>());
    let shape = WasmCache::new(JsValue::from_str("nope")).err().unwrap();
    assert!(shape.is_instance_of::<js_sys::TypeError>());
    assert!(WasmCache::new(options(&[("maxMemory", 10.into()), ("jitter", 1.into())])).is_err());
    assert!(WasmCache::new(JsValue::from_str("nope")).is_err());
}

#[wasm_bindgen_test]
fn garbage_lengths_are_errors_not_traps() {
    let mut c = cache();
    stage(&mut c, &[b"\x01k"]);
    assert_eq!(
        c.get(1000, 0.0, false),
        BAD_LAYOUT,
        "a key past the staged bytes"
    );
    assert_eq!(c.set(2, 1_000_000, -1.0, -1.0, 0, 0, 0.0), BAD_LAYOUT);
    assert_eq!(
        c.set(2, 0, -1.0, -1.0, 5, 0, 0.0),
        BAD_LAYOUT,
        "tag list past the buffer"
    );
    stage(&mut c, &[b"\x01k", &[0xff, 0xff, 0xff, 0xff]]);
    assert_eq!(
        c.set(2, 0, -1.0, -1.0, 1, 0, 0.0),
        BAD_LAYOUT,
        "tag length past the buffer"
    );
    assert!(
        c.invalidate_tag(100).is_err(),
        "a tag length past the buffer"
    );
    // odd clocks clamp instead of trapping
    stage(&mut c, &[b"\x01k", b"v"]);
    assert_eq!(c.set(2, 1, f64::NAN, f64::INFINITY, 0, 0, -5.0), 0);
    stage(&mut c, &[b"\x01k"]);
    assert_eq!(c.get(2, f64::NAN, true), 0);
    assert_eq!(c.stats().map(|s| field(&s, "entries")).unwrap(), 1.0);
}

#[wasm_bindgen_test]
fn tags_and_dependencies_cross_the_boundary() {
    let mut c = cache();
    let child = Key::Str("child").to_bytes();
    let parent = Key::Str("parent").to_bytes();
    stage(&mut c, &[&child, b"1"]);
    assert_eq!(c.set(child.len(), 1, -1.0, -1.0, 0, 0, 0.0), 0);
    let tag = b"catalogue";
    stage(
        &mut c,
        &[
            &parent,
            b"2",
            &(tag.len() as u32).to_le_bytes(),
            tag,
            &(child.len() as u32).to_le_bytes(),
            &child,
        ],
    );
    assert_eq!(c.set(parent.len(), 1, -1.0, -1.0, 1, 1, 0.0), 0);
    stage(&mut c, &[&child]);
    assert_eq!(
        c.invalidate(child.len(), 0.0).unwrap(),
        2,
        "child and its dependent"
    );
    stage(
        &mut c,
        &[&parent, b"2", &(tag.len() as u32).to_le_bytes(), tag],
    );
    assert_eq!(c.set(parent.len(), 1, -1.0, -1.0, 1, 0, 0.0), 0);
    stage(&mut c, &[tag]);
    assert_eq!(c.invalidate_tag(tag.len()).unwrap(), 1);
    stage(&mut c, &[&parent]);
    assert_eq!(c.get(parent.len(), 0.0, false), -1);
}

#[wasm_bindgen_test]
fn refusals_are_results() {
    let mut c = WasmCache::new(options(&[
        ("maxMemory", 200.into()),
        ("policy", "noeviction".into()),
    ]))
    .unwrap();
    assert_eq!(c.set(0, 0, -1.0, -1.0, 0, 0, 0.0), NOT_READY, "before init");
    c.init().unwrap();
    let k = Key::Str("k").to_bytes();
    let big = [7u8; 300];
    stage(&mut c, &[&k, &big]);
    assert_eq!(
        c.set(k.len(), big.len(), -1.0, -1.0, 0, 0, 0.0),
        1,
        "too large"
    );
    stage(&mut c, &[&k, b"v"]);
    assert_eq!(c.set(k.len(), 1, -1.0, -1.0, 0, 0, 0.0), 0);
    let k2 = Key::Str("k2").to_bytes();
    stage(&mut c, &[&k2, &[1u8; 170]]);
    assert_eq!(c.set(k2.len(), 170, -1.0, -1.0, 0, 0, 0.0), 2, "no room");
    assert_eq!(c.stats().map(|s| field(&s, "rejected")).unwrap(), 2.0);
}

#[wasm_bindgen_test]
fn constants_carry_every_status_and_limit() {
    let c = constants();
    for (name, value) in [
        ("MISS", MISS),
        ("FRESH", FRESH),
        ("STORED", STORED),
        ("TOO_LARGE", TOO_LARGE),
        ("NO_ROOM", NO_ROOM),
        ("BAD_LAYOUT", BAD_LAYOUT),
        ("NOT_READY", NOT_READY),
        ("INVALID_TTL", INVALID_TTL),
        ("INVALID_WINDOW", INVALID_WINDOW),
    ] {
        assert_eq!(field(&c, name), f64::from(value), "{name}");
    }
    assert_eq!(field(&c, "MAX_STAGED"), MAX_STAGED as f64);
    assert_eq!(
        field(&c, "MAX_TTL_MS"),
        edgecache::expiry::MAX_TTL_MS as f64
    );
}

#[wasm_bindgen_test]
fn ttls_above_the_max_are_their_own_status() {
    let mut c = cache();
    let k = Key::Str("k").to_bytes();
    stage(&mut c, &[&k, b"v"]);
    assert_eq!(c.set(k.len(), 1, 1e17, -1.0, 0, 0, 0.0), INVALID_TTL);
    assert_eq!(c.set(k.len(), 1, -1.0, 1e17, 0, 0, 0.0), INVALID_WINDOW);
    assert_eq!(
        c.set(k.len(), 1, 9_007_199_254_740_992.0, -1.0, 0, 0, 0.0),
        STORED
    );
}

#[wasm_bindgen_test]
fn large_values_are_written_in_place_after_the_checks() {
    let mut c = WasmCache::new(options(&[("maxMemory", 200_000.into())])).unwrap();
    c.init().unwrap();
    let k = Key::Str("big").to_bytes();
    stage(&mut c, &[&k]);
    assert_eq!(
        c.set_in_place(k.len(), 300_000, -1.0, -1.0, 0, 0, 0.0),
        TOO_LARGE
    );
    assert_eq!(c.stats().map(|s| field(&s, "entries")).unwrap(), 0.0);
    assert_eq!(
        c.set_in_place(k.len(), 100_000, -1.0, -1.0, 0, 0, 0.0),
        STORED
    );
    // 100,000 bytes lie in whole 8 KiB blocks and a tail: the result block
    // points at their (address, length) pairs. Fill them as JS does.
    let (_, len) = c.last_value();
    assert_eq!(len, 100_000);
    let pieces = c.last_pieces();
    assert_eq!(pieces as usize, 100_000 / BLOCK + 1);
    let value: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut at = 0;
    for (addr, n) in reported_pieces(&c) {
        memory().set(&js_sys::Uint8Array::from(&value[at..at + n]), addr);
        at += n;
    }
    assert_eq!(at, value.len());
    stage(&mut c, &[&k]);
    assert_eq!(c.get(k.len(), 0.0, false), FRESH);
    assert_eq!(c.last_value().1, 100_000);
    assert_eq!(c.last_pieces(), pieces);
    let mut read = Vec::new();
    for (addr, n) in reported_pieces(&c) {
        read.extend(memory().subarray(addr, addr + n as u32).to_vec());
    }
    assert!(
        read == value,
        "the value reads back from its pieces, in order"
    );
    assert!(c.io_mut().len() <= MAX_STAGED);
}

#[wasm_bindgen_test]
fn keys_longer_than_the_io_buffer_are_misses() {
    let mut c = cache();
    let long = MAX_STAGED + 1;
    assert_eq!(c.get(long, 0.0, false), MISS);
    assert_eq!(c.peek(long, 0.0), MISS);
    assert_eq!(c.has(long, 0.0), 0);
    assert_eq!(c.delete(long, 0.0), 0);
    assert_eq!(c.invalidate(long, 0.0).unwrap(), 0);
    assert_eq!(c.invalidate_tag(long).unwrap(), 0);
    assert!(
        c.io(long).is_err(),
        "the I/O buffer never grows past MAX_STAGED"
    );
    c.refuse();
    let stats = c.stats().unwrap();
    assert_eq!(field(&stats, "misses"), 1.0);
    assert_eq!(field(&stats, "rejected"), 1.0);
}

#[wasm_bindgen_test]
fn internal_faults_say_so() {
    let mut c = cache();
    stage(&mut c, &[b"\x01k"]);
    let err = c.invalidate(100, 0.0).err().unwrap();
    let msg = js_sys::Error::from(err).message().as_string().unwrap();
    assert!(msg.contains("internal fault"), "{msg}");
}

/// Stages a snapshot for `load` as the JS layer does: handed over in
/// pieces (odd-sized here, so that they split fields), then checked.
fn staged_snapshot(bytes: &[u8]) -> (WasmSnapshot, Result<JsValue, JsValue>) {
    let mut snap = WasmSnapshot::new(bytes.len()).unwrap();
    for piece in bytes.chunks(7) {
        snap.append(&js_sys::Uint8Array::from(piece)).unwrap();
    }
    let header = snap.check();
    (snap, header)
}

#[wasm_bindgen_test]
fn a_snapshot_piece_past_its_length_or_after_the_check_is_refused() {
    let mut a = cache();
    let n = stage(&mut a, &[b"\x01k", b"v"]);
    assert_eq!(a.set(n - 1, 1, -1.0, -1.0, 0, 0, 0.0), STORED);
    let bytes = a.dump(0.0, "json", b"[]").unwrap().to_vec();
    let mut snap = WasmSnapshot::new(bytes.len() - 1).unwrap();
    let err = snap
        .append(&js_sys::Uint8Array::from(&bytes[..]))
        .err()
        .unwrap();
    let msg = js_sys::Error::from(err).message().as_string().unwrap();
    assert!(msg.contains("internal fault"), "{msg}");
    let (mut snap, header) = staged_snapshot(&bytes);
    header.unwrap();
    assert!(snap.append(&js_sys::Uint8Array::from(&b"x"[..])).is_err());
    let mut b = cache();
    assert_eq!(
        b.load(&snap, 0.0).unwrap(),
        1,
        "the checked bytes load as they were"
    );
}

#[wasm_bindgen_test]
fn a_dump_loads_into_another_cache_and_a_broken_one_is_a_type_error() {
    let mut a = cache();
    let k = Key::Str("sku").to_bytes();
    let n = stage(&mut a, &[&k, b"42"]);
    assert_eq!(a.set(n - 2, 2, 60_000.0, -1.0, 0, 0, 1_000.0), STORED);
    let bytes = a.dump(1_000.0, "json", b"[]").unwrap().to_vec();
    let (snap, header) = staged_snapshot(&bytes);
    let header = header.unwrap();
    assert_eq!(field(&header, "entries"), 1.0);
    assert_eq!(field(&header, "takenAt"), 1_000.0);
    let mut b = cache();
    assert_eq!(b.load(&snap, 2_000.0).unwrap(), 1);
    let n = stage(&mut b, &[&k]);
    assert_eq!(b.get(n, 60_999.0, false), FRESH);
    assert_eq!(b.get(n, 61_000.0, false), MISS, "the absolute expiry");
    let mut cut = bytes.clone();
    cut.truncate(bytes.len() - 3);
    let (bad, header) = staged_snapshot(&cut);
    let err = header.unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>(), "{err:?}");
    let message = js_sys::Reflect::get(&err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(message.contains("truncated"), "{message}");
    assert!(
        b.load(&bad, 0.0).is_err(),
        "an unchecked snapshot is not loaded"
    );
}

/// A plain snapshot streamed in odd-sized pieces (split fields and
/// entries): checked, then loaded piece by piece; a changed byte is
/// refused by the check, with nothing to load; pieces out of order are
/// internal faults, not traps.
#[wasm_bindgen_test]
fn a_plain_snapshot_streams_in_pieces_and_a_changed_one_is_refused() {
    let mut a = cache();
    for i in 0..40u8 {
        let k = Key::Str(&format!("k{i}")).to_bytes();
        let n = stage(&mut a, &[&k, &[i; 9]]);
        assert_eq!(a.set(n - 9, 9, -1.0, -1.0, 0, 0, 0.0), STORED);
    }
    let bytes = a.dump(0.0, "json", b"[]").unwrap().to_vec();
    let stream = |bytes: &[u8]| {
        let mut s = WasmSnapshotStream::new(bytes.len() as f64);
        let all = bytes
            .chunks(7)
            .all(|p| s.check_piece(&js_sys::Uint8Array::from(p)));
        (s, all)
    };
    let mut b = cache();
    let (mut s, all) = stream(&bytes);
    assert!(all);
    let piece = js_sys::Uint8Array::from(&bytes[..7]);
    assert!(
        b.load_piece(&mut s, &piece, 0.0).is_err(),
        "a piece before load_begin"
    );
    let header = s.checked();
    assert_eq!(field(&header, "entries"), 40.0);
    assert!(b.load_begin(&mut s, 0.0).unwrap());
    for p in bytes.chunks(7) {
        b.load_piece(&mut s, &js_sys::Uint8Array::from(p), 0.0)
            .unwrap();
    }
    assert!(
        b.load_piece(&mut s, &piece, 0.0).is_err(),
        "a piece past the end"
    );
    assert_eq!(b.load_end(&mut s).unwrap(), 40);
    assert_eq!(b.dump(0.0, "json", b"[]").unwrap().to_vec(), bytes);

    let mut changed = bytes.clone();
    changed[bytes.len() / 2] ^= 1;
    let (mut s, all) = stream(&changed);
    assert!(!all || s.checked().is_null());
    let mut c = cache();
    assert!(
        c.load_begin(&mut s, 0.0).is_err(),
        "no load of a refused stream"
    );
    assert!(c.load_end(&mut s).is_err());
}
