import { CliError } from './exit-codes.js';
import { errorFromGraphql, unreachable, type WireError } from './graphql-errors.js';

/** A file sent in a GraphQL multipart request, placed at `at` in the variables (e.g. `input.imageFile`). */
export interface Upload {
  at: string;
  bytes: Uint8Array;
  filename: string;
}

export type GraphqlHttp = <T>(query: string, variables: Record<string, unknown>, uploads?: Upload[]) => Promise<T>;

const TIMEOUT_MS = 30_000;
/** Uploads of up to two 20 MB frames may be slow on a home connection. */
const UPLOAD_TIMEOUT_MS = 300_000;

/**
 * Builds a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec):
 * `operations` with null where each file goes, `map` from part name to that place, then the files.
 */
function multipartBody(query: string, variables: Record<string, unknown>, uploads: Upload[]): FormData {
  const withNulls = structuredClone(variables);
  for (const upload of uploads) {
    const keys = upload.at.split('.');
    let target = withNulls;
    for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keys.at(-1)!] = null;
  }
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: withNulls }));
  form.append('map', JSON.stringify(Object.fromEntries(uploads.map((upload, i) => [String(i), [`variables.${upload.at}`]]))));
  // The server decides the type from the bytes, so the declared type does not matter.
  uploads.forEach((upload, i) => form.append(String(i), new Blob([new Uint8Array(upload.bytes)]), upload.filename));
  return form;
}

/**
 * POSTs operations to `<serverUrl>/graphql` with the key. Answers `data`; anything else becomes a CliError:
 * unreachable → UPSTREAM, refused key or bad input → USER, anything unexpected → UNEXPECTED.
 */
export function createGraphqlHttp(serverUrl: string, key: string): GraphqlHttp {
  return async <T>(query: string, variables: Record<string, unknown>, uploads: Upload[] = []): Promise<T> => {
    const json = uploads.length === 0;
    let response: Response;
    try {
      response = await fetch(`${serverUrl}/graphql`, {
        method: 'POST',
        // The authorization header also satisfies the server's CSRF rule for multipart requests.
        headers: {
          authorization: `Bearer ${key}`,
          accept: 'application/graphql-response+json, application/json',
          ...(json && { 'content-type': 'application/json' }),
        },
        body: json ? JSON.stringify({ query, variables }) : multipartBody(query, variables, uploads),
        signal: AbortSignal.timeout(json ? TIMEOUT_MS : UPLOAD_TIMEOUT_MS),
      });
    } catch (error) {
      throw unreachable(serverUrl, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw unreachable(serverUrl, error);
    }
    let body: { data?: T | null; errors?: WireError[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new CliError(
        'UNEXPECTED',
        `${serverUrl}/graphql answered HTTP ${response.status} with something that is not GraphQL: ${text.slice(0, 200)}`,
      );
    }
    if (body.errors?.length) throw errorFromGraphql(body.errors);
    if (!body.data) throw new CliError('UNEXPECTED', `${serverUrl}/graphql answered HTTP ${response.status} without data.`);
    return body.data;
  };
}
