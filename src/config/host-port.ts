/**
 * `host:port` as written in the config: a DNS name, a dotted IPv4 address or a bracketed IPv6
 * address (`[::1]:7101`), and a port in 1..65535.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type HostPortResult =
  | { readonly ok: true; readonly value: HostPort }
  | { readonly ok: false; readonly reason: string };

const EXAMPLE = 'expected host:port (e.g. 127.0.0.1:7101, node1.example.com:7101 or [::1]:7101)';
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
/** What inet_aton (getaddrinfo, and so grpc-js's resolver) reads as an IPv4 number: `127.1`, `0x7f.1`, `2130706433`. */
const INET_ATON = /^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}$/i;

export function parseHostPort(text: string): HostPortResult {
  const fail = (why: string): HostPortResult => ({
    ok: false,
    reason: `${EXAMPLE}, found ${JSON.stringify(text)}${why === '' ? '' : ` (${why})`}`,
  });
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) return fail(`a URL: leave out "${scheme[0]}" (TLS comes from the tls settings or ctl's TLS flags, not a scheme)`);
  const colon = text.lastIndexOf(':');
  // A bracketed IPv6 address alone ("[::1]") has colons, none of them before a port.
  if (colon <= 0 || (text.startsWith('[') && text.endsWith(']'))) return fail('no port');
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return fail('the port is not a number');
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail('the port must be in 1..65535');
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || !IPV6.test(host.slice(1, -1)) || !host.includes(':')) {
      return fail('malformed IPv6 address');
    }
    return { ok: true, value: { host, port } };
  }
  if (host.includes(':')) return fail('IPv6 addresses must be in brackets');
  if (IPV4.test(host)) {
    if (host.split('.').some((octet) => Number(octet) > 255)) return fail('malformed IPv4 address');
    // The resolver reads 010 as octal (8): one member's address could then be another's.
    if (host.split('.').some((octet) => octet.length > 1 && octet.startsWith('0'))) return fail('an IPv4 octet with a leading zero, which the resolver reads as octal');
    return { ok: true, value: { host, port } };
  }
  if (INET_ATON.test(host)) return fail('not four decimal octets: the resolver reads it as a number, so 127.1 is 127.0.0.1');
  if (host.length > 253 || !host.split('.').every((label) => LABEL.test(label))) {
    return fail('malformed host name');
  }
  return { ok: true, value: { host, port } };
}

/**
 * Why others cannot dial `text` as a member's address; null when they can. The cluster file
 * (node-checks.ts) and `ctl member add` hold members' addresses to this same rule.
 */
export function dialProblem(text: string): string | null {
  const parsed = parseHostPort(text);
  if (!parsed.ok) return parsed.reason;
  if (isWildcardHost(parsed.value.host)) return `${text} is a wildcard address that peers cannot dial`;
  return null;
}

/** Hosts that mean "every interface": fine to bind, meaningless to dial from another machine. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '[::]' || host === '[0:0:0:0:0:0:0:0]';
}

/** Hosts only this machine can reach: plaintext there exposes nothing to the network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The spellings one host has, as compared between members: the case of a DNS name does not matter, nor how an IPv6 address is abbreviated (an
 * IPv4-mapped one is its IPv4 address), and `localhost` is the loopback of either family. No DNS
 * lookup: two names of one host are not caught.
 */
function hostSpellings(host: string): readonly string[] {
  const h = host.toLowerCase();
  if (h === 'localhost') return ['127.0.0.1', '[::1]'];
  if (IPV4.test(h)) return [h.split('.').map(Number).join('.')];
  if (!h.startsWith('[')) return [h];
  let canonical: string;
  try {
    canonical = new URL(`http://${h}/`).hostname;
  } catch {
    return [h];
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(canonical);
  if (mapped === null) return [canonical];
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`];
}

/** Two spellings of one host (see hostSpellings): `localhost` and `127.0.0.1`, say. */
export function sameHost(a: string, b: string): boolean {
  const theirs = hostSpellings(b);
  return hostSpellings(a).some((h) => theirs.includes(h));
}

/**
 * Two host:port texts that name one endpoint as far as can be told without DNS: members'
 * addresses are compared with this, so `localhost:7101` and `127.0.0.1:7101` are one address.
 */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const [pa, pb] = [parseHostPort(a), parseHostPort(b)];
  if (!pa.ok || !pb.ok) return a.toLowerCase() === b.toLowerCase();
  return pa.value.port === pb.value.port && sameHost(pa.value.host, pb.value.host);
}
