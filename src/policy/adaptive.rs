//! `allkeys-adaptive`: W-TinyLFU whose window size is chosen by a sampled
//! mini-simulation.
//!
//! New entries enter an LRU *window*. When the window is over its share, its
//! oldest entry becomes a *candidate* for the main space, an SLRU of
//! *probation* and *protected* segments. If the main space is full, the
//! candidate must beat the main space's victim (probation's oldest) on the
//! TinyLFU frequency sketch, or it is the one evicted: one-hit wonders and
//! scans never displace the working set (Einziger, Friedman, Manes,
//! "TinyLFU", 2017).
//!
//! The right window size depends on the workload: about 1 % for
//! frequency-skewed and looping traces, most of the cache for recency-skewed
//! ones (a 100 % window *is* LRU). Caffeine climbs toward it from the
//! observed hit ratio; that climb is noisy, and it measurably lost two to
//! three points against a fixed 1 % window on the LIRS traces and as much
//! against LRU on recency traces. Instead, [`MiniSim`] replays a hashed sample
//! of the keys through eight small ghost caches (keys only) with windows from
//! 0.5 % to 100 %, and every period this cache adopts the window of the one
//! that hit most. The sample is sized so the ghosts hold about 2,048
//! entries each (smaller ghosts learned too little on short traces; 4,096
//! cost 25 % more time per operation natively for little more hit ratio).
//!
//! Sizes are shares of the budget in bytes and, when set, of `max_entries`; a
//! region is over its share when it is over on either. An entry's weight (its
//! charged bytes) is kept in the low bits of its `meta`.

use super::list::List;
use super::minisim::MiniSim;
use super::sketch::Sketch;
use crate::rng::Rng;
use crate::store::{Store, NONE};

const REGION_SHIFT: u32 = 29;
const REGION_MASK: u32 = 0b11 << REGION_SHIFT;
const WEIGHT_MASK: u32 = (1 << REGION_SHIFT) - 1;
const WINDOW: u32 = 1;
const PROBATION: u32 = 2;
const PROTECTED: u32 = 3;

/// Initial window share (Caffeine: 1 %).
const INITIAL_WINDOW: f64 = 0.01;
/// Protected share of the main space.
const PROTECTED_OF_MAIN: f64 = 0.80;
/// A candidate this frequent may win a 1-in-128 lottery against a more
/// frequent victim, so an attacker cannot pin the victim forever.
const HASHDOS_THRESHOLD: u8 = 6;
/// At most this many entries move between regions per operation while the
/// cache converges to a new window size (the move is spread over calls).
const MOVES_PER_CALL: usize = 32;

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
    rebalancing: bool,
    sketch: Sketch,
    sim: Option<alloc::boxed::Box<MiniSim>>,
}

fn weight(store: &Store, slot: u32) -> u64 {
    (store.at(slot).meta & WEIGHT_MASK) as u64
}

fn region_of(store: &Store, slot: u32) -> u32 {
    (store.at(slot).meta & REGION_MASK) >> REGION_SHIFT
}

fn set_region(store: &mut Store, slot: u32, r: u32) {
    let e = store.at_mut(slot);
    e.meta = (e.meta & !REGION_MASK) | (r << REGION_SHIFT);
}

impl Adaptive {
    /// The policy of a cache: the window is chosen by a mini-simulation.
    pub fn new(max_bytes: usize, max_entries: usize, seed: u64) -> Adaptive {
        let mut a = Adaptive::fixed(max_bytes as f64, max_entries as f64, INITIAL_WINDOW);
        a.sim = Some(alloc::boxed::Box::new(MiniSim::new(seed)));
        a
    }

    /// A W-TinyLFU with a fixed window share (the mini-simulation's ghosts).
    pub fn fixed(max_bytes: f64, max_entries: f64, window_share: f64) -> Adaptive {
        let mut sketch = Sketch::new();
        if max_entries > 0.0 {
            sketch.ensure_capacity(max_entries as usize);
        }
        Adaptive {
            window: Region::default(),
            probation: Region::default(),
            protected: Region::default(),
            max_bytes,
            max_entries,
            window_share,
            protected_share: PROTECTED_OF_MAIN * (1.0 - window_share),
            rebalancing: false,
            sketch,
            sim: None,
        }
    }

    fn region(&mut self, r: u32) -> &mut Region {
        match r {
            WINDOW => &mut self.window,
            PROBATION => &mut self.probation,
            _ => &mut self.protected,
        }
    }

    pub fn len(&self) -> usize {
        self.window.list.len + self.probation.list.len + self.protected.list.len
    }

    pub fn bytes(&self) -> u64 {
        self.window.bytes + self.probation.bytes + self.protected.bytes
    }

    /// Whether `bytes`/`count` exceed `share` of the capacity.
    fn over(&self, bytes: u64, count: usize, share: f64) -> bool {
        bytes as f64 > share * self.max_bytes
            || (self.max_entries > 0.0 && count as f64 > share * self.max_entries)
    }

    /// Whether one more entry of `incoming` bytes would pass the whole capacity.
    pub fn full_for(&self, incoming: u64) -> bool {
        self.over(self.bytes() + incoming, self.len() + 1, 1.0)
    }

    fn push(&mut self, store: &mut Store, slot: u32, r: u32) {
        let w = weight(store, slot);
        set_region(store, slot, r);
        let region = self.region(r);
        region.list.push_tail(store, slot);
        region.bytes += w;
    }

    fn unlink(&mut self, store: &mut Store, slot: u32) {
        let r = region_of(store, slot);
        let w = weight(store, slot);
        let region = self.region(r);
        region.list.unlink(store, slot);
        region.bytes = region.bytes.saturating_sub(w);
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

    pub fn on_insert(
        &mut self,
        store: &mut Store,
        slot: u32,
        hash: u64,
        charge: u64,
        rng: &mut Rng,
    ) {
        {
            let e = store.at_mut(slot);
            e.meta = (e.meta & !WEIGHT_MASK) | (charge.min(WEIGHT_MASK as u64) as u32);
        }
        if self.max_entries == 0.0 {
            self.sketch.ensure_capacity(self.len() + 1);
        }
        self.sketch.increment(hash);
        self.push(store, slot, WINDOW);
        self.drain_window(store);
        let w = weight(store, slot);
        self.simulate(store, hash, w, false, rng);
    }

    pub fn on_access(&mut self, store: &mut Store, slot: u32, hash: u64, rng: &mut Rng) {
        self.sketch.increment(hash);
        match region_of(store, slot) {
            WINDOW => self.window.list.move_to_tail(store, slot),
            PROBATION => {
                self.move_to(store, slot, PROTECTED);
                self.demote_protected(store);
            }
            _ => self.protected.list.move_to_tail(store, slot),
        }
        let w = weight(store, slot);
        self.simulate(store, hash, w, true, rng);
    }

    pub fn on_miss(&mut self, store: &mut Store, hash: u64, rng: &mut Rng) {
        let avg = if self.len() > 0 {
            self.bytes() / self.len() as u64
        } else {
            64
        };
        self.simulate(store, hash, avg, true, rng);
    }

    pub fn on_remove(&mut self, store: &mut Store, slot: u32) {
        self.unlink(store, slot);
        set_region(store, slot, 0);
    }

    /// Feeds a sampled request to the mini-simulation and adopts its choice.
    fn simulate(
        &mut self,
        store: &mut Store,
        hash: u64,
        weight: u64,
        is_read: bool,
        rng: &mut Rng,
    ) {
        let warm = self.over(self.bytes(), self.len(), 0.5);
        let (len, bytes) = (self.len(), self.bytes());
        if let Some(sim) = self.sim.as_mut() {
            if !sim.is_started() {
                if !warm {
                    return;
                }
                // Capacity in entries: known, or estimated from the fill so far.
                let entries = if self.max_entries > 0.0 {
                    self.max_entries
                } else {
                    len as f64 * self.max_bytes / (bytes.max(1) as f64)
                };
                sim.start(self.max_bytes, self.max_entries, entries);
            }
            if let Some(share) = sim.record(hash, weight, is_read, rng) {
                self.set_window_share(share);
            }
        }
        if self.rebalancing {
            self.rebalance(store);
        }
    }

    fn set_window_share(&mut self, share: f64) {
        if (share - self.window_share).abs() > f64::EPSILON {
            self.window_share = share;
            self.protected_share = PROTECTED_OF_MAIN * (1.0 - share);
            self.rebalancing = true;
        }
    }

    /// A bounded step toward the current shares.
    fn rebalance(&mut self, store: &mut Store) {
        let mut moves = 0;
        while moves < MOVES_PER_CALL && self.window_over() {
            let head = self.window.list.head;
            self.move_to(store, head, PROBATION);
            moves += 1;
        }
        while moves < MOVES_PER_CALL {
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
            moves += 1;
        }
        self.demote_protected(store);
        if moves < MOVES_PER_CALL {
            self.rebalancing = false;
        }
    }

    /// The entry to evict next, to make room for an incoming entry of
    /// `incoming` bytes (0 when nothing is being inserted). New entries always
    /// enter the window; if that overfills it, the window's oldest entry is the
    /// candidate for the main space and must beat the main space's victim. May
    /// first move window entries into the main space when it has room (that is
    /// not an eviction).
    pub fn victim(&mut self, store: &mut Store, rng: &mut Rng, incoming: u64) -> Option<u32> {
        loop {
            let window_full = self.window.list.len > 0
                && (incoming > 0 || self.window.list.len > 1)
                && self.over(
                    self.window.bytes + incoming,
                    self.window.list.len + usize::from(incoming > 0),
                    self.window_share,
                );
            if window_full {
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
        let fc = self.sketch.frequency(store.hash(store.key(candidate)));
        let fv = self.sketch.frequency(store.hash(store.key(victim)));
        if fc > fv {
            true
        } else if fc >= HASHDOS_THRESHOLD {
            rng.next_u64() & 127 == 0
        } else {
            false
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
