// cachedFetch: a shared HTTP cache (RFC 9111) in front of an origin, on a
// Cache. Bodies, status and headers are stored as bytes in wasm memory;
// freshness is computed here from the stored metadata with the cache's clock.
//
// Stored per URL: ["cf-vary", url] → the response's Vary header names, and
// ["cf", url, vary signature] → metadata + body. Both carry the tag
// "cf-url:" + url, so an unsafe request invalidates every variant in O(1).

import { Cache, internals, ms } from "./cache.js";
import { describe } from "./keys.js";

const NAME = "edgecache";
const UNSAFE = new Set(["POST", "PUT", "DELETE", "PATCH"]);
/** Final statuses a shared cache understands and may store (RFC 9110 §15; 206 is left to the origin). */
const STORABLE = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);
/** Statuses cacheable by default: heuristic freshness is allowed (RFC 9110 §15.1). */
const HEURISTIC = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "set-cookie"]);
/** Headers a 304 must not overwrite in the stored response (RFC 9111 §3.2). */
const KEEP_ON_304 = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** In-flight origin requests per cache, shared by every cachedFetch on it (a
 * Worker makes one per request, to pass that request's waitUntil). */
const flights = new WeakMap();

/** Parses a Cache-Control-style header into a Map of lowercased directives. */
export function parseCacheControl(value) {
  const out = new Map();
  if (!value) return out;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name) continue;
    let v = eq < 0 ? true : part.slice(eq + 1).trim();
    if (typeof v === "string" && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (!out.has(name)) out.set(name, v); // the first occurrence wins
  }
  return out;
}

/** delta-seconds → ms, or undefined when absent/invalid. */
function seconds(cc, name) {
  const v = cc.get(name);
  if (typeof v !== "string" || !/^\d+$/.test(v)) return undefined;
  return Number(v) * 1000;
}

function httpDate(value) {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

function appendStatus(headers, status) {
  const prior = headers.get("cache-status");
  headers.set("cache-status", prior ? `${prior}, ${status}` : status);
}

function normalizeUrl(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

function varySignature(names, headers) {
  return names.map((n) => `${n}:${(headers.get(n) ?? "").trim()}`).join("\n");
}

/** The stored metadata's fields, in the order they are written: a positional
 * array is about half the size of the same object as JSON text. */
const META_FIELDS = ["status", "statusText", "headers", "reqTime", "resTime", "date", "age", "lifetime",
  "noCache", "mustRevalidate", "swr", "sie", "etag", "lastModified"];

function encodeEntry(meta, body) {
  const m = encoder.encode(JSON.stringify(META_FIELDS.map((f) => meta[f] ?? null)));
  const out = new Uint8Array(4 + m.length + body.length);
  new DataView(out.buffer).setUint32(0, m.length, true);
  out.set(m, 4);
  out.set(body, 4 + m.length);
  return out;
}

function decodeEntry(bytes) {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const values = JSON.parse(decoder.decode(bytes.subarray(4, 4 + n)));
  const meta = {};
  META_FIELDS.forEach((f, i) => {
    if (values[i] !== null) meta[f] = values[i];
  });
  return { meta, body: bytes.subarray(4 + n) };
}

/** Reads a body up to `limit` bytes; past that, hands back a stream of all of it instead. */
async function readLimited(response, limit) {
  const length = Number(response.headers.get("content-length"));
  if (Number.isFinite(length) && length > limit) return { stream: response.body };
  if (!response.body) return { bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      // Too big to store: pass it through, starting with what was read.
      const stream = new ReadableStream({
        start(c) { for (const ch of chunks) c.enqueue(ch); },
        async pull(c) {
          const next = await reader.read();
          if (next.done) c.close(); else c.enqueue(next.value);
        },
        cancel(reason) { return reader.cancel(reason); },
      });
      return { stream };
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    bytes.set(ch, at);
    at += ch.length;
  }
  return { bytes };
}

/**
 * A fetch() with a shared HTTP cache in front of the origin.
 * @param {Cache} cache
 * @param {import("./index.d.ts").CachedFetchOptions} [options]
 */
export function cachedFetch(cache, options = {}) {
  if (!(cache instanceof Cache)) throw new TypeError(`cache must be a Cache; got ${describe(cache)}`);
  if (options === null || typeof options !== "object") throw new TypeError(`options must be an object; got ${describe(options)}`);
  const option = (name, fallback) => ms(options[name], name) ?? fallback;
  const ttl = option("ttl", 0);
  const swrDefault = option("staleWhileRevalidate", 0);
  const sieDefault = option("staleIfError", 0);
  const keepForRevalidation = option("keepForRevalidation", 300_000);
  const respect = options.respectCacheControl ?? true;
  if (typeof respect !== "boolean") throw new TypeError(`respectCacheControl must be a boolean; got ${describe(respect)}`);
  const waitUntil = options.waitUntil;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new TypeError(`waitUntil must be a function; got ${describe(waitUntil)}`);
  const upstream = options.fetch ?? ((req) => globalThis.fetch(req));
  if (typeof upstream !== "function") throw new TypeError(`fetch must be a function; got ${describe(upstream)}`);
  const io = cache[internals]();
  if (!flights.has(cache)) flights.set(cache, { inflight: new Map(), refreshing: new Map() });
  const { inflight, refreshing } = flights.get(cache);

  /** Freshness lifetime (ms) and directives of a response, or null if it must not be stored. */
  function policyOf(request, response) {
    const headers = response.headers;
    const cdn = headers.get("cdn-cache-control");
    const cc = parseCacheControl(respect ? cdn ?? headers.get("cache-control") : null);
    const reqCC = parseCacheControl(request.headers.get("cache-control"));
    if (request.method !== "GET" || !STORABLE.has(response.status)) return null;
    if (cc.has("no-store") || cc.has("private") || reqCC.has("no-store")) return null;
    if (headers.has("set-cookie")) return null;
    if (request.headers.has("authorization") && !(cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate"))) return null;
    const vary = (headers.get("vary") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
    if (vary.includes("*")) return null;
    const date = httpDate(headers.get("date"));
    let lifetime;
    if (respect) {
      lifetime = seconds(cc, "s-maxage") ?? seconds(cc, "max-age");
      if (lifetime === undefined && !cdn && headers.has("expires")) {
        const expires = httpDate(headers.get("expires"));
        lifetime = expires === undefined ? 0 : Math.max(0, expires - (date ?? Date.now()));
      }
    }
    if (lifetime === undefined && ttl > 0) lifetime = ttl;
    if (lifetime === undefined && respect && (HEURISTIC.has(response.status) || cc.has("public"))) {
      const lastModified = httpDate(headers.get("last-modified"));
      if (lastModified !== undefined && date !== undefined && date > lastModified) lifetime = Math.floor((date - lastModified) / 10);
    }
    lifetime ??= 0;
    const validators = headers.has("etag") || headers.has("last-modified");
    if (lifetime === 0 && !validators) return null;
    return {
      lifetime,
      vary,
      noCache: cc.has("no-cache"),
      mustRevalidate: cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage"),
      swr: seconds(cc, "stale-while-revalidate") ?? swrDefault,
      sie: seconds(cc, "stale-if-error") ?? sieDefault,
      validators,
      date,
    };
  }

  function currentAge(meta, now) {
    const apparent = Math.max(0, meta.resTime - (meta.date ?? meta.resTime));
    const corrected = meta.age + (meta.resTime - meta.reqTime);
    return Math.max(apparent, corrected) + (now - meta.resTime);
  }

  function store(url, request, response, policy, body, reqTime, resTime) {
    const headers = [];
    for (const [k, v] of response.headers) if (!HOP_BY_HOP.has(k)) headers.push([k, v]);
    const meta = {
      status: response.status,
      statusText: response.statusText,
      headers,
      reqTime,
      resTime,
      date: policy.date,
      age: (Number(response.headers.get("age")) || 0) * 1000,
      lifetime: policy.lifetime,
      noCache: policy.noCache,
      mustRevalidate: policy.mustRevalidate,
      swr: policy.swr,
      sie: policy.sie,
      etag: response.headers.get("etag"),
      lastModified: response.headers.get("last-modified"),
    };
    const remaining = policy.lifetime - currentAge(meta, resTime);
    const keep = Math.max(0, remaining) + Math.max(policy.swr, policy.sie, policy.validators ? keepForRevalidation : 0);
    if (keep <= 0) return false;
    const tag = `cf-url:${url}`;
    const opts = { ttl: Math.ceil(keep), tags: [tag] };
    if (policy.vary.length) io.setRaw(["cf-vary", url], encoder.encode(JSON.stringify(policy.vary)), opts);
    else if (io.getRaw(["cf-vary", url]) !== undefined) cache.delete(["cf-vary", url]);
    const key = ["cf", url, varySignature(policy.vary, request.headers)];
    return io.setRaw(key, encodeEntry(meta, body), opts);
  }

  function lookup(url, request) {
    const varyBytes = io.getRaw(["cf-vary", url]);
    const vary = varyBytes ? JSON.parse(decoder.decode(varyBytes)) : [];
    const raw = io.getRaw(["cf", url, varySignature(vary, request.headers)]);
    return raw ? decodeEntry(raw) : undefined;
  }

  function fromStored(request, entry, status, now) {
    const headers = new Headers(entry.meta.headers);
    headers.set("age", String(Math.floor(Math.max(0, currentAge(entry.meta, now)) / 1000)));
    appendStatus(headers, status);
    const bodyless = request.method === "HEAD" || entry.meta.status === 204 || entry.meta.status === 304;
    return new Response(bodyless ? null : entry.body.slice(), { status: entry.meta.status, statusText: entry.meta.statusText, headers });
  }

  function passThrough(response, status) {
    const out = new Response(response.body, response);
    appendStatus(out.headers, status);
    return out;
  }

  /** One origin round trip whose outcome every waiter can rebuild a response from. */
  async function fetchAndStore(url, request, conditional) {
    const reqTime = io.now();
    const forwarded = conditional ? withValidators(request, conditional.meta) : request;
    const response = await upstream(forwarded);
    const resTime = io.now();
    if (conditional && response.status === 304) {
      // Refresh the stored response's headers and freshness (RFC 9111 §4.3.4).
      const meta = conditional.meta;
      const merged = new Headers(meta.headers);
      for (const [k, v] of response.headers) if (!HOP_BY_HOP.has(k) && !KEEP_ON_304.has(k)) merged.set(k, v);
      const synthetic = new Response(null, { status: meta.status, headers: merged });
      const policy = policyOf(request, synthetic);
      if (policy) store(url, request, synthetic, policy, conditional.body, reqTime, resTime);
      const entry = { meta: { ...meta, headers: [...merged], reqTime, resTime, date: policy?.date ?? meta.date, age: 0, lifetime: policy?.lifetime ?? 0 }, body: conditional.body };
      return { kind: "entry", entry, status: `${NAME}; fwd=stale; fwd-status=304${policy ? "; stored" : ""}` };
    }
    const policy = policyOf(request, response);
    const fwd = conditional ? `fwd=stale; fwd-status=${response.status}` : "fwd=uri-miss";
    if (!policy) return { kind: "response", response, status: `${NAME}; ${fwd}` };
    const read = await readLimited(response, io.maxMemory);
    if (read.stream) {
      return { kind: "response", response: new Response(read.stream, response), status: `${NAME}; ${fwd}; detail=too-large` };
    }
    const stored = store(url, request, response, policy, read.bytes, reqTime, resTime);
    const headers = [];
    for (const [k, v] of response.headers) if (k !== "set-cookie") headers.push([k, v]);
    return {
      kind: "entry",
      entry: { meta: { status: response.status, statusText: response.statusText, headers, reqTime, resTime, date: policy.date, age: (Number(response.headers.get("age")) || 0) * 1000 }, body: read.bytes },
      status: `${NAME}; ${fwd}${stored ? "; stored" : ""}`,
    };
  }

  function withValidators(request, meta) {
    const headers = new Headers(request.headers);
    if (meta.etag) headers.set("if-none-match", meta.etag);
    if (meta.lastModified) headers.set("if-modified-since", meta.lastModified);
    return new Request(request.url, { method: "GET", headers, redirect: request.redirect });
  }

  /** Collapses concurrent identical misses into one origin request. */
  function shared(map, flightKey, run) {
    let flight = map.get(flightKey);
    let leader = false;
    if (!flight) {
      leader = true;
      flight = run().finally(() => map.delete(flightKey));
      map.set(flightKey, flight);
    }
    return { flight, leader };
  }

  async function answer(url, request, now, conditional, collapseKey) {
    const { flight, leader } = shared(inflight, collapseKey, () => fetchAndStore(url, request, conditional));
    const outcome = await flight;
    if (outcome.kind === "entry") {
      return fromStored(request, outcome.entry, leader ? outcome.status : `${outcome.status}; collapsed`, io.now());
    }
    if (leader) return passThrough(outcome.response, outcome.status);
    // Not shareable (private, Set-Cookie, too large…): this waiter asks the origin itself.
    return passThrough(await upstream(request), `${NAME}; fwd=uri-miss`);
  }

  return async function cfetch(input, init) {
    const request = new Request(input, init);
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") {
      const response = await upstream(request);
      if (UNSAFE.has(method) && response.status < 400) {
        const url = normalizeUrl(request.url);
        const origin = new URL(url).origin;
        cache.invalidateTag(`cf-url:${url}`);
        for (const h of ["location", "content-location"]) {
          const v = response.headers.get(h);
          if (!v) continue;
          const target = new URL(v, url);
          if (target.origin === origin) cache.invalidateTag(`cf-url:${normalizeUrl(target.href)}`);
        }
      }
      return passThrough(response, `${NAME}; fwd=method`);
    }
    const url = normalizeUrl(request.url);
    const reqCC = parseCacheControl(request.headers.get("cache-control") ?? (/no-cache/i.test(request.headers.get("pragma") ?? "") ? "no-cache" : null));
    if (reqCC.has("no-store")) return passThrough(await upstream(request), `${NAME}; fwd=request`);
    const now = io.now();
    // Credentialed requests never share an origin round trip with others.
    const personal = request.headers.has("authorization") || request.headers.has("cookie");
    const collapseKey = personal ? Symbol("personal") : `${method === "HEAD" ? "GET" : method} ${url}\n${[...request.headers].map(([k, v]) => `${k}:${v}`).join("\n")}`;
    const getRequest = method === "HEAD" ? new Request(request, { method: "GET" }) : request;
    const entry = lookup(url, request);
    if (!entry) {
      const response = await answer(url, getRequest, now, null, collapseKey);
      if (method === "HEAD") return new Response(null, response);
      return response;
    }
    const meta = entry.meta;
    const age = currentAge(meta, now);
    const reqMaxAge = seconds(reqCC, "max-age");
    const fresh = age < meta.lifetime && !meta.noCache && !reqCC.has("no-cache") && !(reqMaxAge !== undefined && age > reqMaxAge);
    if (fresh && !(request.headers.has("authorization") && !meta.mustRevalidate && !meta.headers.some(([k, v]) => k === "cache-control" && /public|s-maxage/.test(v)))) {
      return fromStored(request, entry, `${NAME}; hit`, now);
    }
    const staleness = age - meta.lifetime;
    const mayServeStale = !meta.noCache && !meta.mustRevalidate && !reqCC.has("no-cache");
    if (mayServeStale && staleness >= 0 && staleness < meta.swr) {
      if (!refreshing.has(url)) {
        const p = fetchAndStore(url, getRequest, entry).catch(() => undefined).finally(() => refreshing.delete(url));
        refreshing.set(url, p);
        if (waitUntil) waitUntil(p);
      }
      return fromStored(request, entry, `${NAME}; hit; detail=stale-while-revalidate`, now);
    }
    // Revalidate in the foreground; on failure, stale-if-error may answer.
    try {
      const revalKey = personal ? Symbol("personal") : `reval ${collapseKey}`;
      const response = await answer(url, getRequest, now, entry, revalKey);
      if (response.status >= 500 && !meta.noCache && staleness < meta.sie) {
        await response.body?.cancel();
        return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      }
      return method === "HEAD" ? new Response(null, response) : response;
    } catch (err) {
      if (!meta.noCache && staleness < meta.sie) return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      throw err;
    }
  };
}
