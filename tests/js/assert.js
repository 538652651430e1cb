// Minimal assertions that run unchanged in Node, Deno, workerd and Chromium
// (node:assert is not in every one of them).

export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(v) {
  try {
    return typeof v === "string" ? JSON.stringify(v) : typeof v === "bigint" ? `${v}n` : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function ok(value, message = "expected a truthy value") {
  if (!value) throw new AssertionError(message);
}

export function equal(actual, expected, message = "") {
  if (!Object.is(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
}

export function notEqual(actual, expected, message = "") {
  if (Object.is(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected something other than ${show(expected)}`);
}

function deepEq(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEq(a[k], b[k]));
}

export function deepEqual(actual, expected, message = "") {
  if (!deepEq(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
}

function matches(err, type, pattern) {
  if (type && !(err instanceof type)) return `expected ${type.name}, got ${err?.name}: ${err?.message}`;
  if (pattern && !pattern.test(String(err?.message))) return `expected message matching ${pattern}, got ${JSON.stringify(err?.message)}`;
  return null;
}

export function throws(fn, type, pattern) {
  try {
    fn();
  } catch (err) {
    const why = matches(err, type, pattern);
    if (why) throw new AssertionError(why);
    return err;
  }
  throw new AssertionError(`expected ${type?.name ?? "an error"} to be thrown`);
}

export async function rejects(promiseOrFn, type, pattern) {
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    const why = matches(err, type, pattern);
    if (why) throw new AssertionError(why);
    return err;
  }
  throw new AssertionError(`expected a rejection with ${type?.name ?? "an error"}`);
}
