/**
 * The agent's admin port (--admin HOST:PORT, HTTP): GET /config shows the configuration in
 * force; GET /resolve/NAME answers a service's VIP when NAME is in the configuration, and
 * otherwise 202 "via fallback" and notes NAME as an observed dependency (issue 14 sends those
 * to the cluster; until then they are kept, bounded, and shown in /config's `observed`).
 */
import http from 'node:http';
import { RESOURCE_NAME_PATTERN, resourceKey, type Resource } from '../statemachine/index.js';
import type { ConfigJson } from './config-state.js';

export interface AdminSource {
  config(): ConfigJson;
  get(key: string): Resource | null;
  /** A /resolve miss: NAME is a dependency the agent did not have. */
  observe(name: string): void;
  /** A /resolve hit: the dependency is in use. */
  used(name: string): void;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

export function adminHandler(source: AdminSource): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method !== 'GET') return send(res, 405, { error: `method ${req.method ?? ''} not allowed; use GET` });
    if (url.pathname === '/config') return send(res, 200, source.config());
    const m = /^\/resolve\/([^/]+)$/.exec(url.pathname);
    if (m !== null) {
      const name = decodeURIComponent(m[1]!);
      if (name.length > 253 || !RESOURCE_NAME_PATTERN.test(name)) return send(res, 400, { error: `expected a service name, found ${JSON.stringify(name.slice(0, 80))}` });
      const svc = source.get(resourceKey('service', name));
      if (svc !== null && svc.kind === 'service') {
        source.used(name);
        return send(res, 200, { name, vip: svc.status.vip ?? null });
      }
      source.observe(name);
      return send(res, 202, { name, via: 'fallback' });
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
