// cachedFetch's bodies in memory: answers streamed from stored bytes in
// chunks (so a slow reader holds one shared buffer, not a copy of its own),
// one shared copy of a large entry for concurrent hits, and the budget of
// bytes that concurrent misses may hold for storing.

/** Stored bytes are handed to a reader this many at a time, on demand. */
const CHUNK_BYTES = 64 * 1024;
/** Entries at least this large are shared between concurrent hits: below
 * it, comparing bytes costs about what sharing saves. */
const SHARE_MIN_BYTES = 256 * 1024;

/** Calls each registered release once its owner is garbage collected: the
 * backstop for an answer nobody read to the end or cancelled. */
const collected = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((release) => release()) : null;

/** `fn`, callable any number of times, running once. */
function once(fn) {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** A stream of `bytes` in CHUNK_BYTES copies made when the reader asks;
 * `onDone` runs once, at the end or on cancel. */
export function bytesStream(bytes, onDone) {
  let at = 0;
  const done = once(() => onDone?.());
  return new ReadableStream({
    pull(controller) {
      const end = Math.min(at + CHUNK_BYTES, bytes.length);
      if (end > at) controller.enqueue(bytes.slice(at, end));
      at = end;
      if (at >= bytes.length) {
        controller.close();
        done();
      }
    },
    cancel: done,
  }, { highWaterMark: 0 });
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  const words = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 ? a.length >>> 2 : 0;
  const wa = new Uint32Array(a.buffer, a.byteOffset, words);
  const wb = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (wa[i] !== wb[i]) return false;
  for (let i = words * 4; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `bytes`, or an equal copy already handed out for `key` and still in use,
 * so concurrent hits on a large entry hold one copy between them. */
export function sharedBytes(shared, key, bytes) {
  if (bytes.length < SHARE_MIN_BYTES || typeof WeakRef !== "function") return bytes;
  const prior = shared.get(key)?.deref();
  if (prior && sameBytes(prior, bytes)) return prior;
  shared.set(key, new WeakRef(bytes));
  collected?.register(bytes, () => {
    if (!shared.get(key)?.deref()) shared.delete(key);
  });
  return bytes;
}

/** The shared allowance of bytes that misses may buffer for storing: `take`
 * refuses past `limit` (the miss is then passed through unstored). */
export function missBudget(state, limit) {
  return {
    take(n) {
      if (state.bytes + n > limit) return false;
      state.bytes += n;
      return true;
    },
    give(n) {
      state.bytes -= n;
    },
  };
}

/** Holds `n` bytes of `budget` until the returned release runs or `owner`
 * (the buffer they count) is garbage collected. */
export function hold(budget, n, owner) {
  const release = once(() => budget.give(n));
  collected?.register(owner, release);
  return release;
}
