/**
 * A write the leader refused because too many bytes of writes wait to commit on it
 * (RESOURCE_EXHAUSTED, raft.max_uncommitted_bytes): nothing was proposed, and the room comes
 * back as soon as earlier writes commit, usually within milliseconds. So the client tries again,
 * backing off, until its timeout, and only then reports the refusal. Another client's burst
 * thus slows this client's writes instead of failing them.
 */
import { ApiError } from './errors.js';

const FIRST_WAIT_MS = 25;
const LONGEST_WAIT_MS = 800;

/** Runs `attempt` again while it fails RESOURCE_EXHAUSTED and `timeoutMs` from now allows another wait. */
export async function retryWhileLeaderFull<T>(timeoutMs: number, attempt: () => Promise<T>, sleep: (ms: number) => Promise<void> = defaultSleep, now: () => number = Date.now): Promise<T> {
  const deadline = now() + timeoutMs;
  let wait = FIRST_WAIT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'RESOURCE_EXHAUSTED' || now() + wait >= deadline) throw err;
    }
    await sleep(wait);
    wait = Math.min(LONGEST_WAIT_MS, wait * 2);
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
