//! The byte arena: where entries live.
//!
//! Each entry is one *chunk*: its fixed-size record (links, state and policy
//! metadata, read and written by [`crate::store`]), a header, the key and the
//! value. Chunks up to [`MAX_SMALL`] bytes come from 8 KiB pages carved into
//! one size class each (2-byte steps to 256 bytes, 8-byte steps to 1 KiB, then
//! steps of one eighth); a page keeps its own free list, and a page whose
//! last chunk is freed goes back to a pool any class can take (past
//! [`POOL_KEEP`] idle pages, back to the allocator), so a shift in value
//! sizes does not strand memory. Larger chunks get an allocation of their
//! own, up to a page's worth of value.
//!
//! A value of [`BLOCK`] bytes or more is never one allocation: its first
//! `len / BLOCK` × [`BLOCK`] bytes fill whole pages (*blocks*) taken from the
//! same pool, and its chunk (the *head*) holds the record, the header, the
//! key, the blocks' page numbers (4 bytes each) and the tail. So the
//! allocator only ever sees pages and allocations of at most about two
//! pages plus the key and the block list: a 60 MiB value never needs a
//! 60 MiB hole, and a freed block is reused exactly by the next block or
//! page. A read returns the value as a [`Value`]: its pieces in order.
//!
//! The header of a chunk of at most 256 bytes is one varint,
//! `key_len × 2 + slack` (slack: the 0 or 1 byte the 2-byte class adds), and
//! the value's length follows from the chunk's size; a larger chunk's header
//! is `varint(key_len) ‖ varint(value_len)`. So a 17-byte key and an 8-byte
//! value under a 12-byte record fill a 38-byte chunk exactly.
//!
//! One chunk per entry carries no allocator header, 8-byte rounding or
//! pointer per entry, and a lookup's key compare and the record it then
//! updates share a cache line. The bytes an entry holds are exactly
//! computable ([`Arena::chunk_size`]), so the budget charges what memory
//! really holds.
//! A chunk's handle never changes while it is allocated: the store uses it
//! as the entry's identity.

use crate::error::CacheError;
use alloc::boxed::Box;
use alloc::vec::Vec;

mod bulk;

/// Page size: 8 KiB less 16 bytes. The index's tables come from the same
/// allocator, and a shard frees its old table each time it grows; large
/// tables are whole multiples of 8 KiB ([`crate::index`]), so the hole a freed
/// one leaves takes pages of this size (with the allocator's header) with
/// nothing left over. Small pages also make a cache's first entry cheap.
pub const PAGE: usize = PAGE_FOOTPRINT - 16;
/// What a page takes from the allocator, its header included: 8 KiB. The
/// index rounds its large tables to multiples of this.
pub(crate) const PAGE_FOOTPRINT: usize = 1 << 13;
/// Largest chunk served from pages: a quarter page, so a page's tail wastes
/// less than a quarter of it.
pub const MAX_SMALL: usize = 2 << 10;
/// Bytes the allocator and the table cost a large chunk beyond its length.
const LARGE_OVERHEAD: usize = 24;
/// A value of at least this many bytes is stored in whole-page blocks plus a
/// tail; the block size.
pub const BLOCK: usize = PAGE;
/// Bytes of a block's page number in its head's list.
const BLOCK_REF: usize = 4;
/// The class a page serving as a block is marked with (no size class).
const BLOCK_CLASS: u16 = u16::MAX;
/// Idle pages kept for reuse by any class or as blocks. A page that empties
/// beyond this many goes back to the allocator, so memory that held one
/// kind of allocation (pages) can serve another (large chunks).
pub const POOL_KEEP: usize = 32;
const LARGE_BIT: u32 = 1 << 31;
const NONE16: u16 = u16::MAX;
const NONE: u32 = u32::MAX;

/// Allocation unit: chunk sizes and offsets are multiples of 2 bytes.
const UNIT: usize = 2;
/// Bits of a handle that give a chunk's offset in its page, in units.
const UNIT_BITS: u32 = (PAGE_FOOTPRINT / UNIT).trailing_zeros();
/// Chunks up to this size use the compact one-varint header.
const COMPACT_MAX: usize = 256;
/// Classes in 2-byte steps (2..=256), then 8-byte steps (264..=1024), then
/// each one eighth larger than the last ([`next_geometric`]).
const FINE_CLASSES: usize = COMPACT_MAX / UNIT;
const MEDIUM_STEP: usize = 8;
const MEDIUM_MAX: usize = 1024;
const SMALL_CLASSES: usize = FINE_CLASSES + (MEDIUM_MAX - COMPACT_MAX) / MEDIUM_STEP;
const CLASSES: usize = SMALL_CLASSES + 8;

/// A chunk's address: a page and an offset in 2-byte units, or a large index.
pub(crate) type Handle = u32;

/// What a handle names: a large chunk (its index), or a page and the chunk's
/// byte offset in it.
#[derive(Clone, Copy)]
enum Place {
    Large(usize),
    Page(usize, usize),
}

#[inline]
fn place(handle: Handle) -> Place {
    if handle & LARGE_BIT != 0 {
        Place::Large((handle & !LARGE_BIT) as usize)
    } else {
        let unit = (handle & ((1 << UNIT_BITS) - 1)) as usize;
        Place::Page((handle >> UNIT_BITS) as usize, unit * UNIT)
    }
}

/// The size class of a chunk of `len` bytes, and that class's chunk size.
fn class_of(len: usize) -> (usize, usize) {
    let len = len.max(UNIT);
    if len <= COMPACT_MAX {
        let c = len.div_ceil(UNIT) - 1;
        (c, (c + 1) * UNIT)
    } else if len <= MEDIUM_MAX {
        let c = (len - COMPACT_MAX).div_ceil(MEDIUM_STEP) - 1;
        (FINE_CLASSES + c, COMPACT_MAX + (c + 1) * MEDIUM_STEP)
    } else {
        let mut size = MEDIUM_MAX;
        let mut c = SMALL_CLASSES - 1;
        while size < len {
            size = next_geometric(size);
            c += 1;
        }
        (c, size)
    }
}

fn class_size(class: usize) -> usize {
    if class >= CLASSES {
        return 0; // a block's page: no chunks
    }
    if class < FINE_CLASSES {
        (class + 1) * UNIT
    } else if class < SMALL_CLASSES {
        COMPACT_MAX + (class - FINE_CLASSES + 1) * MEDIUM_STEP
    } else {
        let mut size = MEDIUM_MAX;
        for _ in SMALL_CLASSES - 1..class {
            size = next_geometric(size);
        }
        size
    }
}

/// The size of the class after a geometric one of `size` bytes: one eighth
/// larger, rounded up to a multiple of 8.
const fn next_geometric(size: usize) -> usize {
    (size + size / 8 + 7) & !7
}

/// How many whole blocks a value of `value_len` bytes fills (0: the value
/// lies in its chunk).
fn blocks_of(value_len: usize) -> usize {
    if value_len >= BLOCK {
        value_len / BLOCK
    } else {
        0
    }
}

/// How an entry's chunk is laid out.
struct Layout {
    /// `Some(slack)` for the compact header, `None` for the long one.
    slack: Option<usize>,
    /// The chunk's bytes before rounding.
    len: usize,
    /// Whole blocks of the value outside the chunk.
    blocks: usize,
}

/// The layout of the chunk for a `record`-byte record, this key and this
/// value: record, header, key, then the block list and the tail for a
/// blocked value, or the value.
fn layout(record: usize, key_len: usize, value_len: usize) -> Layout {
    let blocks = blocks_of(value_len);
    let compact = record + varint_len(key_len << 1) + key_len + value_len;
    if blocks == 0 && compact <= COMPACT_MAX {
        return Layout {
            slack: Some(compact % UNIT),
            len: compact,
            blocks,
        };
    }
    let tail = value_len - blocks * BLOCK;
    let long =
        record + varint_len(key_len) + varint_len(value_len) + key_len + blocks * BLOCK_REF + tail;
    // A long-header chunk never takes a compact class: its size says which it is.
    Layout {
        slack: None,
        len: long.max(COMPACT_MAX + 1),
        blocks,
    }
}

/// Bytes a chunk of `len` bytes occupies: its size class, or its own
/// allocation with the allocator's and the table's share.
fn chunk_bytes(len: usize) -> usize {
    if len <= MAX_SMALL {
        class_of(len).1
    } else {
        ((len + 7) & !7) + LARGE_OVERHEAD
    }
}

#[derive(Clone, Copy)]
struct PageInfo {
    class: u16,
    live: u16,
    /// Head of this page's free list (offset in 2-byte units).
    free: u16,
    /// Next never-used offset (2-byte units).
    bump: u16,
    /// Position in its class's list of pages with room, or NONE.
    partial_pos: u32,
}

impl PageInfo {
    const EMPTY: PageInfo = PageInfo {
        class: 0,
        live: 0,
        free: NONE16,
        bump: 0,
        partial_pos: NONE,
    };
}

pub(crate) struct Arena {
    /// Bytes at the start of every chunk that belong to the store's record.
    record: usize,
    pages: Vec<Box<[u8]>>,
    info: Vec<PageInfo>,
    /// Per class: pages with at least one free chunk.
    partial: Vec<Vec<u32>>,
    /// Pages with no live chunk, ready for any class or as blocks (at most
    /// [`POOL_KEEP`]; capacity for every page, so a free never allocates).
    empty: Vec<u32>,
    /// Page numbers whose memory went back to the allocator, to reuse
    /// (capacity for every page, as `empty`).
    vacant: Vec<u32>,
    large: Vec<Box<[u8]>>,
    large_free: Vec<u32>,
}

fn varint_len(v: usize) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

fn put_varint(out: &mut [u8], mut v: usize) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        if let Some(b) = out.get_mut(i) {
            *b = (v as u8) | 0x80;
        }
        v >>= 7;
        i += 1;
    }
    if let Some(b) = out.get_mut(i) {
        *b = v as u8;
    }
    i + 1
}

#[inline]
fn get_varint(bytes: &[u8], at: &mut usize) -> usize {
    let mut v = 0usize;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 || shift > 56 {
            break;
        }
        shift += 7;
    }
    v
}

/// Splits a chunk (whose record takes its first `record` bytes) into its
/// key, its block list (empty unless the value is blocked) and the value
/// bytes it holds (the whole value, or a blocked value's tail).
#[inline]
fn split(record: usize, chunk: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut at = record;
    let (k, list, end) = if chunk.len() <= COMPACT_MAX {
        let h = get_varint(chunk, &mut at);
        (h >> 1, 0, chunk.len().saturating_sub(h & 1))
    } else {
        let k = get_varint(chunk, &mut at);
        let v = get_varint(chunk, &mut at);
        let blocks = blocks_of(v);
        let list = blocks * BLOCK_REF;
        (k, list, at + k + list + (v - blocks * BLOCK))
    };
    let key = chunk.get(at..at + k).unwrap_or(&[]);
    let blocks = chunk.get(at + k..at + k + list).unwrap_or(&[]);
    let value = chunk.get(at + k + list..end).unwrap_or(&[]);
    (key, blocks, value)
}

/// Writes a fresh chunk's record (zeroed), header, key and block list;
/// returns where the value (or a blocked value's tail) starts.
fn write_head(
    out: &mut [u8],
    record: usize,
    slack: Option<usize>,
    key: &[u8],
    value_len: usize,
    blocks: &[u32],
) -> usize {
    if let Some(r) = out.get_mut(..record) {
        r.fill(0);
    }
    let mut at = record;
    let varint = |out: &mut [u8], at: &mut usize, v: usize| {
        *at += put_varint(out.get_mut(*at..).unwrap_or(&mut []), v);
    };
    match slack {
        Some(slack) => varint(out, &mut at, (key.len() << 1) | slack),
        None => {
            varint(out, &mut at, key.len());
            varint(out, &mut at, value_len);
        }
    }
    if let Some(k) = out.get_mut(at..at + key.len()) {
        k.copy_from_slice(key);
    }
    at += key.len();
    for &page in blocks {
        if let Some(b) = out.get_mut(at..at + BLOCK_REF) {
            b.copy_from_slice(&page.to_le_bytes());
        }
        at += BLOCK_REF;
    }
    at
}

/// A stored value: one slice, or whole-page blocks followed by a tail (see
/// the module doc). Its bytes are [`Value::pieces`] in order. It borrows
/// the cache: read or copy it before the next call that changes the cache.
///
/// ```
/// use edgecache::{Cache, Config, Key, Lookup, SetOptions};
/// let mut cache = Cache::new(Config::default(), 1).unwrap();
/// let k = Key::Str("big").to_bytes();
/// let big = vec![7u8; 100_000];
/// cache.set(&k, &big, &SetOptions::default(), 0).unwrap();
/// let Lookup::Fresh(v) = cache.get(&k, 0, false) else { panic!() };
/// assert_eq!(v.len(), 100_000);
/// assert!(v.pieces().count() > 1, "a large value lies in blocks");
/// assert_eq!(v.to_vec(), big);
/// assert_eq!(v, &big[..]);
/// ```
#[derive(Clone, Copy)]
pub struct Value<'a> {
    /// The blocks' page numbers, 4 bytes each (little-endian).
    list: &'a [u8],
    pages: &'a [Box<[u8]>],
    /// The bytes after the blocks (the whole value when there are none).
    tail: &'a [u8],
}

impl<'a> Value<'a> {
    /// Bytes in the value.
    pub fn len(&self) -> usize {
        self.list.len() / BLOCK_REF * BLOCK + self.tail.len()
    }

    /// Whether the value has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as one slice, when it is stored as one (every value under
    /// [`BLOCK`] bytes).
    pub fn as_slice(&self) -> Option<&'a [u8]> {
        self.list.is_empty().then_some(self.tail)
    }

    /// The value's bytes as non-empty slices, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let pages = self.pages;
        self.list
            .chunks_exact(BLOCK_REF)
            .map(move |b| {
                let page = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                pages.get(page).and_then(|p| p.get(..BLOCK)).unwrap_or(&[])
            })
            .chain(core::iter::once(self.tail))
            .filter(|p| !p.is_empty())
    }

    /// A copy of the value in one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for p in self.pieces() {
            out.extend_from_slice(p);
        }
        out
    }

    /// Whether the value's bytes are `other`.
    fn equals(&self, other: &[u8]) -> bool {
        let mut at = 0;
        self.len() == other.len()
            && self.pieces().all(|p| {
                at += p.len();
                other.get(at - p.len()..at) == Some(p)
            })
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(bytes: &'a [u8]) -> Value<'a> {
        Value {
            list: &[],
            pages: &[],
            tail: bytes,
        }
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(bytes: &'a [u8; N]) -> Value<'a> {
        Value::from(&bytes[..])
    }
}

impl PartialEq for Value<'_> {
    fn eq(&self, other: &Value<'_>) -> bool {
        match other.as_slice() {
            Some(s) => self.equals(s),
            None => {
                self.len() == other.len()
                    && self
                        .pieces()
                        .flat_map(|p| p.iter())
                        .eq(other.pieces().flat_map(|p| p.iter()))
            }
        }
    }
}

impl Eq for Value<'_> {}

impl PartialEq<[u8]> for Value<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.equals(other)
    }
}

impl PartialEq<&[u8]> for Value<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.equals(other)
    }
}

impl core::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.as_slice() {
            Some(s) => write!(f, "{s:?}"),
            None => write!(
                f,
                "Value({} bytes in {} pieces)",
                self.len(),
                self.pieces().count()
            ),
        }
    }
}

/// A short chunk as [`Arena::short`] reads it.
pub(crate) struct Short<'a> {
    /// Its record's bytes.
    pub record: &'a [u8],
    /// Its key.
    pub key: &'a [u8],
    /// Where its value lies.
    pub value: ValueAt,
}

/// Where a short chunk's value lies in its page: kept across a change of
/// the chunk's record (a policy step), it reads the value back without
/// decoding the chunk again. Valid while the chunk stays allocated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueAt {
    page: u32,
    start: u32,
    end: u32,
}

impl Arena {
    /// An arena whose chunks start with a `record`-byte record.
    pub fn new(record: usize) -> Arena {
        Arena {
            record,
            pages: Vec::new(),
            info: Vec::new(),
            partial: (0..CLASSES).map(|_| Vec::new()).collect(),
            empty: Vec::new(),
            vacant: Vec::new(),
            large: Vec::new(),
            large_free: Vec::new(),
        }
    }

    /// Bytes a chunk with a `record`-byte record, this key and this value
    /// occupies (what the budget charges). A value in blocks is charged as
    /// one allocation of its own would be, so charges (and hit ratios under
    /// a byte budget) do not depend on how it is stored. Uncharged: its
    /// block list and its pages' allocator headers (20 bytes per 8 KiB,
    /// 0.25 %) and the head's rounding up to a long-header chunk (at most
    /// 257 bytes, for a tail of a few bytes).
    pub fn chunk_size(record: usize, key_len: usize, value_len: usize) -> usize {
        let l = layout(record, key_len, value_len);
        if l.blocks == 0 {
            return chunk_bytes(l.len);
        }
        let whole = record + varint_len(key_len) + varint_len(value_len) + key_len + value_len;
        chunk_bytes(whole)
    }

    /// Stores a chunk for `key` and `value` (with a zeroed record) and
    /// returns its handle.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    #[cfg(test)]
    pub fn alloc(&mut self, key: &[u8], value: &[u8]) -> Result<Handle, CacheError> {
        self.alloc_with(key, value.len(), &mut |at, v| {
            v.copy_from_slice(&value[at..at + v.len()])
        })
    }

    /// Stores a chunk for `key` and a `value_len`-byte value that `fill`
    /// writes in place (with a zeroed record), and returns its handle. The
    /// value is never staged anywhere else: a large value costs memory once.
    /// `fill(at, piece)` is called once per piece of the value, in order,
    /// with the piece's offset in the value.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; nothing is allocated and `fill` is not
    /// called then.
    pub fn alloc_with(
        &mut self,
        key: &[u8],
        value_len: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<Handle, CacheError> {
        let l = layout(self.record, key.len(), value_len);
        if let (Some(slack), true) = (l.slack, key.len() < 64) {
            return self.alloc_short(key, value_len, l.len, slack, fill);
        }
        let mut blocks: Vec<u32> = Vec::new();
        blocks.try_reserve_exact(l.blocks)?;
        for _ in 0..l.blocks {
            match self.take_page() {
                Ok(page) => {
                    if let Some(info) = self.info.get_mut(page as usize) {
                        *info = PageInfo {
                            class: BLOCK_CLASS,
                            live: 1,
                            ..PageInfo::EMPTY
                        };
                    }
                    blocks.push(page);
                }
                Err(e) => {
                    blocks.iter().for_each(|&p| self.give_back(p));
                    return Err(e);
                }
            }
        }
        let head = match self.alloc_chunk(l.len) {
            Ok(h) => h,
            Err(e) => {
                blocks.iter().for_each(|&p| self.give_back(p));
                return Err(e);
            }
        };
        for (i, &page) in blocks.iter().enumerate() {
            if let Some(b) = self
                .pages
                .get_mut(page as usize)
                .and_then(|p| p.get_mut(..BLOCK))
            {
                fill(i * BLOCK, b);
            }
        }
        let (record, done) = (self.record, l.blocks * BLOCK);
        let chunk = self.chunk_mut(head);
        let tail_at = write_head(chunk, record, l.slack, key, value_len, &blocks);
        if let Some(tail) = chunk.get_mut(tail_at..tail_at + value_len - done) {
            if !tail.is_empty() {
                fill(done, tail);
            }
        }
        Ok(head)
    }

    /// [`Arena::alloc_with`] for a short chunk (see [`Arena::short`]) of
    /// `len` bytes before rounding and `slack` bytes of rounding: the
    /// common entry, written straight into its page — zeroed record, the
    /// one-byte header, the key, then the value — without the general
    /// layout's block list and varints.
    fn alloc_short(
        &mut self,
        key: &[u8],
        value_len: usize,
        len: usize,
        slack: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<Handle, CacheError> {
        let head = self.alloc_chunk(len)?;
        let record = self.record;
        let Place::Page(page, at) = place(head) else {
            return Ok(head);
        };
        let Some(chunk) = self
            .pages
            .get_mut(page)
            .and_then(|p| p.get_mut(at..at + len))
        else {
            return Ok(head);
        };
        let (rec, rest) = chunk.split_at_mut(record.min(len));
        rec.fill(0);
        if let Some((header, rest)) = rest.split_first_mut() {
            // The header fits one byte: the key is shorter than 64 bytes.
            *header = ((key.len() << 1) | slack) as u8;
            if let Some((k, v)) = rest.split_at_mut_checked(key.len()) {
                k.copy_from_slice(key);
                if let Some(v) = v.get_mut(..value_len) {
                    if !v.is_empty() {
                        fill(0, v);
                    }
                }
            }
        }
        Ok(head)
    }

    /// Allocates a chunk of `len` bytes (before rounding), its contents
    /// unspecified, and returns its handle.
    fn alloc_chunk(&mut self, len: usize) -> Result<Handle, CacheError> {
        if len > MAX_SMALL {
            let mut data = Vec::new();
            data.try_reserve_exact(len)?;
            data.resize(len, 0);
            self.large.try_reserve(1)?;
            self.large_free.try_reserve(1)?;
            let idx = match self.large_free.pop() {
                Some(i) => {
                    if let Some(slot) = self.large.get_mut(i as usize) {
                        *slot = data.into_boxed_slice();
                    }
                    i
                }
                None => {
                    self.large.push(data.into_boxed_slice());
                    (self.large.len() - 1) as u32
                }
            };
            return Ok(LARGE_BIT | idx);
        }
        let (class, size) = class_of(len);
        let page = self.page_with_room(class)?;
        let Some(info) = self.info.get_mut(page as usize) else {
            return Err(CacheError::AllocFailed);
        };
        let unit = if info.free != NONE16 {
            let unit = info.free;
            let next = self
                .pages
                .get(page as usize)
                .and_then(|p| p.get(unit as usize * UNIT..unit as usize * UNIT + 2))
                .map_or(NONE16, |b| u16::from_le_bytes([b[0], b[1]]));
            info.free = next;
            unit
        } else {
            let unit = info.bump;
            info.bump += (size / UNIT) as u16;
            unit
        };
        info.live += 1;
        let full = info.free == NONE16 && (info.bump as usize * UNIT + size) > PAGE;
        if full {
            self.drop_partial(page);
        }
        Ok((page << UNIT_BITS) | unit as u32)
    }

    /// An empty page: from the pool, or new memory (reusing a vacant page
    /// number). Its info is left for the caller to set.
    fn take_page(&mut self) -> Result<u32, CacheError> {
        if let Some(p) = self.empty.pop() {
            return Ok(p);
        }
        if self.pages.len() >= (1 << (31 - UNIT_BITS)) {
            return Err(CacheError::AllocFailed);
        }
        let mut mem = Vec::new();
        mem.try_reserve_exact(PAGE)?;
        mem.resize(PAGE, 0);
        if let Some(p) = self.vacant.pop() {
            if let Some(slot) = self.pages.get_mut(p as usize) {
                *slot = mem.into_boxed_slice();
            }
            return Ok(p);
        }
        // Room for every page in the pool lists: a free never allocates.
        let n = self.pages.len() + 1;
        self.pages.try_reserve(1)?;
        self.info.try_reserve(1)?;
        self.empty.try_reserve(n.saturating_sub(self.empty.len()))?;
        self.vacant
            .try_reserve(n.saturating_sub(self.vacant.len()))?;
        self.pages.push(mem.into_boxed_slice());
        self.info.push(PageInfo::EMPTY);
        Ok((self.pages.len() - 1) as u32)
    }

    /// Returns an empty page (or a freed block) to the pool, or its memory
    /// to the allocator when the pool holds [`POOL_KEEP`] pages already.
    fn give_back(&mut self, page: u32) {
        if let Some(i) = self.info.get_mut(page as usize) {
            *i = PageInfo::EMPTY;
        }
        if self.empty.len() < POOL_KEEP {
            self.empty.push(page);
        } else if let Some(slot) = self.pages.get_mut(page as usize) {
            *slot = Box::new([]);
            self.vacant.push(page);
        }
    }

    fn page_with_room(&mut self, class: usize) -> Result<u32, CacheError> {
        if let Some(&p) = self.partial.get(class).and_then(|v| v.last()) {
            return Ok(p);
        }
        let list = self.partial.get_mut(class).ok_or(CacheError::AllocFailed)?;
        list.try_reserve(1)?;
        let page = self.take_page()?;
        let list = self.partial.get_mut(class).ok_or(CacheError::AllocFailed)?;
        let pos = list.len() as u32;
        list.push(page);
        if let Some(info) = self.info.get_mut(page as usize) {
            *info = PageInfo {
                class: class as u16,
                partial_pos: pos,
                ..PageInfo::EMPTY
            };
        }
        Ok(page)
    }

    fn drop_partial(&mut self, page: u32) {
        let Some(info) = self.info.get(page as usize).copied() else {
            return;
        };
        if info.partial_pos == NONE {
            return;
        }
        if let Some(list) = self.partial.get_mut(info.class as usize) {
            let pos = info.partial_pos as usize;
            if pos < list.len() {
                list.swap_remove(pos);
                if let Some(&moved) = list.get(pos) {
                    if let Some(m) = self.info.get_mut(moved as usize) {
                        m.partial_pos = pos as u32;
                    }
                }
            }
        }
        if let Some(i) = self.info.get_mut(page as usize) {
            i.partial_pos = NONE;
        }
    }

    /// The page number of a chunk's block `i` (none past its list).
    fn block(&self, handle: Handle, i: usize) -> Option<u32> {
        let at = i.checked_mul(BLOCK_REF)?;
        let (_, list, _) = split(self.record, self.chunk(handle));
        let b = list.get(at..at.checked_add(BLOCK_REF)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Releases a chunk and its blocks.
    pub fn free(&mut self, handle: Handle) {
        // Only a long-header chunk can have blocks.
        let mut i = if self.chunk_len(handle) > COMPACT_MAX {
            0
        } else {
            usize::MAX
        };
        while let Some(page) = self.block(handle, i) {
            let is_block = self
                .info
                .get(page as usize)
                .is_some_and(|info| info.class == BLOCK_CLASS);
            if is_block {
                self.give_back(page);
            }
            i += 1;
        }
        let (page, unit) = match place(handle) {
            Place::Large(idx) => {
                if let Some(slot) = self.large.get_mut(idx) {
                    *slot = Box::new([]);
                    // large_free had room reserved at alloc time
                    if self.large_free.try_reserve(1).is_ok() {
                        self.large_free.push(idx as u32);
                    }
                }
                return;
            }
            Place::Page(page, at) => (page as u32, (at / UNIT) as u16),
        };
        let Some(info) = self.info.get(page as usize).copied() else {
            return;
        };
        if let Some(b) = self.rest_mut(handle).get_mut(..2) {
            b.copy_from_slice(&info.free.to_le_bytes());
        }
        let live = info.live.saturating_sub(1);
        if live == 0 {
            // The whole page is free again: any class may take it.
            self.drop_partial(page);
            self.give_back(page);
            return;
        }
        if let Some(i) = self.info.get_mut(page as usize) {
            i.live = live;
            i.free = unit;
        }
        if info.partial_pos == NONE {
            let class = info.class as usize;
            if let Some(list) = self.partial.get_mut(class) {
                if list.try_reserve(1).is_ok() {
                    let pos = list.len() as u32;
                    list.push(page);
                    if let Some(i) = self.info.get_mut(page as usize) {
                        i.partial_pos = pos;
                    }
                }
            }
        }
    }

    /// The bytes from a handle's chunk to the end of its allocation (its page,
    /// or its own for a large chunk); empty for a handle that names nothing.
    #[inline]
    fn rest(&self, handle: Handle) -> &[u8] {
        match place(handle) {
            Place::Large(idx) => self.large.get(idx).map_or(&[][..], |b| &b[..]),
            Place::Page(page, at) => self
                .pages
                .get(page)
                .and_then(|p| p.get(at..))
                .unwrap_or(&[]),
        }
    }

    #[inline]
    fn rest_mut(&mut self, handle: Handle) -> &mut [u8] {
        match place(handle) {
            Place::Large(idx) => self.large.get_mut(idx).map_or(&mut [][..], |b| &mut b[..]),
            Place::Page(page, at) => self
                .pages
                .get_mut(page)
                .and_then(|p| p.get_mut(at..))
                .unwrap_or(&mut []),
        }
    }

    /// The size of a handle's chunk: its class's, or its allocation's.
    #[inline]
    fn chunk_len(&self, handle: Handle) -> usize {
        match place(handle) {
            Place::Large(idx) => self.large.get(idx).map_or(0, |b| b.len()),
            Place::Page(page, _) => self
                .info
                .get(page)
                .map_or(0, |i| class_size(i.class as usize)),
        }
    }

    /// The chunk behind a handle (record, header, key and value or block
    /// list and tail; empty for a handle that names nothing).
    #[inline]
    pub fn chunk(&self, handle: Handle) -> &[u8] {
        let len = self.chunk_len(handle);
        self.rest(handle).get(..len).unwrap_or(&[])
    }

    fn chunk_mut(&mut self, handle: Handle) -> &mut [u8] {
        let len = self.chunk_len(handle);
        self.rest_mut(handle).get_mut(..len).unwrap_or(&mut [])
    }

    /// The record at the head of a handle's chunk (empty for a handle that
    /// names nothing). Unlike [`Arena::chunk`] it needs no size class: the
    /// record is the chunk's first bytes, and every chunk is longer.
    #[inline]
    pub fn record(&self, handle: Handle) -> &[u8] {
        let len = self.record;
        match place(handle) {
            Place::Page(page, at) => self.pages.get(page).and_then(|p| p.get(at..at + len)),
            Place::Large(idx) => self.large.get(idx).and_then(|b| b.get(..len)),
        }
        .unwrap_or(&[])
    }

    /// The record at the head of a handle's chunk, to write.
    #[inline]
    pub fn record_mut(&mut self, handle: Handle) -> &mut [u8] {
        let len = self.record;
        match place(handle) {
            Place::Page(page, at) => self
                .pages
                .get_mut(page)
                .and_then(|p| p.get_mut(at..at + len)),
            Place::Large(idx) => self.large.get_mut(idx).and_then(|b| b.get_mut(..len)),
        }
        .unwrap_or(&mut [])
    }

    /// A short chunk: one of at most 256 bytes (a compact class) whose key
    /// is shorter than 64 bytes (a one-byte header), the common entry, read
    /// without the general decoding: its record, its key and where its
    /// value lies. `None` for any other chunk.
    #[inline(always)]
    pub fn short(&self, handle: Handle) -> Option<Short<'_>> {
        let Place::Page(page, at) = place(handle) else {
            return None;
        };
        let class = self.info.get(page)?.class as usize;
        if class >= FINE_CLASSES {
            return None;
        }
        let end = at + (class + 1) * UNIT;
        let chunk = self.pages.get(page)?.get(at..end)?;
        let (record, rest) = chunk.split_at_checked(self.record)?;
        let (&header, rest) = rest.split_first()?;
        if header >= 0x80 {
            return None;
        }
        let (key, value) = rest.split_at_checked(usize::from(header >> 1))?;
        let value_len = value.len().checked_sub(usize::from(header & 1))?;
        let start = end - value.len();
        Some(Short {
            record,
            key,
            value: ValueAt {
                page: page as u32,
                start: start as u32,
                end: (start + value_len) as u32,
            },
        })
    }

    /// Key and value of a short chunk (see [`Arena::short`]).
    #[inline]
    fn split_short(&self, handle: Handle) -> Option<(&[u8], &[u8])> {
        let short = self.short(handle)?;
        Some((short.key, self.value_at(short.value).tail))
    }

    /// The value [`Arena::short`] located (empty for a place that names
    /// nothing): one slice of its page, no decoding.
    #[inline]
    pub fn value_at(&self, at: ValueAt) -> Value<'_> {
        let tail = self
            .pages
            .get(at.page as usize)
            .and_then(|p| p.get(at.start as usize..at.end as usize))
            .unwrap_or(&[]);
        Value {
            list: &[],
            pages: &self.pages,
            tail,
        }
    }

    /// The bytes a short chunk occupies (its compact class's size), read
    /// from its page's class alone: a compact chunk holds its whole value,
    /// so this is [`Arena::chunk_size`] of its key and value. `None` for
    /// any other chunk.
    #[inline]
    pub fn short_chunk_size(&self, handle: Handle) -> Option<usize> {
        let Place::Page(page, _) = place(handle) else {
            return None;
        };
        let class = self.info.get(page)?.class as usize;
        (class < FINE_CLASSES).then_some((class + 1) * UNIT)
    }

    /// `(key, value)` of a chunk.
    #[inline]
    pub fn get(&self, handle: Handle) -> (&[u8], Value<'_>) {
        if let Some((key, tail)) = self.split_short(handle) {
            let value = Value {
                list: &[],
                pages: &self.pages,
                tail,
            };
            return (key, value);
        }
        let (key, list, tail) = split(self.record, self.chunk(handle));
        let value = Value {
            list,
            pages: &self.pages,
            tail,
        };
        (key, value)
    }

    /// The key of a chunk (a lookup's compare, which needs no value).
    #[inline]
    pub fn key(&self, handle: Handle) -> &[u8] {
        if let Some(short) = self.short(handle) {
            return short.key;
        }
        split(self.record, self.chunk(handle)).0
    }

    /// Every handle that names a chunk carved so far, allocated or free
    /// (the store tells them apart by its record; tests and `validate`).
    #[cfg(any(test, feature = "std"))]
    pub fn carved(&self) -> impl Iterator<Item = Handle> + '_ {
        let small = self.info.iter().enumerate().flat_map(|(page, info)| {
            let step = class_size(info.class as usize) / UNIT;
            (0..info.bump as usize)
                .step_by(step.max(1))
                .map(move |unit| ((page as u32) << UNIT_BITS) | unit as u32)
        });
        let large = (0..self.large.len() as u32)
            .filter(|&i| self.large.get(i as usize).is_some_and(|b| !b.is_empty()))
            .map(|i| LARGE_BIT | i);
        small.chain(large)
    }

    /// Checks the pages: every page is in exactly one state (carved for a
    /// class, a block of exactly one live chunk, idle in the pool, or
    /// vacant), and the pool holds at most [`POOL_KEEP`] pages.
    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, live: impl Iterator<Item = Handle>) {
        let mut owners = alloc::vec![0u32; self.pages.len()];
        for h in live {
            let mut i = 0;
            while let Some(page) = self.block(h, i) {
                let info = self.info.get(page as usize).map(|i| i.class);
                assert_eq!(info, Some(BLOCK_CLASS), "a block's page is marked");
                owners[page as usize] += 1;
                i += 1;
            }
        }
        assert!(self.empty.len() <= POOL_KEEP, "pool size");
        for (page, info) in self.info.iter().enumerate() {
            let idle = self.empty.contains(&(page as u32));
            let vacant = self.vacant.contains(&(page as u32));
            let memory = self.pages.get(page).map_or(0, |p| p.len());
            if info.class == BLOCK_CLASS {
                assert_eq!(owners[page], 1, "block {page} has one owner");
                assert!(!idle && !vacant && memory == PAGE);
            } else {
                assert_eq!(owners[page], 0, "page {page} is no block");
                assert!(!(idle && vacant));
                assert_eq!(memory == 0, vacant, "vacant pages hold no memory");
                if idle || vacant {
                    assert_eq!(info.live, 0);
                }
            }
        }
    }

    /// Memory held: pages and large chunks (tests).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.pages.iter().map(|p| p.len()).sum::<usize>()
            + self.large.iter().map(|b| b.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn kv(a: &Arena, h: Handle) -> (Vec<u8>, Vec<u8>) {
        let (k, v) = a.get(h);
        (k.to_vec(), v.to_vec())
    }

    /// A value whose bytes differ from block to block and within them.
    fn pattern(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / BLOCK + seed) as u8).collect()
    }

    #[test]
    fn a_large_value_lies_in_whole_blocks_and_a_tail() {
        for record in [12, 16] {
            let mut a = Arena::new(record);
            for len in [
                BLOCK - 1,
                BLOCK,
                BLOCK + 1,
                3 * BLOCK,
                3 * BLOCK + 5,
                100_000,
            ] {
                let key = vec![9u8; 40];
                let value = pattern(len, record);
                let h = a.alloc(&key, &value).unwrap();
                let (k, v) = a.get(h);
                assert_eq!(k, &key[..]);
                assert_eq!(v.len(), len);
                assert_eq!(v, &value[..], "record {record} len {len}");
                let blocks = if len >= BLOCK { len / BLOCK } else { 0 };
                assert_eq!(v.as_slice().is_some(), blocks == 0);
                let pieces: Vec<usize> = v.pieces().map(<[u8]>::len).collect();
                let tail = len - blocks * BLOCK;
                let mut expect = vec![BLOCK; blocks];
                if tail > 0 {
                    expect.push(tail);
                }
                assert_eq!(pieces, expect, "len {len}");
                // The charge is that of one chunk of its own, as it was
                // before blocks, within a head's rounding and 20 bytes a
                // block of the memory it holds.
                let head = match (place(h), a.chunk(h).len()) {
                    (Place::Large(_), n) => ((n + 7) & !7) + LARGE_OVERHEAD,
                    (Place::Page(..), n) => n,
                };
                let held = head + blocks * (PAGE + 16);
                let charged = Arena::chunk_size(record, key.len(), len);
                if blocks == 0 {
                    assert_eq!(charged, held);
                } else {
                    assert_eq!(
                        charged,
                        ((record + 1 + varint_len(len) + 40 + len + 7) & !7) + LARGE_OVERHEAD
                    );
                    let slack = COMPACT_MAX + 2 * 8 + blocks * (16 + BLOCK_REF);
                    assert!(held.abs_diff(charged) <= slack, "len {len}");
                }
                a.validate(core::iter::once(h));
                a.free(h);
                a.validate(core::iter::empty());
            }
        }
    }

    #[test]
    fn fill_writes_each_piece_once_in_order() {
        let mut a = Arena::new(12);
        let len = 2 * BLOCK + 300;
        let mut seen = vec![];
        let h = a
            .alloc_with(b"k", len, &mut |at, piece| {
                seen.push((at, piece.len()));
                piece.fill((at / BLOCK) as u8 + 1);
            })
            .unwrap();
        assert_eq!(seen, [(0, BLOCK), (BLOCK, BLOCK), (2 * BLOCK, 300)]);
        let v = a.get(h).1.to_vec();
        assert!(v[..BLOCK].iter().all(|&b| b == 1));
        assert!(v[BLOCK..2 * BLOCK].iter().all(|&b| b == 2));
        assert!(v[2 * BLOCK..].iter().all(|&b| b == 3));
    }

    #[test]
    fn freed_blocks_are_reused_exactly_and_the_pool_is_bounded() {
        let mut a = Arena::new(12);
        let big = pattern(40 * BLOCK + 17, 1);
        let h = a.alloc(b"big", &big).unwrap();
        let held = a.held_bytes();
        a.free(h);
        // Past POOL_KEEP idle pages, memory goes back to the allocator.
        assert_eq!(a.empty.len(), POOL_KEEP);
        assert!(a.held_bytes() <= POOL_KEEP * PAGE);
        a.validate(core::iter::empty());
        // The same value again takes the idle and vacant page numbers: no
        // new page numbers, and the same memory.
        let pages = a.pages.len();
        let h = a.alloc(b"big", &big).unwrap();
        assert_eq!(a.pages.len(), pages);
        assert_eq!(a.held_bytes(), held);
        assert_eq!(a.get(h).1, &big[..]);
        // Small chunks take pages a freed value left.
        a.free(h);
        let small: Vec<Handle> = (0..2000u32)
            .map(|i| a.alloc(&i.to_le_bytes(), &[1; 20]).unwrap())
            .collect();
        assert_eq!(a.pages.len(), pages);
        a.validate(small.iter().copied());
    }

    #[test]
    fn classes_cover_every_small_length() {
        let mut last = 0;
        for len in 1..=MAX_SMALL {
            let (c, size) = class_of(len);
            assert!(size >= len && c < CLASSES, "{len} → class {c} size {size}");
            assert_eq!(class_size(c), size);
            assert!(size >= last);
            last = size;
        }
    }

    #[test]
    fn chunks_round_trip_and_pages_come_back() {
        for record in [0, 12, 16] {
            let mut a = Arena::new(record);
            let mut handles = vec![];
            for i in 0..5000usize {
                let key = vec![i as u8; i % 200];
                let value = vec![i as u8; i % 300];
                handles.push((a.alloc(&key, &value).unwrap(), key, value));
            }
            let big = vec![7u8; 100_000];
            let hb = a.alloc(b"big", &big).unwrap();
            for (h, k, v) in &handles {
                assert_eq!(kv(&a, *h), (k.clone(), v.clone()));
                let expected = Arena::chunk_size(record, k.len(), v.len());
                assert_eq!(
                    a.chunk(*h).len(),
                    expected,
                    "record {record} key {} value {}",
                    k.len(),
                    v.len()
                );
                assert!(a.chunk(*h)[..record].iter().all(|&b| b == 0));
            }
            assert_eq!(kv(&a, hb), (b"big".to_vec(), big.clone()));
            let held = a.held_bytes();
            for (h, _, _) in handles.drain(..) {
                a.free(h);
            }
            a.free(hb);
            assert_eq!(
                a.empty.len() + a.vacant.len(),
                a.pages.len(),
                "every page is idle or back with the allocator"
            );
            assert_eq!(a.empty.len(), POOL_KEEP);
            // the same load again reuses the pages
            for i in 0..5000usize {
                a.alloc(&vec![1u8; i % 200], &vec![1u8; i % 300]).unwrap();
            }
            assert!(a.held_bytes() <= held);
        }
    }

    #[test]
    fn short_chunks_written_over_freed_ones_read_back_both_ways() {
        // Short chunks (written by `alloc_short`) over memory that held
        // others: the record is zeroed, and the general decoding reads the
        // same key and value as the short one.
        let mut a = Arena::new(16);
        let dirty: Vec<Handle> = (0..3000usize)
            .map(|i| {
                a.alloc(&[0xAB; 40][..i % 40], &[0xCD; 90][..i % 90])
                    .unwrap()
            })
            .collect();
        dirty.into_iter().for_each(|h| a.free(h));
        for i in 0..3000usize {
            let key = vec![(i % 251) as u8; i % 64];
            let value = vec![(i % 241) as u8; (i * 7) % 120];
            let h = a.alloc(&key, &value).unwrap();
            let chunk = a.chunk(h);
            assert!(chunk[..16].iter().all(|&b| b == 0), "record {i}");
            let (k, list, v) = split(16, chunk);
            assert_eq!((k, list, v), (&key[..], &[][..], &value[..]), "general {i}");
            let short = a.short(h).expect("a short chunk");
            assert_eq!(short.key, &key[..]);
            assert_eq!(a.value_at(short.value), &value[..]);
        }
    }

    #[test]
    fn the_stock_entry_fills_its_chunk() {
        // 12-byte record + 1-byte header + 17-byte key + 8-byte value.
        assert_eq!(Arena::chunk_size(12, 17, 8), 38);
        let mut a = Arena::new(12);
        let h = a.alloc(&[3; 17], &[4; 8]).unwrap();
        assert_eq!(kv(&a, h), (vec![3u8; 17], vec![4u8; 8]));
        // One byte short: the slack bit keeps the value's length exact.
        let h = a.alloc(&[3; 17], &[4; 7]).unwrap();
        assert_eq!(a.chunk(h).len(), 38);
        assert_eq!(kv(&a, h), (vec![3u8; 17], vec![4u8; 7]));
    }
}
