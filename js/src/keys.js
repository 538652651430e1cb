// Keys: validation, the injective byte encoding shared with src/key.rs, and
// key(...parts), the printable form of a composite key.

/** The kind byte that starts a string key's encoding (`src/key.rs`). */
export const KIND_STR = 1;
const KIND_NUM = 2;
const KIND_PARTS = 3;
/** A string that is not well-formed UTF-16 (a lone surrogate): UTF-8 cannot
 * carry it (TextEncoder would turn every lone surrogate into U+FFFD and make
 * distinct keys equal), so its UTF-16 code units are written as they are. */
const KIND_UTF16 = 4;

/** Marks a tag that is not well-formed UTF-16: 0xFF occurs in no UTF-8
 * text, so these tags never meet a well-formed tag's bytes. */
const TAG_UTF16 = 0xff;

/** Strings up to this many UTF-16 units take the writer's ASCII loop before
 * TextEncoder (short keys and values are the common case). */
const ASCII_LOOP_MAX = 63;

export const wellFormed = typeof String.prototype.isWellFormed === "function"
  ? (s) => s.isWellFormed()
  : (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

const encoder = new TextEncoder();

/** Throws a TypeError naming `name` unless `k` is a valid key. */
export function checkKey(k, name = "key") {
  if (typeof k === "string") return;
  if (typeof k === "number") {
    if (!Number.isFinite(k)) throw new TypeError(`${name} must be a finite number, a string, or an array of those; got ${k}`);
    return;
  }
  if (Array.isArray(k)) {
    for (let i = 0; i < k.length; i++) {
      const p = k[i];
      if (typeof p === "string") continue;
      if (typeof p === "number" && Number.isFinite(p)) continue;
      throw new TypeError(`${name}[${i}] must be a string or a finite number; got ${describe(p)}`);
    }
    return;
  }
  throw new TypeError(`${name} must be a string, a finite number, or an array of those; got ${describe(k)}`);
}

export function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return String(v);
  return typeof v;
}

/** A growable byte buffer for encoding. */
export class Writer {
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }
  reserve(n) {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b) {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  /** LEB128 of a non-negative safe integer. */
  varint(v) {
    this.reserve(10);
    const buf = this.buf;
    let at = this.len;
    if (v >= 0x10000000) {
      // Past 28 bits (timestamps): the low 28 bits as four groups with 32-bit
      // integer arithmetic, then the rest, instead of float division per group.
      let lo = v % 0x10000000;
      v = (v - lo) / 0x10000000;
      for (let i = 0; i < 4; i++) {
        buf[at++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
    }
    while (v >= 0x80) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v;
    this.len = at;
  }
  u32le(v) {
    this.reserve(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  f64be(n) {
    this.reserve(8);
    this.view.setFloat64(this.len, n === 0 ? 0 : n, false);
    this.len += 8;
  }
  /** UTF-8 of `s` with no length prefix. */
  utf8(s) {
    const n = s.length;
    if (n <= ASCII_LOOP_MAX) {
      this.reserve(n * 3);
      const buf = this.buf;
      let at = this.len;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          this.len = at;
          return this.utf8Slow(s.slice(i));
        }
        buf[at++] = c;
      }
      this.len = at;
      return;
    }
    this.utf8Slow(s);
  }
  utf8Slow(s) {
    this.reserve(s.length * 3);
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.len));
    this.len += written;
  }
  /** UTF-16 code units, little-endian, with no length prefix. */
  utf16(s) {
    this.reserve(s.length * 2);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.buf[this.len++] = c & 0xff;
      this.buf[this.len++] = c >> 8;
    }
  }

  /** varint byte length, then UTF-8. */
  string(s) {
    if (s.length < 128) {
      // one length byte suffices when the UTF-8 form is < 128 bytes; patch after
      const at = this.len;
      this.byte(0);
      this.utf8(s);
      const written = this.len - at - 1;
      if (written < 128) {
        this.buf[at] = written;
        return;
      }
      this.len = at;
    }
    const bytes = encoder.encode(s);
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  /** Writes what `write` appends, preceded by its length as a little-endian u32. */
  prefixed(write) {
    const at = this.len;
    this.u32le(0);
    write();
    this.view.setUint32(at, this.len - at - 4, true);
  }
  bytes(u8) {
    this.reserve(u8.length);
    this.buf.set(u8, this.len);
    this.len += u8.length;
  }
}

/** Appends the encoding of a (validated) key. */
export function encodeKey(w, k) {
  if (typeof k === "string") {
    if (wellFormed(k)) {
      w.byte(KIND_STR);
      w.utf8(k);
    } else {
      w.byte(KIND_UTF16);
      w.utf16(k);
    }
  } else if (typeof k === "number") {
    w.byte(KIND_NUM);
    w.f64be(k);
  } else {
    w.byte(KIND_PARTS);
    for (const p of k) {
      if (typeof p === "string" && !wellFormed(p)) {
        w.byte(KIND_UTF16);
        w.varint(p.length * 2);
        w.utf16(p);
      } else if (typeof p === "string") {
        w.byte(KIND_STR);
        w.string(p);
      } else {
        w.byte(KIND_NUM);
        w.f64be(p);
      }
    }
  }
}

/**
 * Appends the bytes of a (validated) tag. A well-formed tag is its UTF-8 (its
 * charge is its UTF-8 length); any other is TAG_UTF16 and its UTF-16 code
 * units, as keys keep lone surrogates apart: "\ud800", "\udc00" and "\ufffd"
 * are three tags.
 */
export function encodeTag(w, tag) {
  if (wellFormed(tag)) {
    w.utf8(tag);
  } else {
    w.byte(TAG_UTF16);
    w.utf16(tag);
  }
}

const tagText = new TextDecoder();

/** The tag whose encodeTag bytes are `b` (0xFF never starts UTF-8). */
export function decodeTag(b) {
  if (b.length === 0 || b[0] !== TAG_UTF16) return tagText.decode(b);
  let s = "";
  for (let i = 1; i + 1 < b.length; i += 2) s += String.fromCharCode(b[i] | (b[i + 1] << 8));
  return s;
}

/** A string that identifies a key (for in-flight load maps). Injective. */
export function keyId(k) {
  if (typeof k === "string") return "s" + k;
  if (typeof k === "number") return "n" + String(k === 0 ? 0 : k);
  return "a" + (k.length === 0 ? "" : key(...k));
}

function looksLikeNumber(s) {
  return s !== "" && String(Number(s)) === s;
}

/**
 * A composite key as one printable string: parts joined by `:`, with `\` and
 * `:` inside string parts escaped, and string parts that read as numbers
 * marked with a leading `\`. Injective: equal strings exactly when the parts
 * are equal (so `key(17) !== key("17")`).
 *
 *   key("story", 12, "v3")  → "story:12:v3"
 *   key("a:b", "c")         → "a\\:b:c"
 */
export function key(...parts) {
  if (parts.length === 0) throw new RangeError("key() needs at least one part");
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i > 0) out += ":";
    if (typeof p === "number") {
      if (!Number.isFinite(p)) throw new TypeError(`key part ${i} must be a string or a finite number; got ${p}`);
      out += String(p === 0 ? 0 : p);
    } else if (typeof p === "string") {
      const escaped = p.replace(/[\\:]/g, "\\$&");
      out += looksLikeNumber(p) ? "\\" + escaped : escaped;
    } else {
      throw new TypeError(`key part ${i} must be a string or a finite number; got ${describe(p)}`);
    }
  }
  return out;
}

