/**
 * A controller that learns it was removed from the cluster stops for good: it closes what it
 * holds and exits with code 10, which docs/deploy.md's systemd unit lists in
 * RestartPreventExitStatus, so it is not restarted into a cluster that refuses it.
 */
import type { Logger } from 'pino';
import type { ControllerNode } from '../node/controller-node.js';
import { REMOVED_EXIT_CODE } from '../node/removal-watch.js';

export function exitRemoved(node: ControllerNode | undefined, logger: Logger): void {
  const exit = (): never => process.exit(REMOVED_EXIT_CODE);
  if (node === undefined) exit(); // removed while still starting: nothing to close yet
  // Exit within a few seconds whatever happens: a removed node must not linger.
  setTimeout(exit, 5_000).unref();
  node!.shutdown().then(exit, (err: unknown) => {
    logger.error({ err }, 'unclean shutdown after removal');
    exit();
  });
}
