/** Applies commands a kind must refuse, each as the next entry, and checks each is INVALID for its reason. */
import type { Test } from 'tap';
import type { StateMachine } from '../../src/statemachine/index.js';

export type InvalidCase = readonly [name: string, data: Uint8Array, reason: RegExp];

export function expectInvalid(t: Test, sm: StateMachine, cases: readonly InvalidCase[]): void {
  for (const [name, data, reason] of cases) {
    const r = sm.apply(sm.appliedIndex + 1, data);
    t.equal(r.ok, false, name);
    if (!r.ok) {
      t.equal(r.code, 'INVALID', name);
      t.match(r.message, reason, `${name}: ${r.message}`);
    }
  }
}
