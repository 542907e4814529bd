import { createApp, type App } from './server/compose.js';
import { loadConfig } from './config/index.js';
import { isLoopbackHost } from './contract/tables.js';
import { DirectoryInUseError } from './db/directory-lock.js';
import { ConfigError } from './generations/errors.js';
import { createLogger } from './logger.js';
import { pino } from 'pino';
import prettyStream from 'pino-pretty';
import { developmentKeyPolicy } from './auth/development-key.js';
import { StorageCheckError } from './storage/video-storage.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Readable lines for a person at a terminal in development; JSON everywhere else.
  const pretty = !config.server.production && process.stdout.isTTY;
  const log = createLogger(
    config.server.logLevel,
    pretty ? prettyStream({ colorize: true, translateTime: 'HH:MM:ss.l' }) : pino.destination({ fd: 1, sync: true }),
  );

  // Handlers go in first: a signal that arrives while starting must still shut down cleanly.
  const running: { app?: App } = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, graceMs: config.server.shutdownGraceMs });
    // Whatever has not reached a safe point by then is resumed by another worker once its lease expires.
    setTimeout(() => {
      log.error('shutdown grace period exceeded; exiting now', { graceMs: config.server.shutdownGraceMs });
      process.exit(1);
    }, config.server.shutdownGraceMs).unref();
    Promise.resolve(running.app?.stop()).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { err: error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const started = Date.now();
  const app = await createApp(config, { log });
  running.app = app;
  const url = await app.start();
  if (app.developmentKey) {
    // Shown to the person at the terminal, deliberately outside the logs (which never carry keys).
    process.stderr.write(
      `\nDevelopment API key (stored in ${config.storage.dataDir}/development-key):\n  ${app.developmentKey}\n` +
        `Send it as "Authorization: Bearer <key>"${isLoopbackHost(config.http.host) ? '; the web page and GraphiQL already do' : ''}.\n` +
        (config.segmind.apiKey ? `It may spend $${config.auth.developmentKeyDailyBudgetUsd.toFixed(2)} a day (DEVELOPMENT_KEY_DAILY_BUDGET_USD).\n\n` : '\n'),
    );
  } else if (developmentKeyPolicy(config).enabled && config.server.role !== 'worker') {
    // Otherwise the page and GraphiQL simply ask for a key, and nothing on the terminal says why.
    log.info(
      'no development key: this database already has keys (or the development key was revoked), so none is made; ' +
        'create one with `npm run keys -- create <name>` and enter it in the page',
    );
  } else if (config.segmind.apiKey && config.auth.developmentKey === 'auto' && !config.server.production && config.server.role !== 'worker') {
    log.info('no development key beside a real SEGMIND_API_KEY: create one with `npm run keys -- create <name>`, or set DEVELOPMENT_KEY=on');
  }
  const ready = config.server.role === 'worker' ? 'worker running' : `open ${url}/ to make a video (GraphiQL at ${url}/graphql)`;
  log.info(`reelql is ready: ${ready}`, {
    url,
    role: config.server.role,
    provider: app.provider,
    database: app.database.kind,
    startupMs: Date.now() - started,
  });
}

/** The listen failure of a port someone else holds: a common first-run situation, not a bug, so no stack. */
function isAddressInUse(error: unknown): error is { port: number; address: string } {
  const e = error as { code?: unknown; port?: unknown; address?: unknown } | null;
  return e?.code === 'EADDRINUSE' && typeof e.port === 'number' && typeof e.address === 'string';
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
  } else if (error instanceof DirectoryInUseError) {
    process.stderr.write(`reelql cannot start: ${error.message} Stop that process first, or set DATA_DIR to another directory.\n`);
  } else if (error instanceof StorageCheckError) {
    process.stderr.write(`reelql cannot start: video storage is not usable: ${error.message}\n`);
  } else if (isAddressInUse(error)) {
    process.stderr.write(
      `reelql cannot start: port ${error.port} on ${error.address} is already in use (another reelql, or another program). ` +
        `Stop it, or choose a free port, e.g. PORT=${error.port + 1} npm start.\n`,
    );
  } else {
    process.stderr.write(`reelql failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
