/**
 * A consensus port without Raft, for unit tests of the API: this node leads when the test says
 * so, a proposal applies at once to a real state machine, and failures are scripted per call.
 */
import type { ConsensusPort, ConsensusStatus } from '../../src/api/consensus-port.js';
import { HostError } from '../../src/api/consensus-port.js';
import type { ConfEntry, ConfState, SoftState } from '../../src/raft/index.js';
import { confEntryToMembersCommand, encodeBootstrapContext } from '../../src/node/conf-members.js';
import { encodeCommand, okResult, StateMachine, type ApplyResult } from '../../src/statemachine/index.js';

export class FakeConsensus implements ConsensusPort {
  readonly sm: StateMachine;
  conf: ConfState;
  /** Each member's replicated index, as a leader's progress would show it. */
  readonly match = new Map<string, number>();
  /** What was proposed, in order (commands and configuration changes alike). */
  readonly proposals: Array<Uint8Array | ConfEntry> = [];
  /** Thrown by the next proposals, one per call, before anything is proposed. */
  readonly proposeFailures: Error[] = [];
  /** Thrown by the next read barriers, one per call. */
  readonly readFailures: Error[] = [];
  readBarriers = 0;
  /** Applied during the next read barrier: entries a lagging node applies before it returns. */
  readonly catchUpOnReadBarrier: Uint8Array[] = [];
  transfers: string[] = [];
  private leaderId: string | null;
  private index = 0;
  private readonly leaderWaiters = new Set<() => void>();

  /** Whether configuration changes also change the members records, as on a real node. */
  private readonly records: boolean;

  constructor(
    readonly id: string,
    opts: {
      readonly leader: string | null;
      readonly voters: readonly string[];
      readonly learners?: readonly string[];
      /** Bootstrap the members records from voters (at index 1) and keep them in step with changes. */
      readonly records?: boolean;
      /** The state machine's dedup table bound (default: the real one). */
      readonly maxClients?: number;
    },
  ) {
    this.sm = new StateMachine(opts.maxClients === undefined ? {} : { maxClients: opts.maxClients });
    this.leaderId = opts.leader;
    this.conf = { voters: [...opts.voters], learners: [...(opts.learners ?? [])] };
    this.records = opts.records ?? false;
    if (this.records) {
      const members = opts.voters.map((v) => ({ id: v, address: `${v}.example:7000` }));
      this.index += 1;
      this.sm.apply(this.index, confEntryToMembersCommand({ type: 'bootstrap', voters: opts.voters, context: encodeBootstrapContext(members) }));
    }
  }

  /**
   * What the leader's identity duty does once it hears from a member: records its data dir
   * (a `members` records port only).
   */
  recordIncarnation(id: string, incarnation: string): void {
    if (!this.records) throw new Error('fake consensus: recordIncarnation needs records: true');
    this.index += 1;
    const result = this.sm.apply(this.index, encodeCommand({ kind: 'members', op: 'recordIncarnation', id, incarnation }));
    if (!result.ok) throw new Error(`fake consensus: recordIncarnation refused: ${result.message}`);
  }

  /** Leadership moves (or is lost, with null). */
  setLeader(leader: string | null): void {
    this.leaderId = leader;
    for (const w of this.leaderWaiters) w();
    this.leaderWaiters.clear();
  }

  async propose(data: Uint8Array): Promise<ApplyResult> {
    this.refuseUnlessLeading(this.proposeFailures.shift());
    this.proposals.push(data);
    this.index += 1;
    return this.sm.apply(this.index, data);
  }

  async proposeConfChange(change: ConfEntry): Promise<ApplyResult> {
    this.refuseUnlessLeading(this.proposeFailures.shift());
    this.proposals.push(change);
    this.index += 1;
    if (this.records) this.sm.apply(this.index, confEntryToMembersCommand(change));
    else this.sm.advance(this.index);
    const without = (ids: readonly string[], id: string): string[] => ids.filter((x) => x !== id);
    switch (change.type) {
      case 'bootstrap':
        this.conf = { voters: [...change.voters], learners: [] };
        break;
      case 'add-learner':
        this.conf = { voters: this.conf.voters, learners: [...this.conf.learners, change.node] };
        break;
      case 'promote':
        this.conf = { voters: [...this.conf.voters, change.node], learners: without(this.conf.learners, change.node) };
        break;
      case 'remove':
        this.conf = { voters: without(this.conf.voters, change.node), learners: without(this.conf.learners, change.node) };
        break;
    }
    return okResult(this.sm.revision());
  }

  async readBarrier(): Promise<void> {
    this.readBarriers += 1;
    const failure = this.readFailures.shift();
    if (failure !== undefined) throw failure;
    for (let data = this.catchUpOnReadBarrier.shift(); data !== undefined; data = this.catchUpOnReadBarrier.shift()) {
      this.index += 1;
      this.sm.apply(this.index, data);
    }
  }

  status(): ConsensusStatus {
    return {
      id: this.id,
      term: 1,
      leader: this.leaderId,
      role: this.leaderId === this.id ? 'leader' : 'follower',
      commit: this.index,
      lastIndex: this.index,
      firstIndex: 1,
      conf: this.conf,
      progress: new Map([...this.match].map(([id, match]) => [id, { match }])),
    };
  }

  softState(): SoftState {
    return { leader: this.leaderId, role: this.leaderId === this.id ? 'leader' : 'follower' };
  }

  snapshotIndex(): number {
    return 0;
  }

  /** Set by a test to play a leader stuck behind an entry it cannot send. */
  stallMs = 0;

  commitStallMs(): number {
    return this.stallMs;
  }

  waitForLeader(timeoutMs: number): Promise<string | null> {
    if (this.leaderId !== null) return Promise.resolve(this.leaderId);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.leaderWaiters.delete(done);
        resolve(this.leaderId);
      };
      const timer = setTimeout(done, timeoutMs);
      this.leaderWaiters.add(done);
    });
  }

  transferLeadership(to: string): void {
    this.transfers.push(to);
    this.setLeader(to);
  }

  async handOffLeadership(): Promise<string | null> {
    const to = this.conf.voters.find((v) => v !== this.id) ?? null;
    if (to !== null) this.transferLeadership(to);
    return to;
  }

  private refuseUnlessLeading(scripted: Error | undefined): void {
    if (scripted !== undefined) throw scripted;
    if (this.leaderId !== this.id) throw new HostError(this.leaderId === null ? 'NO_LEADER' : 'NOT_LEADER', `${this.id} is not the leader`, this.leaderId);
  }
}
