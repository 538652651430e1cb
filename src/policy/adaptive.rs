//! `allkeys-adaptive`: W-TinyLFU with a hill-climbed window, after Caffeine.
//!
//! New entries enter a small LRU *window*. When the window is over its share,
//! its oldest entry becomes a *candidate* for the main space, an SLRU of
//! *probation* and *protected* segments. If the main space is full, the
//! candidate must beat the main space's victim (probation's oldest) on the
//! TinyLFU frequency sketch, or it is the one evicted: one-hit wonders and
//! scans never displace the working set. A hill climber samples the hit ratio
//! and moves the window/main boundary toward whichever side earns hits, so
//! recency-heavy traces get a big window (LRU-like) and frequency-heavy ones
//! a tiny one (LFU-like).
//!
//! Sizes are shares of the budget in bytes and, when set, of `max_entries`; a
//! region is over its share when it is over on either.

use super::list::List;
use super::sketch::Sketch;
use crate::rng::Rng;
use crate::store::{Store, ENTRY_OVERHEAD, NONE};

const REGION_SHIFT: u32 = 29;
const REGION_MASK: u32 = 0b11 << REGION_SHIFT;
const WINDOW: u32 = 1;
const PROBATION: u32 = 2;
const PROTECTED: u32 = 3;

/// Initial window share (Caffeine: 1 %).
const INITIAL_WINDOW: f64 = 0.01;
/// Protected share of the main space.
const PROTECTED_OF_MAIN: f64 = 0.80;
/// Climber step as a share of capacity, its decay, and the hit-ratio change
/// that restarts it (Caffeine's constants).
const STEP: f64 = 0.0625;
const STEP_DECAY: f64 = 0.98;
const RESTART_THRESHOLD: f64 = 0.05;
/// A candidate this frequent may win a 1-in-128 lottery against a more
/// frequent victim, so an attacker cannot pin the victim forever.
const HASHDOS_THRESHOLD: u8 = 6;
/// At most this many entries move between regions per adjustment.
const TRANSFER_LIMIT: usize = 1000;

#[derive(Default, Clone, Copy)]
struct Region {
    list: List,
    bytes: u64,
}

pub(crate) struct Adaptive {
    window: Region,
    probation: Region,
    protected: Region,
    max_bytes: f64,
    max_entries: f64,
    window_share: f64,
    protected_share: f64,
    sketch: Sketch,
    hits: u64,
    misses: u64,
    prev_hit_ratio: f64,
    step: f64,
}

fn weight(store: &Store, slot: u32) -> u64 {
    (store.at(slot).data.len() + ENTRY_OVERHEAD) as u64
}

fn region_of(store: &Store, slot: u32) -> u32 {
    (store.at(slot).meta & REGION_MASK) >> REGION_SHIFT
}

fn set_region(store: &mut Store, slot: u32, r: u32) {
    let e = store.at_mut(slot);
    e.meta = (e.meta & !REGION_MASK) | (r << REGION_SHIFT);
}

impl Adaptive {
    pub fn new(max_bytes: usize, max_entries: usize) -> Adaptive {
        let mut sketch = Sketch::new();
        if max_entries > 0 {
            sketch.ensure_capacity(max_entries);
        }
        Adaptive {
            window: Region::default(),
            probation: Region::default(),
            protected: Region::default(),
            max_bytes: max_bytes as f64,
            max_entries: max_entries as f64,
            window_share: INITIAL_WINDOW,
            protected_share: PROTECTED_OF_MAIN * (1.0 - INITIAL_WINDOW),
            sketch,
            hits: 0,
            misses: 0,
            prev_hit_ratio: 0.0,
            step: -STEP,
        }
    }

    fn region(&mut self, r: u32) -> &mut Region {
        match r {
            WINDOW => &mut self.window,
            PROBATION => &mut self.probation,
            _ => &mut self.protected,
        }
    }

    fn len(&self) -> usize {
        self.window.list.len + self.probation.list.len + self.protected.list.len
    }

    /// Whether `bytes`/`count` exceed `share` of the capacity.
    fn over(&self, bytes: u64, count: usize, share: f64) -> bool {
        bytes as f64 > share * self.max_bytes
            || (self.max_entries > 0.0 && count as f64 > share * self.max_entries)
    }

    fn push(&mut self, store: &mut Store, slot: u32, r: u32) {
        let w = weight(store, slot);
        set_region(store, slot, r);
        let region = self.region(r);
        region.list.push_tail(store, slot);
        region.bytes += w;
    }

    fn unlink(&mut self, store: &mut Store, slot: u32) -> u32 {
        let r = region_of(store, slot);
        let w = weight(store, slot);
        let region = self.region(r);
        region.list.unlink(store, slot);
        region.bytes = region.bytes.saturating_sub(w);
        r
    }

    fn move_to(&mut self, store: &mut Store, slot: u32, r: u32) {
        self.unlink(store, slot);
        self.push(store, slot, r);
    }

    /// Whether the main space could take `slot` without passing its share.
    fn main_has_room_for(&self, store: &Store, slot: u32) -> bool {
        let main_bytes = self.probation.bytes + self.protected.bytes + weight(store, slot);
        let main_len = self.probation.list.len + self.protected.list.len + 1;
        !self.over(main_bytes, main_len, 1.0 - self.window_share)
    }

    fn window_over(&self) -> bool {
        self.window.list.len > 1
            && self.over(self.window.bytes, self.window.list.len, self.window_share)
    }

    /// Moves window overflow into probation while the main space has room.
    fn drain_window(&mut self, store: &mut Store) {
        while self.window_over() {
            let head = self.window.list.head;
            if head == NONE || !self.main_has_room_for(store, head) {
                break;
            }
            self.move_to(store, head, PROBATION);
        }
    }

    fn demote_protected(&mut self, store: &mut Store) {
        while self.protected.list.len > 1
            && self.over(
                self.protected.bytes,
                self.protected.list.len,
                self.protected_share,
            )
        {
            let head = self.protected.list.head;
            self.move_to(store, head, PROBATION);
        }
    }

    pub fn on_insert(&mut self, store: &mut Store, slot: u32, hash: u64) {
        if self.max_entries == 0.0 {
            self.sketch.ensure_capacity(self.len() + 1);
        }
        self.sketch.increment(hash);
        self.push(store, slot, WINDOW);
        self.drain_window(store);
    }

    pub fn on_access(&mut self, store: &mut Store, slot: u32, hash: u64) {
        self.sketch.increment(hash);
        self.hits += 1;
        match region_of(store, slot) {
            WINDOW => self.window.list.move_to_tail(store, slot),
            PROBATION => {
                self.move_to(store, slot, PROTECTED);
                self.demote_protected(store);
            }
            _ => self.protected.list.move_to_tail(store, slot),
        }
        self.climb(store);
    }

    pub fn on_miss(&mut self, store: &mut Store) {
        self.misses += 1;
        self.climb(store);
    }

    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        self.unlink(store, slot);
        set_region(store, slot, 0);
    }

    /// The entry to evict next. May first move window entries into the main
    /// space when it has room (that is not an eviction).
    pub fn victim(&mut self, store: &mut Store, rng: &mut Rng) -> Option<u32> {
        loop {
            if self.window_over() {
                let candidate = self.window.list.head;
                if self.main_has_room_for(store, candidate) {
                    self.move_to(store, candidate, PROBATION);
                    continue;
                }
                let victim = self.main_victim();
                if victim == NONE {
                    return Some(candidate);
                }
                return Some(if self.admit(store, candidate, victim, rng) {
                    victim
                } else {
                    candidate
                });
            }
            let victim = self.main_victim();
            if victim != NONE {
                return Some(victim);
            }
            let head = self.window.list.head;
            return (head != NONE).then_some(head);
        }
    }

    fn main_victim(&self) -> u32 {
        if self.probation.list.head != NONE {
            self.probation.list.head
        } else {
            self.protected.list.head
        }
    }

    fn admit(&self, store: &Store, candidate: u32, victim: u32, rng: &mut Rng) -> bool {
        let fc = self.sketch.frequency(store.hash(store.at(candidate).key()));
        let fv = self.sketch.frequency(store.hash(store.at(victim).key()));
        if fc > fv {
            true
        } else if fc >= HASHDOS_THRESHOLD {
            rng.next_u64() & 127 == 0
        } else {
            false
        }
    }

    /// Caffeine's hill climber: after each sample, step the window share in
    /// the direction that raised the hit ratio; big swings restart the step.
    fn climb(&mut self, store: &mut Store) {
        if !self.sketch.is_ready() {
            return;
        }
        let requests = self.hits + self.misses;
        if requests < self.sketch.sample_size() {
            return;
        }
        let ratio = self.hits as f64 / requests as f64;
        let change = ratio - self.prev_hit_ratio;
        let amount = if change >= 0.0 { self.step } else { -self.step };
        self.step = if change.abs() >= RESTART_THRESHOLD {
            STEP * if amount >= 0.0 { 1.0 } else { -1.0 }
        } else {
            STEP_DECAY * amount
        };
        self.prev_hit_ratio = ratio;
        self.hits = 0;
        self.misses = 0;
        if amount > 0.0 {
            self.grow_window(store, amount);
        } else if amount < 0.0 {
            self.shrink_window(store, -amount);
        }
    }

    fn grow_window(&mut self, store: &mut Store, amount: f64) {
        let quota = amount.min(self.protected_share);
        if quota <= 0.0 {
            return;
        }
        self.protected_share -= quota;
        self.window_share += quota;
        self.demote_protected(store);
        // Pull the oldest main entries into the window until it fills its share.
        for _ in 0..TRANSFER_LIMIT {
            let head = if self.probation.list.head != NONE {
                self.probation.list.head
            } else {
                self.protected.list.head
            };
            if head == NONE {
                break;
            }
            let bytes = self.window.bytes + weight(store, head);
            if self.over(bytes, self.window.list.len + 1, self.window_share) {
                break;
            }
            self.move_to(store, head, WINDOW);
        }
    }

    fn shrink_window(&mut self, store: &mut Store, amount: f64) {
        let quota = amount.min((self.window_share - 0.0).max(0.0));
        if quota <= 0.0 {
            return;
        }
        self.window_share -= quota;
        self.protected_share += quota;
        for _ in 0..TRANSFER_LIMIT {
            if !self.window_over() {
                break;
            }
            let head = self.window.list.head;
            self.move_to(store, head, PROBATION);
        }
    }

    /// The window's current share of the capacity (the demo plots it).
    pub fn window_share(&self) -> f64 {
        self.window_share
    }

    #[cfg(any(test, feature = "std"))]
    pub fn validate(&self, store: &Store) -> usize {
        let mut n = 0;
        for (r, region) in [
            (WINDOW, &self.window),
            (PROBATION, &self.probation),
            (PROTECTED, &self.protected),
        ] {
            let slots = region.list.slots(store);
            let bytes: u64 = slots.iter().map(|&s| weight(store, s)).sum();
            assert_eq!(bytes, region.bytes, "region bytes");
            for s in &slots {
                assert_eq!(region_of(store, *s), r, "region tag");
            }
            n += slots.len();
        }
        n
    }
}
