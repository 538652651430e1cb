// Value codecs. Every codec turns a value into bytes for wasm memory and back
// into a fresh value on each read.
//
// "json" (the default) accepts exactly the values JSON does and returns what
// JSON.parse(JSON.stringify(v)) would, but stores a compact binary form:
// small integers take 1–2 bytes, strings carry a 1-byte length, and objects
// that share a set of keys (`{ qty, updatedAt }` a million times) store the
// keys once per cache as a "shape" and only their values per entry (except
// in a cache with a shared tier, whose bytes other isolates must read).

import { describe, wellFormed } from "./keys.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

const T_NULL = 0, T_FALSE = 1, T_TRUE = 2, T_UINT = 3, T_NINT = 4, T_F64 = 5,
  T_STR = 6, T_ARR = 7, T_OBJ = 8, T_SHAPE = 9,
  /** A string with lone surrogates, and an object with such a key outside a
   * shape: the strings are WTF-8 (see putString). */
  T_WTF8 = 10, T_OBJ_WTF8 = 11;
/** Tags from here up are objects of shape (tag − T_UINT_SHAPE) whose values
 * are all non-negative integers, written as bare varints: `{ qty, updatedAt }`
 * takes 1 + 2 + 6 bytes instead of 2 + 3 + 7. */
const T_UINT_SHAPE = 16;
const UINT_SHAPES = 256 - T_UINT_SHAPE;
const MAX_SHAPES = 4096;
const MAX_SHAPE_KEYS = 32;
/** The deepest nesting of arrays and objects the json codec stores. Reading
 * recurses once per level, so whatever set() accepts must stay far inside the
 * smallest JS stack a runtime gives (workerd's and Chromium's included, and
 * called from code that already uses part of it); deeper values are refused
 * at set() with a TypeError. */
export const MAX_DEPTH = 1000;
/** The longest string (in UTF-16 units) a plain write puts straight into wasm
 * memory after the codec's short-string header: an ASCII string's byte length
 * is its length, and the json codec's one-byte length holds up to 127. */
export const SHORT_STRING_MAX = 100;
/** UTF-8 runs up to this many bytes take the ASCII check before TextDecoder. */
const ASCII_DECODE_MAX = 64;

function isSkipped(v) {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

class JsonCodec {
  /** `portable`: write no shapes, so the bytes decode in any cache (a shared
   * tier's entries are read by other isolates, whose shape tables differ). */
  constructor(portable = false) {
    this.name = "json";
    this.maxShapes = portable ? 0 : MAX_SHAPES;
    /** Bytes before a short string's UTF-8 (see putStringHeader). */
    this.stringHeader = 2;
    this.shapeIds = new Map();
    this.shapes = [];
    this.stack = [];
    /** The last integer-shaped object's keys and shape id. */
    this.last = undefined;
    /** What writeLikeLast read of an object it did not write (see there). */
    this.readBack = undefined;
    /** The object encode's fast path tried and did not write: writeObject
     * takes it up without trying again. */
    this.tried = undefined;
    /** Per integer shape: a function building its objects, null where none
     * can be compiled (see shapeBuilder), undefined until first read. */
    this.builders = [];
    this.reader = new Reader(null, 0, 0);
  }

  /** Writes the header of a string of n ≤ SHORT_STRING_MAX ASCII characters
   * at mem[at] (its tag and 1-byte length, as write() does); returns where
   * the characters go. The cache writes short ASCII strings itself
   * (`Cache#writePlain`). */
  putStringHeader(mem, at, n) {
    mem[at] = T_STR;
    mem[at + 1] = n;
    return at + 2;
  }

  encode(w, v) {
    if (typeof v === "string") {
      // The common case first: no cycle stack, no toJSON.
      putTaggedString(w, v);
      return;
    }
    if (this.stack.length !== 0) this.stack.length = 0; // left over only by an encode that threw
    if (this.tried !== undefined) {
      // Left over by a boxed primitive, which write() unboxes without writeObject.
      this.tried = undefined;
      this.readBack = undefined;
    }
    if (v !== null && typeof v === "object" && typeof v.toJSON === "function") v = v.toJSON("");
    // An object like the last integer-shaped one: its values are integers,
    // so no cycle to track and no value of its own to recurse into.
    else if (this.last !== undefined && v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (this.writeLikeLast(w, v)) return;
      this.tried = v; // write() goes straight to writeObject, which runs no caller code first
    }
    if (isSkipped(v)) throw new TypeError(`value must be JSON-compatible; got ${typeof v}`);
    this.write(w, v);
  }

  write(w, v) {
    switch (typeof v) {
      case "string":
        putTaggedString(w, v);
        return;
      case "number":
        if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
          if (v >= 0) {
            w.byte(T_UINT);
            w.varint(v);
          } else {
            w.byte(T_NINT);
            w.varint(-v - 1);
          }
        } else if (Number.isFinite(v)) {
          w.byte(T_F64);
          w.f64be(v);
        } else {
          w.byte(T_NULL); // as JSON does for NaN and ±Infinity
        }
        return;
      case "boolean":
        w.byte(v ? T_TRUE : T_FALSE);
        return;
      case "bigint":
        throw new TypeError("value must be JSON-compatible; got a bigint");
      case "object":
        if (v === null) {
          w.byte(T_NULL);
          return;
        }
        if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
          const p = unboxed(v);
          if (p !== v) {
            this.write(w, p);
            return;
          }
        }
        if (this.stack.includes(v)) throw new TypeError("value must be JSON-compatible; got a cyclic structure");
        if (this.stack.length === MAX_DEPTH) {
          throw new TypeError(`value must not nest arrays and objects more than ${MAX_DEPTH} deep (the json codec's limit)`);
        }
        this.stack.push(v);
        if (Array.isArray(v)) {
          w.byte(T_ARR);
          w.varint(v.length);
          for (let i = 0; i < v.length; i++) {
            let item = v[i];
            if (item !== null && typeof item === "object" && typeof item.toJSON === "function") item = item.toJSON(String(i));
            if (isSkipped(item)) w.byte(T_NULL);
            else this.write(w, item);
          }
        } else {
          this.writeObject(w, v);
        }
        this.stack.pop();
        return;
      default:
        throw new TypeError(`value must be JSON-compatible; got ${typeof v}`);
    }
  }

  writeObject(w, obj) {
    if (this.tried === obj) this.tried = undefined;
    else if (this.last !== undefined && this.writeLikeLast(w, obj)) return;
    // The values the fast path read are not read again: a getter or a
    // Proxy's get trap runs once per key, as in JSON.stringify.
    const read = this.readBack;
    this.readBack = undefined;
    const names = Object.keys(obj);
    const keys = [];
    const values = [];
    for (let j = 0; j < names.length; j++) {
      const k = names[j];
      let item = read !== undefined && j < read.values.length && k === read.keys[j] ? read.values[j] : obj[k];
      if (item !== null && typeof item === "object" && typeof item.toJSON === "function") item = item.toJSON(k);
      if (isSkipped(item)) continue;
      keys.push(k);
      values.push(item);
    }
    if (keys.length > 0 && keys.length <= MAX_SHAPE_KEYS) {
      const sig = JSON.stringify(keys);
      let id = this.shapeIds.get(sig);
      if (id === undefined && this.shapes.length < this.maxShapes) {
        id = this.shapes.length;
        this.shapes.push(keys);
        this.shapeIds.set(sig, id);
      }
      if (id !== undefined) {
        if (id < UINT_SHAPES && values.every((v) => Number.isSafeInteger(v) && v >= 0)) {
          this.last = { keys, id };
          w.byte(T_UINT_SHAPE + id);
          for (const v of values) w.varint(v);
          return;
        }
        w.byte(T_SHAPE);
        w.varint(id);
        for (const item of values) this.write(w, item);
        return;
      }
    }
    const tagAt = w.len;
    w.byte(T_OBJ);
    w.varint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      if (!putString(w, keys[i])) w.buf[tagAt] = T_OBJ_WTF8;
      this.write(w, values[i]);
    }
  }

  /**
   * Writes `obj` (an object, not an array, without toJSON) the way the last
   * integer-shaped object was written, if it has the same own enumerable
   * keys in the same order and non-negative safe integers for values (the
   * same bytes the general path gives, without building the key list's
   * signature: a million `{ qty, updatedAt }` writes in a row are the case).
   * The keys are walked with for-in, which V8 runs from the object's enum
   * cache without allocating the array Object.keys returns. for-in lists
   * the own keys first, then inherited enumerable ones: each key must be
   * own, so an inherited one ends the fast path. When it returns false,
   * `readBack` holds the values it read (keys[0..n) and theirs), for the
   * general path to use instead of reading them again; undefined if none.
   */
  writeLikeLast(w, obj) {
    const last = this.last;
    const keys = last.keys;
    const start = w.len;
    w.byte(T_UINT_SHAPE + last.id);
    let i = 0;
    for (const k in obj) {
      if (i === keys.length || k !== keys[i] || !hasOwn.call(obj, k)) return this.notLikeLast(w, start, keys, i, false, undefined);
      const v = obj[k];
      if (!Number.isSafeInteger(v) || v < 0) return this.notLikeLast(w, start, keys, i, true, v);
      w.varint(v);
      i++;
    }
    if (i === keys.length) return true;
    return this.notLikeLast(w, start, keys, i, false, undefined);
  }

  /** Undoes writeLikeLast's bytes from `start` and keeps what it read: the
   * `n` integers it wrote there, then `v` if `withV`. Returns false. */
  notLikeLast(w, start, keys, n, withV, v) {
    if (n === 0 && !withV) {
      this.readBack = undefined;
    } else {
      const values = [];
      varintAt = start + 1;
      for (let i = 0; i < n; i++) values.push(uvarint(w.buf));
      if (withV) values.push(v);
      this.readBack = { keys, values };
    }
    w.len = start; // not like the last one: the general path writes it
    return false;
  }

  decode(bytes) {
    return this.decodeAt(bytes, 0, bytes.length);
  }

  /**
   * The value in `len` bytes of `mem` at `ptr`. The bytes are not trusted
   * (a snapshot or a tier's copy may be forged, its checksum recomputed):
   * every length is checked against the value's end before it is used, and
   * a value must end exactly at its end; anything else is a corrupt value,
   * never bytes of another entry read from linear memory.
   */
  decodeAt(mem, ptr, len) {
    const t = mem[ptr];
    if (t >= T_UINT_SHAPE && len > 1) {
      const value = this.readShaped(mem, ptr, len, t);
      if (value !== undefined) return value;
    }
    // One reader per codec, reset for each value (decoding runs no caller
    // code, so never re-enters): a read allocates only the value.
    const r = this.reader;
    r.reset(mem, ptr, ptr + len);
    const value = this.read(r);
    const { at, end } = r;
    r.reset(null, 0, 0); // holds no array between reads
    if (at !== end) throw corrupt(at < end ? "bytes left after it" : "it runs past its end");
    return value;
  }

  /**
   * An integer-shaped object of one to four keys at mem[ptr..ptr+len) (tag
   * `t`), built by its shape's compiled builder straight from the bytes; or
   * undefined, for any other value or anything amiss (the general path then
   * reads it, and names what is wrong).
   */
  readShaped(mem, ptr, len, t) {
    const id = t - T_UINT_SHAPE;
    let build = this.builders[id];
    if (build === undefined) {
      const keys = this.shapes[id];
      if (keys === undefined) return undefined;
      build = this.builders[id] = shapeBuilder(keys);
    }
    if (build === null) return undefined;
    const n = this.shapes[id].length;
    const end = ptr + len;
    varintAt = ptr + 1;
    const a = uvarint(mem);
    const b = n > 1 ? uvarint(mem) : 0;
    const c = n > 2 ? uvarint(mem) : 0;
    const d = n > 3 ? uvarint(mem) : 0;
    if (varintAt !== end) return undefined; // past its end, or bytes left: corrupt (or NaN read past the array)
    switch (n) {
      case 1: return build(a);
      case 2: return build(a, b);
      case 3: return build(a, b, c);
      default: return build(a, b, c, d);
    }
  }

  read(r) {
    const t = r.byte();
    switch (t) {
      case T_NULL: return null;
      case T_FALSE: return false;
      case T_TRUE: return true;
      case T_UINT: return r.varint();
      case T_NINT: return -r.varint() - 1;
      case T_F64: return r.f64be();
      case T_STR: return r.string();
      case T_WTF8: return r.wtf8();
      case T_ARR: {
        const n = r.count();
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.read(r);
        return out;
      }
      case T_OBJ:
      case T_OBJ_WTF8: {
        const n = r.count();
        const out = {};
        for (let i = 0; i < n; i++) {
          const k = t === T_OBJ ? r.string() : r.wtf8();
          putField(out, k, this.read(r));
        }
        return out;
      }
      case T_SHAPE: {
        const keys = this.shapes[r.varint()];
        if (keys === undefined) throw corrupt("unknown shape");
        const out = {};
        for (let i = 0; i < keys.length; i++) putField(out, keys[i], this.read(r));
        return out;
      }
      default: {
        const id = t - T_UINT_SHAPE;
        const keys = t >= T_UINT_SHAPE ? this.shapes[id] : undefined;
        if (keys === undefined) throw corrupt(`tag ${t}`);
        let build = this.builders[id];
        if (build === undefined) build = this.builders[id] = shapeBuilder(keys);
        // Arguments are evaluated left to right: the varints in stored order.
        switch (build === null ? 0 : keys.length) {
          case 1: return build(r.varint());
          case 2: return build(r.varint(), r.varint());
          case 3: return build(r.varint(), r.varint(), r.varint());
          case 4: return build(r.varint(), r.varint(), r.varint(), r.varint());
        }
        const out = {};
        for (let i = 0; i < keys.length; i++) putField(out, keys[i], r.varint());
        return out;
      }
    }
  }

  reset() {
    // Shapes stay valid across clear(): no entry references a dropped shape.
  }

  /** What a snapshot carries for its values to decode in another cache:
   * the shape table, as JSON (empty for a portable codec). */
  snapshotState() {
    return encoder.encode(JSON.stringify(this.shapes));
  }

  /**
   * Checks a snapshot's shape table against this cache's and returns the
   * function that adopts it, or throws a TypeError changing nothing. Shape
   * ids are written into the values, so the tables must agree on every id
   * both have: one must be a prefix of the other (a fresh cache has none).
   * A portable codec keeps the adopted shapes for reading only: it never
   * writes them (a tier's other isolates could not read them).
   */
  adoptSnapshotState(bytes) {
    let shapes;
    try {
      shapes = JSON.parse(decoder.decode(bytes));
    } catch {
      shapes = undefined;
    }
    if (!Array.isArray(shapes) || !shapes.every((k) => Array.isArray(k) && k.length > 0 && k.every((n) => typeof n === "string"))) {
      throw new TypeError("edgecache: snapshot is corrupt (its json codec state is not a shape table)");
    }
    const common = Math.min(shapes.length, this.shapes.length);
    for (let i = 0; i < common; i++) {
      if (JSON.stringify(shapes[i]) !== JSON.stringify(this.shapes[i])) {
        throw new TypeError(
          `edgecache: snapshot's json object shapes differ from this cache's (shape ${i}); ` +
          "load a snapshot before the cache stores objects, or into a new Cache",
        );
      }
    }
    return () => {
      for (let i = this.shapes.length; i < shapes.length; i++) {
        this.shapes.push(shapes[i]);
        if (this.maxShapes > 0) this.shapeIds.set(JSON.stringify(shapes[i]), i);
      }
    };
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The primitive JSON.stringify serializes for a boxed number, string,
 * boolean or bigint (`new Number(5)` is 5, through its valueOf as ToNumber
 * calls it), or `v` itself for an object with no such slot (one made with
 * Object.create(Number.prototype)). Called only for objects that inherit
 * from those prototypes (instanceof: a class instance pays nothing more).
 */
function unboxed(v) {
  for (const [proto, primitive] of BOXES) {
    try {
      proto.valueOf.call(v); // throws unless v has the slot
    } catch {
      continue;
    }
    return primitive(v);
  }
  return v;
}

const BOXES = [
  [Number.prototype, Number],
  [String.prototype, String],
  [Boolean.prototype, (v) => Boolean.prototype.valueOf.call(v)],
  [BigInt.prototype, (v) => BigInt.prototype.valueOf.call(v)],
];

/** Where uvarint reads next (a module-level cursor: no object per read). */
let varintAt = 0;

/** The LEB128 varint at mem[varintAt] (as Reader.varint); advances varintAt.
 * Past the array's end it reads undefined (as 0) and stops there, which the
 * caller's end check refuses. */
function uvarint(mem) {
  let v = 0, mul = 1, b;
  do {
    b = mem[varintAt++];
    v += (b & 0x7f) * mul;
    mul *= 0x80;
  } while (b & 0x80 && mul <= 2 ** 56);
  return v;
}

/** Sets `out[k] = v` as JSON.parse does: a `__proto__` key becomes an own
 * property (an assignment would set the object's prototype instead, or drop a
 * value that is not an object). */
function putField(out, k, v) {
  if (k === "__proto__") Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  else out[k] = v;
}

/** Whether this runtime compiles code from strings (Workers and pages with a
 * strict Content-Security-Policy do not). */
let canCompile = true;

/**
 * A function returning an object of `keys` (one to four of them) from its
 * arguments, written as an object literal: V8 then gives every object of
 * the shape its final hidden class at once, where storing the keys one by one
 * through a key read from an array walks the shape's transitions with a
 * megamorphic keyed store (40–55 ns of a 2-key read in Node 20). null where
 * the runtime refuses to compile code (the caller assigns key by key), or for
 * a `__proto__` key, which a literal would take as the prototype.
 */
function shapeBuilder(keys) {
  if (!canCompile || keys.length > 4 || keys.includes("__proto__")) return null;
  try {
    const fields = keys.map((k, i) => `${JSON.stringify(k)}: v${i}`).join(", ");
    return new Function(...keys.map((_, i) => `v${i}`), `return { ${fields} };`);
  } catch {
    canCompile = false;
    return null;
  }
}

/** The error a value's bytes that do not decode raise (see JsonCodec.decodeAt). */
function corrupt(why) {
  return new Error(`edgecache: corrupt value (${why})`);
}

/** Reads a value's bytes, `b[at..end)`. Steps that read a fixed few bytes
 * (a tag, a varint, a float) may look past `end` (a typed array answers
 * undefined past its own end), which the caller's check that the value ends
 * at `end` catches; a length or count is checked before it is used. */
class Reader {
  constructor(bytes, at, end) {
    this.b = bytes;
    this.at = at;
    this.end = end;
    this.view = null;
  }
  reset(bytes, at, end) {
    this.b = bytes;
    this.at = at;
    this.end = end;
    this.view = null;
  }
  /** An element count: each element takes at least one byte. */
  count() {
    const n = this.varint();
    if (n > this.end - this.at) throw corrupt("a count larger than its bytes");
    return n;
  }
  byte() {
    return this.b[this.at++];
  }
  varint() {
    let v = 0, mul = 1, b;
    do {
      b = this.b[this.at++];
      v += (b & 0x7f) * mul;
      mul *= 0x80;
    } while (b & 0x80 && mul <= 2 ** 56);
    return v;
  }
  f64be() {
    if (this.at + 8 > this.end) throw corrupt("it runs past its end");
    this.view ??= new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    const v = this.view.getFloat64(this.at, false);
    this.at += 8;
    return v;
  }
  string() {
    const n = this.varint();
    if (n > this.end - this.at) throw corrupt("a string longer than its bytes");
    const start = this.at;
    this.at += n;
    return utf8(this.b, start, n);
  }
  /** A string putString wrote as WTF-8. */
  wtf8() {
    const n = this.varint();
    if (n > this.end - this.at) throw corrupt("a string longer than its bytes");
    const start = this.at;
    this.at += n;
    return fromWtf8(this.b, start, n);
  }
}

const fcc = String.fromCharCode;

/** A string value: T_STR and its UTF-8, or T_WTF8 (see putString). */
function putTaggedString(w, s) {
  const at = w.len;
  w.byte(T_STR);
  if (!putString(w, s)) w.buf[at] = T_WTF8;
}

/**
 * Writes a string value or key: its byte length, then its UTF-8 (returns
 * true), or for a string with lone surrogates (which UTF-8 cannot carry,
 * and JSON keeps) its WTF-8 (returns false): each lone surrogate as the
 * three bytes UTF-8 would give its code point (ED A0..BF 80..BF), which no
 * UTF-8 text contains. The caller tags it so (T_WTF8, T_OBJ_WTF8): a T_STR
 * read never looks for them.
 */
function putString(w, s) {
  if (wellFormed(s)) {
    w.string(s);
    return true;
  }
  const parts = s.split(LONE_SURROGATE);
  const out = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) {
      out.push(encoder.encode(parts[i]));
    } else {
      const c = parts[i].charCodeAt(0);
      out.push(Uint8Array.of(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)));
    }
  }
  w.varint(out.reduce((n, b) => n + b.length, 0));
  for (const b of out) w.bytes(b);
  return false;
}

/** A lone surrogate (captured, so that split keeps it). */
const LONE_SURROGATE = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;

/** The string putString wrote as WTF-8 at b[start..start+n): UTF-8 between
 * its lone surrogates (bytes that are neither decode as U+FFFD). */
function fromWtf8(b, start, n) {
  const end = start + n;
  let out = "";
  let from = start;
  for (let p = start; p + 2 < end; p++) {
    if (b[p] === 0xed && b[p + 1] >= 0xa0 && b[p + 1] <= 0xbf && b[p + 2] >= 0x80 && b[p + 2] <= 0xbf) {
      out += decoder.decode(b.subarray(from, p)) + fcc(0xd000 | ((b[p + 1] & 0x3f) << 6) | (b[p + 2] & 0x3f));
      p += 2;
      from = p + 1;
    }
  }
  return out + decoder.decode(b.subarray(from, end));
}

/** ASCII bytes to a string, eight characters per call (3× faster than
 * appending one character at a time, measured), or undefined at the first
 * eight bytes that are not all ASCII: each byte is read once, for both. */
function ascii(b, p, n) {
  let s = "";
  const end = p + n;
  for (; p + 8 <= end; p += 8) {
    const c0 = b[p], c1 = b[p + 1], c2 = b[p + 2], c3 = b[p + 3], c4 = b[p + 4], c5 = b[p + 5], c6 = b[p + 6], c7 = b[p + 7];
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) & 0x80) return undefined;
    s += fcc(c0, c1, c2, c3, c4, c5, c6, c7);
  }
  let or = 0;
  for (let i = p; i < end; i++) or |= b[i];
  if (or & 0x80) return undefined;
  switch (end - p) {
    case 1: return s + fcc(b[p]);
    case 2: return s + fcc(b[p], b[p + 1]);
    case 3: return s + fcc(b[p], b[p + 1], b[p + 2]);
    case 4: return s + fcc(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5: return s + fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6: return s + fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7: return s + fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    default: return s;
  }
}

/** Decodes UTF-8, with a fast path for short ASCII. */
function utf8(b, start, n) {
  if (n <= ASCII_DECODE_MAX) {
    const s = ascii(b, start, n);
    if (s !== undefined) return s;
  }
  return decoder.decode(b.subarray(start, start + n));
}

const textCodec = {
  name: "text",
  /** A string is stored as its UTF-8 alone: no header. */
  stringHeader: 0,
  putStringHeader(mem, at) {
    return at;
  },
  encode(w, v) {
    if (typeof v !== "string") throw new TypeError(`value must be a string with the "text" codec; got ${describe(v)}`);
    w.utf8(v);
  },
  decode(bytes) {
    return utf8(bytes, 0, bytes.length);
  },
  decodeAt(mem, ptr, len) {
    return utf8(mem, ptr, len);
  },
};

export const bytesCodec = {
  name: "bytes",
  encode(w, v) {
    if (v instanceof Uint8Array) w.bytes(v);
    else if (ArrayBuffer.isView(v)) w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    else if (v instanceof ArrayBuffer) w.bytes(new Uint8Array(v));
    else throw new TypeError(`value must be a Uint8Array, an ArrayBuffer or a view with the "bytes" codec; got ${describe(v)}`);
  },
  decode(bytes) {
    return bytes.slice();
  },
  decodeAt(mem, ptr, len) {
    return mem.slice(ptr, ptr + len);
  },
};

/** A custom codec's name in snapshots and tier entries: "custom:<name>"
 * when it names itself, so that another custom codec's bytes are refused;
 * plain "custom" (which cannot be told apart) when it does not. */
function customCodec(c) {
  if (c.name !== undefined && (typeof c.name !== "string" || c.name === "" || c.name.length > 100 || /[^\x21-\x7e]/.test(c.name))) {
    throw new TypeError(`codec.name must be 1 to 100 visible ASCII characters; got ${typeof c.name === "string" ? JSON.stringify(c.name) : describe(c.name)}`);
  }
  return {
    name: c.name === undefined ? "custom" : `custom:${c.name}`,
    encode(w, v) {
      const out = c.encode(v);
      if (!(out instanceof Uint8Array)) throw new TypeError("codec.encode must return a Uint8Array");
      w.bytes(out);
    },
    decode(bytes) {
      return c.decode(bytes.slice());
    },
    decodeAt(mem, ptr, len) {
      return c.decode(mem.slice(ptr, ptr + len));
    },
  };
}

/** Resolves the `codec` option; throws a TypeError naming it when unknown. */
export function makeCodec(codec, { portable = false } = {}) {
  if (codec === undefined || codec === "json") return new JsonCodec(portable);
  if (codec === "text") return textCodec;
  if (codec === "bytes") return bytesCodec;
  if (codec !== null && typeof codec === "object" && typeof codec.encode === "function" && typeof codec.decode === "function") {
    return customCodec(codec);
  }
  throw new TypeError(`codec must be "json", "text", "bytes" or { encode, decode }; got ${typeof codec === "string" ? JSON.stringify(codec) : describe(codec)}`);
}
