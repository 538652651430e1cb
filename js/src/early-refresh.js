// Early refresh (XFetch): the option's validation and the load-time
// measure. The decision itself is the core's (src/xfetch.rs): it keeps each
// entry's load time and the cache's seeded generator.

import { describe } from "./keys.js";

/**
 * Validates an `earlyRefresh` option (XFetch's beta): a finite number ≥ 0,
 * 0 off, 1 the paper's default; undefined passes through.
 */
export function checkEarlyRefresh(value, name = "earlyRefresh") {
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number (XFetch's beta: 0 off, 1 the usual eagerness); got ${describe(value)}`);
  }
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite, non-negative number; got ${value}`);
  return value;
}

/** The load time an entry records: whole ms, at least 1 (0 would record none). */
export function loadTime(startedAt, endedAt) {
  return Math.max(1, Math.ceil(endedAt - startedAt));
}
