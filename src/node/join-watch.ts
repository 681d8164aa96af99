/**
 * While a node started with --join knows no cluster configuration, the file's peers are asked
 * again now and then what they run, and what it waits for that may never come is logged when
 * it changes (startup-decision.ts, joinWaitWarning). Its start-up question was asked once, at
 * its start: the first member of a new cluster whose members were all started with --join
 * heard no one then, and waited in silence while the others, started after it and hearing it
 * answer empty, were each warned (attack-operator round 15's open item).
 */
import type { PeerAnswer } from '../identity/index.js';

export interface JoinWatchDeps {
  /** Whether the node still knows no cluster configuration (it was never reached by a leader). */
  readonly waiting: () => boolean;
  /** The file's peers' answers to the start-up question. */
  readonly ask: () => Promise<PeerAnswer[]>;
  /** What the node waits for that may never come, judged from the answers; null: nothing to say. */
  readonly judge: (answers: readonly PeerAnswer[]) => string | null;
  readonly warn: (message: string) => void;
}

export class JoinWatch {
  private running = false;
  private done = false;

  /** `said`: the warning the start logged, if any: not repeated while it stays the same. */
  constructor(
    private readonly deps: JoinWatchDeps,
    private said: string | null,
  ) {}

  /** Whether the node has learned its configuration (nothing more to watch). */
  get finished(): boolean {
    return this.done;
  }

  /** One round; skipped while the last is out, and for good once the node knows a configuration. */
  async round(): Promise<void> {
    if (this.done || this.running) return;
    if (!this.deps.waiting()) {
      this.done = true;
      return;
    }
    this.running = true;
    try {
      const answers = await this.deps.ask();
      if (!this.deps.waiting()) {
        this.done = true;
        return;
      }
      const warning = this.deps.judge(answers);
      if (warning !== null && warning !== this.said) this.deps.warn(warning);
      this.said = warning;
    } finally {
      this.running = false;
    }
  }
}
