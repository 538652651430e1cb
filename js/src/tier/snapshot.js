// A snapshot as saveSnapshot stores it in a tier: the log position the
// saving isolate's L1 reflected when it was dumped, then dump()'s bytes.
//
//   0  u16 LE   n: length of the position
//   2  n bytes  the position (UTF-8; opaque, from the tier's `changes`)
//   2+n ...     the snapshot, as dump() wrote it
//
// A warm start replays the tier's log after that position before serving
// anything, so a key changed after the save never comes back.

import { EntryFormatError } from "./entry.js";

/** The codec name these bytes carry in the tier: a snapshot saved before
 * positions were kept (codec "edgecache-snapshot") is refused. */
export const TIER_SNAPSHOT_CODEC = "edgecache-snapshot-2";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const MAX_POSITION_BYTES = 0xffff;

/** The bytes to store for `dump` taken at log `position`. */
export function frameSnapshot(position, dump) {
  const p = encoder.encode(position);
  if (p.length > MAX_POSITION_BYTES) throw new RangeError(`edgecache: the tier's log position is ${p.length} bytes; at most ${MAX_POSITION_BYTES} are kept`);
  const out = new Uint8Array(2 + p.length + dump.length);
  out[0] = p.length & 0xff;
  out[1] = p.length >>> 8;
  out.set(p, 2);
  out.set(dump, 2 + p.length);
  return out;
}

/** `{ position, dump }` from frameSnapshot's bytes; an EntryFormatError for anything else. */
export function unframeSnapshot(bytes) {
  if (bytes.length < 2) throw new EntryFormatError("snapshot is truncated");
  const n = bytes[0] | (bytes[1] << 8);
  if (bytes.length < 2 + n) throw new EntryFormatError("snapshot is truncated");
  let position;
  try {
    position = decoder.decode(bytes.subarray(2, 2 + n));
  } catch {
    throw new EntryFormatError("snapshot has a log position that is not UTF-8");
  }
  return { position, dump: bytes.subarray(2 + n) };
}
