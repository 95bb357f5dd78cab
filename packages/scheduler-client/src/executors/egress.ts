import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/**
 * Where an agent's HTTP jobs may go. An HTTP job is a request the agent makes from inside its own
 * network on behalf of whoever may create jobs, the classic server-side request forgery shape
 * (XXL-JOB #3002): without a rule it reaches the cloud metadata service (169.254.169.254), the
 * agent host's own services on loopback, and the private network behind it.
 */
export interface EgressPolicy {
  /**
   * Whether loopback, link-local, private (RFC 1918, RFC 4193), shared (RFC 6598) and other
   * special-purpose addresses (RFC 6890) may be called. Default false: public addresses only.
   */
  allowPrivate?: boolean;
  /**
   * When set and non-empty, only URLs under one of these prefixes may be called, on every hop of a
   * redirect chain. A prefix is a URL: the scheme, host and port must be equal, and the path must
   * start with the prefix's path (so `https://api.example.com/v1/` does not admit
   * `https://api.example.com.evil.test/`).
   */
  urlPrefixes?: readonly string[];
}

/** Why a call was refused; its message says what the job asked for and what rule said no. */
export class EgressRefused extends Error {
  override readonly name = 'EgressRefused';
}

// RFC 6890's special-purpose ranges, and multicast; a public service never lives in them.
const special: readonly (readonly [cidr: string, what: string])[] = [
  ['0.0.0.0/8', 'an unspecified ("this network") address'],
  ['10.0.0.0/8', 'a private (RFC 1918) address'],
  ['100.64.0.0/10', 'a shared carrier-grade NAT (RFC 6598) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address (cloud metadata services live there)'],
  ['172.16.0.0/12', 'a private (RFC 1918) address'],
  ['192.0.0.0/24', 'an IETF protocol assignment address'],
  ['192.0.2.0/24', 'a documentation address'],
  ['192.168.0.0/16', 'a private (RFC 1918) address'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['198.51.100.0/24', 'a documentation address'],
  ['203.0.113.0/24', 'a documentation address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['100::/64', 'a discard-only address'],
  ['2001:db8::/32', 'a documentation address'],
  ['fc00::/7', 'a unique local (RFC 4193) address'],
  ['fe80::/10', 'a link-local address'],
  ['ff00::/8', 'a multicast address'],
];
const ranges = special.map(([cidr, what]) => {
  const [net = '', bits = ''] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  return { list, what, family: isIP(net) === 6 ? ('ipv6' as const) : ('ipv4' as const) };
});

/** The IPv4 address an IPv6 address carries (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), if any. */
function embeddedIpv4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  const words = expandIpv6(lower);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return v4(words[6] ?? 0, words[7] ?? 0);
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return v4(words[6] ?? 0, words[7] ?? 0);
  if (words[0] === 0x2002) return v4(words[1] ?? 0, words[2] ?? 0);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address, or undefined when it is not one. */
function expandIpv6(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((w) => parseInt(w, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * What kind of special-purpose address `ip` is, in words, or null for a public address.
 * IPv6 addresses that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
 *
 * @param ip an IPv4 or IPv6 address literal (no brackets, no zone id).
 */
export function specialAddress(ip: string): string | null {
  const bare = ip.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  const inner = family === 6 ? embeddedIpv4(bare) : undefined;
  if (inner !== undefined) return specialAddress(inner);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  for (const r of ranges) if (r.family === type && r.list.check(bare, type)) return r.what;
  return null;
}

/** Throws EgressRefused when `url` is outside the policy's prefixes or names a special address literally. */
export function checkUrl(url: URL, policy: EgressPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressRefused(`${url.protocol} URLs are not HTTP`);
  const prefixes = policy.urlPrefixes ?? [];
  if (prefixes.length && !prefixes.some((p) => underPrefix(url, p))) {
    throw new EgressRefused(`${url.href} is outside this agent's allowed URL prefixes (${prefixes.join(', ')})`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!policy.allowPrivate && isIP(host)) {
    const what = specialAddress(host);
    if (what) throw new EgressRefused(refusal(host, host, what));
  }
}

function underPrefix(url: URL, prefix: string): boolean {
  let p: URL;
  try {
    p = new URL(prefix);
  } catch {
    return false;
  }
  return p.protocol === url.protocol && p.host === url.host && url.pathname.startsWith(p.pathname);
}

function refusal(host: string, ip: string, what: string): string {
  const via = host === ip ? ip : `${host}, which resolves to ${ip},`;
  return `${via} is ${what}; this agent calls public addresses only (allow private ones with CLOVER_HTTP_ALLOW_PRIVATE=true)`;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that resolves as usual and refuses a name when any of its addresses
 * is special: the check happens on the address the socket is about to use, so a name that
 * resolves to a public address when checked and to 169.254.169.254 when connected (DNS rebinding)
 * is refused too.
 */
export function guardedLookup(policy: EgressPolicy) {
  return (hostname: string, options: { family?: number | string; all?: boolean; hints?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { family: options.family as number | undefined, hints: options.hints, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      if (!policy.allowPrivate) {
        for (const a of addresses) {
          const what = specialAddress(a.address);
          if (what) {
            callback(Object.assign(new EgressRefused(refusal(hostname, a.address, what)), { code: 'EGRESS_REFUSED' }), []);
            return;
          }
        }
      }
      if (options.all) callback(null, addresses);
      else {
        const first = addresses[0];
        if (!first) callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        else callback(null, first.address, first.family);
      }
    });
  };
}
