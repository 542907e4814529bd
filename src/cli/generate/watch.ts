import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError } from './exit-codes.js';
import { errorFromGraphql, type WireError } from './graphql-errors.js';
import { asGeneration, FINAL_STATUSES, WATCH, type Generation } from './operations.js';

/** graphql-ws closes the socket with this when the key is missing, bad or revoked. */
const FORBIDDEN = 4403;

export interface GenerationWatch {
  /** Every new version of the generation, in order, ending with its final one. */
  states: AsyncIterable<Generation>;
  close(): Promise<void>;
}

const isCloseEvent = (value: unknown): value is { code: number; reason?: string } =>
  typeof (value as { code?: unknown } | null)?.code === 'number';

function watchError(serverUrl: string, id: string, error: unknown): CliError {
  if (Array.isArray(error)) return errorFromGraphql(error as WireError[]);
  if (isCloseEvent(error) && error.code === FORBIDDEN) {
    return new CliError('USER', 'The server closed the connection: the API key is not (or no longer) valid.');
  }
  const detail = isCloseEvent(error)
    ? `closed with ${error.code}${error.reason ? ` ${error.reason}` : ''}`
    : error instanceof Error
      ? error.message
      : 'connection failed';
  return new CliError(
    'UPSTREAM',
    `Lost the connection to ${serverUrl} (${detail}). Generation ${id} keeps running there; run the same command with ` +
      '--idempotency-key to follow it again.',
  );
}

/**
 * Follows `generationStatus(id)` over graphql-ws. After a dropped connection the client reconnects and
 * subscribes again; the server then starts with the current state, so versions already seen are skipped.
 */
export function watchGeneration(serverUrl: string, key: string, id: string): GenerationWatch {
  const client = createClient({
    url: `${serverUrl.replace(/^http/, 'ws')}/graphql`,
    // Node 20 has no global WebSocket.
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 5,
    shouldRetry: (error) => !(isCloseEvent(error) && error.code === FORBIDDEN),
  });
  const iterator = client.iterate({ query: WATCH, variables: { id } });

  async function* states(): AsyncGenerator<Generation> {
    let lastVersion = -1;
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw errorFromGraphql(result.errors);
        const generation = asGeneration((result.data as { generationStatus?: unknown } | undefined)?.generationStatus);
        if (generation.version <= lastVersion) continue;
        lastVersion = generation.version;
        yield generation;
        if (FINAL_STATUSES.has(generation.status)) return;
      }
    } catch (error) {
      throw error instanceof CliError ? error : watchError(serverUrl, id, error);
    }
    throw new CliError('UNEXPECTED', `The status stream of generation ${id} ended before the generation finished.`);
  }

  return {
    states: states(),
    async close() {
      await iterator.return?.();
      await client.dispose();
    },
  };
}
