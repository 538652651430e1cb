//! Redis's LFU, exactly as `maxmemory-policy allkeys-lfu` defines it, without
//! sampling.
//!
//! Each entry has Redis's 8-bit logarithmic counter (`lfu-log-factor` 10, new
//! keys start at 5) and the minute of its last access (16 bits); the counter
//! decays by one per `lfu-decay-time` (1 minute) since that access. Entries sit
//! in 256 lists, one per stored counter value, each ordered by last access.
//! Within one list the head has the oldest access, hence the most decay, so
//! the least frequently used entry overall is the head with the smallest
//! decayed counter: at most 256 candidates, a bitmap skips empty lists.
//! Redis samples 5 keys and keeps a pool of 16; this finds the true minimum.

use super::list::List;
use crate::rng::Rng;
use crate::store::Store;

/// Redis `lfu-log-factor` default.
pub const LOG_FACTOR: f64 = 10.0;
/// Redis `LFU_INIT_VAL`.
pub const INIT_VAL: u8 = 5;
/// Redis `lfu-decay-time` default, in minutes.
pub const DECAY_MINUTES: u64 = 1;

pub(crate) struct Lfu {
    buckets: [List; 256],
    nonempty: [u64; 4],
}

impl Default for Lfu {
    fn default() -> Self {
        Lfu {
            buckets: [List::default(); 256],
            nonempty: [0; 4],
        }
    }
}

fn minutes(now_ms: u64) -> u16 {
    (now_ms / 60_000) as u16
}

fn counter_of(meta: u32) -> u8 {
    meta as u8
}

fn ldt_of(meta: u32) -> u16 {
    (meta >> 8) as u16
}

fn pack(counter: u8, ldt: u16) -> u32 {
    counter as u32 | (ldt as u32) << 8
}

/// Redis `LFUDecrAndReturn`.
pub fn decayed(meta: u32, now_ms: u64) -> u8 {
    let elapsed = minutes(now_ms).wrapping_sub(ldt_of(meta)) as u64;
    let periods = elapsed / DECAY_MINUTES;
    let c = counter_of(meta) as u64;
    if periods >= c {
        0
    } else {
        (c - periods) as u8
    }
}

/// Redis `LFULogIncr`.
pub fn log_incr(counter: u8, rng: &mut Rng) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = counter.saturating_sub(INIT_VAL) as f64;
    let p = 1.0 / (base * LOG_FACTOR + 1.0);
    if rng.next_f64() < p {
        counter + 1
    } else {
        counter
    }
}

impl Lfu {
    fn bucket_push(&mut self, store: &mut Store, slot: u32, counter: u8) {
        if let Some(b) = self.buckets.get_mut(counter as usize) {
            b.push_tail(store, slot);
        }
        if let Some(w) = self.nonempty.get_mut(counter as usize / 64) {
            *w |= 1 << (counter % 64);
        }
    }

    fn bucket_unlink(&mut self, store: &mut Store, slot: u32, counter: u8) {
        if let Some(b) = self.buckets.get_mut(counter as usize) {
            b.unlink(store, slot);
            if b.len == 0 {
                if let Some(w) = self.nonempty.get_mut(counter as usize / 64) {
                    *w &= !(1 << (counter % 64));
                }
            }
        }
    }

    fn set_meta(store: &mut Store, slot: u32, counter: u8, ldt: u16) {
        // Under LFU the counter and clock are the whole `meta` word.
        store.set_meta(slot, u32::MAX, pack(counter, ldt));
    }

    pub fn on_insert(&mut self, store: &mut Store, slot: u32, now: u64) {
        Self::set_meta(store, slot, INIT_VAL, minutes(now));
        self.bucket_push(store, slot, INIT_VAL);
    }

    pub fn on_access(&mut self, store: &mut Store, slot: u32, now: u64, rng: &mut Rng) {
        let meta = store.meta(slot);
        let old = counter_of(meta);
        let new = log_incr(decayed(meta, now), rng);
        self.bucket_unlink(store, slot, old);
        Self::set_meta(store, slot, new, minutes(now));
        self.bucket_push(store, slot, new);
    }

    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        let c = counter_of(store.meta(slot));
        self.bucket_unlink(store, slot, c);
    }

    /// Visits every entry by stored counter, lowest first, and within one
    /// counter least recently used first (decay since the last access is
    /// not applied: an order close to eviction order, in one pass).
    pub fn for_each_least_first(&self, store: &Store, f: &mut dyn FnMut(u32)) {
        for list in &self.buckets {
            list.for_each(store, f);
        }
    }

    pub fn victim(&self, store: &Store, now: u64) -> Option<u32> {
        let mut best: Option<(u8, u32)> = None;
        for (w, &word) in self.nonempty.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let c = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(list) = self.buckets.get(c) else {
                    continue;
                };
                let head = list.head;
                let d = decayed(store.meta(head), now);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, head));
                    if d == 0 {
                        return Some(head);
                    }
                }
            }
        }
        best.map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_counter_grows_slowly() {
        let mut rng = Rng::new(1);
        let mut c = INIT_VAL;
        for _ in 0..1000 {
            c = log_incr(c, &mut rng);
        }
        // Redis's table: factor 10 reaches about 18 after 1k hits.
        assert!((14..=24).contains(&c), "{c}");
    }

    #[test]
    fn decay_is_one_per_minute() {
        let meta = pack(10, minutes(0));
        assert_eq!(decayed(meta, 59_999), 10);
        assert_eq!(decayed(meta, 60_000), 9);
        assert_eq!(decayed(meta, 600_000), 0);
    }
}
