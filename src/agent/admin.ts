/**
 * The agent's admin port (--admin HOST:PORT, HTTP): GET /config shows the configuration in
 * force; GET /resolve/NAME answers 200 with a service's VIP when NAME is in the configuration
 * (use of that dependency), and otherwise 202 "via fallback" (NAME is reported to the cluster as
 * an observed dependency; AgentRunner.resolve).
 */
import http from 'node:http';
import { isLoopbackHost, parseHostPort } from '../config/host-port.js';
import { RESOURCE_NAME_PATTERN } from '../statemachine/index.js';
import type { ResolveAnswer } from './agent-runner.js';
import type { ConfigJson } from './config-state.js';

export interface AdminSource {
  config(): ConfigJson;
  resolve(name: string): ResolveAnswer;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** `text` percent-decoded; null when it is not well-formed (decodeURIComponent throws URIError). */
function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** The request target as a URL; null when new URL() refuses it (a bad port in `//host:port`). */
function parsedUrl(target: string): URL | null {
  try {
    return new URL(target, 'http://agent');
  } catch {
    return null;
  }
}

/**
 * A request target the listener cannot read is answered 400: whatever throws out of the
 * listener is uncaught and ends the agent (before, one `GET /resolve/%`, or `GET //a:99999/`,
 * which new URL() refuses, did: test/fuzz/admin-malformed.test.ts).
 */
export function adminHandler(source: AdminSource): http.RequestListener {
  return (req, res) => {
    const url = parsedUrl(req.url ?? '/');
    if (url === null) return send(res, 400, { error: 'expected a path such as /config or /resolve/NAME' });
    if (req.method !== 'GET') return send(res, 405, { error: `method ${req.method ?? ''} not allowed; use GET` });
    if (url.pathname === '/config') return send(res, 200, source.config());
    const m = /^\/resolve\/([^/]+)$/.exec(url.pathname);
    if (m !== null) {
      const name = decoded(m[1]!);
      if (name === null) return send(res, 400, { error: `expected a service name, found a malformed escape in ${JSON.stringify(m[1]!.slice(0, 80))}` });
      if (name.length > 253 || !RESOURCE_NAME_PATTERN.test(name)) return send(res, 400, { error: `expected a service name, found ${JSON.stringify(name.slice(0, 80))}` });
      const answer = source.resolve(name);
      return answer.type === 'hit' ? send(res, 200, { name, vip: answer.vip }) : send(res, 202, { name, via: 'fallback' });
    }
    return send(res, 404, { error: `no such path ${JSON.stringify(url.pathname)}; try /config or /resolve/NAME` });
  };
}

export async function listenAdmin(address: string, source: AdminSource): Promise<http.Server> {
  const idx = address.lastIndexOf(':');
  const host = address.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(idx + 1));
  const server = http.createServer(adminHandler(source));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/**
 * --admin is plain HTTP without authentication, and each /resolve miss becomes a dependency the
 * cluster records (a Raft write, a push): beyond loopback, whoever reaches it reads this agent's
 * configuration and writes to the cluster through it (docs/security.md).
 */
export function adminExposure(admin: string): string | null {
  const parsed = parseHostPort(admin);
  if (!parsed.ok || isLoopbackHost(parsed.value.host)) return null;
  return (
    `ADMIN_EXPOSED: --admin ${admin} serves plain HTTP without authentication beyond loopback: anyone who reaches it reads this agent's ` +
    'configuration (every service and VIP it holds), and each /resolve of an unknown name is recorded by the cluster as a dependency ' +
    '(a Raft write and a push). Bind it to 127.0.0.1 unless a firewall keeps others out (docs/security.md)'
  );
}
