import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The web page's files, ready to serve. Asset names carry a content hash so they can be cached forever. */
export interface WebAssets {
  /** index.html with %APP_JS%, %APP_CSS% and %META% still to fill in. */
  html: string;
  files: Map<string, { body: Buffer; contentType: string }>;
  js: string;
  css: string;
}

const clientDir = new URL('./page/', import.meta.url);
/** Where `npm run build` puts the bundled page next to the compiled server (dist/web/public). */
const prebuiltDir = new URL('./public/', import.meta.url);

const hashed = (name: string, ext: string, body: Buffer) =>
  `/${name}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;

function assemble(html: string, js: Buffer, css: Buffer): WebAssets {
  const jsPath = hashed('app', 'js', js);
  const cssPath = hashed('app', 'css', css);
  return {
    html,
    js: jsPath,
    css: cssPath,
    files: new Map([
      [jsPath, { body: js, contentType: 'text/javascript; charset=utf-8' }],
      [cssPath, { body: css, contentType: 'text/css; charset=utf-8' }],
    ]),
  };
}

/** Bundles src/web/page with esbuild (a development dependency: production serves the prebuilt files). */
export async function bundleWebClient(): Promise<{ html: string; js: Buffer; css: Buffer }> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('main.ts', clientDir))],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari15'],
    outdir: 'out',
    entryNames: 'app',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = (ext: string) => {
    const file = result.outputFiles.find((candidate) => candidate.path.endsWith(ext));
    if (!file) throw new Error(`esbuild produced no ${ext} file for the web page`);
    return Buffer.from(file.contents);
  };
  return { html: await readFile(new URL('index.html', clientDir), 'utf8'), js: output('.js'), css: output('.css') };
}

/** The prebuilt page when there is one (compiled server), else a fresh bundle of the sources. */
export async function loadWebAssets(): Promise<WebAssets> {
  const prebuilt = await Promise.all(
    ['index.html', 'app.js', 'app.css'].map((name) => readFile(new URL(name, prebuiltDir)).catch(() => null)),
  );
  const [html, js, css] = prebuilt;
  if (html && js && css) return assemble(html.toString('utf8'), js, css);
  const bundled = await bundleWebClient();
  return assemble(bundled.html, bundled.js, bundled.css);
}
