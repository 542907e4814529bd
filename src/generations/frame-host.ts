import { BlockList, isIP } from 'node:net';

/** Address ranges no outside service can fetch from, each with the words a client sees. */
const RANGES: [label: string, subnets: [address: string, prefix: number, family: 'ipv4' | 'ipv6'][]][] = [
  ['a loopback address (this machine)', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['an unspecified address', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['a private network address', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']]],
  ['a carrier-grade NAT address', [['100.64.0.0', 10, 'ipv4']]],
  ['a link-local address', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['a multicast address', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  // 240.0.0.0/4 holds 255.255.255.255, the broadcast address.
  ['a reserved or broadcast address', [['240.0.0.0', 4, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['198.18.0.0', 15, 'ipv4']]],
  [
    'a documentation-only address',
    [['192.0.2.0', 24, 'ipv4'], ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['2001:db8::', 32, 'ipv6']],
  ],
  ['an IPv4-mapped or IPv4-compatible IPv6 address', [['::ffff:0:0', 96, 'ipv6'], ['::', 96, 'ipv6']]],
];
/**
 * One BlockList per range and family: a BlockList compares IPv4 with IPv4-mapped IPv6 both ways, so mixing the
 * families in one list would make ::ffff:0:0/96 match every IPv4 address.
 */
const blocksOf = (family: 'ipv4' | 'ipv6') =>
  RANGES.map(([label, subnets]) => {
    const list = new BlockList();
    for (const [address, prefix, f] of subnets) if (f === family) list.addSubnet(address, prefix, family);
    return { label, list };
  });
const BLOCKS = { ipv4: blocksOf('ipv4'), ipv6: blocksOf('ipv6') };

/** Names that resolve only inside a machine or a local network or nowhere (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'test', 'invalid'];


export interface HostVerdict {
  /** Why the host cannot be fetched from outside, as words for a client; null when it can. */
  problem: string | null;
  /** Whether the host is this machine (loopback address or a localhost name). */
  loopback: boolean;
}

/**
 * Whether a remote service could fetch from this URL's host, judged from the host alone (no DNS lookup).
 * Takes a URL parsed by the WHATWG parser, which already turned numeric hosts in any notation
 * (`2130706433`, `0x7f.1`, `0177.0.0.1`) into dotted IPv4 and put IPv6 in brackets.
 */
export function judgeHost(url: URL): HostVerdict {
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const family = isIP(host);
  if (family !== 0) {
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const block = BLOCKS[type].find(({ list }) => list.check(host, type));
    return { problem: block ? `${host} is ${block.label}` : null, loopback: block === BLOCKS[type][0] };
  }
  const suffix = LOCAL_SUFFIXES.find((name) => host === name || host.endsWith(`.${name}`));
  if (suffix) return { problem: `"${host}" is a local name (.${suffix})`, loopback: suffix === 'localhost' };
  if (!host.includes('.')) return { problem: `"${host}" is a single-label name that only a local network can resolve`, loopback: false };
  return { problem: null, loopback: false };
}
