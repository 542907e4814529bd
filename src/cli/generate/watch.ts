import { CloseCode, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { WatchDocument, type CliGenerationFragment } from '../../contract/generated/cli/graphql.js';
import { CliError, errorFromGraphql, type WireError } from './exit-codes.js';

/** A generation as this command reads it (the CliGeneration fragment of src/contract/operations/cli.graphql). */
export type Generation = CliGenerationFragment;

export const FINAL_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);
const STATUSES: ReadonlySet<string> = new Set([...FINAL_STATUSES, 'QUEUED', 'SUBMITTED', 'PROCESSING', 'STORING']);

/**
 * Checks what the server sent is a generation this command can follow; a bug or garbage otherwise. The
 * generated type says what a correct server sends, not what arrives on the wire.
 */
export function asGeneration(value: unknown): Generation {
  const g = value as Partial<Generation> | null | undefined;
  const ok =
    typeof g?.id === 'string' &&
    typeof g.status === 'string' &&
    STATUSES.has(g.status) &&
    typeof g.version === 'number' &&
    typeof g.progress === 'number' &&
    Array.isArray(g.events) &&
    (g.status !== 'SUCCEEDED' || typeof g.video?.url === 'string');
  if (!ok) throw new CliError('UNEXPECTED', `The server sent a generation this command cannot read: ${JSON.stringify(value)?.slice(0, 300)}`);
  return g as Generation;
}

export interface GenerationWatch {
  /** Every new version of the generation, in order, ending with its final one. */
  states: AsyncIterable<Generation>;
  close(): Promise<void>;
}

const isCloseEvent = (value: unknown): value is { code: number; reason?: string } =>
  typeof (value as { code?: unknown } | null)?.code === 'number';

/** graphql-ws closes the socket with Forbidden when the key is missing, bad or revoked. */
const isForbidden = (error: unknown) => isCloseEvent(error) && error.code === (CloseCode.Forbidden as number);

function watchError(serverUrl: string, id: string, error: unknown): CliError {
  if (Array.isArray(error)) return errorFromGraphql(error as WireError[]);
  if (isForbidden(error)) {
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
    shouldRetry: (error) => !isForbidden(error),
  });
  const iterator = client.iterate({ query: WatchDocument.toString(), variables: { id } });

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
