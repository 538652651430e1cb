#!/usr/bin/env node
// edgecache-proxy: a caching reverse proxy for Node on top of cachedFetch.
//
//   edgecache-proxy --origin URL --port N [--host 127.0.0.1] [--max-memory BYTES] [--policy P] [--ttl MS]
//
// Forwards every method, path, query, header and body to the origin and adds
// nothing but Age and Cache-Status. (Node's fetch decodes compressed bodies,
// so a Content-Encoding the origin sent is dropped along with its length.)
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { Cache, cachedFetch, POLICIES } from "../dist/node.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "host"]);

function usage(message) {
  if (message) console.error(`edgecache-proxy: ${message}`);
  console.error("usage: edgecache-proxy --origin URL --port N [--host 127.0.0.1] [--max-memory BYTES] [--policy P] [--ttl MS]");
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const out = { host: "127.0.0.1", maxMemory: 64 * 1024 * 1024, policy: "allkeys-adaptive", ttl: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h") usage();
    else if (a === "--origin") out.origin = next();
    else if (a === "--port") out.port = Number(next());
    else if (a === "--host") out.host = next();
    else if (a === "--max-memory") out.maxMemory = Number(next());
    else if (a === "--policy") out.policy = next();
    else if (a === "--ttl") out.ttl = Number(next());
    else usage(`unknown argument ${a}`);
  }
  if (!out.origin) usage("--origin is required");
  try {
    out.origin = new URL(out.origin);
  } catch {
    usage(`--origin is not a URL: ${out.origin}`);
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) usage("--port must be 0–65535");
  if (!(out.maxMemory > 0)) usage("--max-memory must be a positive number of bytes");
  if (!POLICIES.includes(out.policy)) usage(`--policy must be one of ${POLICIES.join(", ")}`);
  return out;
}

const args = parseArgs(process.argv.slice(2));
const cache = new Cache({ maxMemory: args.maxMemory, policy: args.policy });
const cfetch = cachedFetch(cache, { ttl: args.ttl });

const server = createServer(async (req, res) => {
  try {
    const target = new URL(req.url, args.origin);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (HOP_BY_HOP.has(k) || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const response = await cfetch(target, {
      method: req.method,
      headers,
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: hasBody ? "half" : undefined,
      redirect: "manual",
    });
    const out = {};
    const decoded = response.headers.has("content-encoding");
    for (const [k, v] of response.headers) {
      if (HOP_BY_HOP.has(k) || (decoded && (k === "content-encoding" || k === "content-length"))) continue;
      if (k === "set-cookie") continue;
      out[k] = v;
    }
    const cookies = response.headers.getSetCookie?.() ?? [];
    if (cookies.length) out["set-cookie"] = cookies;
    res.writeHead(response.status, response.statusText, out);
    if (response.body && req.method !== "HEAD") {
      for await (const chunk of response.body) res.write(chunk);
    }
    res.end();
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain", "cache-status": "edgecache; fwd=uri-miss; detail=origin-error" });
    res.end(`edgecache-proxy: origin error: ${err?.message ?? err}\n`);
  }
});

server.listen(args.port, args.host, () => {
  const { port } = server.address();
  console.log(`edgecache-proxy listening on http://${args.host}:${port} → ${args.origin.href}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
