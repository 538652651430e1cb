//! The snapshot format: the live entries of a cache as bytes, to warm
//! another cache (in another isolate or process) with them.
//!
//! All integers are little-endian; `varint` is LEB128 (at most 10 bytes).
//!
//! | field | bytes |
//! |---|---|
//! | magic | `EDGESNAP` (8) |
//! | version | `u32` = [`SNAPSHOT_VERSION`] |
//! | total length | `u64`, the whole snapshot, checksum included |
//! | codec name | varint length (≤ [`MAX_CODEC_NAME`]) ‖ UTF-8 |
//! | codec state | varint length ‖ bytes (opaque to the core: the JS layer keeps the json codec's shape table here) |
//! | taken at | `u64`, ms (the `now` of the dump) |
//! | entry count | `u64` |
//! | names | varint count ‖ per name: varint length ‖ bytes (tags and `dependsOn` keys, each once) |
//! | entries | see below, least recently used first |
//! | checksum | `u64`, [`crate::checksum`] of every byte before it |
//!
//! An entry is a flags byte ([`HAS_TTL`], [`HAS_GRACE`], [`HAS_TAGS`],
//! [`HAS_DEPS`], [`HAS_LOAD_TIME`]; other bits set make the snapshot
//! corrupt), `varint(key length) ‖ key ‖ varint(value length) ‖ value`, then
//! as the flags say: its absolute expiry as a zigzag varint of `expires_at −
//! taken_at`, its stale window (varint ms), its tags and its `dependsOn` keys
//! (each a varint count and that many varint indexes into the names), and
//! the recorded time of the load that produced it (varint ms, 1 to
//! `u32::MAX`: early refresh's `delta`). An entry costs its key and value
//! plus 3 to about 12 bytes.
//!
//! Version 1 had no load time, version 2 a one-lane checksum; this build
//! reads only its own version.
//!
//! [`Snapshot::parse`] checks everything (lengths, checksum, every entry and
//! index) before anything is applied, and reports what is wrong as a
//! [`SnapshotError`]; it never panics, whatever the bytes.

use crate::checksum::{checksum, Checksum};
use crate::error::CacheError;
use crate::expiry::MAX_TTL_MS;
use crate::runs::RUN;
use alloc::vec::Vec;
use core::fmt;

/// The first bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"EDGESNAP";
/// The format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 3;
/// The longest codec name a snapshot carries.
pub const MAX_CODEC_NAME: usize = 255;

/// Entry flag: it has a TTL (an absolute expiry follows).
pub const HAS_TTL: u8 = 1;
/// Entry flag: it has a stale window.
pub const HAS_GRACE: u8 = 2;
/// Entry flag: it has tags.
pub const HAS_TAGS: u8 = 4;
/// Entry flag: it has `dependsOn` keys.
pub const HAS_DEPS: u8 = 8;
/// Entry flag: it records the time of the load that produced it.
pub const HAS_LOAD_TIME: u8 = 16;
const KNOWN_FLAGS: u8 = HAS_TTL | HAS_GRACE | HAS_TAGS | HAS_DEPS | HAS_LOAD_TIME;

/// Bytes of the fixed start: magic, version and total length.
pub(crate) const FIXED: usize = 8 + 4 + 8;
/// Bytes of the checksum at the end.
pub(crate) const TRAILER: usize = 8;
/// The fewest bytes an entry takes (flags and two empty lengths).
const MIN_ENTRY: usize = 3;

/// What is wrong with a snapshot. `Display` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Shorter than it says it is (or than any snapshot).
    Truncated {
        /// Bytes given.
        got: u64,
        /// Bytes the snapshot says it has (0 when even that is cut off).
        expected: u64,
    },
    /// It does not start with [`SNAPSHOT_MAGIC`].
    NotASnapshot,
    /// Another format version.
    Version(u32),
    /// The checksum does not match: bytes were changed.
    Checksum,
    /// The checksum matches but the content does not parse; names what.
    Corrupt(&'static str),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SnapshotError::Truncated { got, expected: 0 } => {
                write!(f, "snapshot is truncated ({got} bytes, shorter than any snapshot)")
            }
            SnapshotError::Truncated { got, expected } => {
                write!(f, "snapshot is truncated ({got} of its {expected} bytes)")
            }
            SnapshotError::NotASnapshot => {
                write!(f, "not an edgecache snapshot (no EDGESNAP header)")
            }
            SnapshotError::Version(v) => write!(
                f,
                "snapshot format version {v} is not supported (this build reads version {SNAPSHOT_VERSION})"
            ),
            SnapshotError::Checksum => {
                write!(f, "snapshot is corrupt (checksum mismatch: its bytes were changed)")
            }
            SnapshotError::Corrupt(what) => write!(f, "snapshot is corrupt ({what})"),
        }
    }
}

impl From<SnapshotError> for CacheError {
    fn from(e: SnapshotError) -> CacheError {
        CacheError::InvalidSnapshot(e)
    }
}

/// Where a snapshot's pieces go.
pub(crate) type Sink<'s> = &'s mut dyn FnMut(&[u8]) -> Result<(), CacheError>;

/// Writes a snapshot as a stream of pieces, or only counts its bytes: the
/// same calls give the length first (to size the output) and then the bytes.
pub(crate) struct Emit<'s> {
    /// Bytes emitted so far.
    pub len: u64,
    buf: Vec<u8>,
    sum: Checksum,
    sink: Option<Sink<'s>>,
}

/// Bytes gathered before they go to the sink in one piece.
const PIECE: usize = 64 * 1024;

impl<'s> Emit<'s> {
    /// An emitter that counts only.
    pub fn counter() -> Emit<'static> {
        Emit {
            len: 0,
            buf: Vec::new(),
            sum: Checksum::default(),
            sink: None,
        }
    }

    /// An emitter that hands its bytes to `sink` in pieces of about 64 KiB.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`] when its buffer cannot be allocated.
    pub fn to(
        sink: &'s mut dyn FnMut(&[u8]) -> Result<(), CacheError>,
    ) -> Result<Self, CacheError> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(PIECE)?;
        Ok(Emit {
            len: 0,
            buf,
            sum: Checksum::default(),
            sink: Some(sink),
        })
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), CacheError> {
        self.len += b.len() as u64;
        if self.sink.is_none() {
            return Ok(());
        }
        if self.buf.len() + b.len() > PIECE {
            self.flush()?;
            if b.len() > PIECE / 2 {
                // A large value goes out as it is, without a copy.
                self.sum.update(b);
                return match self.sink.as_mut() {
                    Some(sink) => sink(b),
                    None => Ok(()),
                };
            }
        }
        self.buf.extend_from_slice(b);
        Ok(())
    }

    #[inline]
    pub fn u8(&mut self, v: u8) -> Result<(), CacheError> {
        self.bytes(&[v])
    }

    #[inline]
    pub fn varint(&mut self, v: u64) -> Result<(), CacheError> {
        let mut out = [0u8; 10];
        let n = put_varint(&mut out, v);
        self.bytes(out.get(..n).unwrap_or(&[]))
    }

    /// An entry's start in one piece: its flags, key (length-prefixed) and
    /// value length. Small keys (all but a few) go through one stack
    /// buffer and one [`Emit::bytes`] instead of four calls.
    pub fn prelude(&mut self, flags: u8, key: &[u8], value_len: usize) -> Result<(), CacheError> {
        if self.sink.is_none() {
            self.len += (1 + varint_len(key.len()) + key.len() + varint_len(value_len)) as u64;
            return Ok(());
        }
        let mut out = [0u8; 64];
        if key.len() > out.len() - 21 {
            self.u8(flags)?;
            self.blob(key)?;
            return self.varint(value_len as u64);
        }
        let (head, rest) = out.split_at_mut(1);
        if let Some(f) = head.first_mut() {
            *f = flags;
        }
        let mut n = 1 + put_varint(rest, key.len() as u64);
        if let Some(dst) = out.get_mut(n..n + key.len()) {
            dst.copy_from_slice(key);
        }
        n += key.len();
        n += out
            .get_mut(n..)
            .map_or(0, |rest| put_varint(rest, value_len as u64));
        self.bytes(out.get(..n).unwrap_or(&[]))
    }

    /// An entry with no flags: its start and its value's bytes.
    #[inline]
    pub fn plain_entry(&mut self, key: &[u8], value: &crate::Value<'_>) -> Result<(), CacheError> {
        let value_len = value.len();
        let n = 1 + varint_len(key.len()) + key.len() + varint_len(value_len) + value_len;
        if self.sink.is_none() {
            self.len += n as u64;
            return Ok(());
        }
        match value.as_slice() {
            Some(bytes) if n <= PIECE / 2 => {
                // Straight into the buffer, which has room for a piece.
                if self.buf.len() + n > PIECE {
                    self.flush()?;
                }
                self.len += n as u64;
                self.buf.push(0);
                push_varint(&mut self.buf, key.len());
                self.buf.extend_from_slice(key);
                push_varint(&mut self.buf, bytes.len());
                self.buf.extend_from_slice(bytes);
                Ok(())
            }
            _ => {
                self.prelude(0, key, value_len)?;
                self.value(value)
            }
        }
    }

    pub fn u64(&mut self, v: u64) -> Result<(), CacheError> {
        self.bytes(&v.to_le_bytes())
    }

    /// A value's bytes, in its pieces; the counting pass only adds their
    /// length, without reading them.
    pub fn value(&mut self, value: &crate::Value<'_>) -> Result<(), CacheError> {
        if self.sink.is_none() {
            self.len += value.len() as u64;
            return Ok(());
        }
        for piece in value.pieces() {
            self.bytes(piece)?;
        }
        Ok(())
    }

    /// A length-prefixed byte string.
    pub fn blob(&mut self, b: &[u8]) -> Result<(), CacheError> {
        self.varint(b.len() as u64)?;
        self.bytes(b)
    }

    fn flush(&mut self) -> Result<(), CacheError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.sum.update(&self.buf);
        if let Some(sink) = self.sink.as_mut() {
            sink(&self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }

    /// Writes the checksum of everything before it, and flushes.
    pub fn finish(mut self) -> Result<u64, CacheError> {
        self.flush()?;
        let sum = self.sum.finish();
        self.u64(sum)?;
        self.flush()?;
        Ok(self.len)
    }

    /// Writes the start of a snapshot of `total` bytes.
    pub fn header(&mut self, h: &Header<'_>, total: u64) -> Result<(), CacheError> {
        self.bytes(&SNAPSHOT_MAGIC)?;
        self.bytes(&SNAPSHOT_VERSION.to_le_bytes())?;
        self.u64(total)?;
        self.blob(h.codec.as_bytes())?;
        self.blob(h.codec_state)?;
        self.u64(h.taken_at)?;
        self.u64(h.entries)
    }
}

/// The header fields of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name of the codec its values were encoded with.
    pub codec: &'a str,
    /// The codec's state (opaque to the core).
    pub codec_state: &'a [u8],
    /// When it was taken (ms).
    pub taken_at: u64,
    /// How many entries it holds.
    pub entries: u64,
}

/// One entry of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry<'a> {
    /// The encoded key.
    pub key: &'a [u8],
    /// The value's bytes.
    pub value: &'a [u8],
    /// When it expires (ms), if it has a TTL.
    pub expires_at: Option<u64>,
    /// Its stale window after expiry (ms).
    pub grace: u64,
    /// Its tags.
    pub tags: Vec<&'a [u8]>,
    /// The keys it depends on.
    pub depends_on: Vec<&'a [u8]>,
    /// How long the load that produced it took (ms), if recorded.
    pub load_ms: Option<u32>,
}

impl<'a> SnapshotEntry<'a> {
    /// An entry with a key and value only: no TTL, tags, edges or load time.
    #[must_use]
    pub fn plain(key: &'a [u8], value: &'a [u8]) -> Self {
        Self {
            key,
            value,
            expires_at: None,
            grace: 0,
            tags: Vec::new(),
            depends_on: Vec::new(),
            load_ms: None,
        }
    }
}

/// A snapshot that passed every check. Build one with [`Snapshot::parse`].
///
/// ```
/// use edgecache::{Cache, Config, Key, SetOptions, Snapshot};
/// let mut cache = Cache::new(Config::default(), 1).unwrap();
/// cache.set(&Key::Str("a").to_bytes(), b"1", &SetOptions::default(), 0).unwrap();
/// let bytes = cache.dump(0, "json", &[]).unwrap();
/// let snap = Snapshot::parse(&bytes).unwrap();
/// assert_eq!(snap.header().codec, "json");
/// assert_eq!(snap.header().entries, 1);
/// assert!(Snapshot::parse(&bytes[..bytes.len() - 1]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Snapshot<'a> {
    header: Header<'a>,
    names: Vec<&'a [u8]>,
    /// The entries' bytes.
    body: &'a [u8],
    plain: Option<PlainTotals>,
}

/// What a load into an empty cache needs of a snapshot whose entries are
/// all plain (no TTL, tags, edges or load time), summed while it is
/// checked: the load then needs no pass of its own over the entries to
/// learn whether they all fit. Charges are per record size (without and
/// with the `meta` word, see [`crate::store`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlainTotals {
    /// What the budget charges for all the entries.
    pub charge: [u64; 2],
    /// The largest charge of one entry.
    pub max_charge: [u64; 2],
    /// The longest key or value.
    pub max_part: usize,
}

impl PlainTotals {
    /// Adds an entry whose charges (without and with `meta`) are `charges`.
    pub(crate) fn add(&mut self, key_len: usize, value_len: usize, charges: [u64; 2]) {
        for ((sum, max), c) in self
            .charge
            .iter_mut()
            .zip(&mut self.max_charge)
            .zip(charges)
        {
            *sum += c;
            *max = (*max).max(c);
        }
        self.max_part = self.max_part.max(key_len).max(value_len);
    }
}

/// The charges of an entry, without and with `meta`, kept for the next
/// entry of the same lengths (most of a data set's entries share a few:
/// working a charge out takes the general chunk layout, about 60
/// instructions, twice).
pub(crate) struct LastCharges {
    lens: (usize, usize),
    charges: [u64; 2],
}

impl LastCharges {
    /// None kept yet.
    pub(crate) fn new() -> LastCharges {
        LastCharges {
            lens: (usize::MAX, usize::MAX),
            charges: [0; 2],
        }
    }

    #[inline]
    pub(crate) fn of(&mut self, key_len: usize, value_len: usize) -> [u64; 2] {
        if self.lens != (key_len, value_len) {
            self.lens = (key_len, value_len);
            self.charges = [false, true]
                .map(|meta| crate::store::entry_charge(meta, key_len, value_len) as u64);
        }
        self.charges
    }
}

/// A cursor over bytes whose reads fail as [`SnapshotError::Corrupt`]
/// instead of panicking.
pub(crate) struct Cursor<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
}

pub(crate) const SHORT: SnapshotError = SnapshotError::Corrupt("a field runs past the end");

impl<'a> Cursor<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self.at.checked_add(n).ok_or(SHORT)?;
        let b = self.bytes.get(self.at..end).ok_or(SHORT)?;
        self.at = end;
        Ok(b)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, SnapshotError> {
        let b = *self.bytes.get(self.at).ok_or(SHORT)?;
        self.at += 1;
        Ok(b)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, SnapshotError> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, SnapshotError> {
        // One byte (a length under 128, most fields) without the loop.
        if let Some(&b) = self.bytes.get(self.at) {
            if b < 0x80 {
                self.at += 1;
                return Ok(u64::from(b));
            }
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64, SnapshotError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(SnapshotError::Corrupt("a varint overflows 64 bits"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SnapshotError::Corrupt("a varint overflows 64 bits"))
    }

    /// A length that must fit in what is left.
    #[inline]
    fn len(&mut self) -> Result<usize, SnapshotError> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.at.min(self.bytes.len())) as u64 {
            return Err(SHORT);
        }
        Ok(n as usize)
    }

    /// The codec's name: a blob of at most [`MAX_CODEC_NAME`] bytes of UTF-8.
    pub(crate) fn codec_name(&mut self) -> Result<&'a str, SnapshotError> {
        let codec = self.blob()?;
        if codec.len() > MAX_CODEC_NAME {
            return Err(SnapshotError::Corrupt("the codec name is too long"));
        }
        core::str::from_utf8(codec)
            .map_err(|_| SnapshotError::Corrupt("the codec name is not UTF-8"))
    }

    pub(crate) fn blob(&mut self) -> Result<&'a [u8], SnapshotError> {
        let n = self.len()?;
        self.take(n)
    }

    pub(crate) fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }
}

impl<'a> Snapshot<'a> {
    /// Checks a snapshot completely: its start, version, length and
    /// checksum, then every field, entry and name index.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the first thing wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Snapshot<'a>, SnapshotError> {
        let mut snap = Snapshot::open(bytes, true)?;
        let mut c = Cursor {
            bytes: snap.body,
            at: 0,
        };
        let mut plain = Some(PlainTotals::default());
        let mut left = snap.header.entries;
        while left > 0 {
            let run = left.min(RUN as u64);
            parse_run(&mut c, &snap, run, &mut plain)?;
            left -= run;
        }
        if c.left() != 0 {
            return Err(SnapshotError::Corrupt("bytes after the last entry"));
        }
        snap.plain = plain;
        Ok(snap)
    }

    /// Reads the header and names of a snapshot that passed
    /// [`Snapshot::parse`] before, without checking its checksum and
    /// entries again (the bindings keep the bytes between the two calls).
    /// Iterating over bytes that never passed `parse` stops at the first
    /// entry that does not parse; it never panics.
    ///
    /// # Errors
    /// As [`Snapshot::parse`], for the header.
    pub fn reopen(bytes: &'a [u8]) -> Result<Snapshot<'a>, SnapshotError> {
        Snapshot::open(bytes, false)
    }

    /// The totals [`Snapshot::parse`] gathered when every entry is plain
    /// (`None` otherwise, and for a snapshot from [`Snapshot::reopen`]).
    pub fn plain_totals(&self) -> Option<PlainTotals> {
        self.plain
    }

    /// Gives a reopened snapshot the totals its [`Snapshot::parse`]
    /// returned (the bindings keep them between the two calls). Totals
    /// from other bytes make a load misjudge what fits.
    pub fn set_plain_totals(&mut self, totals: Option<PlainTotals>) {
        self.plain = totals;
    }

    fn open(bytes: &'a [u8], check: bool) -> Result<Snapshot<'a>, SnapshotError> {
        let got = bytes.len() as u64;
        let magic_len = bytes.len().min(SNAPSHOT_MAGIC.len());
        if bytes.get(..magic_len) != SNAPSHOT_MAGIC.get(..magic_len) {
            return Err(SnapshotError::NotASnapshot);
        }
        if bytes.len() < FIXED {
            return Err(SnapshotError::Truncated { got, expected: 0 });
        }
        let mut c = Cursor { bytes, at: 8 };
        let mut version = [0u8; 4];
        version.copy_from_slice(c.take(4)?);
        let version = u32::from_le_bytes(version);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(version));
        }
        let expected = c.u64()?;
        if got < expected {
            return Err(SnapshotError::Truncated { got, expected });
        }
        if got > expected {
            return Err(SnapshotError::Corrupt("bytes after its end"));
        }
        if bytes.len() < FIXED + TRAILER {
            return Err(SnapshotError::Truncated { got, expected: 0 });
        }
        let (content, trailer) = bytes.split_at(bytes.len() - TRAILER);
        if check {
            let mut sum = [0u8; 8];
            sum.copy_from_slice(trailer);
            if checksum(content) != u64::from_le_bytes(sum) {
                return Err(SnapshotError::Checksum);
            }
        }
        let mut c = Cursor {
            bytes: content,
            at: FIXED,
        };
        let codec = c.codec_name()?;
        let codec_state = c.blob()?;
        let taken_at = c.u64()?;
        let entries = c.u64()?;
        if entries > (c.left() / MIN_ENTRY) as u64 {
            return Err(SnapshotError::Corrupt("more entries than bytes for them"));
        }
        let count = c.varint()?;
        if count > c.left() as u64 {
            return Err(SnapshotError::Corrupt("more names than bytes for them"));
        }
        let mut names = Vec::new();
        names
            .try_reserve_exact(count as usize)
            .map_err(|_| SnapshotError::Corrupt("too many names"))?;
        for _ in 0..count {
            names.push(c.blob()?);
        }
        Ok(Snapshot {
            header: Header {
                codec,
                codec_state,
                taken_at,
                entries,
            },
            names,
            body: content.get(c.at..).unwrap_or(&[]),
            plain: None,
        })
    }

    /// Its header.
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// The keys and values of its entries, least recently used first, when
    /// every entry is plain ([`Snapshot::plain_totals`] is `Some`): read
    /// without building a [`SnapshotEntry`]. Empty otherwise; it stops at
    /// an entry that is not plain.
    pub fn plain_entries(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let mut c = Cursor {
            bytes: self.body,
            at: 0,
        };
        let mut left = if self.plain.is_some() {
            self.header.entries
        } else {
            0
        };
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            if c.u8().ok()? != 0 {
                left = 0;
                return None;
            }
            let key = c.blob().ok()?;
            let value = c.blob().ok()?;
            Some((key, value))
        })
    }

    /// Its entries, least recently used first.
    pub fn entries(&self) -> impl Iterator<Item = SnapshotEntry<'a>> + '_ {
        let mut c = Cursor {
            bytes: self.body,
            at: 0,
        };
        let mut left = self.header.entries;
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            read_entry(&mut c, &self.names, self.header.taken_at).ok()
        })
    }
}

/// Checks the next `n` entries at `c` ([`Snapshot::parse`]), one run
/// ([`crate::runs`]), summing them into `plain` while all are plain.
#[inline(never)]
fn parse_run<'a>(
    c: &mut Cursor<'a>,
    snap: &Snapshot<'a>,
    n: u64,
    plain: &mut Option<PlainTotals>,
) -> Result<(), SnapshotError> {
    let mut last = LastCharges {
        lens: (usize::MAX, usize::MAX),
        charges: [0; 2],
    };
    for _ in 0..n {
        let e = read_entry(c, &snap.names, snap.header.taken_at)?;
        if let Some(totals) = plain.as_mut() {
            if e.expires_at.is_none()
                && e.grace == 0
                && e.tags.is_empty()
                && e.depends_on.is_empty()
                && e.load_ms.is_none()
            {
                let charges = last.of(e.key.len(), e.value.len());
                totals.add(e.key.len(), e.value.len(), charges);
            } else {
                *plain = None;
            }
        }
    }
    Ok(())
}

/// A list of indexes into the names.
fn read_names<'a>(c: &mut Cursor<'a>, names: &[&'a [u8]]) -> Result<Vec<&'a [u8]>, SnapshotError> {
    let n = c.len()?;
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| SnapshotError::Corrupt("too many tags or dependencies"))?;
    for _ in 0..n {
        let i = c.varint()?;
        let name = usize::try_from(i)
            .ok()
            .and_then(|i| names.get(i))
            .ok_or(SnapshotError::Corrupt("a tag or dependency names no name"))?;
        out.push(*name);
    }
    Ok(out)
}

#[inline(always)]
fn read_entry<'a>(
    c: &mut Cursor<'a>,
    names: &[&'a [u8]],
    taken_at: u64,
) -> Result<SnapshotEntry<'a>, SnapshotError> {
    let flags = c.u8()?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(SnapshotError::Corrupt("an entry has unknown flags"));
    }
    let key = c.blob()?;
    let value = c.blob()?;
    let mut e = SnapshotEntry::plain(key, value);
    if flags == 0 {
        // Most entries: nothing more to read.
        return Ok(e);
    }
    if flags & HAS_TTL != 0 {
        let z = c.varint()?;
        let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let at = taken_at
            .checked_add_signed(delta)
            .ok_or(SnapshotError::Corrupt("an expiry out of range"))?;
        e.expires_at = Some(at);
    }
    if flags & HAS_GRACE != 0 {
        e.grace = c.varint()?;
        if e.grace > MAX_TTL_MS {
            return Err(SnapshotError::Corrupt("a stale window out of range"));
        }
    }
    if flags & HAS_TAGS != 0 {
        e.tags = read_names(c, names)?;
    }
    if flags & HAS_DEPS != 0 {
        e.depends_on = read_names(c, names)?;
    }
    if flags & HAS_LOAD_TIME != 0 {
        let ms = c.varint()?;
        e.load_ms = Some(
            u32::try_from(ms)
                .ok()
                .filter(|&ms| ms > 0)
                .ok_or(SnapshotError::Corrupt("a load time out of range"))?,
        );
    }
    Ok(e)
}

/// The bytes of `v` as a varint.
#[inline]
fn varint_len(v: usize) -> usize {
    let bits = usize::BITS - (v | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Appends `v` as a varint.
#[inline]
fn push_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes `v` as a varint at the start of `out` (room for 10 bytes);
/// returns its length.
#[inline]
fn put_varint(out: &mut [u8], mut v: u64) -> usize {
    let mut n = 0;
    while let Some(b) = out.get_mut(n) {
        n += 1;
        if v < 0x80 {
            *b = v as u8;
            break;
        }
        *b = (v as u8) | 0x80;
        v >>= 7;
    }
    n
}

/// The zigzag form of `expires_at − taken_at`.
pub(crate) fn expiry_delta(expires_at: u64, taken_at: u64) -> u64 {
    let d = expires_at.wrapping_sub(taken_at) as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_deltas_round_trip_through_the_reader() {
        for (at, taken) in [(0u64, 0u64), (5, 10), (10, 5), (1 << 53, 0), (0, 1 << 53)] {
            let mut out = Vec::new();
            let mut sink = |b: &[u8]| -> Result<(), CacheError> {
                out.extend_from_slice(b);
                Ok(())
            };
            let mut e = Emit::to(&mut sink).unwrap();
            e.varint(expiry_delta(at, taken)).unwrap();
            e.finish().unwrap();
            let mut c = Cursor { bytes: &out, at: 0 };
            let z = c.varint().unwrap();
            let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
            assert_eq!(taken.checked_add_signed(delta), Some(at));
        }
    }

    #[test]
    fn varint_len_counts_what_put_varint_writes() {
        for v in [0usize, 1, 127, 128, 16_383, 16_384, 1 << 35, usize::MAX] {
            let mut out = [0u8; 10];
            assert_eq!(varint_len(v), put_varint(&mut out, v as u64), "{v}");
        }
    }

    #[test]
    fn a_ten_byte_varint_past_64_bits_is_corrupt() {
        let bytes = [0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let mut c = Cursor {
            bytes: &bytes,
            at: 0,
        };
        assert!(matches!(c.varint(), Err(SnapshotError::Corrupt(_))));
    }
}
