/**
 * After a SIGHUP reload that names keys for a restart: when the file moves this controller's
 * listen or metrics address to one another program holds now, the restart would stop at once
 * (exit 2, "cannot listen on ..."). The reload cannot refuse it as it refuses a file a restart
 * would refuse for good (the port may be freed by then, and the probe is asynchronous), so it
 * warns, CONFIG_RESTART_WILL_FAIL, while there is time to act.
 */
import type { Logger } from 'pino';
import { sameAddress } from '../config/host-port.js';
import { loadNodeConfig, type NodeConfig } from '../config/index.js';
import { listenProblem } from '../node/listen-check.js';

/** The addresses `next` binds that `running` does not bind already (its own ports are in use by itself). */
export function newBinds(running: NodeConfig, next: NodeConfig): Array<readonly [string, string]> {
  const binds: Array<readonly [string, string]> = [];
  if (!sameAddress(next.self.listen, running.self.listen)) binds.push(['gRPC', next.self.listen]);
  const metrics = next.self.metrics;
  if (metrics !== null && (running.self.metrics === null || !sameAddress(metrics, running.self.metrics))) binds.push(['metrics', metrics]);
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
