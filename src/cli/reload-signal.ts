/**
 * SIGHUP, the reload signal (as for Consul, nginx, HAProxy; systemd's `ExecReload=/bin/kill
 * -HUP $MAINPID`), from the first moment of a server process (controller, agent). Node's
 * default for SIGHUP is to die, so a reload sent while the process is still loading or starting
 * would kill it:
 * the handler is installed on import, before anything else runs (and the bundled entry holds
 * SIGHUP before that, early-sighup.ts), and a SIGHUP that arrives before the node can reload is
 * held and acted on once it can (the files may have changed after start read them).
 */
import { takeHeldSighup } from './early-sighup.js';

let pending = false;
let handler: (() => void) | null = null;

const onHup = (): void => {
  if (handler !== null) handler();
  else pending = true;
};
process.on('SIGHUP', onHup);
// The bundled entry's holder (early-sighup.ts) covered the bundle's loading; ours is on first.
if (takeHeldSighup()) pending = true;

/** Whether a SIGHUP arrived before any handler was set, not yet acted on. */
export function reloadPending(): boolean {
  return pending;
}

/** From now on SIGHUP calls `reload`; one held since start calls it at once. */
export function onReloadSignal(reload: () => void): void {
  handler = reload;
  if (pending) {
    pending = false;
    reload();
  }
}

/** For a command that is no server (an offline tool): SIGHUP takes its default action again. */
export function releaseReloadSignal(): void {
  process.off('SIGHUP', onHup);
  if (pending) process.kill(process.pid, 'SIGHUP');
}
