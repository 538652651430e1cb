// The smallest possible test registry, shared by the suites: run() is used by
// the workerd and Chromium runners, which report results themselves.

export function registry() {
  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });
  return { tests, test };
}

/** Runs every test (optionally those matching `filter`) and returns per-test results. */
export async function run(tests, lib, filter) {
  const results = [];
  for (const t of tests) {
    if (filter && !filter.test(t.name)) continue;
    const started = Date.now();
    try {
      await t.fn(lib);
      results.push({ name: t.name, ok: true, ms: Date.now() - started });
    } catch (err) {
      results.push({ name: t.name, ok: false, ms: Date.now() - started, error: `${err?.name}: ${err?.message}\n${err?.stack ?? ""}` });
    }
  }
  return results;
}
