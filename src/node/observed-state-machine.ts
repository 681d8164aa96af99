/**
 * The state machine with observers on its apply path: which entries changed the state (for
 * `ctl watch`), how long each apply took and when a snapshot replaced it (for /metrics). The
 * Raft host applies through it exactly as through StateMachine; nothing here changes a result.
 */
import { StateMachine, type ApplyResult, type StateMachineOptions } from '../statemachine/index.js';

export interface ApplyObserver {
  /** A command was applied; `changed`: it moved the revision (a retried request does not). */
  onApply(index: number, data: Uint8Array, result: ApplyResult, changed: boolean, seconds: number): void;
  /** The whole state was replaced (a snapshot); the revision is now `revision`. */
  onRestore(revision: number): void;
}

export class ObservedStateMachine extends StateMachine {
  private readonly observers: ApplyObserver[] = [];

  constructor(options: StateMachineOptions = {}) {
    super(options);
  }

  observe(observer: ApplyObserver): void {
    this.observers.push(observer);
  }

  override apply(index: number, data: Uint8Array): ApplyResult {
    const before = this.revision();
    const started = performance.now();
    const result = super.apply(index, data);
    const seconds = (performance.now() - started) / 1000;
    const changed = this.revision() !== before;
    for (const o of this.observers) o.onApply(index, data, result, changed, seconds);
    return result;
  }

  override restore(data: Uint8Array): void {
    super.restore(data);
    for (const o of this.observers) o.onRestore(this.revision());
  }
}
