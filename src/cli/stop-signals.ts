/**
 * SIGTERM and SIGINT from the first moment of a server process. Imported first, so a signal
 * that arrives while the process is still loading or starting is held, not the default action
 * (death by signal, exit 143): the process acts on it once it can stop cleanly, and exits 0 as
 * the contract says.
 */
export type StopSignal = 'SIGTERM' | 'SIGINT';

let received: StopSignal | null = null;
let handler: ((signal: StopSignal) => void) | null = null;

function deliver(signal: StopSignal): void {
  if (handler !== null) handler(signal);
  else received ??= signal;
}

const onTerm = (): void => deliver('SIGTERM');
const onInt = (): void => deliver('SIGINT');
process.on('SIGTERM', onTerm);
process.on('SIGINT', onInt);

/** The signal that arrived before any handler was set, if one did. */
export function stopRequested(): StopSignal | null {
  return received;
}

/** From now on a signal calls `stop`; one already received calls it at once. */
export function onStopSignal(stop: (signal: StopSignal) => void): void {
  handler = stop;
  if (received !== null) stop(received);
}

/**
 * For a command that is no server (an offline tool): signals take their default action again,
 * and one already held is delivered now.
 */
export function releaseStopSignals(): void {
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  if (received !== null) process.kill(process.pid, received);
}
