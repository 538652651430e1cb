//! Appending a short entry with its record written at once (a snapshot's
//! load into an empty cache, see [`crate::store::Store::append_short`]).
//!
//! [`Arena::alloc_with`] serves every entry: it works out the general
//! layout, may take blocks, zeroes the record, and copies the value through
//! a callback, piece by piece. A short entry (a compact chunk: the record,
//! a one- or two-byte header, the key and the value in at most
//! [`COMPACT_MAX`] bytes, the stock entry) needs none of that: its chunk
//! comes from the same size-class pages the same way, and its bytes are
//! written front to back in one pass.

use super::{put_varint, varint_len, Arena, Handle, COMPACT_MAX, NONE16, PAGE, UNIT, UNIT_BITS};
use crate::error::CacheError;

impl Arena {
    /// Stores a short entry: `record` (this arena's record length), the
    /// header, `key` and `value`, in a chunk laid out as
    /// [`Arena::alloc_with`] lays it out. Returns its handle and the bytes
    /// it occupies ([`Arena::chunk_size`]), or `None` (nothing allocated)
    /// when the entry is not short or `record` has the wrong length.
    ///
    /// # Errors
    /// [`CacheError::AllocFailed`]; nothing is allocated then.
    pub fn append_short(
        &mut self,
        record: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<Option<(Handle, usize)>, CacheError> {
        let header = key.len() << 1;
        let len = self.record + varint_len(header) + key.len() + value.len();
        if len > COMPACT_MAX || record.len() != self.record {
            return Ok(None);
        }
        // A compact chunk's class: 2-byte steps ([`super::class_of`]).
        let size = len.max(UNIT).next_multiple_of(UNIT);
        let (page, at) = match self.carve(size) {
            Some(place) => place,
            None => {
                let handle = self.alloc_chunk(len)?;
                let unit = handle & ((1 << UNIT_BITS) - 1);
                ((handle >> UNIT_BITS) as usize, unit as usize * UNIT)
            }
        };
        let handle = ((page as u32) << UNIT_BITS) | (at / UNIT) as u32;
        let Some(out) = self
            .pages
            .get_mut(page)
            .and_then(|p| p.get_mut(at..at + len))
        else {
            return Err(CacheError::Internal("a new chunk outside its page"));
        };
        let (rec, rest) = out.split_at_mut(record.len());
        copy_record(rec, record);
        let at = put_varint(rest, header | (len % UNIT));
        if let Some((k, v)) = rest.get_mut(at..).map(|r| r.split_at_mut(key.len())) {
            k.copy_from_slice(key);
            v.copy_from_slice(value);
        }
        Ok(Some((handle, size)))
    }

    /// A `size`-byte chunk carved from the untouched tail of its class's
    /// page with room (a compare and an add, where [`Arena::alloc_chunk`]
    /// works out the class, takes free-list chunks and retires full
    /// pages): its page and byte offset. `None` when that page has a free
    /// list, would be left full, or there is none: [`Arena::alloc_chunk`]
    /// serves those.
    #[inline]
    fn carve(&mut self, size: usize) -> Option<(usize, usize)> {
        let page = *self.partial.get(size / UNIT - 1)?.last()? as usize;
        let info = self.info.get_mut(page)?;
        let at = usize::from(info.bump) * UNIT;
        if info.free != NONE16 || at + 2 * size > PAGE {
            return None;
        }
        info.bump += (size / UNIT) as u16;
        info.live += 1;
        Some((page, at))
    }
}

/// Copies a record of the store's lengths (12 or 16 bytes) as a fixed-size
/// move, not a call to `memcpy` per entry; any other length as a slice.
#[inline]
fn copy_record(to: &mut [u8], from: &[u8]) {
    if let (Ok(t), Ok(f)) = (
        <&mut [u8; 12]>::try_from(&mut *to),
        <&[u8; 12]>::try_from(from),
    ) {
        *t = *f;
    } else if let (Ok(t), Ok(f)) = (
        <&mut [u8; 16]>::try_from(&mut *to),
        <&[u8; 16]>::try_from(from),
    ) {
        *t = *f;
    } else {
        to.copy_from_slice(from);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Arena;

    /// A short entry appended reads back as one stored by `alloc`, with its
    /// record as given and the size `chunk_size` charges; a longer one is
    /// refused with nothing allocated.
    #[test]
    fn a_short_entry_reads_back_as_one_alloc_stored() {
        let mut a = Arena::new(12);
        let record: [u8; 12] = core::array::from_fn(|i| i as u8 + 1);
        for (k, v) in [(17, 8), (17, 9), (1, 0), (63, 100), (64, 100), (100, 142)] {
            let key = alloc::vec![b'k'; k];
            let value: alloc::vec::Vec<u8> = (0..v).map(|i| i as u8).collect();
            let (h, size) = a.append_short(&record, &key, &value).unwrap().unwrap();
            assert_eq!(size, Arena::chunk_size(12, k, v), "{k}+{v}");
            let (got_k, got_v) = a.get(h);
            assert_eq!((got_k, got_v.to_vec()), (&key[..], value.clone()));
            assert_eq!(a.record(h), &record);
            let twin = a.alloc(&key, &value).unwrap();
            assert_eq!(a.chunk(twin).len(), a.chunk(h).len());
        }
        let pages = a.held_bytes();
        let big = alloc::vec![0u8; 300];
        assert!(a.append_short(&record, b"k", &big).unwrap().is_none());
        assert!(a.append_short(&[0; 16], b"k", b"v").unwrap().is_none());
        assert_eq!(a.held_bytes(), pages);
    }

    /// Appends carved from a page's tail, mixed with frees (a free list on
    /// the page) and general allocations of the same class, fill pages
    /// with chunks that never overlap and all read back; freeing them all
    /// leaves every page idle, counted right.
    #[test]
    fn appends_share_pages_with_frees_and_allocs() {
        let mut a = Arena::new(12);
        let record = [7u8; 12];
        let mut live = alloc::vec::Vec::new();
        for i in 0..3_000usize {
            let key = alloc::format!("key{i:05}").into_bytes();
            let value = [(i % 251) as u8; 17];
            let h = if i % 5 == 4 {
                a.alloc(&key, &value).unwrap()
            } else {
                a.append_short(&record, &key, &value).unwrap().unwrap().0
            };
            live.push((h, key, value));
            if i % 7 == 6 {
                let (h, ..) = live.swap_remove(i % live.len());
                a.free(h);
            }
        }
        let mut seen = alloc::collections::BTreeSet::new();
        for (h, key, value) in &live {
            assert!(seen.insert(*h), "one chunk per handle");
            let (k, v) = a.get(*h);
            assert_eq!((k, v.to_vec()), (&key[..], value.to_vec()));
        }
        a.validate(live.iter().map(|l| l.0));
        for (h, ..) in live.drain(..) {
            a.free(h);
        }
        a.validate(core::iter::empty());
        assert!(a.info.iter().all(|i| i.live == 0), "no chunk left counted");
    }
}
