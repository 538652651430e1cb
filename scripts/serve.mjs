// Serves the demo page (www/) and the built package (js/dist at /pkg/) on
// 127.0.0.1, and prints the URL. PORT picks the port (default 8080; 0 = any).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveStatic } from "./static-server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8080);
const { url } = await serveStatic(
  { "/": join(root, "www"), "/pkg/": join(root, "js/dist"), "/traces/": join(root, "www/traces") },
  { host: process.env.HOST ?? "127.0.0.1", port },
);
console.log(`edgecache demo: ${url}`);
