import { CloseCode, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { WatchDocument, WatchStoryDocument, type CliGenerationFragment, type CliStoryFragment } from '../../contract/generated/cli/graphql.js';
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

/** A story as this command reads it (the CliStory fragment). */
export type Story = CliStoryFragment;

/** Checks what the server sent is a story this command can follow. */
export function asStory(value: unknown): Story {
  const s = value as Partial<Story> | null | undefined;
  const ok =
    typeof s?.id === 'string' &&
    typeof s.status === 'string' &&
    STATUSES.has(s.status) &&
    typeof s.version === 'number' &&
    typeof s.progress === 'number' &&
    Array.isArray(s.shots) &&
    (s.status !== 'SUCCEEDED' || typeof s.video?.url === 'string');
  if (!ok) throw new CliError('UNEXPECTED', `The server sent a story this command cannot read: ${JSON.stringify(value)?.slice(0, 300)}`);
  return s as Story;
}

/** Something followed over a status subscription: a generation or a story. */
export interface Followed {
  id: string;
  status: string;
  version: number;
}

export interface StatusWatch<T extends Followed> {
  /** Every new version, in order, ending with the final one. */
  states: AsyncIterable<T>;
  close(): Promise<void>;
}

export type GenerationWatch = StatusWatch<Generation>;

const isCloseEvent = (value: unknown): value is { code: number; reason?: string } =>
  typeof (value as { code?: unknown } | null)?.code === 'number';

/** graphql-ws closes the socket with Forbidden when the key is missing, bad or revoked. */
const isForbidden = (error: unknown) => isCloseEvent(error) && error.code === (CloseCode.Forbidden as number);

function watchError(serverUrl: string, what: string, error: unknown): CliError {
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
    `Lost the connection to ${serverUrl} (${detail}). ${what} keeps running there; run the same command with ` +
      '--idempotency-key to follow it again.',
  );
}

/** What one status subscription is: its document, the field it answers in, and how its payload is checked. */
interface Subscription<T extends Followed> {
  /** A generated document: its text is what is sent. */
  document: { toString(): string };
  field: string;
  parse: (value: unknown) => T;
  /** e.g. "Generation <id>", for messages. */
  what: string;
}

/**
 * Follows a status subscription over graphql-ws. After a dropped connection the client reconnects and
 * subscribes again; the server then starts with the current state, so versions already seen are skipped.
 */
function watchStates<T extends Followed>(serverUrl: string, key: string, id: string, subscription: Subscription<T>): StatusWatch<T> {
  const client = createClient({
    url: `${serverUrl.replace(/^http/, 'ws')}/graphql`,
    // Node 20 has no global WebSocket.
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 5,
    shouldRetry: (error) => !isForbidden(error),
  });
  const iterator = client.iterate({ query: subscription.document.toString(), variables: { id } });

  async function* states(): AsyncGenerator<T> {
    let lastVersion = -1;
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw errorFromGraphql(result.errors);
        const state = subscription.parse((result.data as Record<string, unknown> | undefined)?.[subscription.field]);
        if (state.version <= lastVersion) continue;
        lastVersion = state.version;
        yield state;
        if (FINAL_STATUSES.has(state.status)) return;
      }
    } catch (error) {
      throw error instanceof CliError ? error : watchError(serverUrl, subscription.what, error);
    }
    throw new CliError('UNEXPECTED', `The status stream of ${subscription.what.toLowerCase()} ended before it finished.`);
  }

  return {
    states: states(),
    async close() {
      await iterator.return?.();
      await client.dispose();
    },
  };
}

/** Follows `generationStatus(id)`. */
export const watchGeneration = (serverUrl: string, key: string, id: string): GenerationWatch =>
  watchStates(serverUrl, key, id, { document: WatchDocument, field: 'generationStatus', parse: asGeneration, what: `Generation ${id}` });

/** Follows `storyStatus(id)`. */
export const watchStory = (serverUrl: string, key: string, id: string): StatusWatch<Story> =>
  watchStates(serverUrl, key, id, { document: WatchStoryDocument, field: 'storyStatus', parse: asStory, what: `Story ${id}` });
