/**
 * SIGHUP held from the first line of the controller's and the agent's bundled entries
 * (build/bundle-bins.ts), while the bundle is still being read and compiled
 * (src/cli/piecewise-load.ts): a few hundred ms in which Node's default action, death, would turn
 * a `systemctl reload` right after a start into a process that is down (systemd counts death by
 * SIGHUP as a clean exit, so it is not restarted).
 * The entry and the bundle are separate module graphs, so the holder is left on the process for
 * reload-signal.ts, which takes it over.
 */
const KEY = Symbol.for('raft-controller.early-sighup');

interface Holder {
  pending: boolean;
  readonly listener: () => void;
}

function holderSlot(): { [KEY]?: Holder } {
  return process as unknown as { [KEY]?: Holder };
}

/** Installs the holder: from now on a SIGHUP is noted, not fatal. */
export function holdSighup(): void {
  if (holderSlot()[KEY] !== undefined) return;
  const holder: Holder = {
    pending: false,
    listener: () => {
      holder.pending = true;
    },
  };
  process.on('SIGHUP', holder.listener);
  holderSlot()[KEY] = holder;
}

/** Removes the holder (the caller's own listener is installed first) and says whether it held a SIGHUP. */
export function takeHeldSighup(): boolean {
  const holder = holderSlot()[KEY];
  if (holder === undefined) return false;
  process.off('SIGHUP', holder.listener);
  delete holderSlot()[KEY];
  return holder.pending;
}
