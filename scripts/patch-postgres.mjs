// postgres.js 3.4.9 can throw "Cannot read properties of null (reading 'write')" from a deferred write that
// fires after its socket closed while Postgres restarts (porsager/postgres#1154, fixes not yet released).
// That uncaught exception would end the server, so until a fixed release exists this guards the write. The
// query on that connection is still failed by the driver's own close handling and retried by our code.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const original = 'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)';
const guarded = 'function nextWrite(fn) {\n    if (!socket) return (chunk = nextWriteTimer = null, false) // reelql: socket closed\n    const x = socket.write(chunk, fn)';
let patched = 0;
for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const path = new URL(`../node_modules/postgres/${file}`, import.meta.url);
  if (!existsSync(path)) continue;
  const source = readFileSync(path, 'utf8');
  if (source.includes('reelql: socket closed')) continue;
  if (!source.includes(original)) {
    console.warn(`postgres.js ${file} changed; the write guard was not applied (check whether it is still needed).`);
    continue;
  }
  writeFileSync(path, source.replace(original, guarded));
  patched += 1;
}
if (patched) console.log(`Guarded postgres.js deferred writes in ${patched} file(s).`);
