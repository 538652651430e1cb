// The metrics modules against their peers' real types (installed as dev
// dependencies here; the install test copies only usage.ts, without peers).
import { Cache } from "edgecache";
import { register } from "edgecache/prometheus";
import { Registry } from "prom-client";

const cache = new Cache();
register(cache, new Registry(), { name: "peers" });
