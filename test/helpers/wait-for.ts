/**
 * Waits for a condition with a deadline instead of sleeping a fixed time: the test is as fast
 * as the system allows and fails with a message that says what never happened.
 *
 * A cheap condition is checked every POLL_MS. One that costs time (a `ctl` process per check
 * costs about half a CPU second) is checked again only after twice as long as it took, up to
 * MAX_GAP_MS: polling it back to back kept a core busy for the whole wait and slowed the test
 * running beside it, while the condition is seen at most one gap later.
 */
const POLL_MS = 10;
const MAX_GAP_MS = 1000;

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const started = Date.now();
    if (await cond()) return;
    const now = Date.now();
    if (now >= deadline) throw new Error(`timed out waiting for ${what}`);
    const gap = Math.min(MAX_GAP_MS, Math.max(POLL_MS, 2 * (now - started)), deadline - now);
    await new Promise((resolve) => setTimeout(resolve, gap));
  }
}
