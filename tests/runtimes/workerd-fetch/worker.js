// The cachedFetch suite inside a real Worker, against the origin the runner
// started on 127.0.0.1 (passed as ?origin=).
import * as lib from "edgecache";
import { memoryTier } from "edgecache/memory";
import { runFetchSuite } from "../../js/fetch-suite.js";

export default {
  async fetch(request) {
    const origin = new URL(request.url).searchParams.get("origin");
    return Response.json(await runFetchSuite({ ...lib, memoryTier, origin }));
  },
};
