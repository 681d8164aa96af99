/**
 * Whether process `pid` runs on this host (signal 0: EPERM means it runs as another user). For
 * files named by the pid of the process that wrote them (a restore's staging dir, an agent's
 * temporary --out), left behind when it was killed: only those of processes gone are removed.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
