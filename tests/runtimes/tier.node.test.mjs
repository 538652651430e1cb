// Node runner for the tier layer's suite (tests/js/tier-suite.js) on memoryTier.
import { test } from "node:test";
import * as lib from "../../js/dist/node.js";
import { memoryTier, tierKeyId } from "../../js/dist/tiers/memory.js";
import { tierSuite } from "../js/tier-suite.js";

for (const t of tierSuite()) test(t.name, () => t.fn({ ...lib, memoryTier, tierKeyId }));
