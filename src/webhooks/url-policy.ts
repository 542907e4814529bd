import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { judgeHost } from '../generations/frame-host.js';
import { hostAllowed, upstreamUrlProblem } from '../segmind/upstream-text.js';

/*
 * Which webhook URLs this server will POST to. A webhook is a request our own network sends on a client's word, so
 * the host must be public: every address its name resolves to is checked (loopback, private, link-local, the cloud
 * metadata address 169.254.169.254, unspecified, IPv4-mapped forms...), once when the generation is asked for and
 * again before each delivery, which then connects to the very address that was checked (no second lookup a
 * rebinding DNS server could answer differently). Hosts in WEBHOOK_ALLOWED_HOSTS skip the address check and may
 * use plain http.
 */

/** The allowlist: `host` or `host:port` entries, as SEGMIND_OUTPUT_HOSTS (a port-less entry means the default port). */
export interface WebhookUrlPolicy {
  allowedHosts: readonly string[];
}

/** Why a webhook URL cannot be used, in words for the client. */
export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** A URL that passed the checks, with the address to connect to. */
export interface CheckedWebhookUrl {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** The addresses `hostname` stands for: itself when it is an IP address, else every address DNS gives. */
async function addressesOf(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4 || family === 6) return [{ address: bare, family }];
  try {
    const found = await lookup(bare, { all: true, verbatim: true });
    return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
  } catch {
    return [];
  }
}

/** Checks the URL's form alone (no DNS): absolute, http(s), no credentials, not too long. */
export function parseWebhookUrl(text: string, policy: WebhookUrlPolicy): URL {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new WebhookUrlError(`webhookUrl must be at most ${MAX_WEBHOOK_URL_LENGTH} characters long; got ${text.length}.`);
  }
  const problem = upstreamUrlProblem(text);
  if (problem !== null) throw new WebhookUrlError(`webhookUrl must be an absolute https URL such as "https://example.com/hooks/reelql"; got ${problem}.`);
  const url = new URL(text);
  if (url.protocol !== 'https:' && !hostAllowed(url, policy.allowedHosts)) {
    throw new WebhookUrlError(`webhookUrl must use https; plain http is only for hosts listed in WEBHOOK_ALLOWED_HOSTS (got ${url.host}).`);
  }
  return url;
}

/**
 * Parses and checks a webhook URL, resolving its host; throws {@link WebhookUrlError} saying what is wrong. Returns
 * the first acceptable address, which the delivery connects to.
 */
export async function checkWebhookUrl(text: string, policy: WebhookUrlPolicy): Promise<CheckedWebhookUrl> {
  const url = parseWebhookUrl(text, policy);
  const listed = hostAllowed(url, policy.allowedHosts);
  if (!listed) {
    const named = judgeHost(url);
    if (named.problem) throw new WebhookUrlError(`webhookUrl must be on a public host: ${named.problem}. List it in WEBHOOK_ALLOWED_HOSTS to allow it.`);
  }
  const addresses = await addressesOf(url.hostname);
  const [first] = addresses;
  if (!first) throw new WebhookUrlError(`webhookUrl's host ${url.hostname} does not resolve to any address; check the name.`);
  if (!listed) {
    // Every address must be public: a name with one public and one private address could be steered to either.
    for (const { address, family } of addresses) {
      const verdict = judgeHost(new URL(`http://${family === 6 ? `[${address}]` : address}/`));
      if (verdict.problem) {
        throw new WebhookUrlError(
          `webhookUrl must be on a public host: ${url.hostname} resolves to ${verdict.problem}. ` +
            'Use a public address, or list the host in WEBHOOK_ALLOWED_HOSTS.',
        );
      }
    }
  }
  return { url, address: first.address, family: first.family };
}
