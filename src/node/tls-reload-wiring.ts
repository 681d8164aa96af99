/**
 * Puts a controller's TLS reload together: the material in force (built before anything
 * listens or dials, so every channel gets its reloadable credentials), its metrics, the expiry
 * watch and the reloader that SIGHUP calls. Only with a `tls` block: plaintext has nothing to
 * reload.
 */
import type { Logger } from 'pino';
import type client from 'prom-client';
import type { AgentGateCode } from '../transport/agent-ca-gate.js';
import { readTlsSnapshot, type ControllerTlsFiles } from '../transport/tls-snapshot.js';
import { TlsExpiryWatch } from './tls-expiry-watch.js';
import { TlsInForce } from './tls-in-force.js';
import { TlsMetrics } from './tls-metrics.js';
import { TlsReloader, type TlsReloadOutcome } from './tls-reloader.js';

/** The files as start reads them; they were checked with the config, so a problem now means they changed since. */
export function tlsAtStart(files: ControllerTlsFiles, selfId: string, onAgentRefused: (code: AgentGateCode) => void): TlsInForce {
  const checked = readTlsSnapshot(files, selfId);
  if (!checked.ok) throw new Error(`${checked.problem.keyPath}: ${checked.problem.reason}`);
  return new TlsInForce(checked.snapshot, onAgentRefused);
}

export interface TlsReload {
  reload(): TlsReloadOutcome;
  start(): void;
  stop(): void;
}

export function wireTlsReload(o: { readonly files: ControllerTlsFiles; readonly selfId: string; readonly inForce: TlsInForce; readonly registry: client.Registry; readonly logger: Logger }): TlsReload {
  const metrics = new TlsMetrics(o.registry, () => o.inForce.current);
  const watch = new TlsExpiryWatch(() => o.inForce.current, o.logger);
  const reloader = new TlsReloader({
    files: o.files,
    selfId: o.selfId,
    inForce: o.inForce,
    logger: o.logger,
    onResult: (result) => metrics.onReload(result),
    onReloaded: () => watch.check(),
    onRevokedClosed: (closed) => metrics.onRevokedClosed(closed.length),
  });
  return { reload: () => reloader.reload(), start: () => watch.start(), stop: () => watch.stop() };
}
