// A child process that runs a cache on a shared tier and answers JSON lines
// on stdin ({ id, op, ...args } → { id, result } or { id, error }), after a
// first line { ready: true }. Used by the tier tests in Node and in Deno.
//
// Every wait here is bounded: a peer that does not get ready, does not
// answer a call, or does not exit when told is killed and the wait rejects
// with a message naming it, so a dead server or a stuck peer fails a test
// instead of hanging the run. `killPeers()` kills every peer still alive
// (tests call it after each test, so a failed test leaks no process).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Bounds on a peer's start, on one call, and on its exit when told to. */
export const PEER_READY_MS = 30_000;
export const PEER_CALL_MS = 30_000;
export const PEER_EXIT_MS = 5_000;

const live = new Set();

/** Kills (SIGKILL) every peer still running and waits for them to go. */
export async function killPeers() {
  await Promise.all([...live].map((p) => p.kill()));
}

/** Rejects after `ms` with `message`, unless `promise` settles first. */
function bounded(promise, ms, message) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Starts `command args`; resolves once it is ready, to { call, exit, kill, child }. */
export async function spawnPeer(command, args, env = undefined) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], ...(env ? { env } : {}) });
  const name = `peer ${child.pid} (${[command, ...args].map(String).map((a) => a.split("/").pop()).join(" ")})`;
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map();
  let ready;
  const isReady = new Promise((r) => (ready = r));
  let status = null;
  const exited = new Promise((r) => child.once("exit", (code, signal) => {
    status = signal ?? `code ${code}`;
    live.delete(handle);
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${status}) before answering ${w.op}`));
    waiting.clear();
    r();
  }));
  child.once("error", () => {}); // reported as an exit (or a spawn failure below)
  child.stdin.on("error", () => {}); // writing to a peer that just died
  lines.on("line", (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.ready) return ready();
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  const kill = async () => {
    if (status === null) child.kill("SIGKILL");
    await exited;
  };
  const handle = { kill };
  live.add(handle);
  try {
    await bounded(Promise.race([isReady, exited.then(() => { throw new Error(`${name} exited (${status}) before it was ready`); })]),
      PEER_READY_MS, `${name} was not ready within ${PEER_READY_MS} ms`);
  } catch (err) {
    await kill();
    throw err;
  }
  let ids = 0;
  const call = (op, args = {}) => {
    if (status !== null) return Promise.reject(new Error(`${name} exited (${status}); cannot call ${op}`));
    const id = ++ids;
    const answer = new Promise((resolve, reject) => {
      waiting.set(id, { op, resolve, reject });
      child.stdin.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
    return bounded(answer, PEER_CALL_MS, `${name} did not answer ${op} within ${PEER_CALL_MS} ms`)
      .finally(() => waiting.delete(id));
  };
  /** Asks the peer to exit; kills it if it has not within PEER_EXIT_MS. */
  const exit = async () => {
    if (status === null) child.stdin.write(JSON.stringify({ op: "exit" }) + "\n");
    try {
      await bounded(exited, PEER_EXIT_MS, `${name} did not exit within ${PEER_EXIT_MS} ms`);
    } catch (err) {
      await kill();
      throw err;
    }
  };
  return { call, exit, kill, child };
}
