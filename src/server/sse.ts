import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { Plugin } from 'graphql-yoga';
import type { ApiKey, Sessions } from '../auth/keys.js';
import { subscriptionsPerKeyMessage } from '../config/index.js';
import { API_ERROR_CODES } from '../contract/tables.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../db/open.js';
import { unauthenticatedMessage } from '../graphql/builder.js';

/** Where the graphql-sse protocol is served: both its modes (single connection, distinct connections). */
export const SSE_PATH = '/graphql/stream';

export interface SseOptions {
  authenticate: (authorization: unknown) => Promise<ApiKey | null>;
  sessions: Sessions;
  /** Time a reserved stream (PUT) has to be opened (GET) before it is dropped and its slot given back. */
  reservationMs: number;
}

/** graphql-sse's own answer shape: a body and its init. */
type Refusal = [string, { status: number; statusText: string; headers: Record<string, string> }];
/**
 * A refusal as a GraphQL error body. The message is the status text too: graphql-sse's client reports a refused
 * request as "Server responded with <status>: <status text>" and never reads the body.
 */
const refusal = (status: number, code: string, message: string, headers: Record<string, string> = {}): Refusal => [
  JSON.stringify({ errors: [{ message, extensions: { code } }] }),
  { status, statusText: message, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } },
];

interface Reservation {
  keyId: string;
  /** The stream's connection (GET) arrived: it lives until that connection closes. */
  open(req: Request): void;
}

/** What graphql-sse's handler passes to `authenticate`: the fetch Request is `raw`. */
interface SseRequest {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
  raw: Request;
}

/**
 * GraphQL over SSE as the graphql-sse client speaks it, on {@link SSE_PATH}, through yoga's plugin (so the same
 * envelop pipeline, limits and context apply as on /graphql). Every request needs a valid key, and a stream
 * reserved for the single-connection mode belongs to the key that reserved it: another key's requests with its
 * token are answered as if it did not exist. A reservation holds one of the key's MAX_SUBSCRIPTIONS_PER_KEY slots
 * while it lives (each operation in it holds its own), is dropped when not opened within `reservationMs`, and
 * ends when its connection closes or the key is revoked. yoga's own SSE on /graphql keeps working alongside.
 * The path is answered before yoga's CSRF check; it needs none, since only a bearer key (which no browser attaches
 * on its own) gets past `authenticate`.
 */
export function useGraphqlSse(options: SseOptions): Plugin {
  const reservations = new Map<string, Reservation>();
  /** The node response of each request, to cut an open stream when its key is revoked. */
  const responses = new WeakMap<Request, ServerResponse>();
  /** Requests made here to drop a reservation's stream inside graphql-sse's handler. */
  const internal = new WeakSet<Request>();

  const tokenOf = (req: SseRequest) => req.headers.get(TOKEN_HEADER_KEY) ?? new URL(req.url, 'http://localhost').searchParams.get(TOKEN_QUERY_KEY);

  /** graphql-sse keeps a reserved stream until it is connected and closed: connect it and close it at once. */
  const dropStream = (token: string) => {
    const request = new Request(`http://localhost${SSE_PATH}`, {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
      signal: AbortSignal.abort(),
    });
    internal.add(request);
    void Promise.resolve(sse.onRequest?.({ request, url: new URL(request.url), endResponse: () => {}, serverContext: {} } as never)).catch(
      () => {},
    );
  };

  function reserve(key: ApiKey): string {
    const token = randomUUID();
    let connection: ServerResponse | undefined;
    let released = false;
    let opened = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(expiry);
      untrack();
      reservations.delete(token);
    };
    const end = () => {
      const open = connection;
      release();
      if (open) open.destroy();
      else dropStream(token);
    };
    const untrack = options.sessions.track(key.id, end, 'subscription');
    const expiry = setTimeout(end, options.reservationMs);
    expiry.unref();
    reservations.set(token, {
      keyId: key.id,
      open(req) {
        // graphql-sse answers a second connection with 409; only the first one's end ends the stream.
        if (opened) return;
        opened = true;
        // From now on the stream lives as long as its connection.
        clearTimeout(expiry);
        connection = responses.get(req);
        req.signal.addEventListener('abort', release, { once: true });
      },
    });
    return token;
  }

  async function authenticate(req: SseRequest): Promise<Refusal | string | undefined> {
    const token = tokenOf(req);
    if (internal.has(req.raw)) return token ?? undefined;
    const authorization = req.headers.get('authorization');
    let key: ApiKey | null;
    try {
      key = await options.authenticate(authorization);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return refusal(503, API_ERROR_CODES.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE, { 'retry-after': '5' });
    }
    if (!key) return refusal(401, API_ERROR_CODES.UNAUTHENTICATED, unauthenticatedMessage(authorization ? 'invalid' : 'missing'));
    if (req.method === 'PUT') {
      const { sessions } = options;
      if (sessions.count(key.id, 'subscription') >= sessions.subscriptionsPerKey) {
        return refusal(429, API_ERROR_CODES.RATE_LIMITED, subscriptionsPerKeyMessage(sessions.subscriptionsPerKey));
      }
      return reserve(key);
    }
    // No token: the distinct-connections mode, one stream per operation.
    if (token === null) return undefined;
    const reservation = reservations.get(token);
    if (reservation?.keyId !== key.id) {
      return refusal(404, API_ERROR_CODES.NOT_FOUND, 'No such event stream: reserve one with PUT (graphql-sse does) before using its token.');
    }
    // What graphql-sse's handler takes for the stream's connection, whatever the method.
    if (req.headers.get('accept') === 'text/event-stream') reservation.open(req.raw);
    return token;
  }

  const sse = useGraphQLSSE({ endpoint: SSE_PATH, authenticate: authenticate as never });
  return {
    ...sse,
    onRequest(payload) {
      const res = (payload.serverContext as { res?: ServerResponse } | undefined)?.res;
      if (res) responses.set(payload.request, res);
      return sse.onRequest?.(payload);
    },
  };
}
