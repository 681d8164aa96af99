/**
 * grpc-js's client, which agents used before src/transport/h2-stream, tunnelled its connections
 * through the HTTP CONNECT proxy named by $grpc_proxy, else $https_proxy, else $http_proxy (an
 * http:// URL), unless $no_grpc_proxy (else $no_proxy) matched the host. The agents' own client
 * dials directly. This tells which controllers grpc-js would have reached through a proxy, with
 * grpc-js's own rules (http_proxy.ts), so the agent says at start that it does not: an agent
 * whose network only lets it out through the proxy then fails with a reason in its log.
 */
import net from 'node:net';
import { parseHostPort } from '../config/host-port.js';

export interface IgnoredProxy {
  /** The variable grpc-js read the proxy from. */
  readonly variable: 'grpc_proxy' | 'https_proxy' | 'http_proxy';
  readonly proxy: string;
  /** The controllers grpc-js would have tunnelled through it. */
  readonly controllers: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

export function ignoredProxy(env: Env, controllers: readonly string[]): IgnoredProxy | null {
  const variable = env['grpc_proxy'] ? 'grpc_proxy' : env['https_proxy'] ? 'https_proxy' : env['http_proxy'] ? 'http_proxy' : null;
  if (variable === null) return null;
  const proxy = env[variable]!;
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return null;
  }
  // grpc-js took only http:// proxies and ignored any other.
  if (url.protocol !== 'http:') return null;
  const noProxyList = env['no_grpc_proxy'] || env['no_proxy'];
  const noProxy = noProxyList ? noProxyList.split(',') : [];
  const proxied = controllers.filter((address) => {
    const parsed = parseHostPort(address);
    if (!parsed.ok) return false;
    const host = parsed.value.host.replace(/^\[(.*)\]$/, '$1');
    return !noProxy.some((entry) => matchesNoProxy(host, entry));
  });
  // The origin: a user and password in the URL stay out of the log.
  return proxied.length === 0 ? null : { variable, proxy: url.origin, controllers: proxied };
}

/** grpc-js's match: an IPv4 host in an IPv4 CIDR entry, or a host that ends with the entry. */
function matchesNoProxy(host: string, entry: string): boolean {
  const [ip, prefix, ...rest] = entry.split('/');
  if (net.isIPv4(host) && rest.length === 0 && ip !== undefined && prefix !== undefined && net.isIPv4(ip)) {
    const bits = Number.parseInt(prefix, 10);
    if (!Number.isNaN(bits) && bits >= 0 && bits <= 32) {
      const mask = -1 << (32 - bits);
      return (ipv4ToInt(host) & mask) === (ipv4ToInt(ip) & mask);
    }
  }
  return host.endsWith(entry);
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => (acc << 8) + Number.parseInt(octet, 10), 0);
}
