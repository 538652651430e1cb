// cachedFetch's reuse of POST answers (RFC 9110 §9.3.3): a response to a
// POST is cacheable when it has explicit freshness and a Content-Location
// equal to the POST's target URI; it then answers later GETs (and HEADs)
// of that URI. The POST still invalidates what was stored there before.
// Only a successful (2xx) answer is kept: Content-Location then names the
// resource the content represents (RFC 9110 §8.7), whereas an error's
// content describes the error, and a failed POST changed nothing that the
// GET entry it would replace does not already say.

import { parseCacheControl } from "./fetch-freshness.js";
import { parseCdnCacheControl } from "./fetch-fields.js";

const FRESHNESS = ["max-age", "s-maxage"];
const SUCCESS_MIN = 200;
const SUCCESS_MAX = 299;

/** Whether the response's headers set its freshness lifetime themselves
 * (max-age or s-maxage in CDN-Cache-Control or Cache-Control, or Expires):
 * neither the ttl default nor heuristics make a POST answer reusable. */
function explicitFreshness(headers) {
  const cdnValue = headers.get("cdn-cache-control");
  const cdn = cdnValue === null ? null : parseCdnCacheControl(cdnValue);
  if (cdn) return FRESHNESS.some((d) => cdn.has(d));
  const cc = parseCacheControl(headers.get("cache-control"));
  return FRESHNESS.some((d) => cc.has(d)) || headers.has("expires");
}

/** The GET a POST's response may be stored for, or null when it is not reusable. */
export function getAnsweredByPost(request, response, respect) {
  if (request.method !== "POST" || !respect || response.status < SUCCESS_MIN || response.status > SUCCESS_MAX) return null;
  const location = response.headers.get("content-location");
  if (location === null || !explicitFreshness(response.headers)) return null;
  let target;
  try {
    target = new URL(location, request.url);
  } catch {
    return null;
  }
  const url = new URL(request.url);
  target.hash = url.hash = "";
  if (target.href !== url.href) return null;
  return new Request(url.href, { method: "GET", headers: request.headers, signal: request.signal });
}
