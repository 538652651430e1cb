//! Keys: an injective byte encoding of string, number and composite keys, and
//! the per-cache seeded hash over those bytes.
//!
//! Encoding (the first byte is the key's kind, so no two kinds can collide):
//!
//! | key                | bytes                                                        |
//! |--------------------|--------------------------------------------------------------|
//! | string `s`         | `0x01` ‖ UTF-8(s)                                            |
//! | number `n`         | `0x02` ‖ big-endian IEEE-754 bits of `n` (`-0` written as `0`) |
//! | composite `[p…]`   | `0x03` ‖ for each part: `0x01` ‖ varint(len) ‖ UTF-8, or `0x02` ‖ 8 bytes |
//! | JS string with a lone surrogate | `0x04` ‖ its UTF-16 code units, little-endian (in a composite: `0x04` ‖ varint(len) ‖ units) |
//!
//! The last kind exists only on the JS side: UTF-8 cannot carry a lone
//! surrogate, and replacing it (as `TextEncoder` does) would make distinct
//! keys equal. Rust strings are always valid UTF-8, so [`Key`] never needs it.
//!
//! Composite parts are length-prefixed, so `["a:b","c"]`, `["a","b:c"]` and
//! `"a:b:c"` are three different keys. The JS layer writes the same bytes
//! (`js/src/keys.js`); `tests/` checks both against each other.

use alloc::vec::Vec;
use core::hash::BuildHasher;

/// Kind byte of a string key.
pub const KIND_STR: u8 = 1;
/// Kind byte of a number key.
pub const KIND_NUM: u8 = 2;
/// Kind byte of a composite key.
pub const KIND_PARTS: u8 = 3;
/// Kind byte of a JS string that is not well-formed UTF-16 (written by the JS layer only).
pub const KIND_UTF16: u8 = 4;

/// One part of a composite key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyPart<'a> {
    /// A string part.
    Str(&'a str),
    /// A finite number part.
    Num(f64),
}

/// A key before encoding.
///
/// ```
/// use edgecache::{Key, KeyPart};
/// let a = Key::Parts(&[KeyPart::Str("a:b"), KeyPart::Str("c")]).to_bytes();
/// let b = Key::Parts(&[KeyPart::Str("a"), KeyPart::Str("b:c")]).to_bytes();
/// assert_ne!(a, b);
/// assert_ne!(Key::Num(17.0).to_bytes(), Key::Str("17").to_bytes());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key<'a> {
    /// A string key.
    Str(&'a str),
    /// A finite number key.
    Num(f64),
    /// A composite (Russian-doll) key.
    Parts(&'a [KeyPart<'a>]),
}

impl Key<'_> {
    /// Appends this key's encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match *self {
            Key::Str(s) => {
                out.push(KIND_STR);
                out.extend_from_slice(s.as_bytes());
            }
            Key::Num(n) => {
                out.push(KIND_NUM);
                out.extend_from_slice(&num_bits(n));
            }
            Key::Parts(parts) => {
                out.push(KIND_PARTS);
                for part in parts {
                    match *part {
                        KeyPart::Str(s) => {
                            out.push(KIND_STR);
                            push_varint(out, s.len() as u64);
                            out.extend_from_slice(s.as_bytes());
                        }
                        KeyPart::Num(n) => {
                            out.push(KIND_NUM);
                            out.extend_from_slice(&num_bits(n));
                        }
                    }
                }
            }
        }
    }

    /// This key's encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

fn num_bits(n: f64) -> [u8; 8] {
    // -0 and 0 are the same key (they are `===` in JS).
    let n = if n == 0.0 { 0.0 } else { n };
    n.to_bits().to_be_bytes()
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The seeded hash of encoded keys. Keys come from URLs an attacker controls,
/// so each cache draws its own seed: colliding keys cannot be precomputed.
#[derive(Clone)]
pub struct KeyHasher {
    state: foldhash::quality::FixedState,
}

impl KeyHasher {
    /// A hasher for one cache instance.
    pub fn new(seed: u64) -> Self {
        KeyHasher {
            state: foldhash::quality::FixedState::with_seed(seed),
        }
    }

    /// Hash of an encoded key.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.state.hash_one(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_never_collide() {
        let keys = [
            Key::Str("17").to_bytes(),
            Key::Num(17.0).to_bytes(),
            Key::Parts(&[KeyPart::Str("17")]).to_bytes(),
            Key::Parts(&[KeyPart::Num(17.0)]).to_bytes(),
            Key::Str("a:b:c").to_bytes(),
            Key::Parts(&[KeyPart::Str("a:b"), KeyPart::Str("c")]).to_bytes(),
            Key::Parts(&[KeyPart::Str("a"), KeyPart::Str("b:c")]).to_bytes(),
            Key::Parts(&[KeyPart::Str("a"), KeyPart::Str("b"), KeyPart::Str("c")]).to_bytes(),
            Key::Parts(&[]).to_bytes(),
            Key::Parts(&[KeyPart::Str("")]).to_bytes(),
            Key::Str("").to_bytes(),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(Key::Num(-0.0).to_bytes(), Key::Num(0.0).to_bytes());
    }

    #[test]
    fn seeds_change_hashes() {
        let a = KeyHasher::new(1).hash(b"\x01abc");
        let b = KeyHasher::new(2).hash(b"\x01abc");
        assert_ne!(a, b);
        assert_eq!(a, KeyHasher::new(1).hash(b"\x01abc"));
    }
}
