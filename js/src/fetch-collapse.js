// cachedFetch's request collapsing: concurrent misses for one method + key
// share one origin request, and each waiter decides afterwards whether it
// may take the leader's answer.

import { servesAuthorized } from "./fetch-freshness.js";
import { varySignature } from "./fetch-vary.js";

/** A promise that rejects with the signal's reason once it aborts. */
function whenAborted(signal) {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/**
 * Joins the flight for `flightKey`, starting it with `run(signal)` when there
 * is none. The flight runs on its own signal, aborted once every waiter's
 * request signal has aborted before it settled; a waiter that aborts stops
 * waiting. Resolves `outcome` with the flight's outcome.
 */
export function join(inflight, flightKey, request, run) {
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
export function sharesOutcome(outcome, request) {
  if (outcome.kind !== "entry") return false;
  if (request.headers.has("authorization") && !servesAuthorized(outcome.entry.meta)) return false;
  return varySignature(outcome.vary, request.headers) === varySignature(outcome.vary, outcome.request.headers);
}
