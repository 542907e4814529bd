import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { API_ERROR_CODES } from '../contract/tables.js';

/** One entry of the route table: answers the request and returns true, or returns false to pass it on. */
export interface Route {
  name: string;
  handle(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}

export interface HttpOptions {
  log: Logger;
  /** Tried in order; the first that answers wins. */
  routes: readonly Route[];
  /** Largest body, by Content-Length, of a JSON request and of a multipart (frame upload) request. */
  bodyLimits: { jsonBytes: number; multipartBytes: number };
}

export interface HttpServer {
  /** Listens (port 0 picks a free one) and returns the port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting, closes idle keep-alive connections, runs `whileClosing` (WebSockets get their close
   * frame), then cuts what is left and waits until the server is closed.
   */
  close(whileClosing: () => Promise<void>): Promise<void>;
}

const REQUEST_ID = Symbol('requestId');
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes and scrapes come every few seconds: logged at debug so they do not drown the requests people make. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The id that ties every log line of one HTTP request (or one WebSocket connection) together: the client's
 * `x-request-id` when it is a plain token, otherwise a new one. The same request always gets the same id.
 */
export function requestIdOf(req: IncomingMessage): string {
  const tagged = req as IncomingMessage & { [REQUEST_ID]?: string };
  if (!tagged[REQUEST_ID]) {
    const given = req.headers['x-request-id'];
    tagged[REQUEST_ID] = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  }
  return tagged[REQUEST_ID];
}

/**
 * Errors that only mean the other end went away: a closed tab, a killed CLI, a dropped network. They are normal
 * (every Ctrl-C of the generate command causes one), so they are logged at debug, on one line, never as failures.
 */
const CLIENT_GONE_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNABORTED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isClientGone(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && CLIENT_GONE_CODES.has(code)) || name === 'AbortError';
}

/** The one line a client-gone error is logged with: its code and message, no stack. */
export function clientGoneFields(error: unknown): { code: string | undefined; reason: string } {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'string' ? code : undefined, reason: typeof message === 'string' ? message : String(error) };
}

/** Refuses bodies over the limit before reading them (the Content-Length is required for that). */
function bodyRefusal(req: IncomingMessage, limits: HttpOptions['bodyLimits']): { status: number; message: string } | null {
  if (req.method !== 'POST') return null;
  const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/form-data');
  const limit = multipart ? limits.multipartBytes : limits.jsonBytes;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'Send a Content-Length with the request body.' } : null;
  }
  if (Number(length) > limit) {
    return { status: 413, message: `The request body is larger than ${Math.round(limit / 1024 / 1024)} MB.` };
  }
  return null;
}

/** Serves `server`'s requests: request ids and logging, body-size refusal, then the route table. */
export function serveRoutes(server: Server, { log, routes, bodyLimits }: HttpOptions): HttpServer {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const entry of routes) if (await entry.handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.\n');
  }

  server.on('request', (req, res) => {
    const requestId = requestIdOf(req);
    const path = req.url?.split('?')[0];
    res.setHeader('x-request-id', requestId);
    const started = Date.now();
    res.once('finish', () => {
      log[QUIET_PATHS.has(req.url ?? '') ? 'debug' : 'info']('http request', {
        requestId,
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Date.now() - started,
      });
    });
    const refusal = bodyRefusal(req, bodyLimits);
    if (refusal) {
      res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: API_ERROR_CODES.BAD_REQUEST } }] }));
      req.resume();
      return;
    }
    route(req, res).catch((error: unknown) => {
      log.error('request failed', { err: error, requestId, path });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });

  return {
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    },
    async close(whileClosing) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await whileClosing();
      server.closeAllConnections();
      await closed;
    },
  };
}
