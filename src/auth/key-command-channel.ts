import fs from 'node:fs/promises';
import { createServer, request } from 'node:http';
import path from 'node:path';
import type { Database, Db } from '../db/open.js';
import type { Logger } from '../logger.js';
import { failureLine, parseKeyCommand, runKeyCommand, type KeyCommand, type KeyCommandResult } from './key-commands.js';

/**
 * How `npm run keys` reaches a server that holds the embedded database: HTTP over a Unix socket in the data
 * directory, readable and writable by the owner only, so only the user who runs the server can manage keys.
 * The server runs each command on its own connection, so the change is seen at once (a revocation closes
 * open sockets) and PGlite's files are never opened by a second process.
 */
export const keyCommandSocket = (dataDir: string) => path.join(dataDir, 'admin.sock');

const MAX_COMMAND_BYTES = 16 * 1024;

export interface KeyCommandChannel {
  close(): Promise<void>;
}

/**
 * Serves key commands for a process holding an embedded database on disk (nothing to do otherwise). A server
 * that cannot open the socket still runs; the keys command then says what to do.
 */
export async function openKeyCommandChannel(database: Database, log: Logger): Promise<KeyCommandChannel | undefined> {
  if (!database.directory) return undefined;
  const socketPath = keyCommandSocket(database.directory);
  try {
    return await serveKeyCommands({ socketPath, db: database.db, log });
  } catch (error) {
    log.warn('cannot serve the keys command; stop the server to manage keys', { socketPath, err: error });
    return undefined;
  }
}

/** Serves key commands on `socketPath`. Call it only while holding the data directory's lock. */
export async function serveKeyCommands({ socketPath, db, log }: { socketPath: string; db: Db; log: Logger }): Promise<KeyCommandChannel> {
  // A socket file left by a process that died: nobody else serves it, since we hold the directory's lock.
  await fs.rm(socketPath, { force: true });
  const server = createServer((req, res) => {
    const answer = (status: number, result: KeyCommandResult) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    if (req.method !== 'POST' || req.url !== '/key-command') {
      answer(404, { ok: false, message: 'Unknown request: send POST /key-command.' });
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_COMMAND_BYTES) req.destroy();
    });
    req.on('end', () => {
      const command = parseJson(body);
      if (!command) return answer(400, { ok: false, message: 'Not a key command; use npm run keys.' });
      runKeyCommand(db, command).then(
        (result) => {
          log.info('key command', { command: command.command, ...logFields(command), ok: result.ok });
          answer(200, result);
        },
        (error: unknown) => {
          log.error('key command failed', { command: command.command, err: error });
          answer(200, { ok: false, message: `The server could not run the command: ${failureLine(error)}` });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fs.chmod(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Why a connection to the socket fails when nobody serves it to us: no socket, one left behind by a process
 * that is gone, one of another user, a path too long for a socket. The caller then looks at who holds the lock.
 */
const NOT_SERVED = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'ENOTSOCK']);

/** Sends a command to the server serving `socketPath`; undefined when no server answers there. */
export function sendKeyCommand(socketPath: string, command: KeyCommand, timeoutMs: number): Promise<KeyCommandResult | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent: false, path: '/key-command', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const result = parseResult(body);
        if (result) resolve(result);
        else reject(new Error(`the server at ${socketPath} answered ${res.statusCode} with something that is not a result`));
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`the server at ${socketPath} did not answer in ${timeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (NOT_SERVED.has(error.code ?? '')) resolve(undefined);
      else reject(error);
    });
    req.end(JSON.stringify(command));
  });
}

function parseJson(body: string): KeyCommand | null {
  try {
    return parseKeyCommand(JSON.parse(body));
  } catch {
    return null;
  }
}

function parseResult(body: string): KeyCommandResult | undefined {
  try {
    const value = JSON.parse(body) as Partial<KeyCommandResult>;
    if (value.ok === true && typeof value.output === 'string') return value as KeyCommandResult;
    if (value.ok === false && typeof value.message === 'string') return value as KeyCommandResult;
  } catch {
    // Not a result: reported by the caller.
  }
  return undefined;
}

/** What the log says about a command: names, never keys. */
const logFields = (command: KeyCommand) =>
  command.command === 'create' ? { name: command.name } : command.command === 'revoke' ? { target: command.target } : {};
