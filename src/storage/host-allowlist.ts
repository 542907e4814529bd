/**
 * The allowlist of hosts result videos may come from (SEGMIND_OUTPUT_HOSTS): `host` or `host:port` entries,
 * `*.example.com` for subdomains. The port counts, since one host may run very different servers.
 */

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
