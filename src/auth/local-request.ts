import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../config/index.js';

/** Headers a proxy adds: a request that carries one may come from anywhere, whatever its Host says. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];

/** What a Host header may hold (a name or address and a port); anything else, `user@host` included, is refused. */
const HOST_SHAPE = /^[a-z0-9.\-[\]:]+$/;

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Whether a request was made on this machine by the person using it: addressed to a loopback name (`localhost`,
 * `127.0.0.1` or `[::1]`, any port), so a page whose own name was rebound to 127.0.0.1 is refused; and not sent
 * by a page of another origin (an `Origin` other than the one addressed, or a `Sec-Fetch-Site` other than
 * `same-origin` or `none`), so another website, or another server on this machine, is refused too. A request
 * typed or bookmarked, or made by this server's own pages, passes. Only such a request may see the development key.
 */
export function isLocalSameOriginRequest({ headers }: Pick<IncomingMessage, 'headers'>): boolean {
  const host = single(headers.host)?.toLowerCase() ?? '';
  if (!HOST_SHAPE.test(host)) return false;
  let addressed: URL;
  try {
    addressed = new URL(`http://${host}`);
  } catch {
    return false;
  }
  if (!isLoopbackHost(addressed.hostname)) return false;
  if (PROXY_HEADERS.some((name) => headers[name] !== undefined)) return false;
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = single(headers.origin);
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    return from.origin === new URL(`${from.protocol}//${host}`).origin;
  } catch {
    return false;
  }
}
