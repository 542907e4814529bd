import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  TestCancelDocument,
  TestGenerateDocument,
  TestGetDocument,
  TestGetWithEventTimesDocument,
  TestRotateWebhookSecretDocument,
  TestViewerDocument,
  TestWebhookDeliveriesDocument,
  TestWatchDocument,
  TestWatchWithEventTimesDocument,
  type TestGenerationFragment,
  type TestGenerationWithEventTimesFragment,
} from '../../src/contract/generated/tests/graphql.js';
import type { GraphqlBody } from './app.js';

/** `Authorization: Bearer <key>`, or nothing without a key. */
export function authHeaders(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** The documents tests send (src/contract/operations/tests.graphql), as the strings the helpers post. */
export const GENERATE = TestGenerateDocument.toString();
export const WATCH = TestWatchDocument.toString();
export const GET = TestGetDocument.toString();
export const CANCEL = TestCancelDocument.toString();
/** GET and WATCH with when each timeline event happened. */
export const GET_WITH_EVENT_TIMES = TestGetWithEventTimesDocument.toString();
export const WATCH_WITH_EVENT_TIMES = TestWatchWithEventTimesDocument.toString();
export const VIEWER = TestViewerDocument.toString();
export const ROTATE_WEBHOOK_SECRET = TestRotateWebhookSecretDocument.toString();
export const WEBHOOK_DELIVERIES = TestWebhookDeliveriesDocument.toString();

/** A generation as the tests read it: the TestGeneration fragment, generated from the schema. */
export type TestGeneration = TestGenerationFragment;
export type GenerationEvent = TestGeneration['events'][number];
/** The same, read with GET_WITH_EVENT_TIMES or WATCH_WITH_EVENT_TIMES: its events say when they happened. */
export type TestGenerationWithEventTimes = TestGenerationWithEventTimesFragment;

export interface Collected<T> {
  results: GraphqlBody<T>[];
  /** True when the server completed the stream (rather than the wait timing out). */
  completed: boolean;
}

export interface WsClientOptions {
  /** The API key the connection authenticates with (sent as `authorization: Bearer <key>` in ConnectionInit). */
  key?: string;
  /** Sent instead of the key, for tests of what the server does with other ConnectionInit payloads. */
  connectionParams?: Record<string, unknown>;
  /** Reconnects after a retryable close (e.g. 1013 during a database outage), as real clients do. @default 0 */
  retryAttempts?: number;
}

/** A graphql-ws client over a real socket; dispose it after the test. */
export function createWsClient(baseUrl: string, { key, connectionParams, retryAttempts = 0 }: WsClientOptions = {}): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? { authorization: `Bearer ${key ?? ''}` },
    retryAttempts,
  });
}

/** Collects every result of one subscription until it completes, errors, or `timeoutMs` passes. */
export async function collectWs<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<Collected<T>> {
  const results: GraphqlBody<T>[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve({ results, completed: false });
    }, timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => results.push(value as GraphqlBody<T>),
        error: (error: unknown) => {
          clearTimeout(timer);
          if (Array.isArray(error)) resolve({ results: [...results, { errors: error as GraphqlBody<T>['errors'] }], completed: true });
          else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ results, completed: true });
        },
      },
    );
  });
}

/** Runs a subscription over GraphQL-over-SSE (yoga's distinct-connections mode) and collects its results. */
export async function collectSse<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  /** `key` is sent as `authorization: Bearer <key>`; `headers` are sent after it, so they can replace it. */
  options: { key?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Collected<T>> {
  const results: GraphqlBody<T>[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 15_000);
  try {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeaders(options.key), ...options.headers },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    if (!response.body) throw new Error(`SSE answered ${response.status} without a body`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(message)?.[1];
        const data = message
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (event === 'complete') return { results, completed: true };
        if (event === 'next' && data) results.push(JSON.parse(data) as GraphqlBody<T>);
      }
    }
    return { results, completed: true };
  } catch (error) {
    if (controller.signal.aborted) return { results, completed: false };
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** An SSE subscription left open: `settled` is 'open' on its first result, 'error' when that carries errors or the stream ends first. */
export interface OpenSse {
  settled: Promise<'open' | 'error'>;
  /** Everything received so far. */
  text(): string;
  close(): void;
}

/**
 * Subscribes over SSE and keeps the stream open until `close`. It reads with a reader it never releases:
 * leaving a for-await loop would cancel the body and so close the stream, which the callers must not do.
 */
export function openSse(baseUrl: string, key: string, query: string, variables: Record<string, unknown>): OpenSse {
  const controller = new AbortController();
  let text = '';
  const settled = (async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'error' as const;
      text += Buffer.from(value).toString();
      const data = /^data: (.*)$/m.exec(text)?.[1];
      if (data) return (JSON.parse(data) as GraphqlBody<unknown>).errors ? ('error' as const) : ('open' as const);
    }
  })().catch(() => 'error' as const);
  return { settled, text: () => text, close: () => controller.abort() };
}
