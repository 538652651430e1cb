// Node runner: the contract suite under `node --test`, importing the package
// entry that Node's "node" export condition selects, and the Node-only checks
// that read the Rust sources (tests/js/names.node.js).
import { test } from "node:test";
import * as lib from "../../js/dist/node.js";
import { suite } from "../js/suite.js";
import { nodeTests } from "../js/names.node.js";

for (const t of [...suite(), ...nodeTests()]) test(t.name, () => t.fn(lib));

// A snapshot must decode in another isolate: the json codec's shapes are
// per cache, so the snapshot carries its table. Dumped by a separate Node
// process and by Deno, loaded here into a fresh Cache.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deepEqual, equal, throws } from "../js/assert.js";

const dumpScript = (entry) => `
  import { Cache } from ${JSON.stringify(entry)};
  const c = new Cache({ now: () => 1_000 });
  c.set("unrelated", { a: 1 }); // shape 0 in that process only
  for (let i = 0; i < 100; i++) c.set(["stock", i, "S170"], { qty: i, updatedAt: 1732000000000 + i }, { ttl: 60_000, tags: ["stock"] });
  c.set("nested", { list: [{ x: 1 }, { x: 2 }] });
  const b64 = btoa(String.fromCharCode(...c.dump()));
  console.log(b64);
`;

const entry = (name) => fileURLToPath(new URL(`../../js/dist/${name}`, import.meta.url));
const deno = fileURLToPath(new URL("../../js/node_modules/.bin/deno", import.meta.url));
const producers = [
  ["node", () => execFileSync(process.execPath, ["--input-type=module", "-e", dumpScript(entry("node.js"))])],
  ["deno", () => execFileSync(deno, ["eval", "--ext=js", dumpScript(entry("deno.js"))], { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } })],
];
for (const [runtime, produce] of producers) {
  test(`a snapshot dumped by another ${runtime} process loads into a fresh Cache`, () => {
    const bytes = Uint8Array.from(atob(String(produce()).trim()), (c) => c.charCodeAt(0));
    const c = new lib.Cache({ now: () => 2_000 });
    c.set("mine", { b: 2 }); // another shape 0: that cache cannot read the snapshot's ids
    throws(() => c.load(bytes), TypeError, /shapes differ/);
    const fresh = new lib.Cache({ now: () => 2_000 });
    equal(fresh.load(bytes), 102);
    deepEqual(fresh.get(["stock", 42, "S170"]), { qty: 42, updatedAt: 1732000000042 });
    deepEqual(fresh.get("unrelated"), { a: 1 });
    deepEqual(fresh.get("nested"), { list: [{ x: 1 }, { x: 2 }] });
    equal(fresh.invalidateTag("stock"), 100);
    c.free();
    fresh.free();
  });
}
