//! Long loops cut into runs, each run a call of a function of its own.
//!
//! A wasm engine runs a function first as baseline code (V8's Liftoff,
//! two to three times slower) and compiles optimised code for it once it
//! has run a while; the optimised code serves the function's next call,
//! never the call already running (there is no on-stack replacement in
//! wasm). A snapshot's load is one call from JS: written as one loop over
//! 1.87 M entries, it ran as baseline code to its end in every new
//! process, and a warm start is exactly a new process's first load. A loop
//! that calls an `#[inline(never)]` function per run of [`RUN`] items runs
//! as baseline code for a run or two, then optimised. Natively the extra
//! call per run costs nothing measurable.

/// Items (entries, index places) per call of a run function.
pub(crate) const RUN: usize = 4096;

/// Bytes per call of a run function over raw bytes (the checksum).
pub(crate) const RUN_BYTES: usize = 64 << 10;
