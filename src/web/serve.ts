import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebAssets } from './bundle.js';

export interface PageOptions {
  /** SIMULATOR or SEGMIND: the page warns when videos are samples. */
  provider: string;
  /** How long a job usually takes, so the page promises what this server does (the simulator is quick). */
  expectedJobSeconds: number;
  /** Pre-filled for a development server, so a newcomer needs no setup; only in answers to requests `shownTo` accepts. */
  developmentKey?: { key: string; shownTo(req: IncomingMessage): boolean };
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The page runs only its own script and talks only to this server (HTTP and WebSocket).
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; " +
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Serves the web page at `/` and its hashed assets. Returns false for any other path. */
export function createPageHandler(assets: WebAssets, options: PageOptions) {
  const render = (developmentKey?: string) => {
    const meta = [
      `<meta name="reelql-provider" content="${escapeAttribute(options.provider)}">`,
      `<meta name="reelql-expected-job-seconds" content="${Math.round(options.expectedJobSeconds)}">`,
      ...(developmentKey ? [`<meta name="reelql-development-key" content="${escapeAttribute(developmentKey)}">`] : []),
    ].join('\n    ');
    return Buffer.from(assets.html.replace('%APP_JS%', assets.js).replace('%APP_CSS%', assets.css).replace('%META%', meta));
  };
  const html = render();
  const htmlWithKey = options.developmentKey && render(options.developmentKey.key);

  return function handlePage(req: IncomingMessage, res: ServerResponse): boolean {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = assets.files.get(pathname);
    if (pathname !== '/' && pathname !== '/index.html' && !asset) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed: use GET or HEAD.\n');
      return true;
    }
    const body = asset ? asset.body : htmlWithKey && options.developmentKey?.shownTo(req) ? htmlWithKey : html;
    res.writeHead(200, {
      'content-type': asset ? asset.contentType : 'text/html; charset=utf-8',
      'content-length': body.length,
      // Assets are named by their content; the page itself may carry a key and changes with every build.
      'cache-control': asset ? 'public, max-age=31536000, immutable' : 'no-store',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
