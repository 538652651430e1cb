// Node runner: the contract suite under `node --test`, importing the package
// entry that Node's "node" export condition selects.
import { test } from "node:test";
import * as lib from "../../js/dist/node.js";
import { suite } from "../js/suite.js";

for (const t of suite()) test(t.name, () => t.fn(lib));
