/**
 * The source a /metrics connection counts against for the per-source cap: what one client can
 * hold many of counts as one. Loopback (127.0.0.0/8 and ::1) is one source: any local process
 * can bind 127.0.0.2, 127.0.0.3, ... and eight of them filled all 64 slots (it has a cap of its
 * own, metrics-connections.ts). An IPv6 address
 * counts by its /64, the smallest block a network hands out (SLAAC needs it), so one host
 * rotating addresses in it is one source; an IPv4-mapped IPv6 address counts as its IPv4.
 */
import net from 'node:net';

export const LOOPBACK_SOURCE = 'loopback';

/** The eight 16-bit groups of an IPv6 address (any zone dropped), or null if it is not one. */
function ipv6Groups(address: string): number[] | null {
  const bare = address.replace(/%.*$/, '');
  if (!net.isIPv6(bare)) return null;
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups.
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare);
  const hex = dotted ? `${dotted[1]}${((Number(dotted[2]) << 8) | Number(dotted[3])).toString(16)}:${((Number(dotted[4]) << 8) | Number(dotted[5])).toString(16)}` : bare;
  const [head, tail] = hex.split('::') as [string, string | undefined];
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The source of a peer at `address` (socket.remoteAddress); '' when the socket has none (closed). */
export function metricsSource(address: string | undefined): string {
  if (address === undefined || address === '') return '';
  let v4 = net.isIPv4(address) ? address : null;
  const groups = v4 === null ? ipv6Groups(address) : null;
  if (groups !== null && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) v4 = `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  if (v4 !== null) return v4.startsWith('127.') ? LOOPBACK_SOURCE : v4;
  if (groups === null) return address;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return LOOPBACK_SOURCE;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
