// The bytes of one entry in a shared tier: a small versioned header, then the
// codec's bytes as the cache stored them in L1 (nothing is encoded twice).
//
//   0  "E" "C"            magic
//   2  u8                 format version (ENTRY_VERSION)
//   3  u8                 n: length of the codec's name
//   4  n bytes            the codec's name (ASCII)
//   4+n u32 LE            m: length of the metadata
//   8+n m bytes           metadata, JSON: { e: expiresAt, w: swr, f: sie, t: tags, d: dependsOn }
//   8+n+m ...             the value, as the codec encoded it
//
// `e` is an absolute time in ms on the writers' clocks (0: no expiry). JSON
// keeps keys and tags exact, lone surrogates included (JSON.stringify escapes
// them and JSON.parse restores them).

export const ENTRY_VERSION = 1;
const MAGIC_0 = 0x45; // "E"
const MAGIC_1 = 0x43; // "C"
const FIXED_HEADER = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Why an entry's bytes were not accepted; the cache counts it in tierErrors. */
export class EntryFormatError extends Error {
  constructor(message) {
    super(`edgecache: tier entry ${message}`);
    this.name = "EntryFormatError";
  }
}

/**
 * @param {string} codecName
 * @param {{ expiresAt: number, swr: number, sie: number, tags: string[], deps: unknown[] }} meta
 * @param {Uint8Array} value
 */
export function encodeEntry(codecName, meta, value) {
  const name = encoder.encode(codecName);
  const json = encoder.encode(JSON.stringify({ e: meta.expiresAt, w: meta.swr, f: meta.sie, t: meta.tags, d: meta.deps }));
  const out = new Uint8Array(FIXED_HEADER + name.length + json.length + value.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = ENTRY_VERSION;
  out[3] = name.length;
  out.set(name, 4);
  new DataView(out.buffer).setUint32(4 + name.length, json.length, true);
  out.set(json, FIXED_HEADER + name.length);
  out.set(value, FIXED_HEADER + name.length + json.length);
  return out;
}

/**
 * Parses an entry written by encodeEntry with the same codec; throws an
 * EntryFormatError for anything else (another version or codec, truncated or
 * foreign bytes).
 * @returns {{ meta: { expiresAt: number, swr: number, sie: number, tags: string[], deps: unknown[] }, value: Uint8Array }}
 */
export function decodeEntry(bytes, codecName) {
  if (!(bytes instanceof Uint8Array)) throw new EntryFormatError("is not bytes");
  if (bytes.length < FIXED_HEADER || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) throw new EntryFormatError("has no edgecache header");
  if (bytes[2] !== ENTRY_VERSION) throw new EntryFormatError(`has format version ${bytes[2]}, not ${ENTRY_VERSION}`);
  const n = bytes[3];
  if (bytes.length < FIXED_HEADER + n) throw new EntryFormatError("is truncated");
  const name = decodeText(bytes.subarray(4, 4 + n));
  if (name !== codecName) throw new EntryFormatError(`was written with the ${JSON.stringify(name)} codec, not ${JSON.stringify(codecName)}`);
  const m = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4 + n, true);
  const start = FIXED_HEADER + n;
  if (bytes.length < start + m) throw new EntryFormatError("is truncated");
  let raw;
  try {
    raw = JSON.parse(decodeText(bytes.subarray(start, start + m)));
  } catch {
    throw new EntryFormatError("has unreadable metadata");
  }
  const meta = checkMeta(raw);
  return { meta, value: bytes.subarray(start + m) };
}

function decodeText(bytes) {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new EntryFormatError("has bytes that are not UTF-8 where text belongs");
  }
}

const isMs = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isKey = (k) => typeof k === "string" || (typeof k === "number" && Number.isFinite(k)) ||
  (Array.isArray(k) && k.every((p) => typeof p === "string" || (typeof p === "number" && Number.isFinite(p))));

function checkMeta(raw) {
  if (raw === null || typeof raw !== "object") throw new EntryFormatError("has metadata that is not an object");
  const { e, w, f, t, d } = raw;
  if (!isMs(e) || !isMs(w) || !isMs(f)) throw new EntryFormatError("has an invalid expiry or stale window");
  if (!Array.isArray(t) || !t.every((x) => typeof x === "string")) throw new EntryFormatError("has invalid tags");
  if (!Array.isArray(d) || !d.every(isKey)) throw new EntryFormatError("has invalid dependencies");
  return { expiresAt: e, swr: w, sie: f, tags: t, deps: d };
}
