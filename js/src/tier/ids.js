// The names a shared tier stores keys and tags under: well-formed strings
// (engines such as Redis, KV and Deno KV take UTF-8 text, which cannot carry a
// lone surrogate) that are equal exactly when the keys or tags are.

import { keyId, wellFormed } from "../keys.js";

/** A key's name in the tier: its keyId, or its JSON text (which escapes lone
 * surrogates) behind a distinct first character when keyId is not well-formed. */
export function tierKeyId(k) {
  const id = keyId(k);
  return wellFormed(id) ? id : "j" + JSON.stringify(id);
}

/** A tag's name in the tier, by the same rule. */
export function tierTagId(tag) {
  return wellFormed(tag) ? "s" + tag : "j" + JSON.stringify(tag);
}

/** A random id (two 32-bit draws in base 36): lock tokens, epochs, a cache's origin. */
export function randomId() {
  const r = new Uint32Array(2);
  crypto.getRandomValues(r);
  return r[0].toString(36) + r[1].toString(36);
}

/** The SHA-256 digest of `bytes`: how a tier names an id too long for its engine's keys. */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
