// Node runner: the contract suite under `node --test`, importing the package
// entry that Node's "node" export condition selects, and the Node-only checks
// that read the Rust sources (tests/js/names.node.js).
import { test } from "node:test";
import * as lib from "../../js/dist/node.js";
import { suite } from "../js/suite.js";
import { nodeTests } from "../js/names.node.js";

for (const t of [...suite(), ...nodeTests()]) test(t.name, () => t.fn(lib));
