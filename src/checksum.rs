//! The snapshot checksum: a streaming 64-bit hash of a byte stream, fast
//! enough to check a 100 MB snapshot in a few milliseconds.
//!
//! The stream is read as little-endian 8-byte words (the last one padded
//! with zeros); word `i` goes to lane `i mod 4`, and each lane takes its
//! words through `h = rotl((h ^ w) · K, 29)`. The lanes then go through the
//! same step one after the other, followed by the length. Every step is a
//! bijection of `h` for a given word and of the word for a given `h`, so
//! changing any one word (a flipped bit or byte) always changes its lane and
//! so the result, and a stream of another length is mixed differently. Four
//! lanes are four independent chains of multiplies, which a CPU (and wasm in
//! V8) runs side by side: one chain waited on each multiply in turn. It
//! detects accidents (truncation, bit rot, a wrong buffer), not an
//! adversary: a snapshot is trusted input to the cache it warms, whose
//! parser still checks every length and index on its own.

use crate::runs::RUN_BYTES;

/// The odd multiplier (2⁶⁴ / φ, as Fibonacci hashing uses).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Independent lanes.
const LANES: usize = 4;
/// Bytes of one word per lane.
const STRIDE: usize = 8 * LANES;
const _: () = assert!(RUN_BYTES % STRIDE == 0, "runs of whole strides");

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(K).rotate_left(29)
}

#[inline]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = b.get(..8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

/// A checksum fed piece by piece; pieces may split words anywhere.
#[derive(Clone, Debug)]
pub(crate) struct Checksum {
    lanes: [u64; LANES],
    pending: [u8; STRIDE],
    pending_len: usize,
    len: u64,
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum {
            lanes: [K, K ^ 1, K ^ 2, K ^ 3],
            pending: [0; STRIDE],
            pending_len: 0,
            len: 0,
        }
    }
}

impl Checksum {
    /// One word into each lane.
    #[inline]
    fn stride(&mut self, b: &[u8]) {
        let [a, c, d, e] = &mut self.lanes;
        *a = mix(*a, word(b));
        *c = mix(*c, word(b.get(8..).unwrap_or(&[])));
        *d = mix(*d, word(b.get(16..).unwrap_or(&[])));
        *e = mix(*e, word(b.get(24..).unwrap_or(&[])));
    }

    /// Whole strides, one run ([`crate::runs`]).
    #[inline(never)]
    fn strides(&mut self, run: &[u8]) {
        for s in run.chunks_exact(STRIDE) {
            self.stride(s);
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.pending_len > 0 {
            let take = (STRIDE - self.pending_len).min(bytes.len());
            let (head, rest) = bytes.split_at(take);
            if let Some(p) = self
                .pending
                .get_mut(self.pending_len..self.pending_len + take)
            {
                p.copy_from_slice(head);
            }
            self.pending_len += take;
            bytes = rest;
            if self.pending_len < STRIDE {
                return;
            }
            let full = self.pending;
            self.stride(&full);
            self.pending_len = 0;
        }
        let (whole, rest) = bytes.split_at(bytes.len() - bytes.len() % STRIDE);
        for run in whole.chunks(RUN_BYTES) {
            self.strides(run);
        }
        if let Some(p) = self.pending.get_mut(..rest.len()) {
            p.copy_from_slice(rest);
        }
        self.pending_len = rest.len();
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> u64 {
        let mut lanes = self.lanes;
        // The words of an unfinished stride, the last one padded with zeros.
        let mut last = [0u8; STRIDE];
        if let (Some(dst), Some(src)) = (
            last.get_mut(..self.pending_len),
            self.pending.get(..self.pending_len),
        ) {
            dst.copy_from_slice(src);
        }
        for (i, lane) in lanes.iter_mut().enumerate() {
            if 8 * i < self.pending_len {
                *lane = mix(*lane, word(last.get(8 * i..).unwrap_or(&[])));
            }
        }
        let mut h = K;
        for lane in lanes {
            h = mix(h, lane);
        }
        h = mix(h, self.len);
        h ^ (h >> 32)
    }
}

/// The checksum of one slice.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut c = Checksum::default();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::{checksum, Checksum};
    use alloc::vec::Vec;

    #[test]
    fn pieces_anywhere_give_the_checksum_of_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = checksum(&data);
        for cut in (0..70).chain([500, 999, 1000]) {
            let mut c = Checksum::default();
            c.update(&data[..cut]);
            c.update(&data[cut..]);
            assert_eq!(c.finish(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn any_flipped_byte_or_lost_tail_changes_it() {
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let whole = checksum(&data);
        for i in 0..data.len() {
            for bit in [1u8, 0x80] {
                let mut d = data.clone();
                d[i] ^= bit;
                assert_ne!(checksum(&d), whole, "byte {i}");
            }
            assert_ne!(checksum(&data[..i]), whole, "length {i}");
        }
        let mut zeros = data.clone();
        zeros.push(0);
        assert_ne!(checksum(&zeros), whole, "a trailing zero");
    }
}
