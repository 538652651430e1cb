// Starts the origin, then runs the cachedFetch suite under `deno test`.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin } from "./origin.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const origin = await startOrigin();
const deno = join(here, "../../js/node_modules/.bin/deno");
const child = spawn(deno, ["test", "--no-check", "--allow-net=127.0.0.1", "--allow-env=ORIGIN", join(here, "fetch.deno.test.mjs")], {
  env: { ...process.env, ORIGIN: origin.base, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  stdio: "inherit",
});
const code = await new Promise((r) => child.on("exit", r));
await origin.close();
process.exit(code ?? 1);
