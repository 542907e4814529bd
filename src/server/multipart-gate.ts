import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKey } from '../auth/keys.js';
import { GRAPHQL_PATH } from './graphql.js';
import { unauthenticatedMessage } from '../graphql/auth.js';

const isMultipartOperation = (req: IncomingMessage) =>
  req.method === 'POST' &&
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data') &&
  (req.url ?? '').split('?')[0] === GRAPHQL_PATH;

/**
 * Answers a multipart GraphQL request whose key is missing or invalid with 401 before a byte of its body is
 * read: otherwise yoga parses up to 41 MB of frames per request just to refuse it, and anonymous clients could
 * hold that much memory each. The answer is the one the resolver would give (code UNAUTHENTICATED), and the
 * connection closes soon after it, the rest of the body discarded unread. Returns true when it answered.
 */
export async function refuseUnauthenticatedUpload(
  req: IncomingMessage,
  res: ServerResponse,
  authenticate: (authorization: unknown) => Promise<ApiKey | null>,
  /** How long a refused upload's connection stays open for its client to read the answer. */
  lingerMs: number,
): Promise<boolean> {
  if (!isMultipartOperation(req)) return false;
  const authorization = req.headers.authorization;
  // Without either header the CSRF check refuses the request, also before reading its body.
  if (!authorization && !req.headers['x-graphql-yoga-csrf']) return false;
  let key: ApiKey | null;
  try {
    key = await authenticate(authorization);
  } catch {
    // The database cannot be asked now: yoga answers with its retryable 503.
    return false;
  }
  if (key) return false;
  const body = JSON.stringify({
    errors: [{ message: unauthenticatedMessage(authorization ? 'invalid' : 'missing'), extensions: { code: 'UNAUTHENTICATED' } }],
  });
  res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  // A lingering close, as web servers do: what is still coming of the body is read and discarded (never
  // buffered) for a moment, so a client that is still sending reads the 401 instead of a reset connection; a
  // body still arriving after that ends the connection. One that arrived in full keeps it: its client may
  // already be sending its next request on it.
  res.end(body, () => {
    req.resume();
    if (!req.complete) setTimeout(() => !req.complete && req.socket.destroy(), lingerMs).unref();
  });
  return true;
}
