// What keeps a closing HTTP server open, ended: server.close() stops the listener and closes the
// connections idle at that moment, then waits for every other one to end by itself. Two kinds never
// do soon: a connection opened without a request yet (browsers open spare ones ahead of need; Node
// counts it active, not idle), and a keep-alive connection whose answer was under way at close and
// finished later (it then idles for the keep-alive timeout). So while closing, every answer that
// finishes closes the connections left idle, and once none is under way every connection is ended.
import type { Server } from 'node:http';

/** Ends a closing server's connections as its answers finish; see the file's comment. */
export interface ConnectionDrain {
  /** The server is closing: end idle connections as answers finish, all of them once none is under way or after `boundMs`. */
  closing(boundMs: number): void;
}

/** Watches the server's answers under way (every request until its response closes, finished or aborted). */
export function drainConnections(server: Server): ConnectionDrain {
  let underWay = 0;
  let closing = false;
  const sweep = (): void => {
    if (!closing) return;
    // nothing under way: what is left is idle or has sent no request, and would hold close() open
    if (underWay === 0) server.closeAllConnections();
    else server.closeIdleConnections();
  };
  server.on('request', (_request, response) => {
    underWay++;
    response.once('close', () => {
      underWay--;
      sweep();
    });
  });
  return {
    closing(boundMs) {
      if (closing) return;
      closing = true;
      // once the listener is closed (server.close() runs after the preClose hooks), so no connection
      // accepted meanwhile is left open
      const afterListener = (): void => {
        if (server.listening) setTimeout(afterListener, 10).unref();
        else sweep();
      };
      setImmediate(afterListener);
      // an answer that never ends (a client that stopped reading a stream) does not hold close() open either
      setTimeout(() => server.closeAllConnections(), boundMs).unref();
    },
  };
}
