// Deno runner: the contract suite under `deno test`, importing the entry that
// Deno's "deno" export condition selects.
import * as lib from "../../js/dist/deno.js";
import { suite } from "../js/suite.js";

for (const t of suite()) Deno.test(t.name, () => t.fn(lib));
