import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ids = new WeakMap<IncomingMessage, string>();
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id that ties every log line of one HTTP request (or one WebSocket connection) together: the client's
 * `x-request-id` when it is a plain token, otherwise a new one. The same request always gets the same id.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (!id) {
    const given = req.headers['x-request-id'];
    id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
    ids.set(req, id);
  }
  return id;
}
