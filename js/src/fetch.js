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
/** The default maxBodySize is this share of maxMemory: a few concurrent
 * misses buffering bodies for storing stay within the budget's order. */
const DEFAULT_BODY_SHARE = 8;
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

/** The request's values of the named headers; an absent header (no colon)
 * differs from an empty one (RFC 9111 §4.1). */
function varySignature(names, headers) {
  return names.map((n) => {
    const v = headers.get(n);
    return v === null ? n : `${n}:${v.trim()}`;
  }).join("\n");
}

/** The header names a response's Vary lists, lowercased and sorted. */
function varyNames(headers) {
  return (headers.get("vary") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
}

/** Whether a request carries credentials: its response may be personal. */
function isPersonal(request) {
  return request.headers.has("authorization") || request.headers.has("cookie");
}

/** Whether a stored response may answer a request with Authorization (RFC 9111 §3.5). */
function servesAuthorized(meta) {
  return meta.mustRevalidate || meta.headers.some(([k, v]) => k === "cache-control" && /public|s-maxage/.test(v));
}

/** A promise that rejects with the signal's reason once it aborts. */
function whenAborted(signal) {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function byteOption(options, name, fallback) {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw new TypeError(`${name} must be a number of bytes; got ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a whole number of bytes ≥ 0; got ${v}`);
  return v;
}

function headerNamesOption(options, name) {
  const v = options[name] ?? [];
  if (!Array.isArray(v) || !v.every((n) => typeof n === "string" && n.length > 0)) {
    throw new TypeError(`${name} must be an array of header names; got ${describe(v)}`);
  }
  return v.map((n) => n.toLowerCase()).sort();
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
  const keyHeaders = headerNamesOption(options, "keyHeaders");
  const io = cache[internals]();
  const maxBodySize = byteOption(options, "maxBodySize", Math.floor(io.maxMemory / DEFAULT_BODY_SHARE));
  const upstream = options.fetch ?? ((req) => globalThis.fetch(req));
  if (typeof upstream !== "function") throw new TypeError(`fetch must be a function; got ${describe(upstream)}`);
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
    // A credentialed request's response is shared only when the origin says
    // so explicitly; the ttl default and heuristics never apply to it.
    const personal = isPersonal(request);
    if (personal && !(cc.has("public") || cc.has("s-maxage") || cc.has("max-age"))) return null;
    const vary = varyNames(headers);
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
    if (lifetime === undefined && ttl > 0 && !personal) lifetime = ttl;
    if (lifetime === undefined && !personal && respect && (HEURISTIC.has(response.status) || cc.has("public"))) {
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

  /** The headers the key adds to the URL: keyHeaders' values. */
  function keyOf(url, request) {
    return keyHeaders.length ? `${url}\n${varySignature(keyHeaders, request.headers)}` : url;
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
    const base = keyOf(url, request);
    if (policy.vary.length) io.setRaw(["cf-vary", base], encoder.encode(JSON.stringify(policy.vary)), opts);
    else if (io.getRaw(["cf-vary", base]) !== undefined) cache.delete(["cf-vary", base]);
    const key = ["cf", base, varySignature(policy.vary, request.headers)];
    return io.setRaw(key, encodeEntry(meta, body), opts);
  }

  function lookup(url, request) {
    const base = keyOf(url, request);
    const varyBytes = io.getRaw(["cf-vary", base]);
    const vary = varyBytes ? JSON.parse(decoder.decode(varyBytes)) : [];
    const raw = io.getRaw(["cf", base, varySignature(vary, request.headers)]);
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
  async function fetchAndStore(url, request, conditional, signal) {
    const reqTime = io.now();
    const forwarded = conditional ? withValidators(request, conditional.meta, signal) : signal ? new Request(request, { signal }) : request;
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
      return { kind: "entry", entry, vary: varyNames(merged), request, status: `${NAME}; fwd=stale; fwd-status=304${policy ? "; stored" : ""}` };
    }
    const policy = policyOf(request, response);
    const fwd = conditional ? `fwd=stale; fwd-status=${response.status}` : "fwd=uri-miss";
    if (!policy) return { kind: "response", response, status: `${NAME}; ${fwd}` };
    const read = await readLimited(response, maxBodySize);
    if (read.stream) {
      return { kind: "response", response: new Response(read.stream, response), status: `${NAME}; ${fwd}; detail=too-large` };
    }
    const stored = store(url, request, response, policy, read.bytes, reqTime, resTime);
    const headers = [];
    for (const [k, v] of response.headers) if (k !== "set-cookie") headers.push([k, v]);
    return {
      kind: "entry",
      entry: { meta: { status: response.status, statusText: response.statusText, headers, reqTime, resTime, date: policy.date, age: (Number(response.headers.get("age")) || 0) * 1000, mustRevalidate: policy.mustRevalidate }, body: read.bytes },
      vary: policy.vary,
      request,
      status: `${NAME}; ${fwd}${stored ? "; stored" : ""}`,
    };
  }

  function withValidators(request, meta, signal) {
    const headers = new Headers(request.headers);
    if (meta.etag) headers.set("if-none-match", meta.etag);
    if (meta.lastModified) headers.set("if-modified-since", meta.lastModified);
    return new Request(request.url, { method: "GET", headers, redirect: request.redirect, signal: signal ?? request.signal });
  }

  /**
   * Collapses concurrent misses for one method + URL into one origin request.
   * The flight runs on its own signal, aborted once every waiter's request
   * signal has aborted before it settled; a waiter that aborts stops waiting.
   */
  function join(flightKey, request, run) {
    let flight = inflight.get(flightKey);
    const leader = !flight;
    if (leader) {
      const controller = new AbortController();
      flight = { controller, waiting: 0 };
      flight.promise = run(controller.signal).finally(() => inflight.delete(flightKey));
      inflight.set(flightKey, flight);
    }
    const current = flight;
    current.waiting++;
    const signal = request.signal;
    const leave = () => {
      if (--current.waiting === 0) current.controller.abort(signal.reason);
    };
    signal.addEventListener("abort", leave, { once: true });
    const settled = () => signal.removeEventListener("abort", leave);
    current.promise.then(settled, settled);
    return { outcome: Promise.race([current.promise, whenAborted(signal)]), leader };
  }

  /** Whether a collapsed waiter may take the leader's answer: a shared
   * response whose Vary headers the waiter has the same values for. */
  function sharesOutcome(outcome, request) {
    if (outcome.kind !== "entry") return false;
    if (request.headers.has("authorization") && !servesAuthorized(outcome.entry.meta)) return false;
    return varySignature(outcome.vary, request.headers) === varySignature(outcome.vary, outcome.request.headers);
  }

  async function answer(url, request, now, conditional, collapseKey) {
    const { outcome: pending, leader } = join(collapseKey, request, (signal) => fetchAndStore(url, request, conditional, signal));
    const outcome = await pending;
    if (leader && outcome.kind === "entry") return fromStored(request, outcome.entry, outcome.status, io.now());
    if (leader) return passThrough(outcome.response, outcome.status);
    if (sharesOutcome(outcome, request)) return fromStored(request, outcome.entry, `${outcome.status}; collapsed`, io.now());
    if (outcome.kind === "entry") {
      // Another variant: this waiter fetches (and stores) its own.
      const own = await fetchAndStore(url, request, conditional);
      return own.kind === "entry" ? fromStored(request, own.entry, own.status, io.now()) : passThrough(own.response, own.status);
    }
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
    // Misses collapse on method + URL (+ keyHeaders); Vary and credentials
    // decide afterwards whether a waiter may take the leader's answer.
    const collapseKey = `${method} ${keyOf(url, request)}`;
    const entry = lookup(url, request);
    if (!entry) {
      // A HEAD miss is forwarded as a HEAD: nothing to store, no body to drain.
      if (method === "HEAD") return passThrough(await upstream(request), `${NAME}; fwd=uri-miss`);
      return answer(url, request, now, null, collapseKey);
    }
    const getRequest = method === "HEAD" ? new Request(request, { method: "GET" }) : request;
    const meta = entry.meta;
    const age = currentAge(meta, now);
    const reqMaxAge = seconds(reqCC, "max-age");
    const fresh = age < meta.lifetime && !meta.noCache && !reqCC.has("no-cache") && !(reqMaxAge !== undefined && age > reqMaxAge);
    if (fresh && !(request.headers.has("authorization") && !servesAuthorized(meta))) {
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
      const response = await answer(url, getRequest, now, entry, `reval ${collapseKey}`);
      if (response.status >= 500 && !meta.noCache && staleness < meta.sie) {
        await response.body?.cancel();
        return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      }
      if (method !== "HEAD") return response;
      await response.body?.cancel();
      return new Response(null, response);
    } catch (err) {
      if (!meta.noCache && staleness < meta.sie) return fromStored(request, entry, `${NAME}; hit; detail=stale-if-error`, io.now());
      throw err;
    }
  };
}
