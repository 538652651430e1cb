// The metrics modules against their peers' real types (installed as dev
// dependencies here; the install test copies only usage.ts, without peers).
import { Cache } from "edgecache";
import { register } from "edgecache/prometheus";
import { instrument } from "edgecache/otel";
import { edgeCache } from "edgecache/hono";
import { Registry } from "prom-client";
import { Hono } from "hono";
import { metrics, type Meter } from "@opentelemetry/api";

const cache = new Cache();
register(cache, new Registry(), { name: "peers" });
const meter: Meter = metrics.getMeter("app");
instrument(cache, meter, { name: "peers" });
const app = new Hono();
app.use("*", edgeCache({ cache, tags: (c) => ["page:" + c.req.path] }));
app.get("/", (c) => c.text("ok"));
