/** What the exactly-once tests share: commands with their client tag, applied as the next entry. */
import { encodeCommand, type ApplyResult, type Envelope, type KindCommand, type StateMachine } from '../../src/statemachine/index.js';

export const b = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : new TextDecoder().decode(v));

/** Applies `command` as the entry after the last one applied. */
export function run<C extends KindCommand>(sm: StateMachine, command: Envelope<C>): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand(command));
}
