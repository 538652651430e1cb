// Browsers and other web-standard runtimes: fetch and compile the .wasm with
// top-level await, so `new Cache()` works right after the import.
import init from "./wasm/edgecache.js";
import { setWasm } from "./runtime.js";

setWasm(await init({ module_or_path: new URL("./wasm/edgecache_bg.wasm", import.meta.url) }));

export * from "./api.js";
