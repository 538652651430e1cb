// The contract suite inside a real Worker: imports "edgecache" the way any
// Worker does (wrangler resolves the package's "workerd" export condition and
// hands the .wasm over as a WebAssembly.Module).
import * as lib from "edgecache";
import { runAll } from "../../js/suite.js";

// A cache made at global scope, as most Workers make theirs: Workers forbid
// crypto.getRandomValues here, so the constructor must not draw its seed yet.
const globalCache = new lib.Cache({ maxMemory: 1 << 20 });

export default {
  async fetch(request) {
    const filter = new URL(request.url).searchParams.get("filter");
    const results = await runAll(lib, filter ? new RegExp(filter) : undefined);
    const started = Date.now();
    try {
      globalCache.set("hits", (globalCache.get("hits") ?? 0) + 1);
      if (globalCache.get("hits") !== 1) throw new Error(`expected 1, got ${globalCache.get("hits")}`);
      results.push({ name: "a Cache created at global scope works inside the handler", ok: true, ms: Date.now() - started });
    } catch (err) {
      results.push({ name: "a Cache created at global scope works inside the handler", ok: false, ms: 0, error: String(err?.stack ?? err) });
    }
    return Response.json(results);
  },
};
