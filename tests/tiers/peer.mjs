// A child process that runs a cache on a shared tier and answers JSON lines
// on stdin ({ id, op, ...args } → { id, result } or { id, error }), after a
// first line { ready: true }. Used by the tier tests in Node and in Deno.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Starts `command args`; resolves once it is ready, to { call, exit, kill, child }. */
export async function spawnPeer(command, args, env = undefined) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], ...(env ? { env } : {}) });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map();
  let ready;
  const isReady = new Promise((r) => (ready = r));
  lines.on("line", (line) => {
    const m = JSON.parse(line);
    if (m.ready) return ready();
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  const exited = new Promise((r) => child.once("exit", r));
  await isReady;
  let ids = 0;
  const call = (op, args = {}) => new Promise((resolve, reject) => {
    const id = ++ids;
    waiting.set(id, { resolve, reject });
    child.stdin.write(JSON.stringify({ id, op, ...args }) + "\n");
  });
  const exit = async () => {
    child.stdin.write(JSON.stringify({ op: "exit" }) + "\n");
    await exited;
  };
  const kill = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  return { call, exit, kill, child };
}
