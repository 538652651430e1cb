var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// ../../js/dist/workerd.js
import module from "./8bc89c8126af9808258df58ad55cb639e3761625-edgecache_bg.wasm";

// ../../js/dist/wasm/edgecache.js
var WasmCache = class {
  static {
    __name(this, "WasmCache");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    WasmCacheFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    wasm.__wbg_wasmcache_free(ptr, 0);
  }
  /**
   * Drops every entry, keeps the configuration.
   */
  clear() {
    wasm.wasmcache_clear(this.__wbg_ptr);
  }
  /**
   * Deletes the key in `io[..key_len]` and its dependents: 1 if a fresh
   * value was there, 0 if not.
   * @param {number} key_len
   * @param {number} now
   * @returns {number}
   */
  delete(key_len, now) {
    const ret = wasm.wasmcache_delete(this.__wbg_ptr, key_len, now);
    return ret;
  }
  /**
   * The per-entry overhead constant, for the docs and the demo.
   * @returns {number}
   */
  static entry_overhead() {
    const ret = wasm.wasmcache_entry_overhead();
    return ret >>> 0;
  }
  /**
   * Reads the key in `io[..key_len]`: −1 miss, 0 fresh, 1 stale (value in
   * the result block); [`BAD_LAYOUT`] or [`NOT_READY`] on misuse.
   * @param {number} key_len
   * @param {number} now
   * @param {boolean} accept_stale
   * @returns {number}
   */
  get(key_len, now, accept_stale) {
    const ret = wasm.wasmcache_get(this.__wbg_ptr, key_len, now, accept_stale);
    return ret;
  }
  /**
   * 1 when a fresh value is cached, 0 when not.
   * @param {number} key_len
   * @param {number} now
   * @returns {number}
   */
  has(key_len, now) {
    const ret = wasm.wasmcache_has(this.__wbg_ptr, key_len, now);
    return ret;
  }
  /**
   * Builds the core on first use (draws the seed). The JS layer calls this
   * once before anything else; the hot calls below then need no `Result`.
   */
  init() {
    const ret = wasm.wasmcache_init(this.__wbg_ptr);
    if (ret[1]) {
      throw takeFromExternrefTable0(ret[0]);
    }
  }
  /**
   * Invalidates the key in `io[..key_len]` and its dependents; how many were removed.
   * @param {number} key_len
   * @param {number} now
   * @returns {number}
   */
  invalidate(key_len, now) {
    const ret = wasm.wasmcache_invalidate(this.__wbg_ptr, key_len, now);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    return ret[0] >>> 0;
  }
  /**
   * Invalidates the tag in `io[..tag_len]`; how many entries carried it.
   * @param {number} tag_len
   * @returns {number}
   */
  invalidate_tag(tag_len) {
    const ret = wasm.wasmcache_invalidate_tag(this.__wbg_ptr, tag_len);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    return ret[0] >>> 0;
  }
  /**
   * Makes the I/O buffer at least `len` bytes and returns its address.
   * @param {number} len
   * @returns {number}
   */
  io(len) {
    const ret = wasm.wasmcache_io(this.__wbg_ptr, len);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    return ret[0] >>> 0;
  }
  /**
   * Validates options; the core itself is built on first use.
   * @param {any} options
   */
  constructor(options) {
    const ret = wasm.wasmcache_new(options);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    this.__wbg_ptr = ret[0];
    WasmCacheFinalization.register(this, this.__wbg_ptr, this);
    return this;
  }
  /**
   * Address of the result block `[ptr, len, expired_at_lo, expired_at_hi]`.
   * @returns {number}
   */
  out_ptr() {
    const ret = wasm.wasmcache_out_ptr(this.__wbg_ptr);
    return ret >>> 0;
  }
  /**
   * Like `get` without recency, frequency or stats change; fresh values only.
   * @param {number} key_len
   * @param {number} now
   * @returns {number}
   */
  peek(key_len, now) {
    const ret = wasm.wasmcache_peek(this.__wbg_ptr, key_len, now);
    return ret;
  }
  /**
   * Reclaims up to `max` expired or tag-dead entries (idle-time upkeep).
   * @param {number} now
   * @param {number} max
   * @returns {number}
   */
  reclaim(now, max) {
    const ret = wasm.wasmcache_reclaim(this.__wbg_ptr, now, max);
    return ret >>> 0;
  }
  /**
   * Writes: `io` holds `key ‖ value ‖ tags ‖ deps`, each tag and dep as a
   * little-endian `u32` length and its bytes. `ttl`/`grace` < 0 take the
   * defaults. Returns 0 stored, 1 too large, 2 no room; [`ALLOC_FAILED`],
   * [`BAD_LAYOUT`] or [`NOT_READY`] otherwise.
   * @param {number} key_len
   * @param {number} value_len
   * @param {number} ttl
   * @param {number} grace
   * @param {number} tag_count
   * @param {number} dep_count
   * @param {number} now
   * @returns {number}
   */
  set(key_len, value_len, ttl, grace, tag_count, dep_count, now) {
    const ret = wasm.wasmcache_set(this.__wbg_ptr, key_len, value_len, ttl, grace, tag_count, dep_count, now);
    return ret;
  }
  /**
   * Counters as a plain object.
   * @returns {any}
   */
  stats() {
    const ret = wasm.wasmcache_stats(this.__wbg_ptr);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
  }
  /**
   * Remaining TTL in ms of a fresh key: −1 when absent, −2 when it never expires.
   * @param {number} key_len
   * @param {number} now
   * @returns {number}
   */
  ttl(key_len, now) {
    const ret = wasm.wasmcache_ttl(this.__wbg_ptr, key_len, now);
    if (ret[2]) {
      throw takeFromExternrefTable0(ret[1]);
    }
    return ret[0];
  }
};
if (Symbol.dispose) WasmCache.prototype[Symbol.dispose] = WasmCache.prototype.free;
function __wbg_get_imports() {
  const import0 = {
    __proto__: null,
    __wbg_Error_208446807d0d1e30: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = Error(getStringFromWasm0(arg0, arg1));
      return ret;
    }, "__wbg_Error_208446807d0d1e30"),
    __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: /* @__PURE__ */ __name(function(arg0) {
      const v = arg0;
      const ret = typeof v === "boolean" ? v : void 0;
      return isLikeNone(ret) ? 16777215 : ret ? 1 : 0;
    }, "__wbg___wbindgen_boolean_get_4f1baf9a00be3c74"),
    __wbg___wbindgen_debug_string_f249a2a76caa9a55: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = debugString(arg1);
      const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      const len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg___wbindgen_debug_string_f249a2a76caa9a55"),
    __wbg___wbindgen_in_3f58a9d3b3a7eed2: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0 in arg1;
      return ret;
    }, "__wbg___wbindgen_in_3f58a9d3b3a7eed2"),
    __wbg___wbindgen_is_object_8b968c3ab8e96595: /* @__PURE__ */ __name(function(arg0) {
      const val = arg0;
      const ret = typeof val === "object" && val !== null;
      return ret;
    }, "__wbg___wbindgen_is_object_8b968c3ab8e96595"),
    __wbg___wbindgen_is_undefined_be5b34249ff1fc15: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0 === void 0;
      return ret;
    }, "__wbg___wbindgen_is_undefined_be5b34249ff1fc15"),
    __wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0 == arg1;
      return ret;
    }, "__wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36"),
    __wbg___wbindgen_number_get_934b640d0889af78: /* @__PURE__ */ __name(function(arg0, arg1) {
      const obj = arg1;
      const ret = typeof obj === "number" ? obj : void 0;
      getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
    }, "__wbg___wbindgen_number_get_934b640d0889af78"),
    __wbg___wbindgen_string_get_7ce8eee7fd327545: /* @__PURE__ */ __name(function(arg0, arg1) {
      const obj = arg1;
      const ret = typeof obj === "string" ? obj : void 0;
      var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      var len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg___wbindgen_string_get_7ce8eee7fd327545"),
    __wbg___wbindgen_throw_4c88d8bf264fd984: /* @__PURE__ */ __name(function(arg0, arg1) {
      throw new Error(getStringFromWasm0(arg0, arg1));
    }, "__wbg___wbindgen_throw_4c88d8bf264fd984"),
    __wbg_getRandomValues_5d8c030b527203a6: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        globalThis.crypto.getRandomValues(getArrayU8FromWasm0(arg0, arg1));
      }, arguments);
    }, "__wbg_getRandomValues_5d8c030b527203a6"),
    __wbg_get_with_ref_key_fc601247060b7204: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0[arg1];
      return ret;
    }, "__wbg_get_with_ref_key_fc601247060b7204"),
    __wbg_instanceof_ArrayBuffer_12cdaa4161423e6b: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof ArrayBuffer;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_ArrayBuffer_12cdaa4161423e6b"),
    __wbg_instanceof_Uint8Array_d7aeb0dcb3108fea: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Uint8Array;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Uint8Array_d7aeb0dcb3108fea"),
    __wbg_length_186163212ffe79c3: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.length;
      return ret;
    }, "__wbg_length_186163212ffe79c3"),
    __wbg_new_13de428334042d26: /* @__PURE__ */ __name(function(arg0) {
      const ret = new Uint8Array(arg0);
      return ret;
    }, "__wbg_new_13de428334042d26"),
    __wbg_new_787b9fb330d55d78: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = new Error(getStringFromWasm0(arg0, arg1));
      return ret;
    }, "__wbg_new_787b9fb330d55d78"),
    __wbg_new_cd4348290afae586: /* @__PURE__ */ __name(function() {
      const ret = new Object();
      return ret;
    }, "__wbg_new_cd4348290afae586"),
    __wbg_prototypesetcall_13162965d1fe7aa3: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
    }, "__wbg_prototypesetcall_13162965d1fe7aa3"),
    __wbg_set_2793479888329cb6: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = Reflect.set(arg0, arg1, arg2);
        return ret;
      }, arguments);
    }, "__wbg_set_2793479888329cb6"),
    __wbg_set_e4b9a833d288759a: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      arg0[arg1] = arg2;
    }, "__wbg_set_e4b9a833d288759a"),
    __wbg_set_name_822e3903f3184979: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      arg0.name = getStringFromWasm0(arg1, arg2);
    }, "__wbg_set_name_822e3903f3184979"),
    __wbindgen_generic_0000000000000001: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0;
      return ret;
    }, "__wbindgen_generic_0000000000000001"),
    __wbindgen_generic_0000000000000002: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = getStringFromWasm0(arg0, arg1);
      return ret;
    }, "__wbindgen_generic_0000000000000002"),
    __wbindgen_init_externref_table: /* @__PURE__ */ __name(function() {
      const table = wasm.__wbindgen_externrefs;
      table.set(0, void 0);
      table.set(1024, void 0);
      table.set(1025, null);
      table.set(1026, true);
      table.set(1027, false);
    }, "__wbindgen_init_externref_table")
  };
  return {
    __proto__: null,
    "./edgecache_bg.js": import0
  };
}
__name(__wbg_get_imports, "__wbg_get_imports");
var WasmCacheFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry((ptr) => wasm.__wbg_wasmcache_free(ptr, 1));
function addToExternrefTable0(obj) {
  const idx = wasm.__externref_table_alloc();
  wasm.__wbindgen_externrefs.set(idx, obj);
  return idx;
}
__name(addToExternrefTable0, "addToExternrefTable0");
function debugString(val) {
  switch (typeof val) {
    // primitive types
    case "number":
    case "boolean":
    case "undefined":
      return `${val}`;
    case "string":
      return JSON.stringify(val);
    case "bigint":
      return `${val}n`;
    case "symbol":
      return val.description !== void 0 ? `Symbol(${val.description})` : "Symbol";
    case "function":
      return typeof val.name === "string" && val.name !== "" ? `Function(${val.name})` : "Function";
    case "object": {
      if (val === null) {
        return "null";
      }
      if (Array.isArray(val)) {
        return "[" + Array.from(val, debugString).join(", ") + "]";
      }
      if (val instanceof Error) {
        return `${val.name}: ${val.message}
${val.stack}`;
      }
      const toStringOutput = toString.call(val);
      const className = /\[object ([^\]]+)\]/.exec(toStringOutput)?.[1];
      if (className === void 0) {
        return toStringOutput;
      }
      if (className === "Object") {
        try {
          return "Object(" + JSON.stringify(val) + ")";
        } catch (_) {
          return "Object";
        }
      }
      return className;
    }
  }
}
__name(debugString, "debugString");
function getArrayU8FromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}
__name(getArrayU8FromWasm0, "getArrayU8FromWasm0");
var cachedDataViewMemory0 = null;
function getDataViewMemory0() {
  if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || cachedDataViewMemory0.buffer.detached === void 0 && cachedDataViewMemory0.buffer !== wasm.memory.buffer) {
    cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
  }
  return cachedDataViewMemory0;
}
__name(getDataViewMemory0, "getDataViewMemory0");
function getStringFromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}
__name(getStringFromWasm0, "getStringFromWasm0");
var cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
  if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
    cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
  }
  return cachedUint8ArrayMemory0;
}
__name(getUint8ArrayMemory0, "getUint8ArrayMemory0");
function handleError(f, args) {
  try {
    return f.apply(this, args);
  } catch (e) {
    const idx = addToExternrefTable0(e);
    wasm.__wbindgen_exn_store(idx);
  }
}
__name(handleError, "handleError");
function isLikeNone(x) {
  return x === void 0 || x === null;
}
__name(isLikeNone, "isLikeNone");
function passStringToWasm0(arg, malloc, realloc) {
  if (realloc === void 0) {
    const buf = cachedTextEncoder.encode(arg);
    const ptr2 = malloc(buf.length, 1) >>> 0;
    getUint8ArrayMemory0().subarray(ptr2, ptr2 + buf.length).set(buf);
    WASM_VECTOR_LEN = buf.length;
    return ptr2;
  }
  let len = arg.length;
  let ptr = malloc(len, 1) >>> 0;
  const mem = getUint8ArrayMemory0();
  let offset = 0;
  for (; offset < len; offset++) {
    const code = arg.charCodeAt(offset);
    if (code > 127) break;
    mem[ptr + offset] = code;
  }
  if (offset !== len) {
    if (offset !== 0) {
      arg = arg.slice(offset);
    }
    ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
    const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
    const ret = cachedTextEncoder.encodeInto(arg, view);
    offset += ret.written;
    ptr = realloc(ptr, len, offset, 1) >>> 0;
  }
  WASM_VECTOR_LEN = offset;
  return ptr;
}
__name(passStringToWasm0, "passStringToWasm0");
function takeFromExternrefTable0(idx) {
  const value = wasm.__wbindgen_externrefs.get(idx);
  wasm.__externref_table_dealloc(idx);
  return value;
}
__name(takeFromExternrefTable0, "takeFromExternrefTable0");
var cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
cachedTextDecoder.decode();
var MAX_SAFARI_DECODE_BYTES = 2146435072;
var numBytesDecoded = 0;
function decodeText(bytes2) {
  numBytesDecoded += bytes2.length;
  if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
    cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
    cachedTextDecoder.decode();
    numBytesDecoded = bytes2.length;
  }
  return cachedTextDecoder.decode(bytes2);
}
__name(decodeText, "decodeText");
var cachedTextEncoder = new TextEncoder();
if (!("encodeInto" in cachedTextEncoder)) {
  cachedTextEncoder.encodeInto = function(arg, view) {
    const buf = cachedTextEncoder.encode(arg);
    view.set(buf);
    return {
      read: arg.length,
      written: buf.length
    };
  };
}
var WASM_VECTOR_LEN = 0;
var wasmModule;
var wasmInstance;
var wasm;
function __wbg_finalize_init(instance, module2) {
  wasmInstance = instance;
  wasm = instance.exports;
  wasmModule = module2;
  cachedDataViewMemory0 = null;
  cachedUint8ArrayMemory0 = null;
  wasm.__wbindgen_start();
  return wasm;
}
__name(__wbg_finalize_init, "__wbg_finalize_init");
function initSync(module2) {
  if (wasm !== void 0) return wasm;
  if (module2 !== void 0) {
    if (Object.getPrototypeOf(module2) === Object.prototype) {
      ({ module: module2 } = module2);
    } else {
      console.warn("using deprecated parameters for `initSync()`; pass a single object instead");
    }
  }
  const imports = __wbg_get_imports();
  if (!(module2 instanceof WebAssembly.Module)) {
    module2 = new WebAssembly.Module(module2);
  }
  const instance = new WebAssembly.Instance(module2, imports);
  return __wbg_finalize_init(instance, module2);
}
__name(initSync, "initSync");

// ../../js/dist/runtime.js
var exportsOf = null;
var u8 = null;
var u32 = null;
function setWasm(exports) {
  exportsOf = exports;
  u8 = null;
  u32 = null;
}
__name(setWasm, "setWasm");
function ready() {
  if (exportsOf === null) throw new Error("edgecache: the wasm module is not initialised; import the package entry, not its internals");
}
__name(ready, "ready");
function bytes() {
  if (u8 === null || u8.byteLength === 0) {
    const buf = exportsOf.memory.buffer;
    u8 = new Uint8Array(buf);
    u32 = new Uint32Array(buf);
  }
  return u8;
}
__name(bytes, "bytes");
function words() {
  bytes();
  return u32;
}
__name(words, "words");
function memorySize() {
  return exportsOf.memory.buffer.byteLength;
}
__name(memorySize, "memorySize");

// ../../js/dist/keys.js
var KIND_STR = 1;
var KIND_NUM = 2;
var KIND_PARTS = 3;
var encoder = new TextEncoder();
function checkKey(k, name = "key") {
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
__name(checkKey, "checkKey");
function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return String(v);
  return typeof v;
}
__name(describe, "describe");
var Writer = class {
  static {
    __name(this, "Writer");
  }
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
  varint(v) {
    this.reserve(10);
    while (v >= 128) {
      this.buf[this.len++] = v % 128 | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
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
    if (n < 64) {
      this.reserve(n * 3);
      const buf = this.buf;
      let at = this.len;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) {
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
  /** varint byte length, then UTF-8. */
  string(s) {
    if (s.length < 128) {
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
    const bytes2 = encoder.encode(s);
    this.varint(bytes2.length);
    this.reserve(bytes2.length);
    this.buf.set(bytes2, this.len);
    this.len += bytes2.length;
  }
  bytes(u82) {
    this.reserve(u82.length);
    this.buf.set(u82, this.len);
    this.len += u82.length;
  }
};
function encodeKey(w, k) {
  if (typeof k === "string") {
    w.byte(KIND_STR);
    w.utf8(k);
  } else if (typeof k === "number") {
    w.byte(KIND_NUM);
    w.f64be(k);
  } else {
    w.byte(KIND_PARTS);
    for (const p of k) {
      if (typeof p === "string") {
        w.byte(KIND_STR);
        w.string(p);
      } else {
        w.byte(KIND_NUM);
        w.f64be(p);
      }
    }
  }
}
__name(encodeKey, "encodeKey");
function keyId(k) {
  if (typeof k === "string") return "s" + k;
  if (typeof k === "number") return "n" + String(k === 0 ? 0 : k);
  return "a" + (k.length === 0 ? "" : key(...k));
}
__name(keyId, "keyId");
function looksLikeNumber(s) {
  return s !== "" && String(Number(s)) === s;
}
__name(looksLikeNumber, "looksLikeNumber");
function key(...parts) {
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
__name(key, "key");

// ../../js/dist/codecs.js
var decoder = new TextDecoder();
var T_NULL = 0;
var T_FALSE = 1;
var T_TRUE = 2;
var T_UINT = 3;
var T_NINT = 4;
var T_F64 = 5;
var T_STR = 6;
var T_ARR = 7;
var T_OBJ = 8;
var T_SHAPE = 9;
var MAX_SHAPES = 4096;
var MAX_SHAPE_KEYS = 32;
function isSkipped(v) {
  return v === void 0 || typeof v === "function" || typeof v === "symbol";
}
__name(isSkipped, "isSkipped");
var JsonCodec = class {
  static {
    __name(this, "JsonCodec");
  }
  constructor() {
    this.name = "json";
    this.shapeIds = /* @__PURE__ */ new Map();
    this.shapes = [];
    this.stack = [];
  }
  encode(w, v) {
    this.stack.length = 0;
    if (v !== null && typeof v === "object" && typeof v.toJSON === "function") v = v.toJSON("");
    if (isSkipped(v)) throw new TypeError(`value must be JSON-compatible; got ${typeof v}`);
    this.write(w, v);
  }
  write(w, v) {
    switch (typeof v) {
      case "string":
        w.byte(T_STR);
        w.string(v);
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
          w.byte(T_NULL);
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
        if (this.stack.includes(v)) throw new TypeError("value must be JSON-compatible; got a cyclic structure");
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
    const keys = [];
    const values = [];
    for (const k of Object.keys(obj)) {
      let item = obj[k];
      if (item !== null && typeof item === "object" && typeof item.toJSON === "function") item = item.toJSON(k);
      if (isSkipped(item)) continue;
      keys.push(k);
      values.push(item);
    }
    if (keys.length > 0 && keys.length <= MAX_SHAPE_KEYS) {
      const sig = JSON.stringify(keys);
      let id = this.shapeIds.get(sig);
      if (id === void 0 && this.shapes.length < MAX_SHAPES) {
        id = this.shapes.length;
        this.shapes.push(keys);
        this.shapeIds.set(sig, id);
      }
      if (id !== void 0) {
        w.byte(T_SHAPE);
        w.varint(id);
        for (const item of values) this.write(w, item);
        return;
      }
    }
    w.byte(T_OBJ);
    w.varint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      w.string(keys[i]);
      this.write(w, values[i]);
    }
  }
  decode(bytes2) {
    return this.decodeAt(bytes2, 0, bytes2.length);
  }
  decodeAt(mem, ptr, len) {
    const r = new Reader(mem, ptr);
    return this.read(r);
  }
  read(r) {
    const t = r.byte();
    switch (t) {
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_UINT:
        return r.varint();
      case T_NINT:
        return -r.varint() - 1;
      case T_F64:
        return r.f64be();
      case T_STR:
        return r.string();
      case T_ARR: {
        const n = r.varint();
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.read(r);
        return out;
      }
      case T_OBJ: {
        const n = r.varint();
        const out = {};
        for (let i = 0; i < n; i++) {
          const k = r.string();
          out[k] = this.read(r);
        }
        return out;
      }
      case T_SHAPE: {
        const keys = this.shapes[r.varint()];
        if (keys === void 0) throw new Error("edgecache: corrupt value (unknown shape)");
        const out = {};
        for (let i = 0; i < keys.length; i++) out[keys[i]] = this.read(r);
        return out;
      }
      default:
        throw new Error(`edgecache: corrupt value (tag ${t})`);
    }
  }
  reset() {
  }
};
var Reader = class {
  static {
    __name(this, "Reader");
  }
  constructor(bytes2, at = 0) {
    this.b = bytes2;
    this.at = at;
    this.view = null;
  }
  byte() {
    return this.b[this.at++];
  }
  varint() {
    let v = 0, mul = 1, b;
    do {
      b = this.b[this.at++];
      v += (b & 127) * mul;
      mul *= 128;
    } while (b & 128);
    return v;
  }
  f64be() {
    this.view ??= new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    const v = this.view.getFloat64(this.at, false);
    this.at += 8;
    return v;
  }
  string() {
    const n = this.varint();
    const start = this.at;
    this.at += n;
    return utf8(this.b, start, n);
  }
};
function utf8(b, start, n) {
  if (n <= 24) {
    let s = "";
    for (let i = start; i < start + n; i++) {
      const c = b[i];
      if (c >= 128) return decoder.decode(b.subarray(start, start + n));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(b.subarray(start, start + n));
}
__name(utf8, "utf8");
var textCodec = {
  name: "text",
  encode(w, v) {
    if (typeof v !== "string") throw new TypeError(`value must be a string with the "text" codec; got ${describe(v)}`);
    w.utf8(v);
  },
  decode(bytes2) {
    return utf8(bytes2, 0, bytes2.length);
  },
  decodeAt(mem, ptr, len) {
    return utf8(mem, ptr, len);
  }
};
var bytesCodec = {
  name: "bytes",
  encode(w, v) {
    if (v instanceof Uint8Array) w.bytes(v);
    else if (ArrayBuffer.isView(v)) w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    else if (v instanceof ArrayBuffer) w.bytes(new Uint8Array(v));
    else throw new TypeError(`value must be a Uint8Array, an ArrayBuffer or a view with the "bytes" codec; got ${describe(v)}`);
  },
  decode(bytes2) {
    return bytes2.slice();
  },
  decodeAt(mem, ptr, len) {
    return mem.slice(ptr, ptr + len);
  }
};
function customCodec(c) {
  return {
    name: "custom",
    encode(w, v) {
      const out = c.encode(v);
      if (!(out instanceof Uint8Array)) throw new TypeError("codec.encode must return a Uint8Array");
      w.bytes(out);
    },
    decode(bytes2) {
      return c.decode(bytes2.slice());
    },
    decodeAt(mem, ptr, len) {
      return c.decode(mem.slice(ptr, ptr + len));
    }
  };
}
__name(customCodec, "customCodec");
function makeCodec(codec) {
  if (codec === void 0 || codec === "json") return new JsonCodec();
  if (codec === "text") return textCodec;
  if (codec === "bytes") return bytesCodec;
  if (codec !== null && typeof codec === "object" && typeof codec.encode === "function" && typeof codec.decode === "function") {
    return customCodec(codec);
  }
  throw new TypeError(`codec must be "json", "text", "bytes" or { encode, decode }; got ${typeof codec === "string" ? JSON.stringify(codec) : describe(codec)}`);
}
__name(makeCodec, "makeCodec");

// ../../js/dist/cache.js
var POLICIES = Object.freeze([
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
  "noeviction",
  "allkeys-adaptive"
]);
var DEFAULT_MAX_MEMORY = 32 * 1024 * 1024;
var internals = /* @__PURE__ */ Symbol("edgecache.internals");
var memoIds = 0;
function isObject(v) {
  return v !== null && typeof v === "object";
}
__name(isObject, "isObject");
function ms(value, name, { allowUndefined = true } = {}) {
  if (value === void 0 && allowUndefined) return void 0;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds; got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite, non-negative number of milliseconds; got ${value}`);
  return value;
}
__name(ms, "ms");
function checkTags(tags, name = "tags") {
  if (tags === void 0) return [];
  if (!Array.isArray(tags)) throw new TypeError(`${name} must be an array of strings; got ${describe(tags)}`);
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== "string") throw new TypeError(`${name}[${i}] must be a string; got ${describe(tags[i])}`);
  }
  return tags;
}
__name(checkTags, "checkTags");
function checkDeps(deps, name = "dependsOn") {
  if (deps === void 0) return [];
  if (!Array.isArray(deps)) throw new TypeError(`${name} must be an array of keys; got ${describe(deps)}`);
  for (let i = 0; i < deps.length; i++) checkKey(deps[i], `${name}[${i}]`);
  return deps;
}
__name(checkDeps, "checkDeps");
var Cache = class {
  static {
    __name(this, "Cache");
  }
  #inner;
  #codec;
  #now;
  #w = new Writer();
  #out;
  #ioPtr = 0;
  #ioCap = 0;
  #ready = false;
  #freed = false;
  #ttl;
  #swr;
  #sie;
  #maxMemory;
  #inflight = /* @__PURE__ */ new Map();
  #loads = 0;
  #coalesced = 0;
  #loadErrors = 0;
  /**
   * @param {import("./index.d.ts").CacheOptions} [options]
   */
  constructor(options = {}) {
    ready();
    if (!isObject(options)) throw new TypeError(`options must be an object; got ${describe(options)}`);
    const {
      maxMemory = DEFAULT_MAX_MEMORY,
      maxEntries = 0,
      policy = "allkeys-lru",
      ttl = 0,
      jitter = 0,
      staleWhileRevalidate = 0,
      staleIfError = 0,
      codec = "json",
      now = Date.now,
      seed
    } = options;
    if (typeof maxMemory !== "number") throw new TypeError(`maxMemory must be a number of bytes; got ${describe(maxMemory)}`);
    if (!Number.isFinite(maxMemory) || maxMemory < 1) throw new RangeError(`maxMemory must be a positive number of bytes; got ${maxMemory}`);
    if (typeof maxEntries !== "number") throw new TypeError(`maxEntries must be a number; got ${describe(maxEntries)}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a non-negative integer; got ${maxEntries}`);
    if (typeof policy !== "string" || !POLICIES.includes(policy)) {
      throw new TypeError(`policy must be one of ${POLICIES.join(", ")}; got ${typeof policy === "string" ? JSON.stringify(policy) : describe(policy)}`);
    }
    ms(ttl, "ttl");
    if (typeof jitter !== "number") throw new TypeError(`jitter must be a number; got ${describe(jitter)}`);
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter must be in [0, 1); got ${jitter}`);
    ms(staleWhileRevalidate, "staleWhileRevalidate");
    ms(staleIfError, "staleIfError");
    if (typeof now !== "function") throw new TypeError(`now must be a function returning milliseconds; got ${describe(now)}`);
    if (seed !== void 0 && (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0)) {
      throw new TypeError(`seed must be a non-negative safe integer; got ${describe(seed)}`);
    }
    this.#codec = makeCodec(codec);
    this.#now = now;
    this.#ttl = ttl;
    this.#swr = staleWhileRevalidate;
    this.#sie = staleIfError;
    this.#maxMemory = maxMemory;
    this.#inner = new WasmCache({
      maxMemory,
      maxEntries,
      policy,
      ttl,
      jitter,
      grace: Math.max(staleWhileRevalidate, staleIfError),
      seed
    });
    this.#out = this.#inner.out_ptr() >>> 2;
  }
  // ----- plumbing -----
  #live() {
    if (this.#freed) throw new Error("edgecache: this Cache was freed; create a new one");
    if (!this.#ready) {
      this.#inner.init();
      this.#ready = true;
    }
  }
  /** Makes the wasm I/O buffer at least n bytes; its address is cached. */
  #ensureIo(n) {
    if (n > this.#ioCap) {
      const cap = Math.max(n, this.#ioCap * 2, 256);
      this.#ioPtr = this.#inner.io(cap);
      this.#ioCap = cap;
    }
  }
  /** Turns a negative status of a hot call into an error. */
  #fail(code) {
    if (code === -4) throw new RangeError("edgecache: out of wasm memory; lower maxMemory so the cache fits the isolate");
    throw new Error(`edgecache: internal error ${code}`);
  }
  #time() {
    const t = this.#now();
    if (typeof t !== "number" || !Number.isFinite(t)) throw new TypeError(`now() must return a finite number of milliseconds; got ${describe(t)}`);
    return t;
  }
  /** Copies the writer's bytes into the wasm I/O buffer. */
  #stage() {
    const w = this.#w;
    this.#ensureIo(w.len);
    bytes().set(w.buf.subarray(0, w.len), this.#ioPtr);
  }
  /** Writes the key's encoding into the I/O buffer; returns its length. */
  #stageKey(k) {
    if (typeof k === "string") {
      const n = k.length;
      if (n + 1 > this.#ioCap) this.#ensureIo(n * 3 + 1);
      const mem = bytes();
      const base = this.#ioPtr;
      mem[base] = 1;
      let i = 0;
      for (; i < n; i++) {
        const c = k.charCodeAt(i);
        if (c >= 128) break;
        mem[base + 1 + i] = c;
      }
      if (i === n) return n + 1;
    }
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    this.#stage();
    return w.len;
  }
  #stageTag(tag) {
    const w = this.#w;
    w.len = 0;
    w.utf8(tag);
    this.#stage();
    return w.len;
  }
  #read() {
    const out = words();
    return this.#codec.decodeAt(bytes(), out[this.#out], out[this.#out + 1]);
  }
  #expiredAt() {
    const out = words();
    return out[this.#out + 2] + out[this.#out + 3] * 2 ** 32;
  }
  /** Validates per-write options into the shape set() needs. */
  #writeOpts(opts, where) {
    if (opts === void 0 || opts === null) return { ttl: -1, grace: -1, tags: [], deps: [], swr: this.#swr, sie: this.#sie };
    if (!isObject(opts)) throw new TypeError(`${where} options must be an object; got ${describe(opts)}`);
    const ttl = ms(opts.ttl, "ttl");
    const swr = ms(opts.staleWhileRevalidate, "staleWhileRevalidate");
    const sie = ms(opts.staleIfError, "staleIfError");
    const tags = checkTags(opts.tags);
    const deps = checkDeps(opts.dependsOn);
    const grace = swr === void 0 && sie === void 0 ? -1 : Math.max(swr ?? this.#swr, sie ?? this.#sie);
    return { ttl: ttl ?? -1, grace, tags, deps, swr: swr ?? this.#swr, sie: sie ?? this.#sie };
  }
  #write(k, v, o, raw = false, fromLoad = false) {
    if (v === void 0) throw new TypeError("value must not be undefined (use delete() to remove a key, or null to cache an absence)");
    const w = this.#w;
    w.len = 0;
    encodeKey(w, k);
    const keyLen = w.len;
    if (raw) w.bytes(v);
    else this.#codec.encode(w, v);
    const valueLen = w.len - keyLen;
    for (const t of o.tags) {
      const at = w.len;
      w.u32le(0);
      w.utf8(t);
      w.view.setUint32(at, w.len - at - 4, true);
    }
    for (const d of o.deps) {
      const at = w.len;
      w.u32le(0);
      encodeKey(w, d);
      w.view.setUint32(at, w.len - at - 4, true);
    }
    const now = this.#time();
    this.#stage();
    const r = this.#inner.set(keyLen, valueLen, o.ttl, o.grace, o.tags.length, o.deps.length, now);
    if (r < 0) this.#fail(r);
    if (!fromLoad) this.#supersede(keyId(k));
    return r === 0;
  }
  /** A change of `id` means a load in flight for it (or built on it) must not store its result. */
  #supersede(id, tag) {
    if (this.#inflight.size === 0) return;
    for (const [fid, f] of this.#inflight) {
      if (fid === id || id !== void 0 && f.depIds.includes(id) || tag !== void 0 && f.tags.includes(tag)) {
        f.superseded = true;
      }
    }
  }
  [internals]() {
    return {
      now: /* @__PURE__ */ __name(() => this.#time(), "now"),
      maxMemory: this.#maxMemory,
      /** Stores bytes as they are. */
      setRaw: /* @__PURE__ */ __name((key2, bytes2, options) => {
        this.#live();
        return this.#write(key2, bytes2, this.#writeOpts(options, "set"), true);
      }, "setRaw"),
      /** A copy of the stored bytes, or undefined. */
      getRaw: /* @__PURE__ */ __name((key2) => {
        this.#live();
        const n = this.#stageKey(key2);
        const r = this.#inner.get(n, this.#time(), false);
        if (r === -1) return void 0;
        if (r < 0) this.#fail(r);
        const out = words();
        const ptr = out[this.#out];
        return bytes().slice(ptr, ptr + out[this.#out + 1]);
      }, "getRaw")
    };
  }
  // ----- the contract -----
  /** Stores `value` under `key`. Returns false when the write is refused. */
  set(key2, value, options) {
    this.#live();
    checkKey(key2);
    const o = this.#writeOpts(options, "set");
    return this.#write(key2, value, o);
  }
  /** A fresh decoded copy of the value, or undefined. */
  get(key2) {
    this.#live();
    checkKey(key2);
    const n = this.#stageKey(key2);
    const r = this.#inner.get(n, this.#time(), false);
    if (r === 0) return this.#read();
    if (r === -1) return void 0;
    return this.#fail(r);
  }
  /** Like get(), without changing recency, frequency or stats. */
  peek(key2) {
    this.#live();
    checkKey(key2);
    const n = this.#stageKey(key2);
    const r = this.#inner.peek(n, this.#time());
    if (r === 0) return this.#read();
    if (r === -1) return void 0;
    return this.#fail(r);
  }
  /** Whether a fresh value is cached; changes nothing. */
  has(key2) {
    this.#live();
    checkKey(key2);
    const n = this.#stageKey(key2);
    const r = this.#inner.has(n, this.#time());
    if (r < 0) this.#fail(r);
    return r === 1;
  }
  /** Removes `key` and every entry built on it. True if a fresh value was there. */
  delete(key2) {
    this.#live();
    checkKey(key2);
    const n = this.#stageKey(key2);
    const r = this.#inner.delete(n, this.#time());
    if (r < 0) this.#fail(r);
    this.#supersede(keyId(key2));
    return r === 1;
  }
  /** Removes `key` and, transitively, its dependents. Returns how many entries went. */
  invalidate(key2) {
    this.#live();
    checkKey(key2);
    const n = this.#stageKey(key2);
    const r = this.#inner.invalidate(n, this.#time());
    this.#supersede(keyId(key2));
    return r;
  }
  /** Invalidates every entry set with `tag` before this call. O(1). */
  invalidateTag(tag) {
    this.#live();
    if (typeof tag !== "string") throw new TypeError(`tag must be a string; got ${describe(tag)}`);
    const n = this.#stageTag(tag);
    const r = this.#inner.invalidate_tag(n);
    this.#supersede(void 0, tag);
    return r;
  }
  /** Cache-aside with single-flight loads and stale windows. */
  async getOrLoad(key2, loader, options) {
    this.#live();
    checkKey(key2);
    if (typeof loader !== "function") throw new TypeError(`loader must be a function; got ${describe(loader)}`);
    const o = this.#writeOpts(options, "getOrLoad");
    const waitUntil = options?.waitUntil;
    if (waitUntil !== void 0 && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
    const n = this.#stageKey(key2);
    const now = this.#time();
    const r = this.#inner.get(n, now, true);
    if (r === 0) return this.#read();
    if (r < -1) this.#fail(r);
    const id = keyId(key2);
    if (r === 1) {
      const stale = this.#read();
      const age = now - this.#expiredAt();
      if (age < o.swr) {
        if (!this.#inflight.has(id)) {
          const p = this.#load(id, key2, loader, o, stale);
          p.catch(() => {
          });
          if (waitUntil) waitUntil(p);
        }
        return stale;
      }
      if (age < o.sie) {
        try {
          return await this.#load(id, key2, loader, o, stale);
        } catch {
          return stale;
        }
      }
      return this.#load(id, key2, loader, o, stale);
    }
    return this.#load(id, key2, loader, o, void 0);
  }
  #load(id, key2, loader, o, stale) {
    const existing = this.#inflight.get(id);
    if (existing !== void 0) {
      this.#coalesced++;
      return existing.promise;
    }
    this.#loads++;
    const flight = {
      controller: new AbortController(),
      superseded: false,
      tags: o.tags,
      depIds: o.deps.map(keyId),
      promise: null
    };
    this.#inflight.set(id, flight);
    flight.promise = Promise.resolve().then(() => loader({ key: key2, stale, signal: flight.controller.signal })).then(
      (value) => {
        if (this.#inflight.get(id) === flight) this.#inflight.delete(id);
        if (value === void 0) {
          this.#loadErrors++;
          throw new TypeError("loader resolved to undefined; resolve null to cache an absence");
        }
        if (!flight.superseded && !this.#freed) this.#write(key2, value, o, false, true);
        return value;
      },
      (err) => {
        if (this.#inflight.get(id) === flight) this.#inflight.delete(id);
        this.#loadErrors++;
        throw err;
      }
    );
    return flight.promise;
  }
  /** Awaits save(), caches its result (a change: dependents go), returns it. */
  async writeThrough(key2, save, options) {
    this.#live();
    checkKey(key2);
    if (typeof save !== "function") throw new TypeError(`save must be a function; got ${describe(save)}`);
    const o = this.#writeOpts(options, "writeThrough");
    const value = await save();
    if (value === void 0) throw new TypeError("save resolved to undefined; resolve the stored value (or null)");
    this.#live();
    this.#write(key2, value, o);
    return value;
  }
  /** An async function that caches fn's results per arguments. */
  memoize(fn, options = {}) {
    this.#live();
    if (typeof fn !== "function") throw new TypeError(`fn must be a function; got ${describe(fn)}`);
    if (!isObject(options)) throw new TypeError(`memoize options must be an object; got ${describe(options)}`);
    const { key: keyOf, ...rest } = options;
    if (keyOf !== void 0 && typeof keyOf !== "function") throw new TypeError(`options.key must be a function of the arguments; got ${describe(keyOf)}`);
    this.#writeOpts(rest, "memoize");
    const id = ++memoIds;
    const keyFor = keyOf ?? ((...args) => ["\0memoize", id, JSON.stringify(args) ?? ""]);
    return (...args) => this.getOrLoad(keyFor(...args), () => fn(...args), rest);
  }
  /** Stores [key, value | loader] pairs; resolves to how many were stored. */
  async prewarm(entries) {
    this.#live();
    if (entries === null || typeof entries !== "object" || typeof entries[Symbol.iterator] !== "function") {
      throw new TypeError(`entries must be an iterable of [key, value | loader] pairs; got ${describe(entries)}`);
    }
    const list = [...entries];
    list.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length < 2) throw new TypeError(`entries[${i}] must be a [key, value | loader] pair`);
      checkKey(pair[0], `entries[${i}][0]`);
      if (pair[1] === void 0) throw new TypeError(`entries[${i}][1] must not be undefined`);
      this.#writeOpts(pair[2], "prewarm");
    });
    let stored = 0;
    await Promise.all(list.map(async ([k, v, opts]) => {
      const o = this.#writeOpts(opts, "prewarm");
      if (typeof v === "function") {
        try {
          await this.#load(keyId(k), k, v, o, void 0);
          if (this.has(k)) stored++;
        } catch {
        }
      } else if (this.#write(k, v, o)) {
        stored++;
      }
    }));
    return stored;
  }
  /** Counters, sizes and the hit ratio. */
  stats() {
    if (this.#freed) this.#live();
    const s = this.#inner.stats();
    return {
      hits: s.hits,
      misses: s.misses,
      staleHits: s.staleHits,
      sets: s.sets,
      rejected: s.rejected,
      evictions: s.evictions,
      expirations: s.expirations,
      invalidations: s.invalidations,
      deletes: s.deletes,
      replacements: s.replacements,
      loads: this.#loads,
      coalesced: this.#coalesced,
      loadErrors: this.#loadErrors,
      entries: s.entries,
      bytes: s.bytes,
      maxMemory: this.#maxMemory,
      hitRatio: s.hitRatio,
      wasmMemory: memorySize(),
      ...s.windowShare !== void 0 && s.windowShare !== null ? { windowShare: s.windowShare } : {}
    };
  }
  /** Drops every entry; keeps the configuration. */
  clear() {
    this.#live();
    this.#inner.clear();
    this.#ioPtr = 0;
    this.#ioCap = 0;
    for (const f of this.#inflight.values()) f.superseded = true;
  }
  /** Releases the instance; later calls throw. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    for (const f of this.#inflight.values()) {
      f.superseded = true;
      f.controller.abort(new Error("edgecache: the Cache was freed"));
    }
    this.#inflight.clear();
    this.#inner.free();
  }
};

// ../../js/dist/fetch.js
var NAME = "edgecache";
var UNSAFE = /* @__PURE__ */ new Set(["POST", "PUT", "DELETE", "PATCH"]);
var STORABLE = /* @__PURE__ */ new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);
var HEURISTIC = /* @__PURE__ */ new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
var HOP_BY_HOP = /* @__PURE__ */ new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "set-cookie"
]);
var KEEP_ON_304 = /* @__PURE__ */ new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);
var encoder2 = new TextEncoder();
var decoder2 = new TextDecoder();
var flights = /* @__PURE__ */ new WeakMap();
function parseCacheControl(value) {
  const out = /* @__PURE__ */ new Map();
  if (!value) return out;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name) continue;
    let v = eq < 0 ? true : part.slice(eq + 1).trim();
    if (typeof v === "string" && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (!out.has(name)) out.set(name, v);
  }
  return out;
}
__name(parseCacheControl, "parseCacheControl");
function seconds(cc, name) {
  const v = cc.get(name);
  if (typeof v !== "string" || !/^\d+$/.test(v)) return void 0;
  return Number(v) * 1e3;
}
__name(seconds, "seconds");
function httpDate(value) {
  if (!value) return void 0;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : void 0;
}
__name(httpDate, "httpDate");
function appendStatus(headers, status) {
  const prior = headers.get("cache-status");
  headers.set("cache-status", prior ? `${prior}, ${status}` : status);
}
__name(appendStatus, "appendStatus");
function normalizeUrl(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}
__name(normalizeUrl, "normalizeUrl");
function varySignature(names, headers) {
  return names.map((n) => `${n}:${(headers.get(n) ?? "").trim()}`).join("\n");
}
__name(varySignature, "varySignature");
function encodeEntry(meta, body) {
  const m = encoder2.encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + m.length + body.length);
  new DataView(out.buffer).setUint32(0, m.length, true);
  out.set(m, 4);
  out.set(body, 4 + m.length);
  return out;
}
__name(encodeEntry, "encodeEntry");
function decodeEntry(bytes2) {
  const n = new DataView(bytes2.buffer, bytes2.byteOffset, bytes2.byteLength).getUint32(0, true);
  return { meta: JSON.parse(decoder2.decode(bytes2.subarray(4, 4 + n))), body: bytes2.subarray(4 + n) };
}
__name(decodeEntry, "decodeEntry");
async function readLimited(response, limit) {
  const length = Number(response.headers.get("content-length"));
  if (Number.isFinite(length) && length > limit) return { stream: response.body };
  if (!response.body) return { bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (; ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      const stream = new ReadableStream({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
        },
        async pull(c) {
          const next = await reader.read();
          if (next.done) c.close();
          else c.enqueue(next.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        }
      });
      return { stream };
    }
  }
  const bytes2 = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    bytes2.set(ch, at);
    at += ch.length;
  }
  return { bytes: bytes2 };
}
__name(readLimited, "readLimited");
function msOption(options, name) {
  const v = options[name];
  if (v === void 0) return 0;
  if (typeof v !== "number") throw new TypeError(`${name} must be a number of milliseconds; got ${describe(v)}`);
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite, non-negative number of milliseconds; got ${v}`);
  return v;
}
__name(msOption, "msOption");
function cachedFetch(cache2, options = {}) {
  if (!(cache2 instanceof Cache)) throw new TypeError(`cache must be a Cache; got ${describe(cache2)}`);
  if (options === null || typeof options !== "object") throw new TypeError(`options must be an object; got ${describe(options)}`);
  const ttl = msOption(options, "ttl");
  const swrDefault = msOption(options, "staleWhileRevalidate");
  const sieDefault = msOption(options, "staleIfError");
  const keepForRevalidation = options.keepForRevalidation === void 0 ? 3e5 : msOption(options, "keepForRevalidation");
  const respect = options.respectCacheControl ?? true;
  if (typeof respect !== "boolean") throw new TypeError(`respectCacheControl must be a boolean; got ${describe(respect)}`);
  const waitUntil = options.waitUntil;
  if (waitUntil !== void 0 && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
  const upstream = options.fetch ?? ((req) => globalThis.fetch(req));
  if (typeof upstream !== "function") throw new TypeError(`fetch must be a function; got ${describe(upstream)}`);
  const io = cache2[internals]();
  if (!flights.has(cache2)) flights.set(cache2, { inflight: /* @__PURE__ */ new Map(), refreshing: /* @__PURE__ */ new Map() });
  const { inflight, refreshing } = flights.get(cache2);
  function policyOf(request, response) {
    const headers = response.headers;
    const cdn = headers.get("cdn-cache-control");
    const cc = parseCacheControl(respect ? cdn ?? headers.get("cache-control") : null);
    const reqCC = parseCacheControl(request.headers.get("cache-control"));
    if (request.method !== "GET" || !STORABLE.has(response.status)) return null;
    if (cc.has("no-store") || cc.has("private") || reqCC.has("no-store")) return null;
    if (headers.has("set-cookie")) return null;
    if (request.headers.has("authorization") && !(cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate"))) return null;
    const vary = (headers.get("vary") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
    if (vary.includes("*")) return null;
    const date = httpDate(headers.get("date"));
    let lifetime;
    if (respect) {
      lifetime = seconds(cc, "s-maxage") ?? seconds(cc, "max-age");
      if (lifetime === void 0 && !cdn && headers.has("expires")) {
        const expires = httpDate(headers.get("expires"));
        lifetime = expires === void 0 ? 0 : Math.max(0, expires - (date ?? Date.now()));
      }
    }
    if (lifetime === void 0 && ttl > 0) lifetime = ttl;
    if (lifetime === void 0 && respect && (HEURISTIC.has(response.status) || cc.has("public"))) {
      const lastModified = httpDate(headers.get("last-modified"));
      if (lastModified !== void 0 && date !== void 0 && date > lastModified) lifetime = Math.floor((date - lastModified) / 10);
    }
    lifetime ??= 0;
    const validators = headers.has("etag") || headers.has("last-modified");
    if (lifetime === 0 && !validators) return null;
    return {
      lifetime,
      vary,
      noCache: cc.has("no-cache"),
      mustRevalidate: cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage"),
      swr: seconds(cc, "stale-while-revalidate") ?? swrDefault,
      sie: seconds(cc, "stale-if-error") ?? sieDefault,
      validators,
      date
    };
  }
  __name(policyOf, "policyOf");
  function currentAge(meta, now) {
    const apparent = Math.max(0, meta.resTime - (meta.date ?? meta.resTime));
    const corrected = meta.age + (meta.resTime - meta.reqTime);
    return Math.max(apparent, corrected) + (now - meta.resTime);
  }
  __name(currentAge, "currentAge");
  function store(url, request, response, policy, body, reqTime, resTime) {
    const headers = [];
    for (const [k, v] of response.headers) if (!HOP_BY_HOP.has(k)) headers.push([k, v]);
    const meta = {
      status: response.status,
      statusText: response.statusText,
      headers,
      reqTime,
      resTime,
      date: policy.date,
      age: (Number(response.headers.get("age")) || 0) * 1e3,
      lifetime: policy.lifetime,
      noCache: policy.noCache,
      mustRevalidate: policy.mustRevalidate,
      swr: policy.swr,
      sie: policy.sie,
      etag: response.headers.get("etag"),
      lastModified: response.headers.get("last-modified")
    };
    const remaining = policy.lifetime - currentAge(meta, resTime);
    const keep = Math.max(0, remaining) + Math.max(policy.swr, policy.sie, policy.validators ? keepForRevalidation : 0);
    if (keep <= 0) return false;
    const tag = `cf-url:${url}`;
    const opts = { ttl: Math.ceil(keep), tags: [tag] };
    if (policy.vary.length) io.setRaw(["cf-vary", url], encoder2.encode(JSON.stringify(policy.vary)), opts);
    else if (io.getRaw(["cf-vary", url]) !== void 0) cache2.delete(["cf-vary", url]);
    const key2 = ["cf", url, varySignature(policy.vary, request.headers)];
    return io.setRaw(key2, encodeEntry(meta, body), opts);
  }
  __name(store, "store");
  function lookup(url, request) {
    const varyBytes = io.getRaw(["cf-vary", url]);
    const vary = varyBytes ? JSON.parse(decoder2.decode(varyBytes)) : [];
    const raw = io.getRaw(["cf", url, varySignature(vary, request.headers)]);
    return raw ? decodeEntry(raw) : void 0;
  }
  __name(lookup, "lookup");
  function fromStored(request, entry, status, now) {
    const headers = new Headers(entry.meta.headers);
    headers.set("age", String(Math.floor(Math.max(0, currentAge(entry.meta, now)) / 1e3)));
    appendStatus(headers, status);
    const bodyless = request.method === "HEAD" || entry.meta.status === 204 || entry.meta.status === 304;
    return new Response(bodyless ? null : entry.body.slice(), { status: entry.meta.status, statusText: entry.meta.statusText, headers });
  }
  __name(fromStored, "fromStored");
  function passThrough(response, status) {
    const out = new Response(response.body, response);
    appendStatus(out.headers, status);
    return out;
  }
  __name(passThrough, "passThrough");
  async function fetchAndStore(url, request, conditional) {
    const reqTime = io.now();
    const forwarded = conditional ? withValidators(request, conditional.meta) : request;
    const response = await upstream(forwarded);
    const resTime = io.now();
    if (conditional && response.status === 304) {
      const meta = conditional.meta;
      const merged = new Headers(meta.headers);
      for (const [k, v] of response.headers) if (!HOP_BY_HOP.has(k) && !KEEP_ON_304.has(k)) merged.set(k, v);
      const synthetic = new Response(null, { status: meta.status, headers: merged });
      const policy2 = policyOf(request, synthetic);
      if (policy2) store(url, request, synthetic, policy2, conditional.body, reqTime, resTime);
      const entry = { meta: { ...meta, headers: [...merged], reqTime, resTime, date: policy2?.date ?? meta.date, age: 0, lifetime: policy2?.lifetime ?? 0 }, body: conditional.body };
      return { kind: "entry", entry, status: `${NAME}; fwd=stale; fwd-status=304${policy2 ? "; stored" : ""}` };
    }
    const policy = policyOf(request, response);
    const fwd = conditional ? `fwd=stale; fwd-status=${response.status}` : "fwd=uri-miss";
    if (!policy) return { kind: "response", response, status: `${NAME}; ${fwd}` };
    const read = await readLimited(response, io.maxMemory);
    if (read.stream) {
      return { kind: "response", response: new Response(read.stream, response), status: `${NAME}; ${fwd}; detail=too-large` };
    }
    const stored = store(url, request, response, policy, read.bytes, reqTime, resTime);
    const headers = [];
    for (const [k, v] of response.headers) if (k !== "set-cookie") headers.push([k, v]);
    return {
      kind: "entry",
      entry: { meta: { status: response.status, statusText: response.statusText, headers, reqTime, resTime, date: policy.date, age: (Number(response.headers.get("age")) || 0) * 1e3 }, body: read.bytes },
      status: `${NAME}; ${fwd}${stored ? "; stored" : ""}`
    };
  }
  __name(fetchAndStore, "fetchAndStore");
  function withValidators(request, meta) {
    const headers = new Headers(request.headers);
    if (meta.etag) headers.set("if-none-match", meta.etag);
    if (meta.lastModified) headers.set("if-modified-since", meta.lastModified);
    return new Request(request.url, { method: "GET", headers, redirect: request.redirect });
  }
  __name(withValidators, "withValidators");
  function shared(map, flightKey, run) {
    let flight = map.get(flightKey);
    let leader = false;
    if (!flight) {
      leader = true;
      flight = run().finally(() => map.delete(flightKey));
      map.set(flightKey, flight);
    }
    return { flight, leader };
  }
  __name(shared, "shared");
  async function answer(url, request, now, conditional, collapseKey) {
    const { flight, leader } = shared(inflight, collapseKey, () => fetchAndStore(url, request, conditional));
    const outcome = await flight;
    if (outcome.kind === "entry") {
      return fromStored(request, outcome.entry, leader ? outcome.status : `${outcome.status}; collapsed`, io.now());
    }
    if (leader) return passThrough(outcome.response, outcome.status);
    return passThrough(await upstream(request), `${NAME}; fwd=uri-miss`);
  }
  __name(answer, "answer");
  return /* @__PURE__ */ __name(async function cfetch(input, init) {
    const request = new Request(input, init);
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") {
      const response = await upstream(request);
      if (UNSAFE.has(method) && response.status < 400) {
        const url2 = normalizeUrl(request.url);
        const origin = new URL(url2).origin;
        cache2.invalidateTag(`cf-url:${url2}`);
        for (const h of ["location", "content-location"]) {
          const v = response.headers.get(h);
          if (!v) continue;
          const target = new URL(v, url2);
          if (target.origin === origin) cache2.invalidateTag(`cf-url:${normalizeUrl(target.href)}`);
        }
      }
      return passThrough(response, `${NAME}; fwd=method`);
    }
    const url = normalizeUrl(request.url);
    const reqCC = parseCacheControl(request.headers.get("cache-control") ?? (/no-cache/i.test(request.headers.get("pragma") ?? "") ? "no-cache" : null));
    if (reqCC.has("no-store")) return passThrough(await upstream(request), `${NAME}; fwd=request`);
    const now = io.now();
    const personal = request.headers.has("authorization") || request.headers.has("cookie");
    const collapseKey = personal ? /* @__PURE__ */ Symbol("personal") : `${method === "HEAD" ? "GET" : method} ${url}
${[...request.headers].map(([k, v]) => `${k}:${v}`).join("\n")}`;
    const getRequest = method === "HEAD" ? new Request(request, { method: "GET" }) : request;
    const entry = lookup(url, request);
    if (!entry) {
      const response = await answer(url, getRequest, now, null, collapseKey);
      if (method === "HEAD") return new Response(null, response);
      return response;
    }
    const meta = entry.meta;
    const age = currentAge(meta, now);
    const reqMaxAge = seconds(reqCC, "max-age");
    const fresh = age < meta.lifetime && !meta.noCache && !reqCC.has("no-cache") && !(reqMaxAge !== void 0 && age > reqMaxAge);
    if (fresh && !(request.headers.has("authorization") && !meta.mustRevalidate && !meta.headers.some(([k, v]) => k === "cache-control" && /public|s-maxage/.test(v)))) {
      return fromStored(request, entry, `${NAME}; hit`, now);
    }
    const staleness = age - meta.lifetime;
    const mayServeStale = !meta.noCache && !meta.mustRevalidate && !reqCC.has("no-cache");
    if (mayServeStale && staleness >= 0 && staleness < meta.swr) {
      if (!refreshing.has(url)) {
        const p = fetchAndStore(url, getRequest, entry).catch(() => void 0).finally(() => refreshing.delete(url));
        refreshing.set(url, p);
        if (waitUntil) waitUntil(p);
      }
      return fromStored(request, entry, `${NAME}; hit; detail=stale-while-revalidate`, now);
    }
    try {
      const revalKey = personal ? /* @__PURE__ */ Symbol("personal") : `reval ${collapseKey}`;
      const response = await answer(url, getRequest, now, entry, revalKey);
      if (response.status >= 500 && !meta.noCache && staleness < meta.sie) {
        await response.body?.cancel();
        return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      }
      return method === "HEAD" ? new Response(null, response) : response;
    } catch (err) {
      if (!meta.noCache && staleness < meta.sie) return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      throw err;
    }
  }, "cfetch");
}
__name(cachedFetch, "cachedFetch");

// ../../js/dist/workerd.js
setWasm(initSync({ module }));

// src/index.js
var cache = new Cache({ maxMemory: 32 * 1024 * 1024, policy: "allkeys-adaptive" });
var index_default = {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__stats") return Response.json(cache.stats());
    const cfetch = cachedFetch(cache, {
      ttl: 1e4,
      // for API answers that carry no Cache-Control
      staleWhileRevalidate: 3e4,
      waitUntil: /* @__PURE__ */ __name((p) => ctx.waitUntil(p), "waitUntil")
    });
    const upstream = new URL(url.pathname + url.search, env.ORIGIN);
    return cfetch(upstream, { method: request.method, headers: request.headers, body: request.body });
  }
};
export {
  index_default as default
};
//# sourceMappingURL=index.js.map
