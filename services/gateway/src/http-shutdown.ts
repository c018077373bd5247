import type { Server, ServerResponse } from 'node:http';

// Graceful close of the REST server. server.close() stops accepting connections and waits for the
// open ones to end, but a keep-alive connection whose client keeps sending requests never ends: the
// fault drill (SIGTERM under load) saw the gateway serve a labeller for 25 s after SIGTERM and then
// exit 1 on the shutdown timeout. So once closing, every response still to be written says
// `Connection: close` (Node then ends the socket after it), and a connection that goes idle is
// closed at once. Requests in flight finish; nothing new starts on an old connection.

export interface HttpShutdown {
  /** Stops accepting, lets in-flight requests finish, ends keep-alive connections; resolves when all are closed. */
  close(): Promise<void>;
}

export function trackHttpShutdown(server: Server): HttpShutdown {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  // Before the application's own listener, which may answer synchronously.
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    res.once('finish', () => {
      // Its connection may now be idle (a response whose headers left before closing began).
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
