import type { GraphqlBody } from './app.js';

/** One file of a GraphQL multipart request, placed at `path` in the variables (e.g. `input.imageFile`). */
export interface UploadPart {
  path: string;
  bytes: Uint8Array;
  filename: string;
  /** The declared type: the client's word only. @default 'application/octet-stream' */
  type?: string;
}

/**
 * Builds a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec):
 * `operations` with null at each file's place, `map` from part name to that place, then the files.
 */
export function multipartForm(query: string, variables: Record<string, unknown>, files: UploadPart[]): FormData {
  const withNulls = structuredClone(variables);
  for (const file of files) {
    const keys = file.path.split('.');
    let target: Record<string, unknown> = withNulls;
    for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keys.at(-1)!] = null;
  }
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: withNulls }));
  form.append('map', JSON.stringify(Object.fromEntries(files.map((file, i) => [String(i), [`variables.${file.path}`]]))));
  files.forEach((file, i) =>
    form.append(String(i), new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.filename),
  );
  return form;
}

/** POSTs a multipart operation; `headers` are sent as given (no key is added). */
export async function postMultipart<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  files: UploadPart[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphqlBody<T> }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers,
    body: multipartForm(query, variables, files),
  });
  const text = await response.text();
  let body: GraphqlBody<T>;
  try {
    body = JSON.parse(text) as GraphqlBody<T>;
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: response.status, body };
}

/** The first bytes of real image formats, padded to `size` bytes. */
export function imageBytes(kind: 'png' | 'jpeg' | 'webp', size = 256): Uint8Array {
  const bytes = Buffer.alloc(size, 7);
  if (kind === 'png') Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  if (kind === 'jpeg') Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]).copy(bytes);
  if (kind === 'webp') {
    bytes.write('RIFF', 0, 'ascii');
    bytes.writeUInt32LE(size - 8, 4);
    bytes.write('WEBPVP8 ', 8, 'ascii');
  }
  return bytes;
}
