import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TypedDocumentString } from '../../contract/generated/cli/graphql.js';
import { VEO } from '../../contract/tables.js';
import type { FrameSource } from './args.js';
import { CliError, errorFromGraphql, unreachable, type WireError } from './exit-codes.js';

/** A file sent in a GraphQL multipart request, placed at `at` in the variables (e.g. `input.imageFile`). */
export interface Upload {
  at: string;
  bytes: Uint8Array;
  filename: string;
}

/** Sends one generated document; the answer has the type generated for it. */
export type GraphqlHttp = <T, V extends Record<string, unknown>>(document: TypedDocumentString<T, V>, variables: V, uploads?: Upload[]) => Promise<T>;

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
  return async <T, V extends Record<string, unknown>>(document: TypedDocumentString<T, V>, variables: V, uploads: Upload[] = []): Promise<T> => {
    const query = document.toString();
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

/** The server's limit for an uploaded frame; checked here so a wrong file is not sent at all. */
const MAX_FRAME_BYTES = VEO.maxFrameBytes;

async function readFrame(flag: string, file: string, cwd: string): Promise<{ bytes: Uint8Array; filename: string }> {
  const resolved = path.resolve(cwd, file);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isFile()) throw new CliError('USER', `--${flag}: no file at ${resolved}. Give an http(s) URL or an existing image file.`);
  if (info.size > MAX_FRAME_BYTES) {
    throw new CliError('USER', `--${flag}: ${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB; frames may be at most 20 MB.`);
  }
  return { bytes: await readFile(resolved), filename: path.basename(resolved) };
}

/** The input fields for the frames: URLs go as `image`/`lastFrame`, files as uploads to `imageFile`/`lastFrameFile`. */
export async function frameInput(
  frames: { image: FrameSource | undefined; lastFrame: FrameSource | undefined },
  cwd: string,
): Promise<{ fields: Record<string, string>; uploads: Upload[] }> {
  const fields: Record<string, string> = {};
  const uploads: Upload[] = [];
  const places = [
    ['image', 'image', frames.image],
    ['last-frame', 'lastFrame', frames.lastFrame],
  ] as const;
  for (const [flag, field, source] of places) {
    if (!source) continue;
    if ('url' in source) fields[field] = source.url;
    else uploads.push({ at: `input.${field}File`, ...(await readFrame(flag, source.file, cwd)) });
  }
  return { fields, uploads };
}
