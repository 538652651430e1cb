// Loaders for tests: they count their calls and may take real time.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loader that resolves `value` (or calls it, if a function) after `delay` ms, counting its calls in `.calls`. */
export function counted(value, delay = 0) {
  const l = async () => {
    l.calls++;
    if (delay) await sleep(delay);
    return typeof value === "function" ? value() : value;
  };
  l.calls = 0;
  return l;
}
