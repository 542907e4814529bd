import net, { type AddressInfo } from 'node:net';

/**
 * A loopback TCP relay in front of Postgres that reads what clients send (the frontend half of the wire protocol)
 * and records every statement they have the server run: each simple Query, and each Execute of the extended
 * protocol with the SQL of the statement its portal was bound to. Everything is passed on unchanged, so the app
 * behind it runs on its real driver against the real server, and no statement can reach Postgres unseen.
 * Plain TCP only: a client that asks for TLS is refused by this relay's Postgres (trust, no SSL) anyway.
 */

export interface StatementCounter {
  /** The database URL to give the app: the same database, through the relay. */
  url: string;
  /** The SQL of every statement run through the relay so far, in the order sent. */
  statements(): readonly string[];
  close(): Promise<void>;
}

/** Startup-phase request codes after which the client sends another startup message (SSL, GSSAPI encryption). */
const NEGOTIATION_CODES = new Set([80_877_103, 80_877_104]);

/** Reads one connection's frontend messages as they stream by; `record` gets each statement run. */
function createFrontendReader(record: (sql: string) => void) {
  let pending = Buffer.alloc(0);
  let startup = true;
  const prepared = new Map<string, string>();
  const portals = new Map<string, string>();
  const cstring = (body: Buffer, offset: number) => {
    const end = body.indexOf(0, offset);
    return { value: body.toString('utf8', offset, end), next: end + 1 };
  };
  const handle = (type: string, body: Buffer) => {
    if (type === 'Q') record(cstring(body, 0).value);
    if (type === 'P') {
      const name = cstring(body, 0);
      prepared.set(name.value, cstring(body, name.next).value);
    }
    if (type === 'B') {
      const portal = cstring(body, 0);
      portals.set(portal.value, prepared.get(cstring(body, portal.next).value) ?? '<unknown statement>');
    }
    if (type === 'E') record(portals.get(cstring(body, 0).value) ?? '<unknown portal>');
  };
  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (startup) {
        if (pending.length < 8 || pending.length < pending.readInt32BE(0)) return;
        const length = pending.readInt32BE(0);
        startup = NEGOTIATION_CODES.has(pending.readInt32BE(4));
        pending = pending.subarray(length);
        continue;
      }
      if (pending.length < 5) return;
      const total = 1 + pending.readInt32BE(1);
      if (pending.length < total) return;
      handle(String.fromCharCode(pending[0]!), pending.subarray(5, total));
      pending = pending.subarray(total);
    }
  };
}

export async function startStatementCounter(databaseUrl: string): Promise<StatementCounter> {
  const target = new URL(databaseUrl);
  const statements: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const read = createFrontendReader((sql) => statements.push(sql));
    client.on('data', read);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    statements: () => statements,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
