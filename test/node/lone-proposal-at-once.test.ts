/**
 * A leader takes a proposal's Ready at once (the scheduler's `asap`) when nothing else of its
 * log is uncommitted: there is no batch to wait for, and from `soon` its Appends left one loop
 * turn later (issue 17, put-1). Proposals made while another is in flight still wait for
 * `soon`, so that those arriving together share one Ready and one write.
 *
 * Deterministic: time moves only when the test says, the `asap` queue runs only when the test
 * says, and every save is held until the test completes it.
 */
import pino from 'pino';
import t from 'tap';
import { bootstrapState, type Message } from '../../src/raft/index.js';
import { encodeCommand, StateMachine } from '../../src/statemachine/index.js';
import { RaftHost } from '../../src/node/raft-host.js';
import type { RaftStorage, StorageUpdate } from '../../src/node/raft-ports.js';
import { encodeBootstrapContext } from '../../src/node/conf-members.js';
import { seededRng } from '../../src/util/rng.js';
import { ManualScheduler } from '../autopilot/manual-scheduler.js';
import { SimFuture } from '../sim/sim-future.js';

const timing = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

/** A ManualScheduler whose `asap` callbacks wait in a queue of their own until runAsap(). */
class AsapScheduler extends ManualScheduler {
  private readonly queued: Array<() => void> = [];

  asap(fn: () => void): void {
    this.queued.push(fn);
  }

  runAsap(): void {
    while (this.queued.length > 0) this.queued.shift()!();
  }
}

class HeldStorage implements RaftStorage {
  readonly pending: Array<{ readonly update: StorageUpdate; readonly done: SimFuture<void> }> = [];

  save(update: StorageUpdate): SimFuture<void> {
    const done = new SimFuture<void>();
    this.pending.push({ update, done });
    return done;
  }

  saveLocalSnapshot(): SimFuture<void> {
    const done = new SimFuture<void>();
    done.resolve(undefined);
    return done;
  }

  completeAll(): void {
    for (const s of this.pending.splice(0)) s.done.resolve(undefined);
  }
}

interface Leader {
  readonly host: RaftHost;
  readonly storage: HeldStorage;
  readonly clock: AsapScheduler;
  readonly sent: Message[];
}

/** Everything queued runs, and every write completes, until nothing more happens. */
function settle({ storage, clock }: Leader): void {
  for (let i = 0; i < 10; i++) {
    clock.runAsap();
    clock.advance(0);
    storage.completeAll();
  }
}

/** n1 of a bootstrapped n1, n2, n3, elected with n2's votes, its first entry committed. */
function electN1(t: { teardown(fn: () => Promise<void>): void; fail(m: string): void }): Leader {
  const ids = ['n1', 'n2', 'n3'];
  const b = bootstrapState(ids, encodeBootstrapContext(ids.map((id, i) => ({ id, address: `127.0.0.1:${i + 1}` }))));
  const storage = new HeldStorage();
  const clock = new AsapScheduler();
  const sent: Message[] = [];
  const host = new RaftHost({
    id: 'n1',
    timing,
    storage,
    persisted: { hardState: b.hardState, entries: [b.entry], snapshot: null },
    stateMachine: new StateMachine(),
    confCommand: () => null,
    scheduler: clock,
    rng: seededRng(7),
    run: 'lone-proposal-at-once',
    logger: pino({ level: 'silent' }),
    send: (msgs) => void sent.push(...msgs),
    onFatal: (err) => t.fail(err.message),
    initialElectionAdvance: false,
  });
  const n: Leader = { host, storage, clock, sent };
  t.teardown(() => {
    const stopping = host.stop();
    storage.completeAll();
    return stopping;
  });
  host.start();
  settle(n);
  host.campaign();
  for (let i = 0; i < 20 && !(host.softState().leader === 'n1' && host.status().applied === host.status().lastIndex); i++) {
    settle(n);
    answerAsN2(n);
  }
  if (host.softState().leader !== 'n1') throw new Error('n1 was not elected');
  settle(n);
  sent.splice(0);
  return n;
}

/** n2 grants what n1 asks and acknowledges what n1 appends; handles what n1 sent so far. */
function answerAsN2({ host, sent }: Leader): void {
  for (const m of sent.splice(0)) {
    if (m.to !== 'n2') continue;
    if (m.type === 'PreVote') host.step({ type: 'PreVoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Vote') host.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Append' && !m.commitOnly) {
      host.step({ type: 'AppendResp', from: 'n2', to: 'n1', term: m.term, reject: false, index: m.prevIndex + m.entries.length, rejectHint: 0, hintTerm: 0 });
    }
  }
}

const put = (key: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value: new Uint8Array([1]) });

/** The indexes of the entries n1 appended to n2 so far. */
const appendedToN2 = (sent: readonly Message[]): number[] => sent.flatMap((m) => (m.type === 'Append' && m.to === 'n2' ? m.entries.map((e) => e.index) : []));

void t.test('a lone proposal is taken at once: its Appends leave without waiting for soon', async (t) => {
  const n = electN1(t);
  const { index } = n.host.startProposal(put('a'), 60_000, { resolve: () => undefined, reject: () => undefined });
  n.clock.runAsap();
  t.same(appendedToN2(n.sent), [index], 'appended to n2 from asap, before any soon callback ran');
  t.equal(n.storage.pending.length, 1, 'and its write issued');
});

void t.test('proposals made together share one Ready and one write; one made while another is uncommitted waits for soon', async (t) => {
  const n = electN1(t);
  const ignore = { resolve: () => undefined, reject: () => undefined };
  const a = n.host.startProposal(put('a'), 60_000, ignore);
  const b = n.host.startProposal(put('b'), 60_000, ignore);
  n.clock.runAsap();
  t.same(appendedToN2(n.sent), [a.index, b.index], 'both in one Append');
  t.equal(n.storage.pending.length, 1, 'written together');
  n.storage.completeAll();
  n.clock.runAsap();
  n.clock.advance(0);
  n.sent.splice(0);

  // a and b are uncommitted (n2 has not acknowledged them): c waits for soon.
  const c = n.host.startProposal(put('c'), 60_000, ignore);
  n.clock.runAsap();
  t.same(appendedToN2(n.sent), [], 'not taken from asap while a and b are in flight');
  n.clock.advance(0);
  t.same(appendedToN2(n.sent), [c.index], 'taken from soon');
});
