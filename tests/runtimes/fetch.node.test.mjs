// Node runner for the cachedFetch suite, against a real origin on 127.0.0.1.
import { test, before, after } from "node:test";
import * as lib from "../../js/dist/node.js";
import { memoryTier } from "../../js/dist/tiers/memory.js";
import { fetchSuite } from "../js/fetch-suite.js";
import { startOrigin } from "./origin.mjs";

let origin;
before(async () => {
  origin = await startOrigin();
});
after(() => origin.close());
for (const t of fetchSuite()) test(t.name, () => t.fn({ ...lib, memoryTier, origin: origin.base }));
