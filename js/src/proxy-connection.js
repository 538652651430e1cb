// edgecache-proxy's connections: each client connection is read here first,
// with the strict reader (proxy-request.js). A request it takes that a
// fresh hit answers is written straight to the socket, head and body in
// one write; one it takes that is not a fresh hit goes to the proxy's
// request handler with a node:http ServerResponse on this socket, and the
// requests after it wait for that answer's end (answers go out in order).
// The first request the reader does not take hands the connection, with
// every byte not yet answered, to node:http's server, which owns it from
// then on.

import { INCOMPLETE, NOT_FAST, readRequest } from "./proxy-request.js";

/** Bytes a client may send ahead while an answer is being written, before
 * the connection stops reading (as node:http holds a client back). */
const MAX_AHEAD_BYTES = 64 * 1024;
/** How often connections are checked for idleness: a connection's last
 * activity is noted as the check count then (a variable read per read or
 * write, where a socket timeout would move a timer each time). */
const IDLE_CHECK_MS = 1000;
/** What node:http answers a head not complete within its headersTimeout. */
const REQUEST_TIMEOUT = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n";

/**
 * The connection listener. `answer(socket, request)` returns the bytes of a
 * fresh hit for a request readRequest took, or undefined; `respond(socket,
 * request, done)` answers any other such request on the socket and calls
 * `done(last)` once its answer is written (`last`: the connection is to
 * close); `handOff(socket)` gives the socket to node:http. `keepAliveMs`:
 * a connection with nothing read or written for this long (up to
 * 2 × IDLE_CHECK_MS longer), while no answer is pending, is closed.
 * `headersTimeoutMs`: a head still incomplete this long after its first bytes (a client trickling it in) gets 408 and the
 * connection is closed, as node:http's headersTimeout does.
 * Returns { onConnection, counts: { fast, full, handedOff }, closeIdle() }.
 */
export function fastPath({ answer, respond, handOff, keepAliveMs, headersTimeoutMs }) {
  const counts = { fast: 0, full: 0, handedOff: 0 };
  /** Connections this path owns, each to its checks: `idle()`, waiting
   * for a request; `stale()`, idle past keepAliveMs. */
  const owned = new Map();
  /** closeIdle() was called: connections close after their answer in progress. */
  let stopping = false;
  /** Idle checks so far, and how many must pass without activity. */
  let checks = 0;
  const idleChecks = Math.ceil(keepAliveMs / IDLE_CHECK_MS) + 1;
  let checker = null;
  /** Closes the connections idle past keepAliveMs. */
  function checkIdle() {
    checks++;
    for (const [socket, state] of owned) if (state.stale()) socket.destroy();
  }

  function onConnection(socket) {
    /** Bytes received and not yet read as requests. */
    let pending = null;
    /** An answer from respond() is being written: later requests wait. */
    let busy = false;
    /** Hits written fill the socket past its high-water mark: later
     * requests wait for `drain`, so a client that asks faster than it
     * reads holds at most about one answer here, not one per request. */
    let held = false;
    /** When the head being waited for started arriving (0: none is). */
    let headSince = 0;
    let closing = false;
    /** The idle check count at the last read or write. */
    let active = checks;
    const onError = () => socket.destroy();
    const onEnd = () => {
      if (!busy && !held) socket.end();
    };
    const onDrain = () => {
      active = checks;
      if (!busy) {
        held = false;
        socket.resume();
        serve();
        // A client that half-closed while its requests waited gets the end now.
        if (socket.readableEnded && !busy && !held && owned.has(socket)) socket.end();
        return;
      }
      // The ServerResponse being written waits for this (node:http's server relays it the same way).
      const res = socket._httpMessage;
      if (res && !res.writableEnded) res.emit("drain");
    };
    const onClose = () => owned.delete(socket);
    const stopReading = () => {
      closing = true;
      owned.delete(socket);
      socket.off("data", onData);
    };

    function onData(chunk) {
      if (closing) return;
      active = checks;
      pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
      if (!busy && !held) return serve();
      if (pending.length > MAX_AHEAD_BYTES) socket.pause();
    }

    /** Reads and answers the pending requests, up to the first that needs more. */
    function serve() {
      const buf = pending;
      pending = null;
      if (buf === null) return;
      let at = 0;
      // Answers to pipelined requests go out together: the socket is corked
      // once a second request follows (not for the lone request of most reads).
      let corked = false;
      while (at < buf.length) {
        const request = readRequest(buf, at);
        if (request === INCOMPLETE) {
          pending = buf.subarray(at);
          const now = Date.now();
          if (headSince === 0) headSince = now;
          else if (now - headSince >= headersTimeoutMs) {
            if (corked) socket.uncork();
            stopReading();
            return void socket.end(REQUEST_TIMEOUT, () => socket.destroy());
          }
          break;
        }
        headSince = 0;
        if (request === NOT_FAST) {
          if (corked) socket.uncork();
          // A client that half-closed while an answer was pending: its bytes
          // can no longer be put back for node:http to read.
          if (socket.readableEnded) return void socket.destroy();
          stopReading();
          socket.off("error", onError).off("end", onEnd).off("drain", onDrain).off("close", onClose);
          counts.handedOff++;
          // node:http reads these bytes before any the socket receives later.
          socket.unshift(buf.subarray(at));
          return handOff(socket);
        }
        at = request.next;
        const bytes = answer(socket, request);
        if (bytes === undefined) {
          counts.full++;
          if (corked) socket.uncork();
          if (at < buf.length) pending = buf.subarray(at);
          // No idle timeout while the origin is asked.
          busy = true;
          return respond(socket, request, finished);
        }
        counts.fast++;
        if (!corked && at < buf.length) {
          corked = true;
          socket.cork();
        }
        const room = socket.write(bytes);
        active = checks;
        if (request.close) {
          // As node:http does after `Connection: close`: nothing more is read.
          stopReading();
          socket.end(() => socket.destroy());
          break;
        }
        if (!room) {
          held = true;
          if (at < buf.length) pending = buf.subarray(at);
          break;
        }
      }
      if (corked) socket.uncork();
      // A client that sends faster than it reads is held back, as node:http does.
      if (!closing && socket.writableNeedDrain) socket.pause();
    }

    /** The answer respond() wrote is complete: on to the next request, or close. */
    function finished(last) {
      busy = false;
      if (last || stopping) {
        stopReading();
        return void socket.end(() => socket.destroy());
      }
      active = checks;
      if (!socket.readableFlowing) socket.resume();
      serve();
      // A client that half-closed while it waited gets the end now.
      if (socket.readableEnded && !busy && owned.has(socket)) socket.end();
    }

    owned.set(socket, {
      idle: () => !busy && pending === null && socket.writableLength === 0,
      stale: () => !busy && checks - active >= idleChecks,
    });
    checker ??= setInterval(checkIdle, IDLE_CHECK_MS).unref();
    socket.on("data", onData).on("error", onError).on("end", onEnd).on("drain", onDrain).on("close", onClose);
  }

  /** Closes the connections this path owns that wait for a request, and
   * the others once the answer they are writing is complete. */
  function closeIdle() {
    stopping = true;
    for (const [socket, state] of owned) if (state.idle()) socket.destroy();
  }

  return { onConnection, counts, closeIdle };
}
