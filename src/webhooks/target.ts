/**
 * @module webhooks/target
 * Where a webhook may point (the SSRF guard). A webhook URL is the user's, but the request comes
 * from our servers, inside our network: without this guard anyone could make them POST to the
 * cloud's metadata service (169.254.169.254), a database's admin port on 10.x, or the server's own
 * loopback. So a URL must be http(s) (https only in production: the body and the signature would
 * otherwise cross the Internet in clear), and EVERY address its host resolves to must be a public
 * one: loopback, private (RFC 1918), shared (100.64/10), link-local, unique-local, multicast,
 * unspecified and reserved addresses, also written as IPv4-mapped IPv6, are refused unless
 * `WEBHOOK_ALLOW_PRIVATE=true` (tests, local development).
 *
 * The check runs when the webhook is made AND before every delivery, and a delivery connects to the
 * very address that was checked (`CheckedTarget.address`, handed to the socket as its DNS answer,
 * see ./send.ts): a host that answers DNS with a public address for the check and a private one for
 * the connection (DNS rebinding) gets nowhere. Node's own `net.BlockList` holds the ranges; it
 * also matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1) against the IPv4 ranges.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export type TargetRules = Readonly<{
  /** `WEBHOOK_ALLOW_PRIVATE`: loopback and private addresses are allowed. */
  allowPrivate: boolean;
  /** NODE_ENV=production: only https URLs. */
  httpsOnly: boolean;
}>;

/** A URL whose host was resolved and whose every address was allowed; connect to `address`. */
export type CheckedTarget = Readonly<{ url: URL; address: string; family: 4 | 6 }>;

/** A URL the rules refuse; the message is a sentence for the user (it becomes a 400 or the log's words). */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

/** The host's addresses, as the system resolver gives them (tests pass their own). */
export type Resolve = (host: string) => Promise<readonly { address: string; family: number }[]>;

const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/** What each refused range is, in the words the refusal uses. */
const REFUSED_RANGES: readonly [kind: string, ranges: readonly string[]][] = [
  ['a loopback address', ['127.0.0.0/8', '::1/128']],
  ['a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fec0::/10']],
  ['a shared (carrier-grade NAT) address', ['100.64.0.0/10']],
  ['a link-local address', ['169.254.0.0/16', 'fe80::/10']],
  ['an unspecified address', ['0.0.0.0/8', '::/128']],
  ['a multicast address', ['224.0.0.0/4', 'ff00::/8']],
  ['a reserved address', ['240.0.0.0/4', '192.0.0.0/24', '198.18.0.0/15']],
];

const REFUSED: readonly [kind: string, list: BlockList][] = REFUSED_RANGES.map(([kind, ranges]) => {
  const list = new BlockList();
  for (const range of ranges) {
    const [network, prefix] = range.split('/') as [string, string];
    list.addSubnet(network, Number(prefix), network.includes(':') ? 'ipv6' : 'ipv4');
  }
  return [kind, list];
});

/** What kind of refused address `address` is (e.g. "a loopback address"), or undefined for a public one. */
export function refusedKind(address: string): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return REFUSED.find(([, list]) => list.check(address, family))?.[0];
}

/** `url` as a webhook target, or the reason it cannot be one (shape and scheme only, no DNS). */
export function parseTargetUrl(url: string, rules: TargetRules): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetRefused('url must be an absolute http(s) URL, e.g. https://example.com/hooks/taskchat');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TargetRefused('url must be an http(s) URL');
  }
  if (rules.httpsOnly && parsed.protocol !== 'https:') {
    throw new TargetRefused('url must be https: deliveries are not sent in clear text in production');
  }
  // A password in the URL would be shown by GET /webhooks and written into every log line about it.
  if (parsed.username || parsed.password) {
    throw new TargetRefused('url must not carry a user name or password');
  }
  return parsed;
}

/**
 * Resolves the URL's host and checks every address it has (a host with one public and one private
 * address is refused: the connection could go to either). Returns the first, to connect to.
 */
export async function checkTarget(
  url: string,
  rules: TargetRules,
  resolve: Resolve = systemResolve,
): Promise<CheckedTarget> {
  const parsed = parseTargetUrl(url, rules);
  // URL keeps IPv6 literals in brackets, and writes every IPv4 form (0x7f.1, 2130706433) as a.b.c.d.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: readonly { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw new TargetRefused(`url's host ${host} does not resolve to an address`);
  }
  if (!rules.allowPrivate) {
    for (const { address } of addresses) {
      const kind = refusedKind(address);
      if (kind === undefined) continue;
      const named = address === host ? `${readable(host)} is` : `${host} resolves to ${readable(address)},`;
      throw new TargetRefused(`url's host ${named} ${kind}; webhooks may only target public addresses`);
    }
  }
  const [first] = addresses as [{ address: string; family: number }];
  return { url: parsed, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * An IPv4-mapped IPv6 address with its IPv4 beside it: the URL parser writes [::ffff:10.0.0.1] as
 * ::ffff:a00:1, which a person would not recognise in a refusal.
 */
function readable(address: string): string {
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!mapped) return address;
  const [high, low] = [Number.parseInt(mapped[1] as string, 16), Number.parseInt(mapped[2] as string, 16)];
  return `${address} (${high >> 8}.${high & 255}.${low >> 8}.${low & 255})`;
}
