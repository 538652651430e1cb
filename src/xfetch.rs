//! Early refresh: the XFetch decision (Vattani, Chierichetti, Lowenstein,
//! "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015).
//!
//! A read of a fresh entry asks for one refresh ahead of expiry when
//! `now − delta · beta · ln(U) ≥ expires_at`, with `delta` how long the
//! entry's last load took, `U` uniform in (0, 1] and `beta` the caller's
//! eagerness (0 off, 1 the paper's default, more refreshes earlier). The
//! probability rises from nothing, far from expiry, towards certainty at
//! expiry, and most of the mass lies within a few `delta · beta` of it: a
//! hot key is reloaded just before it expires, by one reader, while the
//! others keep reading the old value.
//!
//! The core has no `libm` (`no_std`), so `ln` is computed here.

use crate::rng::Rng;

/// `−ln(U)` for `U` drawn as `1 − next_f64()` is at most `53 · ln 2 ≈ 36.8`
/// (the smallest `U` is 2⁻⁵³): farther from expiry than this many
/// `delta · beta`, no draw can ask for a refresh, and none is drawn.
const MAX_EXP_DRAW: f64 = 36.8;

/// Whether a read at `now` of an entry fresh until `expires_at`, whose last
/// load took `delta_ms`, should start a refresh. Draws `U` from `rng` only
/// when the answer is not certain.
///
/// ```
/// use edgecache::{xfetch, Rng};
/// let mut rng = Rng::new(7);
/// // beta 0 is off, however close to expiry
/// assert!(!xfetch::due(999, 1000, 200, 0.0, &mut rng));
/// // an hour before expiry a 200 ms load is never refreshed
/// assert!(!xfetch::due(0, 3_600_000, 200, 1.0, &mut rng));
/// ```
pub fn due(now: u64, expires_at: u64, delta_ms: u32, beta: f64, rng: &mut Rng) -> bool {
    // NaN and negative beta are off too; the host validates them before.
    if !(beta > 0.0 && beta.is_finite()) || delta_ms == 0 || now >= expires_at {
        return false;
    }
    let gap = (expires_at - now) as f64;
    let scale = f64::from(delta_ms) * beta;
    if gap > scale * MAX_EXP_DRAW {
        return false;
    }
    let u = 1.0 - rng.next_f64(); // (0, 1]
    -ln(u) * scale >= gap
}

/// The natural logarithm of a positive, normal `x` (what `due` needs: `x` in
/// (0, 1], never below 2⁻⁵³): `x = m · 2ᵉ` with `m` in [√½, √2), then
/// `ln m = 2 atanh((m − 1)/(m + 1))` by its series, whose ratio is below
/// 0.03 there (a dozen terms reach full precision). 0 and below give −∞.
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 || x < f64::MIN_POSITIVE {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let bits = x.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52)); // [1, 2)
    if m > core::f64::consts::SQRT_2 {
        m /= 2.0;
        exp += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut term, mut sum) = (s, 0.0);
    for k in 0..14u32 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    2.0 * sum + exp as f64 * core::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{entry_bytes, write_charge, Cache, Config, Key, Policy, SetOptions};
    use crate::{SetOutcome, LOAD_TIME_OVERHEAD};

    fn due_within(cache: &mut Cache, key: &[u8], now: u64, tries: usize) -> bool {
        (0..tries).any(|_| cache.refresh_due(key, now, 1.0))
    }

    #[test]
    fn the_load_time_goes_with_its_entry() {
        let config = Config {
            max_bytes: 4096,
            ..Config::default()
        };
        let mut cache = Cache::new(config, 9).unwrap();
        let k = Key::Str("hot").to_bytes();
        let loaded = SetOptions {
            ttl_ms: Some(10_000),
            load_ms: Some(200),
            ..SetOptions::default()
        };
        let plain = SetOptions {
            ttl_ms: Some(10_000),
            ..SetOptions::default()
        };
        cache.set(&k, b"v", &loaded, 0).unwrap();
        assert!(
            due_within(&mut cache, &k, 9_990, 50),
            "recorded: refreshed near expiry"
        );
        // Replaced by a write without a load time: none is left.
        cache.set(&k, b"v", &plain, 0).unwrap();
        assert!(!due_within(&mut cache, &k, 9_990, 200), "replaced");
        // Deleted, evicted, invalidated: a new entry under the key starts without one.
        for end in ["delete", "evict", "invalidate"] {
            cache.set(&k, b"v", &loaded, 0).unwrap();
            match end {
                "delete" => assert!(cache.delete(&k, 0)),
                "invalidate" => assert_eq!(cache.invalidate(&k, 0), 1),
                _ => {
                    for i in 0..200 {
                        let filler = Key::Str(&std::format!("filler{i}")).to_bytes();
                        cache.set(&filler, &[0; 40], &plain, 0).unwrap();
                    }
                    assert!(!cache.has(&k, 0), "evicted");
                }
            }
            cache.set(&k, b"v", &plain, 0).unwrap();
            assert!(!due_within(&mut cache, &k, 9_990, 200), "after {end}");
            cache.validate();
        }
    }

    #[test]
    fn an_entry_with_a_load_time_is_charged_for_its_record() {
        let mut cache = Cache::new(Config::default(), 9).unwrap();
        let (a, b) = (Key::Str("a").to_bytes(), Key::Str("b").to_bytes());
        let plain = SetOptions::default();
        let loaded = SetOptions {
            load_ms: Some(1),
            ..SetOptions::default()
        };
        assert_eq!(cache.set(&a, b"v", &plain, 0), Ok(SetOutcome::Stored));
        let before = cache.bytes();
        assert_eq!(cache.set(&b, b"v", &loaded, 0), Ok(SetOutcome::Stored));
        let entry = entry_bytes(Policy::AllKeysLru, b.len(), 1);
        assert_eq!(cache.bytes() - before, write_charge(entry, 0, &loaded));
        assert_eq!(
            write_charge(entry, 0, &loaded),
            write_charge(entry, 0, &plain) + LOAD_TIME_OVERHEAD as u64
        );
        assert!(
            !cache.refresh_due(&b, 0, 1.0),
            "no TTL: nothing to refresh ahead of"
        );
        cache.validate();
    }

    #[test]
    fn ln_matches_std() {
        let mut x = 1.0f64;
        while x > 1e-300 {
            for f in [1.0, 0.93, 0.75, 0.5001, 0.3] {
                let v = x * f;
                let (a, b) = (ln(v), std::primitive::f64::ln(v));
                assert!(
                    (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                    "ln({v}) = {a}, std {b}"
                );
            }
            x /= 3.7;
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(f64::NAN).is_nan());
    }

    #[test]
    fn the_refresh_probability_follows_exp_of_minus_gap_over_delta_beta() {
        // P(due) = exp(−gap / (delta · beta)): at gap = delta · beta, 1/e.
        let mut rng = Rng::new(42);
        let n = 100_000;
        for (gap, beta) in [(200u64, 1.0), (400, 2.0), (100, 1.0), (600, 1.0)] {
            let hits = (0..n)
                .filter(|_| due(10_000 - gap, 10_000, 200, beta, &mut rng))
                .count();
            let want = (-(gap as f64) / (200.0 * beta)).exp() * n as f64;
            let sd = (want * (1.0 - want / n as f64)).sqrt();
            assert!(
                (hits as f64 - want).abs() < 5.0 * sd + 1.0,
                "gap {gap} beta {beta}: {hits}, want {want}"
            );
        }
    }

    #[test]
    fn off_expired_or_unknown_load_time_never_refreshes_and_draws_nothing() {
        let mut rng = Rng::new(1);
        let before = rng.clone().next_u64();
        for beta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(!due(999, 1000, 200, beta, &mut rng));
        }
        assert!(
            !due(1000, 1000, 200, 1.0, &mut rng),
            "expired: the stale path's"
        );
        assert!(!due(999, 1000, 0, 1.0, &mut rng), "no load time");
        assert!(!due(0, 200 * 37 + 1, 200, 1.0, &mut rng), "too far");
        assert_eq!(rng.next_u64(), before, "no draw was made");
    }
}
