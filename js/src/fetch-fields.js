// cachedFetch's header field parsers: HTTP-dates (RFC 9110 §5.6.7) and
// CDN-Cache-Control as a Structured Field dictionary (RFC 9213, RFC 8941).
// Both are strict: a value that does not parse is reported as such, and the
// caller decides what that means (an Expires that does not parse is already
// expired; a CDN-Cache-Control that does not parse is ignored).

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = `(?:${DAYS.join("|")})`;
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`: groups day, month, year, time. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** The obsolete RFC 850 form, e.g. `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC_850 = new RegExp(`^(?:${LONG_DAYS.join("|")}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** The obsolete asctime form, e.g. `Sun Nov  6 08:49:37 1994`: groups month, day, time, year. */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ((?:\\d| )\\d) ${TIME} (\\d{4})$`);
/** A two-digit year more than this many years ahead is in the past century (RFC 9110 §5.6.7). */
const TWO_DIGIT_YEAR_AHEAD = 50;
const MAX_HOUR = 23;
const MAX_MINUTE = 59;
/** A leap second is a valid second-of-minute in an HTTP-date. */
const MAX_SECOND = 60;

function utc(year, month, day, hour, minute, second) {
  if (hour > MAX_HOUR || minute > MAX_MINUTE || second > MAX_SECOND) return undefined;
  const t = Date.UTC(year, MONTHS.indexOf(month), day, hour, minute, second);
  // Date.UTC rolls 31 Feb over into March: such a date is not valid.
  return new Date(t).getUTCDate() === day ? t : undefined;
}

/** Reads an RFC 850 two-digit year as the nearest year not more than 50 years after `now`. */
function fullYear(twoDigits, now) {
  const thisYear = new Date(now).getUTCFullYear();
  const year = thisYear - (thisYear % 100) + twoDigits;
  return year > thisYear + TWO_DIGIT_YEAR_AHEAD ? year - 100 : year;
}

/** An HTTP-date in ms since the epoch, or undefined if `value` is not one. */
export function httpDate(value, now = Date.now()) {
  if (!value) return undefined;
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC_850.exec(value);
  if (m) return utc(fullYear(Number(m[3]), now), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = ASCTIME.exec(value);
  if (m) return utc(Number(m[6]), m[1], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

// ----- Structured Field dictionaries (RFC 8941 §4.2.2) -----

const SF_KEY = /[a-z*][a-z0-9_\-.*]*/y;
const SF_NUMBER = /(-?)(\d+)(?:\.(\d+))?/y;
const SF_STRING = /"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"/y;
const SF_TOKEN = /[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y;
const SF_BYTES = /:([A-Za-z0-9+/=]*):/y;
const SF_BOOLEAN = /\?([01])/y;
const SF_MAX_INTEGER_DIGITS = 15;
const SF_MAX_DECIMAL_INT_DIGITS = 12;
const SF_MAX_DECIMAL_FRACTION_DIGITS = 3;

/** Matches a sticky regex at `s.at`, advancing past it; the match or null. */
function take(s, re) {
  re.lastIndex = s.at;
  const m = re.exec(s.text);
  if (m) s.at = re.lastIndex;
  return m;
}

function number(m) {
  const [, sign, int, fraction] = m;
  if (fraction === undefined) return int.length <= SF_MAX_INTEGER_DIGITS ? { type: "integer", value: Number(sign + int) } : null;
  if (int.length > SF_MAX_DECIMAL_INT_DIGITS || fraction.length > SF_MAX_DECIMAL_FRACTION_DIGITS) return null;
  return { type: "decimal", value: Number(`${sign}${int}.${fraction}`) };
}

/** A bare item at the cursor, typed, or null. */
function bareItem(s) {
  let m;
  if ((m = take(s, SF_NUMBER))) return number(m);
  if ((m = take(s, SF_STRING))) return { type: "string", value: m[1].replace(/\\(.)/g, "$1") };
  if ((m = take(s, SF_TOKEN))) return { type: "token", value: m[0] };
  if ((m = take(s, SF_BYTES))) return { type: "bytes", value: m[1] };
  if ((m = take(s, SF_BOOLEAN))) return { type: "boolean", value: m[1] === "1" };
  return null;
}

/** Parameters (`;key[=item]`…) at the cursor: parsed and dropped; false when malformed. */
function skipParameters(s) {
  while (s.text[s.at] === ";") {
    s.at++;
    while (s.text[s.at] === " ") s.at++;
    if (!take(s, SF_KEY)) return false;
    if (s.text[s.at] === "=") {
      s.at++;
      if (!bareItem(s)) return false;
    }
  }
  return true;
}

/** An inner list `(item item…)` at the cursor, or null. */
function innerList(s) {
  s.at++;
  const items = [];
  for (;;) {
    while (s.text[s.at] === " ") s.at++;
    if (s.text[s.at] === ")") {
      s.at++;
      return { type: "list", value: items };
    }
    const item = bareItem(s);
    if (!item || !skipParameters(s)) return null;
    items.push(item);
    if (s.text[s.at] !== " " && s.text[s.at] !== ")") return null;
  }
}

/** One dictionary member `key[=value][params]` at the cursor: [key, item] or null. */
function member(s) {
  const key = take(s, SF_KEY);
  if (!key) return null;
  let item = { type: "boolean", value: true };
  if (s.text[s.at] === "=") {
    s.at++;
    item = s.text[s.at] === "(" ? innerList(s) : bareItem(s);
    if (!item) return null;
  }
  return skipParameters(s) ? [key[0], item] : null;
}

/** A Structured Field dictionary: a Map of key → {type, value}, or null when
 * `text` is not one (RFC 8941 §4.2.2; a repeated key keeps its last value). */
export function parseDictionary(text) {
  const s = { text: text.replace(/^ +| +$/g, ""), at: 0 };
  const out = new Map();
  while (s.at < s.text.length) {
    const m = member(s);
    if (!m) return null;
    out.set(m[0], m[1]);
    while (s.text[s.at] === " " || s.text[s.at] === "\t") s.at++;
    if (s.at >= s.text.length) return out;
    if (s.text[s.at++] !== ",") return null;
    while (s.text[s.at] === " " || s.text[s.at] === "\t") s.at++;
    if (s.at >= s.text.length) return null; // a trailing comma
  }
  return out;
}

/** CDN-Cache-Control directives whose value is a non-negative Integer (RFC 9213 §2.1). */
const CDN_INTEGER = new Set(["max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"]);
/** Directives that are a Boolean, or (for a list of field names) a String. */
const CDN_FLAG = new Set(["no-store", "no-cache", "private", "public", "must-revalidate", "proxy-revalidate", "must-understand",
  "immutable", "no-transform"]);
const CDN_STRING_TOO = new Set(["no-cache", "private"]);

/** One CDN-Cache-Control member as a Cache-Control value (a string of
 * digits, true, or a string); undefined when false; null when of the wrong type. */
function cdnValue(name, item) {
  if (CDN_INTEGER.has(name)) return item.type === "integer" && item.value >= 0 ? String(item.value) : null;
  if (!CDN_FLAG.has(name)) return item.type === "boolean" ? item.value || undefined : item.value;
  if (item.type === "boolean") return item.value || undefined;
  return item.type === "string" && CDN_STRING_TOO.has(name) ? item.value : null;
}

/** CDN-Cache-Control as a Map like parseCacheControl's, or null when it is
 * empty, not a valid dictionary, or a known directive has the wrong type:
 * then the whole field is ignored and Cache-Control applies (RFC 9213 §2.1:
 * a targeted field counts only with a valid, non-empty value). */
export function parseCdnCacheControl(value) {
  const dict = parseDictionary(value);
  if (!dict || dict.size === 0) return null;
  const out = new Map();
  for (const [name, item] of dict) {
    const v = cdnValue(name, item);
    if (v === null) return null;
    if (v !== undefined) out.set(name, v);
  }
  return out;
}
