// Source text of benchmark loops that more than one script compiles: each
// subject compiles its own copy with `new Function` (a loop shared by all
// subjects goes megamorphic in V8 and evens out every ratio).

/** Zipf read-through: 5 % writes, else a get, and a set on a miss. A method
 * of the object the script's loop source returns. */
export const READ_THROUGH = `  readThrough(c, keys, ranks, coin) {
    let hits = 0;
    for (let i = 0; i < ranks.length; i++) {
      const k = keys[ranks[i]];
      if (coin[i] < 0.05) { c.set(k, { qty: i % 500, updatedAt: 1732900000000 + i }); continue; }
      if (c.get(k) !== undefined) hits++;
      else c.set(k, { qty: i % 500, updatedAt: 1732900000000 + i });
    }
    return hits;
  },
`;
