import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ConnectionInitMessage, type ServerOptions } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { clientGoneFields, isClientGone } from './client-gone.js';
import { isDatabaseUnavailable } from '../db/open.js';
import type { Logger } from '../logger.js';

/** What every graphql-ws context carries from this transport. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/** A message as text: ws hands over a Buffer, or fragments, or an ArrayBuffer. */
const textOf = (data: RawData) =>
  (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();

/** graphql-ws closes with 1011 on a server fault; the reason is generic (details go to the logs only). */
const INTERNAL_ERROR_REASON = 'Internal server error';
/** The WebSocket close code "Try Again Later" (RFC 6455 registry), which graphql-ws clients retry. */
const TRY_AGAIN_LATER = 1013;
const DATABASE_UNAVAILABLE_REASON = 'The database is unavailable for a moment; reconnect.';

/**
 * graphql-ws over a `ws` server, like graphql-ws's own `use/ws` adapter but logging through our logger: its
 * adapter prints every failed write to a client that went away as an "Internal error" with a stack on stderr.
 * Here a client that went away is a debug line, a client that broke the WebSocket protocol (too large a frame,
 * a bad frame) an info line, and only a fault of ours an error with its stack.
 */
export function serveGraphqlWs<P extends ConnectionInitMessage['payload'], E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  log: Logger,
  keepAliveMs = 12_000,
): void {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => {
    // ws repeats the HTTP server's own errors; a failed listen is reported once, by start-up.
    if ((error as NodeJS.ErrnoException).syscall === 'listen') return;
    log.error('WebSocket server error', { err: error });
  });

  wss.on('connection', (socket, request) => {
    // ws has already closed the socket (with 1009, 1002, …) when it emits this: the client sent something invalid.
    socket.once('error', (error) => {
      if (isClientGone(error)) log.debug('WebSocket client went away', clientGoneFields(error));
      else log.info('WebSocket client broke the protocol; connection closed', clientGoneFields(error));
    });

    // A ping every keepAliveMs; a client that does not answer in as long again is cut off.
    let pongWait: NodeJS.Timeout | undefined;
    const pingInterval = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(textOf(data));
            } catch (error) {
              // Judged by the socket first: a driver error (ECONNRESET from Postgres) is no sign the client left.
              if (socket.readyState !== socket.OPEN || (isClientGone(error) && !isDatabaseUnavailable(error))) {
                log.debug('WebSocket client went away', clientGoneFields(error));
                socket.terminate();
                return;
              }
              if (isDatabaseUnavailable(error)) {
                // 1013 Try Again Later: graphql-ws clients reconnect by themselves, and get the current state.
                log.warn('database unavailable while handling a WebSocket message; the client is asked to reconnect', { err: error });
                socket.close(TRY_AGAIN_LATER, DATABASE_UNAVAILABLE_REASON);
                return;
              }
              log.error('WebSocket message handling failed', { err: error });
              socket.close(CloseCode.InternalServerError, INTERNAL_ERROR_REASON);
            }
          }),
      },
      { socket, request } as WsExtra & Partial<E>,
    );

    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pingInterval);
      void closed(code, String(reason));
    });
  });
}
