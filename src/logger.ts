import { pino, type DestinationStream } from 'pino';
import type { LogLevel } from './config/index.js';

export type LogFields = Record<string, unknown>;

/** A structured logger (pino underneath): one JSON object per line. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * Anything that may hold a secret is replaced before a line is written: API keys, authorization headers
 * and connection parameters, wherever they appear in the logged fields.
 */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'segmindApiKey',
  '*.segmindApiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'connectionParams',
  '*.connectionParams',
  'databaseUrl',
  '*.databaseUrl',
  'webhookSecret',
  '*.webhookSecret',
  'previousWebhookSecret',
  '*.previousWebhookSecret',
  'secrets',
  '*.secrets',
];

function wrap(logger: pino.Logger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    child: (fields) => lazyChild(logger, fields),
  };
}

/**
 * A child logger made only when it first writes a line: every request gets one, and most requests log nothing
 * at the configured level, while making a pino child (its bindings serialized, redaction set up) costs CPU.
 */
function lazyChild(parent: pino.Logger, fields: LogFields): Logger {
  let logger: pino.Logger | undefined;
  const write = (level: 'debug' | 'info' | 'warn' | 'error', message: string, lineFields?: LogFields) => {
    if (!parent.isLevelEnabled(level)) return;
    logger ??= parent.child(fields);
    logger[level](lineFields ?? {}, message);
  };
  return {
    debug: (message, lineFields) => write('debug', message, lineFields),
    info: (message, lineFields) => write('info', message, lineFields),
    warn: (message, lineFields) => write('warn', message, lineFields),
    error: (message, lineFields) => write('error', message, lineFields),
    child: (more) => lazyChild(parent, { ...fields, ...more }),
  };
}

/** A logger writing JSON lines to `destination` (a file descriptor stream, a pretty printer, or a test buffer). */
export function createLogger(level: LogLevel, destination: DestinationStream): Logger {
  return wrap(
    pino(
      {
        level,
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: pino.stdSerializers.err },
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      },
      destination,
    ),
  );
}

/** A destination that hands every line to `write`, for tests and tools that keep logs in memory. */
export const lineDestination = (write: (line: string) => void): DestinationStream => ({ write });
