import { CloseCode, createClient, type Client } from 'graphql-ws';
import { API_ERROR_CODES } from '../../contract/tables.js';
import type { TypedDocumentString } from '../../contract/generated/page/graphql.js';

/**
 * A generated document answering T. Its variables are not checked here: the page builds them from form fields
 * (plain strings), and the server validates them.
 */
export type Document<T> = TypedDocumentString<T, never>;

/** graphql-ws closes the socket with Forbidden when the key is missing, bad or revoked. */
const isForbidden = (event: unknown) => event instanceof CloseEvent && event.code === (CloseCode.Forbidden as number);

/** A GraphQL error the server answered with; `code` is its stable extensions.code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

interface GraphqlResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

function unwrap<T>(body: GraphqlResponse<T>): T {
  const [error] = body.errors ?? [];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'UNKNOWN', error.extensions?.field);
  if (!body.data) throw new ApiError('The server sent an empty answer.', 'UNKNOWN');
  return body.data;
}

/** Talks to this server's /graphql with one API key: HTTP for queries and mutations, graphql-ws for updates. */
export class Api {
  private ws: Client | undefined;

  constructor(private key: string) {}

  setKey(key: string): void {
    this.key = key;
    // A new key needs a new connection: the socket authenticates once, when it opens.
    void this.ws?.dispose();
    this.ws = undefined;
  }

  async request<T>(document: Document<T>, variables: Record<string, unknown> = {}): Promise<T> {
    return this.send<T>({ 'content-type': 'application/json' }, JSON.stringify({ query: document.toString(), variables }));
  }

  /**
   * A GraphQL multipart request (files as uploads). `files` maps a variable path such as
   * "input.imageFile" to the file to send there.
   */
  async upload<T>(document: Document<T>, variables: Record<string, unknown>, files: Record<string, File>): Promise<T> {
    const form = new FormData();
    const entries = Object.entries(files);
    form.append('operations', JSON.stringify({ query: document.toString(), variables }));
    form.append('map', JSON.stringify(Object.fromEntries(entries.map(([path], index) => [String(index), [`variables.${path}`]]))));
    entries.forEach(([, file], index) => form.append(String(index), file, file.name));
    return this.send<T>({}, form);
  }

  private async send<T>(headers: Record<string, string>, body: BodyInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: { ...headers, accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${this.key}` },
        body,
      });
    } catch {
      throw new ApiError('The server cannot be reached. Check your connection and try again.', 'NETWORK');
    }
    const text = await response.text();
    let parsed: GraphqlResponse<T>;
    try {
      parsed = JSON.parse(text) as GraphqlResponse<T>;
    } catch {
      throw new ApiError(`The server answered ${response.status} without GraphQL: ${text.slice(0, 200)}`, 'UNKNOWN');
    }
    return unwrap(parsed);
  }

  /** Streams a subscription; returns the function that stops it. */
  subscribe<T>(
    document: Document<T>,
    variables: Record<string, unknown>,
    handlers: { next: (data: T) => void; error: (error: ApiError) => void; complete: () => void },
  ): () => void {
    this.ws ??= createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: () => ({ authorization: `Bearer ${this.key}` }),
      // Survive server restarts and flaky networks; subscriptions resume where they were (the server replays).
      retryAttempts: Infinity,
      shouldRetry: (event) => !isForbidden(event),
      lazyCloseTimeout: 5_000,
    });
    return this.ws.subscribe<T>(
      { query: document.toString(), variables },
      {
        next: (result) => {
          try {
            handlers.next(unwrap(result as GraphqlResponse<T>));
          } catch (error) {
            handlers.error(error as ApiError);
          }
        },
        error: (error) => {
          if (isForbidden(error)) {
            handlers.error(new ApiError('This API key was rejected or revoked. Enter a valid key.', API_ERROR_CODES.UNAUTHENTICATED));
          } else if (Array.isArray(error)) {
            const [first] = error as { message: string; extensions?: { code?: string } }[];
            handlers.error(new ApiError(first?.message ?? 'The subscription failed.', first?.extensions?.code ?? 'UNKNOWN'));
          } else {
            handlers.error(new ApiError('The live connection to the server was lost.', 'NETWORK'));
          }
        },
        complete: handlers.complete,
      },
    );
  }
}
