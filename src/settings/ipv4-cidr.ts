/**
 * IPv4 ranges in CIDR notation, as `services.vip_cidr` takes them. Addresses are unsigned 32-bit
 * integers so that a range is two numbers and "the next address" is an addition.
 */

export interface Ipv4Cidr {
  /** The first address of the range (host bits zero), as an unsigned 32-bit integer. */
  readonly base: number;
  /** Prefix length, 1..32. */
  readonly prefix: number;
}

export type CidrParse = { readonly ok: true; readonly cidr: Ipv4Cidr } | { readonly ok: false; readonly reason: string };

const SHAPE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Parses `a.b.c.d/n`; refuses host bits that are set, so that a typo is not silently widened,
 * and a part with a leading zero: inet_aton (and so ping, curl, many resolvers) reads `010` as
 * octal 8, so `010.0.0.0/24` would name 10.0.0.0/24 here and 8.0.0.0/24 on the hosts.
 */
export function parseIpv4Cidr(text: string): CidrParse {
  const m = SHAPE.exec(text.trim());
  if (m === null) return { ok: false, reason: `expected an IPv4 range such as 241.0.0.0/8, found ${JSON.stringify(text)}` };
  const parts = m.slice(1, 5);
  if (parts.some((p) => p.length > 1 && p.startsWith('0'))) {
    return { ok: false, reason: `${JSON.stringify(text)} has a part with a leading zero, which some tools read as octal (010 is 8); write it without` };
  }
  const octets = parts.map(Number);
  if (octets.some((o) => o > 255)) return { ok: false, reason: `each part of an IPv4 address is 0-255, found ${JSON.stringify(text)}` };
  const prefix = Number(m[5]);
  if (prefix < 1 || prefix > 32) return { ok: false, reason: `the prefix length must be 1-32, found /${prefix}` };
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const base = address - (address % rangeSize({ base: 0, prefix }));
  if (base !== address) {
    return { ok: false, reason: `${JSON.stringify(text)} has host bits set; the range it names is ${formatIpv4Cidr({ base, prefix })}` };
  }
  return { ok: true, cidr: { base, prefix } };
}

/** How many addresses the range holds. */
export function rangeSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/**
 * The addresses handed out from a range: all but its network and broadcast addresses, except
 * that a /31 or /32 uses every address it has (RFC 3021 point-to-point links).
 */
export function usableSpan(cidr: Ipv4Cidr): { readonly first: number; readonly last: number; readonly count: number } {
  const size = rangeSize(cidr);
  if (size <= 2) return { first: cidr.base, last: cidr.base + size - 1, count: size };
  return { first: cidr.base + 1, last: cidr.base + size - 2, count: size - 2 };
}

export function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join('.');
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

/** Parses a dotted IPv4 address to its integer, or null. */
export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + rangeSize(cidr);
}
