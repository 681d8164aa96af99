/**
 * Who a refused peer RPC is logged (and its warnings rate-limited) under. `from` is what the
 * caller wrote: any client certificate can send a peer RPC, so before its certificate is checked
 * (or when the check fails) it is a claim of any length and content. Keyed and logged as it was
 * sent, a 3 MB `from`, new on every call, made a 3 MB log line per call and a 3 MB key held in
 * the warnings' map (1,000 of them) until it filled: an operator's certificate took a follower to
 * 3.3 GB and wrote 3.3 GB of log in 40 s (attack round 16).
 */
import { describe } from '../util/untrusted.js';

/** A member id is at most 63 characters (the cluster file's rule); a claim shown is cut there. */
const SHOWN_CHARS = 64;
/** A refusal's details logged: enough for every reason this transport writes. */
export const LOGGED_DETAILS_CHARS = 1024;

export interface RefusedSender {
  /** The rate-limit key's part for the sender: the same for every unproven claim refused alike. */
  readonly key: string;
  /** The sender as logged, at most SHOWN_CHARS characters of a string. */
  readonly shown: string;
}

/**
 * `unproven`: the refusal's code when the caller's certificate did not prove the claim
 * (NOT_A_PEER, WRONG_PEER), null when it did (or there is no certificate to check, in plaintext).
 */
export function refusedSender(from: unknown, unproven: string | null): RefusedSender {
  const shown = typeof from === 'string' ? cut(from, SHOWN_CHARS) : describe(from);
  return { key: unproven === null ? shown : `unproven ${unproven}`, shown };
}

/** `text` cut to `max` characters, marked with its length when cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} chars)`;
}
