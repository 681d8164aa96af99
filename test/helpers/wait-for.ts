/**
 * Waits for a condition with a deadline instead of sleeping a fixed time: the test is as fast
 * as the system allows and fails with a message that says what never happened.
 */
const POLL_MS = 10;

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
