// Node: read the .wasm next to this file and compile it synchronously, so
// `new Cache()` works right after the import.
import { readFileSync } from "node:fs";
import { initSync } from "./wasm/edgecache.js";
import { setWasm } from "./runtime.js";

setWasm(initSync({ module: readFileSync(new URL("./wasm/edgecache_bg.wasm", import.meta.url)) }));

export * from "./api.js";
