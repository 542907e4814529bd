import { LONE_SURROGATE_SOURCE, MAX_URL_LENGTH } from '../generations/text-rules.js';

/**
 * Text and addresses from Segmind (or whatever answers in its place) are untrusted: they may carry NUL, which
 * Postgres refuses in text columns, unpaired surrogates, which its UTF-8 encoding cannot hold, terminal escape
 * sequences that would act on a CLI user's terminal, echoes of our API key, or simply be megabytes long.
 * Everything upstream says passes through here before it is stored, logged or shown, and every address it names
 * is checked here against the hosts results may come from.
 */

/** C0 controls except tab and newline, DEL and C1 controls: the characters that make a terminal act. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE, 'g');
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
/** Markup of an HTML error page: in a sentence for people, only its words matter. */
const TAG = /<[^<>]{0,200}>/g;

/** Stands where a secret was. */
export const REDACTED = '[redacted]';

export interface CleanTextOptions {
  /** Longest result, in UTF-16 units, including the ellipsis that marks a cut. */
  maxLength: number;
  /** Strings to replace with {@link REDACTED} wherever they occur (e.g. the API key). Empty ones are ignored. */
  secrets?: readonly string[];
  /** One line for people: markup removed, all whitespace runs become one space. */
  singleLine?: boolean;
}

/** Replaces every secret with {@link REDACTED}; done before anything else, so no cut leaves half a secret. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.replaceAll(secret, REDACTED);
  return out;
}

/**
 * Upstream text made storable and harmless: secrets redacted, controls and lone surrogates replaced, and cut
 * to `maxLength` (never between the halves of a surrogate pair).
 */
export function cleanUpstreamText(text: string, options: CleanTextOptions): string {
  let out = redactSecrets(text, options.secrets).replace(LONE_SURROGATE, '\uFFFD');
  out = options.singleLine ? out.replace(TAG, ' ').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim() : out.replace(CONTROL, ' ');
  if (out.length <= options.maxLength) return out;
  let cut = out.slice(0, Math.max(0, options.maxLength - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Longest address we accept from upstream; the same bound as a frame URL a client may send. */
export const MAX_UPSTREAM_URL_LENGTH = MAX_URL_LENGTH;

/**
 * What is wrong with an address upstream gave us (a result video, an uploaded frame), or null when it is an
 * absolute http(s) URL without credentials, of at most {@link MAX_UPSTREAM_URL_LENGTH} characters and no
 * control characters or spaces. Which hosts may be fetched is decided where it is fetched.
 */
export function upstreamUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'no address';
  if (value.length > MAX_UPSTREAM_URL_LENGTH) return `an address longer than ${MAX_UPSTREAM_URL_LENGTH} characters`;
  // Checked on the raw text: URL parsing would quietly percent-encode a NUL or drop a tab.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\s\u0000-\u001F\u007F-\u009F]/.test(value) || HAS_LONE_SURROGATE.test(value)) {
    return 'an address with control characters or spaces';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'an address that is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `a ${url.protocol.replace(':', '')}: address, not http(s)`;
  if (url.username || url.password) return 'an address with a user name or password';
  return null;
}

/** A MIME type as upstream may name one (`video/mp4`), or undefined for anything else. */
export function upstreamMediaType(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(value) ? value.toLowerCase() : undefined;
}

// The allowlist of hosts result videos may come from (SEGMIND_OUTPUT_HOSTS): `host` or `host:port` entries,
// `*.example.com` for subdomains. The port counts, since one host may run very different servers.

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** `host`, `*.host`, `[v6]` with an optional `:port`, lower-cased; undefined when the entry is malformed. */
function parseEntry(entry: string): { host: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|(?:\*\.)?[a-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(entry.trim().toLowerCase());
  if (!match?.[1]) return undefined;
  return { host: match[1], port: match[2] === undefined ? undefined : Number(match[2]) };
}

/** Whether `entry` is a well-formed allowlist entry. */
export function validHostEntry(entry: string): boolean {
  const parsed = parseEntry(entry);
  return parsed !== undefined && (parsed.port === undefined || (parsed.port >= 1 && parsed.port <= 65535));
}

/** Whether `url`'s host and port are on the list. A port-less entry means the scheme's default port only. */
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const defaultPort = DEFAULT_PORTS[url.protocol];
  const port = url.port === '' ? defaultPort : Number(url.port);
  return allowedHosts.some((entry) => {
    const allowed = parseEntry(entry);
    if (!allowed || (allowed.port ?? defaultPort) !== port) return false;
    return allowed.host.startsWith('*.')
      ? host.endsWith(allowed.host.slice(1)) && host.length > allowed.host.length - 1
      : host === allowed.host;
  });
}
