// Cloudflare Workers: the bundler hands us the .wasm as a WebAssembly.Module
// (Workers refuse to compile wasm from bytes at run time). Instantiating a
// ready module at global scope is allowed; the hash seed is drawn later, on
// the cache's first use, because getRandomValues is not allowed at global scope.
import module from "./wasm/edgecache_bg.wasm";
import { initSync } from "./wasm/edgecache.js";
import { setWasm } from "./runtime.js";

setWasm(initSync({ module }));

export * from "./api.js";
