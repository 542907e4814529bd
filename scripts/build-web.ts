// Bundles the web page into dist/web/public, where the compiled server serves it from (no esbuild at run time).
import { mkdir, writeFile } from 'node:fs/promises';
import { bundleWebClient } from '../src/web/bundle.js';

const out = new URL('../dist/web/public/', import.meta.url);
const { html, js, css } = await bundleWebClient();
await mkdir(out, { recursive: true });
await Promise.all([
  writeFile(new URL('index.html', out), html),
  writeFile(new URL('app.js', out), js),
  writeFile(new URL('app.css', out), css),
]);
console.log(`web page: app.js ${js.length} bytes, app.css ${css.length} bytes`);
