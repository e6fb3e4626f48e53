/**
 * Checks an Express `trust proxy` setting before the app uses it. Trusting a
 * proxy means believing the addresses it writes into X-Forwarded-For; trust
 * too much and any client picks its own `req.ip`, and with it a fresh
 * rate-limit count per request. So besides `true` (refused in config.ts):
 *
 * - hop counts above 5: a count larger than the proxies really in front of
 *   the app trusts entries the client wrote itself (`99` means "always the
 *   left-most one"). CDN, load balancer and ingress make three; 5 leaves room.
 * - IPv4 subnets wider than /8 and IPv6 wider than /24: /8 is the widest
 *   private range (10.0.0.0/8); /24 still admits every published CDN range
 *   (CloudFront 2600:9000::/28, Cloudflare 2a06:98c0::/29). IPv4-mapped IPv6
 *   subnets (`::ffff:0.0.0.0/96`) are IPv4 subnets in disguise and count as such.
 * - lists covering more than four /8s of IPv4 or sixteen /24s of IPv6 in all,
 *   so that many narrow entries cannot add up to a wide one.
 *
 * The named ranges `loopback`, `linklocal` and `uniquelocal` are private by
 * definition and not counted. Last, the value is compiled with Express's own
 * setter, so nothing that passes here can fail when the app starts.
 */
import { isIP } from 'node:net';
import express from 'express';

/** Express's `trust proxy` setting: off, a number of hops, or addresses/subnets. */
export type TrustProxy = false | number | string[];

const MAX_HOPS = 5;
const NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const FAMILIES = {
  4: { bits: 32, widest: 8, most: 2n ** 26n, allowance: 'four /8s' },
  6: { bits: 128, widest: 24, most: 2n ** 108n, allowance: 'sixteen /24s' },
} as const;

interface Subnet {
  family: 4 | 6;
  /** The address as a number, host bits included (they do not matter). */
  address: bigint;
  prefix: number;
}

function ipv4Number(text: string): bigint {
  return text.split('.').reduce((sum, octet) => (sum << 8n) | BigInt(octet), 0n);
}

function ipv6Number(text: string): bigint {
  const [head = '', tail] = (text.split('%')[0] ?? '').split('::');
  const groups = (part: string): string[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group];
          const value = ipv4Number(group);
          return [(value >> 16n).toString(16), (value & 0xffffn).toString(16)];
        });
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((sum, group) => (sum << 16n) | BigInt(`0x${group}`), 0n);
}

const MAPPED = 0xffffn << 32n;

/** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address with or without `/n`; IPv4-mapped IPv6 as the IPv4 subnet it matches. */
function subnet(address: string, prefix: number | undefined): Subnet {
  if (isIP(address) === 4) return { family: 4, address: ipv4Number(address), prefix: prefix ?? 32 };
  const value = ipv6Number(address);
  const bits = prefix ?? 128;
  if (value >> 32n === 0xffffn && bits >= 96) return { family: 4, address: value - MAPPED, prefix: bits - 96 };
  return { family: 6, address: value, prefix: bits };
}

function contains(outer: Subnet, inner: Subnet): boolean {
  const shift = BigInt(FAMILIES[outer.family].bits - outer.prefix);
  return (
    outer.family === inner.family && outer.prefix <= inner.prefix && outer.address >> shift === inner.address >> shift
  );
}

/** What is wrong with `value` (a phrase to follow the setting's name), or undefined if it is safe to use. */
export function trustProxyProblem(value: TrustProxy): string | undefined {
  if (value === false) return undefined;
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 && value <= MAX_HOPS
      ? undefined
      : `must be a number of proxies from 1 to ${MAX_HOPS} (got ${value}): a count above the proxies really in front of the app trusts X-Forwarded-For entries the client wrote itself`;
  }
  if (!Array.isArray(value)) return `must be false, a number of proxies or a list of addresses (got ${String(value)})`;
  const subnets: Subnet[] = [];
  for (const entry of value) {
    if (NAMES.has(entry)) continue;
    const [address = '', bits, extra] = entry.split('/');
    if (isIP(address) === 0 || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
      return `entry ${JSON.stringify(entry)} is not an address, a subnet or loopback/linklocal/uniquelocal`;
    }
    const { bits: most } = FAMILIES[isIP(address) === 4 ? 4 : 6];
    if (Number(bits) > most) return `subnet "${entry}": the prefix length must be 1 to ${most}`;
    const parsed = subnet(address, bits === undefined ? undefined : Number(bits));
    if (parsed.prefix < FAMILIES[parsed.family].widest) {
      return (
        `subnet "${entry}" is too wide: it would let a large part of the Internet set X-Forwarded-For ` +
        '(IPv4 subnets must be /8 or narrower, IPv6 /24; list only your proxies)'
      );
    }
    subnets.push(parsed);
  }
  for (const family of [4, 6] as const) {
    const { bits, most, allowance } = FAMILIES[family];
    // Count each subnet once, and none that lies inside another.
    const covered = subnets
      .filter(
        (one, i) =>
          one.family === family &&
          !subnets.some((other, j) => j !== i && contains(other, one) && (!contains(one, other) || j < i)),
      )
      .reduce((sum, one) => sum + 2n ** BigInt(bits - one.prefix), 0n);
    if (covered > most) {
      return `subnets together cover ${covered} IPv${family} addresses, more than ${most} (${allowance}); list only your proxies`;
    }
  }
  try {
    express().set('trust proxy', value);
  } catch (error) {
    return `cannot be used by Express: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}
