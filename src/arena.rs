//! The byte arena: where keys and values live.
//!
//! Each entry's bytes are one *chunk*: `varint(key_len) ‖ varint(value_len) ‖
//! key ‖ value`. Chunks up to [`MAX_SMALL`] bytes come from 64 KiB pages
//! carved into one size class each (4-byte steps to 1 KiB, then steps of
//! one eighth); a page keeps its own free list, and a page whose last chunk
//! is freed goes back to a pool any class can take, so a shift in value sizes
//! does not strand memory. Larger chunks get an allocation of their own.
//!
//! Compared with one heap allocation per entry this saves the allocator's
//! header, its 8-byte rounding and a fat pointer per entry, and it makes the
//! bytes an entry holds exactly computable ([`Arena::chunk_size`]), so the
//! budget charges what memory really holds.

use crate::error::CacheError;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Page size: 64 KiB, the wasm page size.
pub const PAGE: usize = 1 << 16;
/// Largest chunk served from pages.
pub const MAX_SMALL: usize = 16 << 10;
/// Bytes the allocator and the table cost a large chunk beyond its length.
const LARGE_OVERHEAD: usize = 24;
const LARGE_BIT: u32 = 1 << 31;
const NONE16: u16 = u16::MAX;
const NONE: u32 = u32::MAX;

/// A chunk's address: a page and an offset in 4-byte units, or a large index.
pub(crate) type Handle = u32;

/// The size class of a chunk of `len` bytes, and that class's chunk size.
fn class_of(len: usize) -> (usize, usize) {
    let len = len.max(4);
    if len <= 1024 {
        let c = len.div_ceil(UNIT) - 1; // 0..=255 → 4..=1024
        (c, (c + 1) * UNIT)
    } else {
        // geometric: each class 1/8 larger, rounded to 8
        let mut size = 1024usize;
        let mut c = SMALL_CLASSES - 1;
        while size < len {
            size = (size + size / 8 + 7) & !7;
            c += 1;
        }
        (c, size)
    }
}

/// Allocation unit: chunk sizes and offsets are multiples of 4 bytes.
const UNIT: usize = 4;
const UNIT_BITS: u32 = 14; // 64 KiB / 4
const SMALL_CLASSES: usize = 1024 / UNIT;
const CLASSES: usize = SMALL_CLASSES + 40;

#[derive(Clone, Copy)]
struct PageInfo {
    class: u16,
    live: u16,
    /// Head of this page's free list (offset in 4-byte units).
    free: u16,
    /// Next never-used offset (4-byte units).
    bump: u16,
    /// Position in its class's list of pages with room, or NONE.
    partial_pos: u32,
}

pub(crate) struct Arena {
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

/// Splits a chunk into key and value.
fn split(chunk: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    let k = get_varint(chunk, &mut at);
    let v = get_varint(chunk, &mut at);
    let key = chunk.get(at..at + k).unwrap_or(&[]);
    let value = chunk.get(at + k..at + k + v).unwrap_or(&[]);
    (key, value)
}

impl Default for Arena {
    fn default() -> Self {
        Arena {
            pages: Vec::new(),
            info: Vec::new(),
            partial: (0..CLASSES).map(|_| Vec::new()).collect(),
            empty: Vec::new(),
            large: Vec::new(),
            large_free: Vec::new(),
        }
    }
}

impl Arena {
    /// Bytes a chunk for this key and value occupies (what the budget charges).
    pub fn chunk_size(key_len: usize, value_len: usize) -> usize {
        let len = varint_len(key_len) + varint_len(value_len) + key_len + value_len;
        if len <= MAX_SMALL {
            class_of(len).1
        } else {
            ((len + 7) & !7) + LARGE_OVERHEAD
        }
    }

    /// Stores `key ‖ value` and returns its handle.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`].
    pub fn alloc(&mut self, key: &[u8], value: &[u8]) -> Result<Handle, CacheError> {
        let len = varint_len(key.len()) + varint_len(value.len()) + key.len() + value.len();
        if len > MAX_SMALL {
            let mut data = Vec::new();
            data.try_reserve_exact(len)?;
            data.resize(len, 0);
            write_chunk(&mut data, key, value);
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
        let page = self.page_with_room(class, size)?;
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
                write_chunk(chunk, key, value);
            }
        }
        Ok((page << UNIT_BITS) | unit as u32)
    }

    fn page_with_room(&mut self, class: usize, size: usize) -> Result<u32, CacheError> {
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
                self.info.push(PageInfo {
                    class: 0,
                    live: 0,
                    free: NONE16,
                    bump: 0,
                    partial_pos: NONE,
                });
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
                live: 0,
                free: NONE16,
                bump: 0,
                partial_pos: pos,
            };
        }
        let _ = size;
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
        if handle & LARGE_BIT != 0 {
            let idx = handle & !LARGE_BIT;
            if let Some(slot) = self.large.get_mut(idx as usize) {
                *slot = Box::new([]);
                // large_free had room reserved at alloc time
                if self.large_free.try_reserve(1).is_ok() {
                    self.large_free.push(idx);
                }
            }
            return;
        }
        let page = handle >> UNIT_BITS;
        let unit = (handle & ((1 << UNIT_BITS) - 1)) as u16;
        let Some(info) = self.info.get(page as usize).copied() else {
            return;
        };
        if let Some(p) = self.pages.get_mut(page as usize) {
            if let Some(b) = p.get_mut(unit as usize * UNIT..unit as usize * UNIT + 2) {
                b.copy_from_slice(&info.free.to_le_bytes());
            }
        }
        let live = info.live.saturating_sub(1);
        if live == 0 {
            // The whole page is free again: any class may take it.
            self.drop_partial(page);
            if let Some(i) = self.info.get_mut(page as usize) {
                *i = PageInfo {
                    class: 0,
                    live: 0,
                    free: NONE16,
                    bump: 0,
                    partial_pos: NONE,
                };
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

    /// The chunk behind a handle.
    fn chunk(&self, handle: Handle) -> &[u8] {
        if handle & LARGE_BIT != 0 {
            return self
                .large
                .get((handle & !LARGE_BIT) as usize)
                .map_or(&[][..], |b| &b[..]);
        }
        let page = handle >> UNIT_BITS;
        let at = (handle & ((1 << UNIT_BITS) - 1)) as usize * UNIT;
        let Some(p) = self.pages.get(page as usize) else {
            return &[];
        };
        let Some(info) = self.info.get(page as usize) else {
            return &[];
        };
        let size = class_size(info.class as usize);
        p.get(at..at + size).unwrap_or(&[])
    }

    /// `(key, value)` of a chunk.
    #[inline]
    pub fn get(&self, handle: Handle) -> (&[u8], &[u8]) {
        split(self.chunk(handle))
    }

    /// Memory held: pages and large chunks (tests).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.pages.len() * PAGE + self.large.iter().map(|b| b.len()).sum::<usize>()
    }
}

fn class_size(class: usize) -> usize {
    if class < SMALL_CLASSES {
        (class + 1) * UNIT
    } else {
        let mut size = 1024usize;
        for _ in SMALL_CLASSES - 1..class {
            size = (size + size / 8 + 7) & !7;
        }
        size
    }
}

fn write_chunk(out: &mut [u8], key: &[u8], value: &[u8]) {
    let mut at = put_varint(out, key.len());
    at += put_varint(out.get_mut(at..).unwrap_or(&mut []), value.len());
    if let Some(k) = out.get_mut(at..at + key.len()) {
        k.copy_from_slice(key);
    }
    at += key.len();
    if let Some(v) = out.get_mut(at..at + value.len()) {
        v.copy_from_slice(value);
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
        let mut a = Arena::default();
        let mut handles = vec![];
        for i in 0..5000usize {
            let key = i.to_le_bytes();
            let value = vec![i as u8; i % 300];
            handles.push((a.alloc(&key, &value).unwrap(), key, value));
        }
        let big = vec![7u8; 100_000];
        let hb = a.alloc(b"big", &big).unwrap();
        for (h, k, v) in &handles {
            assert_eq!(a.get(*h), (&k[..], &v[..]));
        }
        assert_eq!(a.get(hb).1.len(), 100_000);
        let held = a.held_bytes();
        for (h, _, _) in handles.drain(..) {
            a.free(h);
        }
        a.free(hb);
        assert_eq!(a.empty.len(), a.pages.len(), "every page is empty again");
        // the same load again reuses the pages
        for i in 0..5000usize {
            a.alloc(&i.to_le_bytes(), &vec![1u8; i % 300]).unwrap();
        }
        assert!(a.held_bytes() <= held);
    }
}
