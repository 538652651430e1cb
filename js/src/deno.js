// Deno: import the .wasm as a compiled module source (Deno 2 supports
// `import source` for Wasm), so no --allow-read permission is needed.
import source module from "./wasm/edgecache_bg.wasm";
import { initSync } from "./wasm/edgecache.js";
import { setWasm } from "./runtime.js";

setWasm(initSync({ module }));

export * from "./api.js";
