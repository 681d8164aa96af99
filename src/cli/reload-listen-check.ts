/**
 * After a SIGHUP reload that names keys for a restart: when the file moves this controller's
 * listen or metrics address to one another program holds now, the restart would stop at once
 * (exit 2, "cannot listen on ..."). The reload cannot refuse it as it refuses a file a restart
 * would refuse for good (the port may be freed by then, and the probe is asynchronous), so it
 * warns, CONFIG_RESTART_WILL_FAIL, while there is time to act.
 */
import type { Logger } from 'pino';
import { parseHostPort } from '../config/host-port.js';
import { loadNodeConfig, type NodeConfig } from '../config/index.js';
import { listenProblem } from '../node/listen-check.js';

/** The port of a host:port address; null when it does not parse (the loader refused those). */
function portOf(address: string): number | null {
  const hp = parseHostPort(address);
  return hp.ok ? hp.value.port : null;
}

/**
 * The addresses `next` binds that `running` does not bind already. A port this controller holds
 * is left out on any host: probing 127.0.0.1:P while it listens on 0.0.0.0:P (or its metrics and
 * gRPC ports swapped) meets its own socket, which the restart releases first.
 */
export function newBinds(running: NodeConfig, next: NodeConfig): Array<readonly [string, string]> {
  const held = new Set([running.self.listen, running.self.metrics].flatMap((a) => (a === null ? [] : [portOf(a)])));
  const binds: Array<readonly [string, string]> = [];
  if (!held.has(portOf(next.self.listen))) binds.push(['gRPC', next.self.listen]);
  const metrics = next.self.metrics;
  if (metrics !== null && !held.has(portOf(metrics))) binds.push(['metrics', metrics]);
  return binds;
}

export async function warnIfRestartCannotListen(file: string, id: string, running: NodeConfig, logger: Pick<Logger, 'warn'>): Promise<void> {
  let next: NodeConfig;
  try {
    next = loadNodeConfig(file, id);
  } catch {
    return; // edited again since the reload read it: the next SIGHUP judges it
  }
  const binds = newBinds(running, next);
  if (binds.length === 0) return;
  const busy = await listenProblem(binds);
  if (busy === null) return;
  logger.warn({ code: 'CONFIG_RESTART_WILL_FAIL', cause: busy }, `config file: a restart with it would stop at once (exit 2) unless this changes first: ${busy}`);
}
