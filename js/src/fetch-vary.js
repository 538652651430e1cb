// cachedFetch's secondary keys (RFC 9111 §4.1): the request's values of the
// headers a response's Vary names, normalised so that requests whose
// selecting headers differ only in ways their specification says carry no
// meaning share a stored variant.
//
// Every header: leading and trailing whitespace, and whitespace around the
// commas of a list (several header lines arrive joined by ", "), are dropped.
// The content-negotiation lists (Accept, Accept-Charset, Accept-Encoding,
// Accept-Language; RFC 9110 §12.5) are read as lists of `value;params`:
// empty elements and optional whitespace go, parameter names and the q
// weight are case-normalised, a weight of 1 (`q=1`, `q=1.000`) is left out
// and other weights are written without trailing zeros; the values (media
// ranges, charsets, codings, language ranges) are lowercased, being
// case-insensitive, while parameter values are kept; and the elements are
// ordered by weight, highest first. Elements of equal weight keep their
// order: origins break ties by it (many content-negotiation libraries
// prefer the earlier of two equally weighted codings or languages), so
// "en, fr" and "fr, en" stay two variants, while "fr;q=0.5, en" and
// "en, fr;q=0.5" are one. Unlike a CDN that transcodes, this cache replays
// what the origin sent, so Accept-Encoding is not reduced to the codings the
// cache prefers: its key is what the origin sees, normalised.

/** Content-negotiation headers: lists of `value;params` whose values are case-insensitive. */
const NEGOTIATION = new Set(["accept", "accept-charset", "accept-encoding", "accept-language"]);
const WEIGHT = /^q$/i;
/** A qvalue (RFC 9110 §12.4.2): 0 to 1 with up to three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const LIST_WHITESPACE = /[ \t]*,[ \t]*/g;

/** One list element as `value;params` and its weight (1 when absent or not a qvalue). */
function element(text) {
  const parts = text.split(";").map((p) => p.trim());
  const params = [];
  let weight = 1;
  let weightText = null;
  for (const p of parts.slice(1)) {
    if (!p) continue;
    const eq = p.indexOf("=");
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? "" : p.slice(eq + 1).trim();
    if (WEIGHT.test(name) && QVALUE.test(value)) {
      weight = Number(value);
      weightText = null;
    } else if (WEIGHT.test(name)) {
      weightText = value; // not a qvalue: kept as sent, so it never merges with a valid one
    } else {
      params.push(eq < 0 ? name : `${name}=${value}`);
    }
  }
  return { value: parts[0], params, weight, weightText };
}

/** A content-negotiation list, normalised (see the top of this file). */
function negotiationList(text) {
  const elements = text.split(",").map((e) => e.trim()).filter(Boolean).map(element);
  // Array.prototype.sort is stable: equal weights keep their order.
  elements.sort((a, b) => b.weight - a.weight);
  return elements.map((e) => {
    const q = e.weightText !== null ? `;q=${e.weightText}` : e.weight === 1 ? "" : `;q=${e.weight}`;
    return [e.value.toLowerCase(), ...e.params].join(";") + q;
  }).join(",");
}

/** Normalised negotiation lists by raw value: clients send few distinct
 * ones, so most lookups skip the parse. Bounded in entries and length. */
const memo = new Map();
const MEMO_ENTRIES = 512;
const MEMO_VALUE_LENGTH = 256;

function memoised(value) {
  let out = memo.get(value);
  if (out !== undefined) return out;
  out = negotiationList(value);
  if (value.length <= MEMO_VALUE_LENGTH) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(value, out);
  }
  return out;
}

/** A selecting header's value as it takes part in the secondary key. */
export function selectingValue(name, value) {
  if (NEGOTIATION.has(name)) return memoised(value);
  const trimmed = value.trim();
  return trimmed.includes(",") ? trimmed.replace(LIST_WHITESPACE, ",") : trimmed;
}

/** The request's values of the named headers; an absent header (no colon)
 * differs from an empty one (RFC 9111 §4.1). */
export function varySignature(names, headers) {
  return names.map((n) => {
    const v = headers.get(n);
    return v === null ? n : `${n}:${selectingValue(n, v)}`;
  }).join("\n");
}
