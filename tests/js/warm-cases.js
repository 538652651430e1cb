// The keys the warm-start coherence cases write before a snapshot is saved
// and another isolate changes after it, shared by the tier suite (memoryTier)
// and the engine suites (Redis, Deno KV, Cloudflare). k3 is built on k2 and
// k5 on k6, so invalidating k2 and setting k6 cascade to them.

import { ok, equal } from "./assert.js";

/** [key, value, dependsOn] as the saving isolate writes them. */
export const BEFORE_SAVE = [
  ["k1", "old-k1", []], ["k2", "old-k2", []], ["k4", "old-k4", []], ["k6", "old-k6", []], ["kept", "old-kept", []],
  ["k3", "old-k3", ["k2"]], ["k5", "old-k5", ["k6"]],
];

/** What another isolate does after the save, in order. */
export const AFTER_SAVE = [
  { op: "delete", key: "k1" },
  { op: "invalidate", key: "k2" },
  { op: "writeThrough", key: "k4", value: "new-k4" },
  { op: "set", key: "k6", value: "new-k6" },
];

/** Writes BEFORE_SAVE into a Cache. */
export function writeChanged(cache) {
  for (const [k, v, deps] of BEFORE_SAVE) cache.set(k, v, { dependsOn: deps });
}

/** Applies AFTER_SAVE through a Cache. */
export async function changeAfterSave(cache) {
  for (const { op, key, value } of AFTER_SAVE) {
    if (op === "writeThrough") await cache.writeThrough(key, async () => value);
    else if (op === "set") cache.set(key, value);
    else cache[op](key);
  }
  await cache.flush();
}

/**
 * Asserts that a cache's L1 serves none of the values changed after the
 * save. `read(method, key)` answers `cache[method](key)` (get, peek, has),
 * undefined as undefined.
 */
export async function assertNoneChanged(read, where) {
  for (const k of ["k1", "k2", "k3", "k5"]) {
    equal(await read("get", k), undefined, `${where}: get(${k}) after its removal`);
    equal(await read("peek", k), undefined, `${where}: peek(${k}) after its removal`);
    equal(await read("has", k), false, `${where}: has(${k}) after its removal`);
  }
  for (const k of ["k4", "k6"]) {
    for (const m of ["get", "peek"]) {
      const v = await read(m, k);
      ok(v === undefined || v === `new-${k}`, `${where}: ${m}(${k}) is not the value overwritten after the save: ${JSON.stringify(v)}`);
    }
  }
  equal(await read("get", "kept"), "old-kept", `${where}: what did not change is served`);
}

/** `read` for assertNoneChanged on a Cache in this process. */
export const local = (cache) => async (method, key) => cache[method](key);
