/**
 * Scenario 7's baseline: a bare `node:http` server that streams one file with `fs.createReadStream`, with
 * single-range support (206) and nothing else. `node --import tsx bench/serving-baseline.ts <file>` prints
 * `listening <url>` and stops on SIGTERM.
 */

import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.argv[2];
if (!file) {
  console.error('usage: node --import tsx bench/serving-baseline.ts <file>');
  process.exit(2);
}
const size = fs.statSync(file).size;
const server = createServer((req, res) => {
  const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  const end = match ? Math.min(Number(match[2]), size - 1) : size - 1;
  res.writeHead(match ? 206 : 200, {
    'content-type': 'video/mp4',
    'content-length': end - start + 1,
    ...(match && { 'content-range': `bytes ${start}-${end}/${size}` }),
  });
  const stream = fs.createReadStream(file, { start, end });
  stream.pipe(res);
  res.once('close', () => stream.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
