//! The byte arena: where entries live.
//!
//! Each entry is one *chunk*: its fixed-size record (links, state and policy
//! metadata, read and written by [`crate::store`]), a header, the key and the
//! value. Chunks up to [`MAX_SMALL`] bytes come from 8 KiB pages carved into
//! one size class each (2-byte steps to 256 bytes, 8-byte steps to 1 KiB, then
//! steps of one eighth); a page keeps its own free list, and a page whose
//! last chunk is freed goes back to a pool any class can take, so a shift in
//! value sizes does not strand memory. Larger chunks get an allocation of
//! their own.
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

/// How a chunk for a `record`-byte record, this key and this value is laid
/// out: `Some(slack)` for the compact header, `None` for the long one; and
/// the bytes it needs before rounding.
fn layout(record: usize, key_len: usize, value_len: usize) -> (Option<usize>, usize) {
    let compact = record + varint_len(key_len << 1) + key_len + value_len;
    if compact <= COMPACT_MAX {
        return (Some(compact % UNIT), compact);
    }
    let long = record + varint_len(key_len) + varint_len(value_len) + key_len + value_len;
    // A long-header chunk never takes a compact class: its size says which it is.
    (None, long.max(COMPACT_MAX + 1))
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
    /// Pages with no live chunk, ready for any class.
    empty: Vec<u32>,
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

/// Splits a chunk (whose record takes its first `record` bytes) into key and value.
#[inline]
fn split(record: usize, chunk: &[u8]) -> (&[u8], &[u8]) {
    let mut at = record;
    let (k, end) = if chunk.len() <= COMPACT_MAX {
        let h = get_varint(chunk, &mut at);
        (h >> 1, chunk.len().saturating_sub(h & 1))
    } else {
        let k = get_varint(chunk, &mut at);
        let v = get_varint(chunk, &mut at);
        (k, at + k + v)
    };
    let key = chunk.get(at..at + k).unwrap_or(&[]);
    let value = chunk.get(at + k..end).unwrap_or(&[]);
    (key, value)
}

/// Writes a fresh chunk: a zeroed record, the header, the key, and the
/// value's `value_len` bytes as `fill` writes them.
fn write_chunk(
    out: &mut [u8],
    record: usize,
    slack: Option<usize>,
    key: &[u8],
    value_len: usize,
    fill: &mut dyn FnMut(&mut [u8]),
) {
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
    if let Some(v) = out.get_mut(at..at + value_len) {
        fill(v);
    }
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
            large: Vec::new(),
            large_free: Vec::new(),
        }
    }

    /// Bytes a chunk with a `record`-byte record, this key and this value
    /// occupies (what the budget charges).
    pub fn chunk_size(record: usize, key_len: usize, value_len: usize) -> usize {
        let (_, len) = layout(record, key_len, value_len);
        if len <= MAX_SMALL {
            class_of(len).1
        } else {
            ((len + 7) & !7) + LARGE_OVERHEAD
        }
    }

    /// Stores a chunk for `key` and `value` (with a zeroed record) and
    /// returns its handle.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    #[cfg(test)]
    pub fn alloc(&mut self, key: &[u8], value: &[u8]) -> Result<Handle, CacheError> {
        self.alloc_with(key, value.len(), &mut |v| v.copy_from_slice(value))
    }

    /// Stores a chunk for `key` and a `value_len`-byte value that `fill`
    /// writes in place (with a zeroed record), and returns its handle. The
    /// value is never staged anywhere else: a large value costs memory once.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; `fill` is not called then.
    pub fn alloc_with(
        &mut self,
        key: &[u8],
        value_len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Handle, CacheError> {
        let record = self.record;
        let (slack, len) = layout(record, key.len(), value_len);
        if len > MAX_SMALL {
            let mut data = Vec::new();
            data.try_reserve_exact(len)?;
            data.resize(len, 0);
            write_chunk(&mut data, record, slack, key, value_len, fill);
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
        if let Some(p) = self.pages.get_mut(page as usize) {
            if let Some(chunk) = p.get_mut(unit as usize * UNIT..unit as usize * UNIT + size) {
                write_chunk(chunk, record, slack, key, value_len, fill);
            }
        }
        Ok((page << UNIT_BITS) | unit as u32)
    }

    fn page_with_room(&mut self, class: usize) -> Result<u32, CacheError> {
        if let Some(&p) = self.partial.get(class).and_then(|v| v.last()) {
            return Ok(p);
        }
        let page = match self.empty.pop() {
            Some(p) => p,
            None => {
                if self.pages.len() >= (1 << (31 - UNIT_BITS)) {
                    return Err(CacheError::AllocFailed);
                }
                let mut mem = Vec::new();
                mem.try_reserve_exact(PAGE)?;
                mem.resize(PAGE, 0);
                self.pages.try_reserve(1)?;
                self.info.try_reserve(1)?;
                self.pages.push(mem.into_boxed_slice());
                self.info.push(PageInfo::EMPTY);
                (self.pages.len() - 1) as u32
            }
        };
        let list = self.partial.get_mut(class).ok_or(CacheError::AllocFailed)?;
        list.try_reserve(1)?;
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

    /// Releases a chunk.
    pub fn free(&mut self, handle: Handle) {
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
            if let Some(i) = self.info.get_mut(page as usize) {
                *i = PageInfo::EMPTY;
            }
            if self.empty.try_reserve(1).is_ok() {
                self.empty.push(page);
            }
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

    /// The chunk behind a handle (record, header, key and value; empty for a
    /// handle that names nothing).
    #[inline]
    pub fn chunk(&self, handle: Handle) -> &[u8] {
        let rest = self.rest(handle);
        match place(handle) {
            Place::Large(_) => rest,
            Place::Page(page, _) => self
                .info
                .get(page)
                .and_then(|i| rest.get(..class_size(i.class as usize)))
                .unwrap_or(&[]),
        }
    }

    /// The record at the head of a handle's chunk (empty for a handle that
    /// names nothing). Unlike [`Arena::chunk`] it needs no size class: the
    /// record is the chunk's first bytes, and every chunk is longer.
    #[inline]
    pub fn record(&self, handle: Handle) -> &[u8] {
        self.rest(handle).get(..self.record).unwrap_or(&[])
    }

    /// The record at the head of a handle's chunk, to write.
    #[inline]
    pub fn record_mut(&mut self, handle: Handle) -> &mut [u8] {
        let len = self.record;
        self.rest_mut(handle).get_mut(..len).unwrap_or(&mut [])
    }

    /// `(key, value)` of a chunk.
    #[inline]
    pub fn get(&self, handle: Handle) -> (&[u8], &[u8]) {
        split(self.record, self.chunk(handle))
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

    /// Memory held: pages and large chunks (tests).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.pages.len() * PAGE + self.large.iter().map(|b| b.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

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
                assert_eq!(a.get(*h), (&k[..], &v[..]));
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
            assert_eq!(a.get(hb), (&b"big"[..], &big[..]));
            let held = a.held_bytes();
            for (h, _, _) in handles.drain(..) {
                a.free(h);
            }
            a.free(hb);
            assert_eq!(a.empty.len(), a.pages.len(), "every page is empty again");
            // the same load again reuses the pages
            for i in 0..5000usize {
                a.alloc(&vec![1u8; i % 200], &vec![1u8; i % 300]).unwrap();
            }
            assert!(a.held_bytes() <= held);
        }
    }

    #[test]
    fn the_stock_entry_fills_its_chunk() {
        // 12-byte record + 1-byte header + 17-byte key + 8-byte value.
        assert_eq!(Arena::chunk_size(12, 17, 8), 38);
        let mut a = Arena::new(12);
        let h = a.alloc(&[3; 17], &[4; 8]).unwrap();
        assert_eq!(a.get(h), (&[3u8; 17][..], &[4u8; 8][..]));
        // One byte short: the slack bit keeps the value's length exact.
        let h = a.alloc(&[3; 17], &[4; 7]).unwrap();
        assert_eq!(a.chunk(h).len(), 38);
        assert_eq!(a.get(h), (&[3u8; 17][..], &[4u8; 7][..]));
    }
}
