// Deno runner for the cachedFetch suite; ORIGIN is the origin's base URL
// (started by fetch.deno.run.mjs).
import * as lib from "../../js/dist/deno.js";
import { memoryTier } from "../../js/dist/tiers/memory.js";
import { fetchSuite } from "../js/fetch-suite.js";

const origin = Deno.env.get("ORIGIN");
for (const t of fetchSuite()) {
  Deno.test({ name: t.name, sanitizeOps: false, sanitizeResources: false, fn: () => t.fn({ ...lib, memoryTier, origin }) });
}

// What Deno.serve sends: a body fetch() decoded must not go out labelled with
// the origin's Content-Encoding (the client would fail to decode it).
Deno.test({
  name: "a stored gzip response returned by Deno.serve arrives as the bytes its headers describe, miss and hit",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cfetch = lib.cachedFetch(new lib.Cache({}));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => cfetch(`${origin}/deno-wire?cc=max-age%3D60&coding=gzip`));
    try {
      for (const status of ["edgecache; fwd=uri-miss; stored", "edgecache; hit"]) {
        const r = await fetch(`http://127.0.0.1:${server.addr.port}/`);
        if (r.headers.get("cache-status") !== status) throw new Error(`expected ${status}, got ${r.headers.get("cache-status")}`);
        const text = await r.text();
        if (!text.startsWith("v1 GET /deno-wire")) throw new Error(`the client read ${JSON.stringify(text.slice(0, 40))}`);
      }
    } finally {
      await server.shutdown();
    }
  },
});
