/**
 * Which ranges `services.vip_cidr` may name: none whose addresses the allocator hands out
 * (usableSpan) include one a service can never use as its virtual IP. Checked where an operator
 * chooses the value (the file, `ctl config set`), never when a committed value is read back
 * from the log or a snapshot: a log written before this rule may hold such a range, and every
 * replica must go on applying it alike.
 *
 * 240.0.0.0/4 ("reserved for future use") is allowed on purpose: the default 241.0.0.0/8 lies
 * in it, as Kuma's default VIP range 240.0.0.0/4 does, because no network routes it, so a VIP
 * there cannot shadow a real address. Its one unusable address, the limited broadcast
 * 255.255.255.255, is the broadcast address of every range ending there, which the allocator
 * never hands out; only a /31 or /32 ending there would hand it out, and those are refused.
 */
import { formatIpv4Cidr, rangeSize, usableSpan, type Ipv4Cidr } from './ipv4-cidr.js';

interface ReservedBlock {
  readonly cidr: Ipv4Cidr;
  readonly what: string;
}

const block = (a: number, b: number, c: number, d: number, prefix: number, what: string): ReservedBlock => ({
  cidr: { base: ((a * 256 + b) * 256 + c) * 256 + d, prefix },
  what,
});

/** RFC 6890's blocks that are no destination a service can have (in address order). */
export const RESERVED_VIP_BLOCKS: readonly ReservedBlock[] = [
  block(0, 0, 0, 0, 8, '"this network" (RFC 1122): no host answers there'),
  block(127, 0, 0, 0, 8, 'loopback: every agent host would answer the VIP itself'),
  block(169, 254, 0, 0, 16, 'link-local: hosts configure these themselves (169.254.169.254 is the cloud metadata service)'),
  block(224, 0, 0, 0, 4, 'multicast: not an address of one service'),
  block(255, 255, 255, 255, 32, 'the limited broadcast address: every host on the link'),
];

/** Why `cidr` may not be the VIP range, naming the first reserved block it would hand out addresses of; null when it may. */
export function vipRangeProblem(cidr: Ipv4Cidr): string | null {
  const span = usableSpan(cidr);
  for (const b of RESERVED_VIP_BLOCKS) {
    if (span.first <= b.cidr.base + rangeSize(b.cidr) - 1 && b.cidr.base <= span.last) {
      const same = b.cidr.base === cidr.base && b.cidr.prefix === cidr.prefix;
      return (
        `${formatIpv4Cidr(cidr)} ${same ? 'is' : 'would hand out addresses of'} ${formatIpv4Cidr(b.cidr)}, ${b.what}; ` +
        'choose a range outside 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 and 255.255.255.255 (the default 241.0.0.0/8 is one)'
      );
    }
  }
  return null;
}
