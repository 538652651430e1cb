// A throwaway redis-server (Debian's) on a free loopback port, for the Redis
// tier's tests and benchmark. It checks that the server answering is the one
// it spawned, and kills it if this process exits first.
import { spawn } from "node:child_process";
import net from "node:net";

export const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().on("error", reject);
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

/** Whether the server on `port` answers and is process `pid`. */
const isOurs = (port, pid) => new Promise((resolve) => {
  const c = net.connect({ host: "127.0.0.1", port });
  let buf = "";
  const end = (ok) => { clearTimeout(t); c.destroy(); resolve(ok); };
  const t = setTimeout(() => end(false), 200);
  c.on("error", () => end(false))
    .on("connect", () => c.write("INFO server\r\n"))
    .on("data", (d) => {
      buf += d;
      const m = buf.match(/process_id:(\d+)/);
      if (m) end(Number(m[1]) === pid);
    });
});

/** Starts redis-server; `args` adds configuration (e.g. ["--maxmemory", "2mb"]). */
export async function startRedis({ port, args = [] } = {}) {
  port ??= await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--daemonize", "no", "--loglevel", "warning", ...args], { stdio: ["ignore", "ignore", "inherit"] });
  const reap = () => { try { process.kill(proc.pid, "SIGKILL"); } catch { /* gone */ } };
  process.once("exit", reap);
  proc.once("exit", () => process.off("exit", reap));
  for (let i = 0; i < 200 && proc.exitCode === null; i++) {
    if (await isOurs(port, proc.pid)) return { proc, pid: proc.pid, port, url: `redis://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 25));
  }
  reap();
  throw new Error(`redis-server did not start on port ${port} (exit code ${proc.exitCode})`);
}

export async function stopRedis(r, signal = "SIGTERM") {
  r.stopping = true;
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
  const done = new Promise((resolve) => r.proc.once("exit", resolve));
  process.kill(r.pid, signal);
  let t;
  await Promise.race([done, new Promise((resolve) => { t = setTimeout(resolve, 3000); })]);
  clearTimeout(t);
  if (r.proc.exitCode === null && r.proc.signalCode === null) {
    process.kill(r.pid, "SIGKILL");
    await done;
  }
}
