//! A plain snapshot read in pieces, without the whole of it in memory.
//!
//! A load of a snapshot whose entries are all plain (no TTL, tags, edges
//! or load time: the common warm start) reads the snapshot twice through
//! a [`PlainStream`], a piece at a time, each piece copied into one reused
//! buffer: first to check it (checksum, header, every entry) and sum its
//! charges, then, only if every check passed, to apply it. Staging the
//! whole snapshot in linear memory instead made a new process touch (and
//! page-fault in) as much new memory again as the snapshot, 51 MiB for the
//! stock data set, for the time of one load.
//!
//! An entry may straddle two pieces: the reader keeps the bytes of an
//! entry it could not finish for the next piece. Anything it does not
//! handle (a names table, an entry that is not plain) or finds wrong makes
//! it *refuse*: the caller then loads through [`crate::Snapshot::parse`],
//! which names what is wrong or loads the general way.

use crate::checksum::Checksum;
use crate::runs::RUN;
use crate::snapshot::{
    Cursor, LastCharges, PlainTotals, SnapshotError, FIXED, SHORT, SNAPSHOT_MAGIC,
    SNAPSHOT_VERSION, TRAILER,
};
use alloc::string::String;
use alloc::vec::Vec;

/// Why a stream stopped: it does not take this snapshot (see the module
/// doc), or the callback failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStop<E> {
    /// Not a plain snapshot this reader takes, or not a valid one.
    Refused,
    /// What the callback returned.
    Failed(E),
}

/// The header of a snapshot read by a [`PlainStream`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamHeader {
    /// The codec's name.
    pub codec: String,
    /// The codec's opaque state.
    pub codec_state: Vec<u8>,
    /// When it was taken.
    pub taken_at: u64,
    /// How many entries it holds.
    pub entries: u64,
}

/// A resumable reader of a plain snapshot of a known length; see the
/// module doc.
#[derive(Debug)]
pub struct PlainStream {
    len: u64,
    /// Bytes fed in this pass.
    fed: u64,
    /// Bytes of the content (all but the checksum) not read yet: the
    /// first `filled`. The bytes past them are stale, kept initialised so
    /// that the next room reuses them without zeroing them again.
    buf: Vec<u8>,
    filled: usize,
    /// Where the header ends (0: not read yet).
    body_at: u64,
    header: StreamHeader,
    /// Entries left to read in this pass.
    left: u64,
    /// Check pass: the checksum so far (`None` in the apply pass).
    sum: Option<Checksum>,
    trailer: [u8; TRAILER],
    totals: PlainTotals,
    /// Bytes of the last room, not taken yet.
    pending: usize,
    /// Apply pass: header bytes still to pass over.
    skip: u64,
    refused: bool,
}

impl PlainStream {
    /// A reader for a snapshot of `len` bytes, in its check pass.
    pub fn new(len: u64) -> PlainStream {
        PlainStream {
            len,
            fed: 0,
            buf: Vec::new(),
            filled: 0,
            body_at: 0,
            header: StreamHeader::default(),
            left: 0,
            sum: Some(Checksum::default()),
            trailer: [0; TRAILER],
            totals: PlainTotals::default(),
            pending: 0,
            skip: 0,
            refused: len < (FIXED + TRAILER) as u64,
        }
    }

    /// Room for the next `n` bytes of the snapshot, to write them into
    /// before [`PlainStream::take`]. `None` past the snapshot's length,
    /// or with the last room not taken.
    pub fn room(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.fed.checked_add(n as u64).filter(|&e| e <= self.len)?;
        let at = self.filled;
        let want = at.checked_add(n)?;
        let grow = want.saturating_sub(self.buf.len());
        if self.refused || self.pending != 0 || self.buf.try_reserve(grow).is_err() {
            return None;
        }
        if grow > 0 {
            self.buf.resize(want, 0);
        }
        self.fed = end;
        self.pending = n;
        self.filled = want;
        self.buf.get_mut(at..want)
    }

    /// Reads the bytes written into the last [`PlainStream::room`]: checks
    /// them in the check pass (`each` is not called then), or hands each
    /// entry's key and value to `each` in the apply pass.
    ///
    /// # Errors
    /// [`StreamStop::Refused`] (and refused from then on), or what `each`
    /// returned.
    pub fn take<E>(
        &mut self,
        mut each: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), StreamStop<E>> {
        if self.refused {
            return Err(StreamStop::Refused);
        }
        let n = core::mem::take(&mut self.pending);
        let content_len = self.len - TRAILER as u64;
        let start = self.fed - n as u64;
        let content_here = (self.fed.min(content_len) - start.min(content_len)) as usize;
        let piece_at = self.filled - n;
        let content_end = piece_at + content_here;
        if let (Some(sum), Some(piece)) = (self.sum.as_mut(), self.buf.get(piece_at..content_end)) {
            sum.update(piece);
        }
        // The checksum's own bytes leave the content.
        if content_here < n {
            let from = (start.max(content_len) - content_len) as usize;
            let to = from + (n - content_here);
            if let (Some(dst), Some(src)) = (
                self.trailer.get_mut(from..to),
                self.buf.get(content_end..self.filled),
            ) {
                dst.copy_from_slice(src);
            }
            self.filled = content_end;
        }
        let last = self.fed >= content_len;
        let buf = core::mem::take(&mut self.buf);
        let read = self.read(buf.get(..self.filled).unwrap_or(&[]), last, &mut each);
        self.buf = buf;
        match read {
            Ok(used) => {
                let used = used.min(self.filled);
                // What is left (an entry that straddles pieces) moves to the front.
                self.buf.copy_within(used..self.filled, 0);
                self.filled -= used;
                if last && (self.left > 0 || self.filled != 0 || self.body_at == 0) {
                    self.refused = true;
                    return Err(StreamStop::Refused);
                }
                Ok(())
            }
            Err(stop) => {
                self.refused = true;
                Err(stop)
            }
        }
    }

    /// Reads what it can of `buf`; returns how many bytes it used.
    fn read<E>(
        &mut self,
        buf: &[u8],
        last: bool,
        each: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, StreamStop<E>> {
        let mut c = Cursor { bytes: buf, at: 0 };
        if self.body_at == 0 && self.sum.is_some() {
            match self.read_header(&mut c) {
                Ok(()) => self.body_at = c.at as u64,
                Err(SHORT) if !last => return Ok(0),
                Err(_) => return Err(StreamStop::Refused),
            }
        } else if self.skip > 0 {
            // The apply pass: the header was read in the check pass.
            let skip = self.skip.min(buf.len() as u64);
            self.skip -= skip;
            c.at = skip as usize;
            if self.skip > 0 {
                return Ok(c.at);
            }
        }
        let mut last_charges = LastCharges::new();
        while self.left > 0 {
            let want = self.left.min(RUN as u64);
            match self.read_run(&mut c, want, &mut last_charges, each) {
                Ok(()) => {}
                Err(RunStop::OutOfBytes { read }) if !last => {
                    self.left -= read;
                    return Ok(c.at);
                }
                Err(RunStop::Failed(e)) => return Err(StreamStop::Failed(e)),
                Err(_) => return Err(StreamStop::Refused),
            }
        }
        Ok(c.at)
    }

    /// Reads up to `want` entries at `c`, one run ([`crate::runs`]). On
    /// running out of bytes, leaves `c` at the entry it could not finish.
    #[inline(never)]
    fn read_run<E>(
        &mut self,
        c: &mut Cursor<'_>,
        want: u64,
        last_charges: &mut LastCharges,
        each: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), RunStop<E>> {
        let checking = self.sum.is_some();
        for read in 0..want {
            let start = c.at;
            let entry = (|| {
                if c.u8()? != 0 {
                    return Err(SnapshotError::Corrupt("not plain"));
                }
                let key = c.blob()?;
                let value = c.blob()?;
                Ok((key, value))
            })();
            let (key, value) = match entry {
                Ok(kv) => kv,
                Err(SHORT) => {
                    c.at = start;
                    return Err(RunStop::OutOfBytes { read });
                }
                Err(_) => return Err(RunStop::Refused),
            };
            if checking {
                let charges = last_charges.of(key.len(), value.len());
                self.totals.add(key.len(), value.len(), charges);
            } else {
                each(key, value).map_err(RunStop::Failed)?;
            }
        }
        self.left -= want;
        Ok(())
    }

    fn read_header(&mut self, c: &mut Cursor<'_>) -> Result<(), SnapshotError> {
        if c.take(SNAPSHOT_MAGIC.len())? != SNAPSHOT_MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(c.take(4)?);
        if u32::from_le_bytes(version) != SNAPSHOT_VERSION {
            return Err(SnapshotError::Corrupt("version"));
        }
        if c.u64()? != self.len {
            return Err(SnapshotError::Corrupt("length"));
        }
        let codec = c.codec_name()?;
        let codec_state = c.blob()?;
        let taken_at = c.u64()?;
        let entries = c.u64()?;
        // A names table: tags or edges, not a plain snapshot.
        if c.varint()? != 0 {
            return Err(SnapshotError::Corrupt("names"));
        }
        self.header = StreamHeader {
            codec: codec.into(),
            codec_state: codec_state.to_vec(),
            taken_at,
            entries,
        };
        self.left = entries;
        Ok(())
    }

    /// After the check pass has taken every byte: the header and the
    /// charges' totals when every check passed (the checksum too), and the
    /// stream rewound for the apply pass. `None`: refused.
    pub fn checked(&mut self) -> Option<(&StreamHeader, PlainTotals)> {
        let sum = self.sum.take()?;
        let whole = !self.refused && self.fed == self.len && self.left == 0;
        if !whole || sum.finish() != u64::from_le_bytes(self.trailer) {
            self.refused = true;
            return None;
        }
        self.fed = 0;
        self.filled = 0;
        self.skip = self.body_at;
        self.left = self.header.entries;
        Some((&self.header, self.totals))
    }

    /// The entries its header counts (0 before the header is read).
    pub fn entries(&self) -> u64 {
        self.header.entries
    }

    /// Whether the apply pass has read every entry.
    pub fn applied(&self) -> bool {
        !self.refused && self.sum.is_none() && self.fed == self.len && self.left == 0
    }
}

/// How a run stopped early.
enum RunStop<E> {
    /// Out of bytes after `read` entries of the run.
    OutOfBytes { read: u64 },
    /// Not a plain entry, or a corrupt one.
    Refused,
    /// What the callback returned.
    Failed(E),
}

/// Checks and reads `bytes` through a [`PlainStream`] in pieces of
/// `piece` bytes (for tests and benchmarks): the header and totals, then
/// each entry to `each`. `None` when the stream refuses it.
pub fn read_plain_in_pieces(
    bytes: &[u8],
    piece: usize,
    mut each: impl FnMut(&[u8], &[u8]),
) -> Option<(StreamHeader, PlainTotals)> {
    let mut s = PlainStream::new(bytes.len() as u64);
    for p in bytes.chunks(piece.max(1)) {
        s.room(p.len())?.copy_from_slice(p);
        s.take(|_, _| Ok::<(), ()>(())).ok()?;
    }
    let (header, totals) = s.checked().map(|(h, t)| (h.clone(), t))?;
    for p in bytes.chunks(piece.max(1)) {
        s.room(p.len())?.copy_from_slice(p);
        s.take(|k, v| {
            each(k, v);
            Ok::<(), ()>(())
        })
        .ok()?;
    }
    s.applied().then_some((header, totals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cache, Config, Key, SetOptions, Snapshot};
    use alloc::format;

    fn plain_snapshot(n: usize) -> Vec<u8> {
        let mut c = Cache::new(Config::default(), 1).unwrap();
        for i in 0..n {
            let key = Key::Str(&format!("k{i}")).to_bytes();
            let value: Vec<u8> = (0..(i * 37 % 300) as u8).collect();
            c.set(&key, &value, &SetOptions::default(), 0).unwrap();
        }
        c.dump(5, "json", b"[[\"qty\"]]").unwrap()
    }

    /// Keys and values, as read.
    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    fn read(bytes: &[u8], piece: usize) -> Option<(StreamHeader, PlainTotals, Entries)> {
        let mut got = Vec::new();
        let (h, t) = read_plain_in_pieces(bytes, piece, |k, v| got.push((k.to_vec(), v.to_vec())))?;
        Some((h, t, got))
    }

    /// Entries straddle pieces of every size, down to one byte: the stream
    /// reads what the whole-snapshot parser reads, with the same totals.
    #[test]
    fn pieces_of_any_size_read_what_the_parser_reads() {
        let bytes = plain_snapshot(300);
        let snap = Snapshot::parse(&bytes).unwrap();
        let want: Vec<_> = snap
            .plain_entries()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(want.len(), 300);
        for piece in [1, 2, 7, 29, 64, 4096, bytes.len()] {
            let (h, t, got) = read(&bytes, piece).unwrap();
            assert_eq!(got, want, "pieces of {piece}");
            assert_eq!(Some(t), snap.plain_totals());
            assert_eq!(h.codec, "json");
            assert_eq!(h.codec_state, b"[[\"qty\"]]");
            assert_eq!((h.taken_at, h.entries), (5, 300));
        }
    }

    /// Every cut and every changed byte is refused (the checksum or the
    /// structure), before any entry is handed on.
    #[test]
    fn a_cut_or_changed_snapshot_is_refused_before_any_entry() {
        let bytes = plain_snapshot(20);
        for cut in 0..bytes.len() {
            let mut s = PlainStream::new(bytes.len() as u64);
            let part = &bytes[..cut];
            let ok = match s.room(part.len()) {
                Some(dst) => {
                    dst.copy_from_slice(part);
                    s.take(|_, _| Err::<(), ()>(())).is_ok()
                }
                None => false,
            };
            assert!(!ok || s.checked().is_none(), "cut at {cut}");
            assert!(read(part, 7).is_none(), "cut at {cut} as a whole");
        }
        for at in 0..bytes.len() {
            let mut s = bytes.clone();
            s[at] ^= 0x41;
            for piece in [3, 64] {
                let mut handed = 0;
                assert!(
                    read_plain_in_pieces(&s, piece, |_, _| handed += 1).is_none(),
                    "byte {at} changed"
                );
                assert_eq!(handed, 0);
            }
        }
    }

    /// A snapshot with a TTL, tags or a names table goes the staged way.
    #[test]
    fn a_snapshot_that_is_not_plain_is_refused() {
        let mut c = Cache::new(Config::default(), 1).unwrap();
        c.set(b"\x01a", b"1", &SetOptions::default(), 0).unwrap();
        let ttl = SetOptions {
            ttl_ms: Some(1000),
            ..SetOptions::default()
        };
        c.set(b"\x01b", b"2", &ttl, 0).unwrap();
        let bytes = c.dump(0, "json", b"[]").unwrap();
        assert!(Snapshot::parse(&bytes).is_ok());
        assert!(read(&bytes, 16).is_none());
        let tags: [&[u8]; 1] = [b"t"];
        let tagged = SetOptions {
            tags: &tags,
            ..SetOptions::default()
        };
        let mut c = Cache::new(Config::default(), 1).unwrap();
        c.set(b"\x01a", b"1", &tagged, 0).unwrap();
        assert!(read(&c.dump(0, "json", b"[]").unwrap(), 16).is_none());
    }

    /// Pieces of changing sizes (a large one, then small ones that reuse
    /// its room, an entry straddling each) read the same entries in both
    /// passes as pieces of one size, and the same as the parse.
    #[test]
    fn pieces_of_changing_sizes_read_the_same() {
        let bytes = plain_snapshot(700);
        let sizes = [4_096, 1, 3, 700, 2, 9_000, 5, 64];
        let mut s = PlainStream::new(bytes.len() as u64);
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut rest = &bytes[..];
        for &n in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (p, r) = rest.split_at(n.min(rest.len()));
            pieces.push(p);
            rest = r;
        }
        for p in &pieces {
            s.room(p.len()).unwrap().copy_from_slice(p);
            s.take(|_, _| Ok::<(), ()>(())).unwrap();
        }
        let totals = s.checked().map(|(_, t)| t).unwrap();
        let mut got = Vec::new();
        for p in &pieces {
            s.room(p.len()).unwrap().copy_from_slice(p);
            s.take(|k, v| {
                got.push((k.to_vec(), v.to_vec()));
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        assert!(s.applied());
        let (_, t, even) = read(&bytes, 16).unwrap();
        assert_eq!((got.clone(), totals), (even, t));
        let parsed: Entries = crate::Snapshot::parse(&bytes)
            .unwrap()
            .plain_entries()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(got, parsed);
    }

    /// A streamed load stores what a load of the whole snapshot stores.
    #[test]
    fn a_streamed_load_stores_what_a_whole_load_stores() {
        let bytes = plain_snapshot(500);
        let mut whole = Cache::new(Config::default(), 2).unwrap();
        assert_eq!(whole.load(&bytes, 9).unwrap(), 500);
        let mut streamed = Cache::new(Config::default(), 2).unwrap();
        let mut s = PlainStream::new(bytes.len() as u64);
        for p in bytes.chunks(11) {
            s.room(p.len()).unwrap().copy_from_slice(p);
            s.take(|_, _| Ok::<(), ()>(())).unwrap();
        }
        let (h, totals) = s.checked().map(|(h, t)| (h.entries, t)).unwrap();
        let mut load = streamed.begin_plain_load(&totals, h, 9).unwrap().unwrap();
        for p in bytes.chunks(11) {
            s.room(p.len()).unwrap().copy_from_slice(p);
            s.take(|k, v| streamed.plain_load_entry(&mut load, k, v, 9))
                .unwrap();
        }
        assert!(s.applied());
        assert_eq!(streamed.end_plain_load(load).unwrap(), 500);
        assert_eq!(streamed.bytes(), whole.bytes());
        assert_eq!(
            streamed.dump(9, "json", b"[[\"qty\"]]").unwrap(),
            whole.dump(9, "json", b"[[\"qty\"]]").unwrap()
        );
    }

    /// A cache that is not empty, or too small, is not loaded the plain way.
    #[test]
    fn only_an_empty_cache_with_room_loads_the_plain_way() {
        let bytes = plain_snapshot(50);
        let (h, t, _) = read(&bytes, 64).unwrap();
        let mut held = Cache::new(Config::default(), 2).unwrap();
        held.set(b"\x01x", b"1", &SetOptions::default(), 0).unwrap();
        assert!(held.begin_plain_load(&t, h.entries, 0).unwrap().is_none());
        let small = Config {
            max_bytes: 1000,
            ..Config::default()
        };
        let mut small = Cache::new(small, 2).unwrap();
        assert!(small.begin_plain_load(&t, h.entries, 0).unwrap().is_none());
        let few = Config {
            max_entries: 49,
            ..Config::default()
        };
        let mut few = Cache::new(few, 2).unwrap();
        assert!(few.begin_plain_load(&t, h.entries, 0).unwrap().is_none());
        assert_eq!(few.load(&bytes, 0).unwrap(), 49);
    }
}
