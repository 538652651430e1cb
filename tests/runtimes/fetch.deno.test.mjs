// Deno runner for the cachedFetch suite; ORIGIN is the origin's base URL
// (started by fetch.deno.run.mjs).
import * as lib from "../../js/dist/deno.js";
import { memoryTier } from "../../js/dist/tiers/memory.js";
import { fetchSuite } from "../js/fetch-suite.js";

const origin = Deno.env.get("ORIGIN");
for (const t of fetchSuite()) {
  Deno.test({ name: t.name, sanitizeOps: false, sanitizeResources: false, fn: () => t.fn({ ...lib, memoryTier, origin }) });
}
