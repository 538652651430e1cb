// The public surface, shared by every runtime entry.
export { Cache, memoize, POLICIES } from "./cache.js";
export { key } from "./keys.js";
export { cachedFetch } from "./fetch.js";
export { sortQuery, dropQuery, MARKETING_QUERY_PARAMS } from "./fetch-key.js";
