// The one place that holds the instantiated wasm module. Each runtime entry
// (node.js, deno.js, workerd.js, browser.js) obtains the WebAssembly.Module
// its own way and hands the instance's exports to setWasm().

import { WasmCache, WasmSnapshot, WasmSnapshotStream, constants } from "./wasm/edgecache.js";

export { WasmCache, WasmSnapshot, WasmSnapshotStream };

let exportsOf = null;
let u8 = null;
let u32 = null;

/**
 * The bindings' status codes (`MISS`, `FRESH`, `STALE`, `STORED`,
 * `TOO_LARGE`, `NO_ROOM`, `BAD_LAYOUT`, `NOT_READY`, `ALLOC_FAILED`,
 * `INVALID_TTL`, `INVALID_WINDOW`): their one definition is in src/wasm.rs,
 * read from the module by setWasm().
 */
export let STATUS = null;
/** Bytes the wasm I/O buffer may hold: longer keys, tags and dependsOn are refused. */
export let MAX_STAGED = 0;
/** The largest TTL or stale window, in ms, the core keeps (src/expiry.rs). */
export let MAX_TTL_MS = 0;
/** The result block's word counting a reported value's pieces (0: one slice). */
export let OUT_PIECES = 0;

export function setWasm(exports) {
  exportsOf = exports;
  u8 = null;
  u32 = null;
  const c = constants();
  const limits = ["MAX_STAGED", "MAX_TTL_MS", "OUT_PIECES"];
  STATUS = Object.freeze(Object.fromEntries(Object.entries(c).filter(([name]) => !limits.includes(name))));
  MAX_STAGED = c.MAX_STAGED;
  MAX_TTL_MS = c.MAX_TTL_MS;
  OUT_PIECES = c.OUT_PIECES;
}

export function ready() {
  if (exportsOf === null) throw new Error("edgecache: the wasm module is not initialised; import the package entry, not its internals");
}

/**
 * A byte view of linear memory, renewed when memory has grown. Any address
 * the bindings report is valid only until the next call into wasm that may
 * free, reuse or grow memory (src/wasm.rs, "The lifetime rule"): take the
 * view after the call and read or write at once.
 */
export function bytes() {
  // Growing linear memory detaches the old buffer (its views read as empty).
  if (u8 === null || u8.byteLength === 0) {
    const buf = exportsOf.memory.buffer;
    u8 = new Uint8Array(buf);
    u32 = new Uint32Array(buf);
  }
  return u8;
}

export function words() {
  bytes();
  return u32;
}

export function memorySize() {
  return exportsOf.memory.buffer.byteLength;
}
