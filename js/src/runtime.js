// The one place that holds the instantiated wasm module. Each runtime entry
// (node.js, deno.js, workerd.js, browser.js) obtains the WebAssembly.Module
// its own way and hands the instance's exports to setWasm().

export { WasmCache } from "./wasm/edgecache.js";

let exportsOf = null;
let u8 = null;
let u32 = null;

export function setWasm(exports) {
  exportsOf = exports;
  u8 = null;
  u32 = null;
}

export function ready() {
  if (exportsOf === null) throw new Error("edgecache: the wasm module is not initialised; import the package entry, not its internals");
}

/** A byte view of linear memory, renewed when memory has grown. */
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
