// Prints per-test results from a runner that runs the suite remotely (workerd,
// Chromium) and returns [passed, failed].
export function report(results) {
  let passed = 0, failed = 0;
  for (const r of results) {
    if (r.ok) {
      passed++;
      console.log(`ok - ${r.name} (${r.ms} ms)`);
    } else {
      failed++;
      console.log(`not ok - ${r.name}\n  ${r.error.replace(/\n/g, "\n  ")}`);
    }
  }
  if (results.length === 0) {
    failed++;
    console.log("not ok - the suite ran no test");
  }
  return [passed, failed];
}
