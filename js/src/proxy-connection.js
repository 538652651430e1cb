// edgecache-proxy's fast path: each new client connection is read here
// first. Requests the strict reader (proxy-request.js) takes and that a
// fresh hit answers are written straight to the socket, head and body in
// one write, in order; the first request that is anything else (or that
// the reader does not take) hands the connection, with every byte not yet
// answered, to node:http, which owns it from then on.

import { INCOMPLETE, NOT_FAST, readRequest } from "./proxy-request.js";

/**
 * The connection listener of the fast path. `answer(socket, request)`
 * returns the bytes of a fresh hit for a request readRequest took, or
 * undefined; `handOff(socket, checked)` gives the socket to node:http
 * (`checked`: its first request was a readable one that answer() found no
 * fresh hit for). `keepAliveMs`: an idle connection is closed after this.
 * Returns { onConnection, counts: { fast, handedOff }, closeIdle() }.
 */
export function fastPath({ answer, handOff, keepAliveMs }) {
  const counts = { fast: 0, handedOff: 0 };
  /** Connections this path owns, each to its `idle()` check. */
  const owned = new Map();

  function onConnection(socket) {
    /** Bytes of a request head not complete yet. */
    let pending = null;
    let closing = false;
    const onTimeout = () => socket.destroy();
    const onError = () => socket.destroy();
    const onEnd = () => socket.end();
    const onDrain = () => socket.resume();
    const onClose = () => owned.delete(socket);
    const release = () => {
      owned.delete(socket);
      socket.off("data", onData).off("timeout", onTimeout).off("error", onError).off("end", onEnd).off("drain", onDrain).off("close", onClose);
      socket.setTimeout(0);
    };

    function onData(chunk) {
      if (closing) return;
      const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      let at = 0;
      socket.cork();
      while (at < buf.length) {
        const request = readRequest(buf, at);
        if (request === INCOMPLETE) {
          pending = buf.subarray(at);
          break;
        }
        const bytes = request === NOT_FAST ? undefined : answer(socket, request);
        if (bytes === undefined) {
          socket.uncork();
          release();
          counts.handedOff++;
          // node:http reads these bytes before any the socket receives later.
          socket.unshift(buf.subarray(at));
          return handOff(socket, request !== NOT_FAST);
        }
        counts.fast++;
        socket.write(bytes);
        at = request.next;
        if (request.close) {
          // As node:http does after `Connection: close`: nothing more is read.
          closing = true;
          release();
          socket.end(() => socket.destroy());
          break;
        }
      }
      socket.uncork();
      // A client that sends faster than it reads is held back, as node:http does.
      if (!closing && socket.writableNeedDrain) socket.pause();
    }

    owned.set(socket, () => pending === null && socket.writableLength === 0);
    socket.setTimeout(keepAliveMs);
    socket.on("data", onData).on("timeout", onTimeout).on("error", onError).on("end", onEnd).on("drain", onDrain).on("close", onClose);
  }

  /** Closes the connections this path owns that wait for a request. */
  function closeIdle() {
    for (const [socket, idle] of owned) if (idle()) socket.destroy();
  }

  return { onConnection, counts, closeIdle };
}
