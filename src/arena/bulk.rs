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

use super::{class_of, put_varint, varint_len, Arena, Handle, COMPACT_MAX, UNIT};
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
        let handle = self.alloc_chunk(len)?;
        let size = class_of(len).1;
        let Some(out) = self.rest_mut(handle).get_mut(..len) else {
            return Err(CacheError::Internal("a new chunk outside its page"));
        };
        let (rec, rest) = out.split_at_mut(record.len());
        rec.copy_from_slice(record);
        let at = put_varint(rest, header | (len % UNIT));
        if let Some((k, v)) = rest.get_mut(at..).map(|r| r.split_at_mut(key.len())) {
            k.copy_from_slice(key);
            v.copy_from_slice(value);
        }
        Ok(Some((handle, size)))
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
}
