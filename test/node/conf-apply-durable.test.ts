/**
 * A membership change is applied only once the commit index covering it is durable
 * (docs/architecture.md, durability): the Ready that only moves the commit index over a conf
 * entry syncs it, and RaftHost acts on the change (the core's configuration, onConfApplied, the
 * state machine) only when that fsync completes. Applied at once, a power cut within the fsync
 * put the node back in the old configuration after it had acted in the new one.
 *
 * Deterministic: time moves only when the test says, and every save is held until the test
 * completes it, as a disk whose fsync has not returned yet.
 */
import pino from 'pino';
import t from 'tap';
import { bootstrapState, encodeConfEntry, type ConfEntry, type Entry, type Message } from '../../src/raft/index.js';
import type { ConfState } from '../../src/raft/types.js';
import { StateMachine } from '../../src/statemachine/index.js';
import { RaftHost } from '../../src/node/raft-host.js';
import type { RaftStorage, StorageUpdate } from '../../src/node/raft-ports.js';
import { encodeBootstrapContext } from '../../src/node/conf-members.js';
import { seededRng } from '../../src/util/rng.js';
import { ManualScheduler } from '../autopilot/manual-scheduler.js';
import { SimFuture } from '../sim/sim-future.js';

const timing = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

interface HeldSave {
  readonly update: StorageUpdate;
  readonly sync: boolean;
  readonly done: SimFuture<void>;
}

/** Every save waits until the test completes it. */
class HeldStorage implements RaftStorage {
  readonly pending: HeldSave[] = [];

  save(update: StorageUpdate, sync: boolean): SimFuture<void> {
    const done = new SimFuture<void>();
    this.pending.push({ update, sync, done });
    return done;
  }

  saveLocalSnapshot(): SimFuture<void> {
    const done = new SimFuture<void>();
    done.resolve(undefined);
    return done;
  }

  /** Completes every save issued so far, in order. */
  completeAll(): void {
    for (const s of this.pending.splice(0)) s.done.resolve(undefined);
  }

  /** Fails every save issued so far, as a disk whose fsync returned an error. */
  failAll(err: Error): void {
    for (const s of this.pending.splice(0)) s.done.reject(err);
  }
}

interface Node {
  readonly host: RaftHost;
  readonly storage: HeldStorage;
  readonly clock: ManualScheduler;
  readonly sent: Message[];
  readonly applied: Array<{ change: ConfEntry; conf: ConfState }>;
  readonly sm: StateMachine;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
  fail(message: string): void;
}

/** n1 of a bootstrapped n1, n2, n3, its bootstrap entry applied; the test plays n2. */
function startN1(t: Teardown, onFatal: (err: Error) => void = (err) => t.fail(err.message)): Node {
  const ids = ['n1', 'n2', 'n3'];
  const b = bootstrapState(ids, encodeBootstrapContext(ids.map((id, i) => ({ id, address: `127.0.0.1:${i + 1}` }))));
  const storage = new HeldStorage();
  const clock = new ManualScheduler();
  const sent: Message[] = [];
  const applied: Array<{ change: ConfEntry; conf: ConfState }> = [];
  const sm = new StateMachine();
  const host = new RaftHost({
    id: 'n1',
    timing,
    storage,
    persisted: { hardState: b.hardState, entries: [b.entry], snapshot: null },
    stateMachine: sm,
    // No membership command: the state machine advances over the entry; the core's conf and
    // onConfApplied say whether the change was applied.
    confCommand: () => null,
    scheduler: clock,
    rng: seededRng(7),
    run: 'conf-apply-durable',
    logger: pino({ level: 'silent' }),
    send: (msgs) => void sent.push(...msgs),
    onConfApplied: (change, conf) => void applied.push({ change, conf }),
    onFatal,
    initialElectionAdvance: false,
  });
  t.teardown(() => {
    const stopping = host.stop();
    storage.completeAll();
    return stopping;
  });
  host.start();
  clock.advance(0);
  storage.completeAll();
  clock.advance(0);
  if (host.status().conf.voters.length !== 3) throw new Error('the bootstrap configuration was not applied');
  applied.splice(0);
  return { host, storage, clock, sent, applied, sm };
}

const addN4: ConfEntry = { type: 'add-learner', node: 'n4', context: '' };

void t.test("a follower applies a committed membership change only once its commit index is synced", async (t) => {
  const n = startN1(t);
  const { host, storage, clock } = n;
  const entry: Entry = { term: 2, index: 2, kind: 'conf', data: encodeConfEntry(addN4) };
  host.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [entry], commit: 1, commitOnly: false });
  clock.advance(0);
  t.equal(storage.pending.length, 1, 'the entry is written');
  storage.completeAll();
  clock.advance(0);
  t.ok(n.sent.some((m) => m.type === 'AppendResp' && m.to === 'n2' && !m.reject && m.index === 2), 'and acknowledged once written');

  // n2 tells n1 that entry 2 is committed: a Ready that only moves the commit index over it.
  host.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 2, context: '' });
  clock.advance(0);
  const commitSave = storage.pending.at(-1);
  t.ok(commitSave !== undefined && commitSave.sync && commitSave.update.hardState?.commit === 2, 'the commit index 2 is written synced');
  t.same(n.applied, [], 'the change is not applied while that write is in flight');
  t.same(host.status().conf.learners, [], "the core's configuration is still the old one");
  t.equal(n.sm.appliedIndex, 1, 'nor did the state machine move past it');

  storage.completeAll();
  clock.advance(0);
  t.same(n.applied.map((a) => a.change), [addN4], 'applied once the write completed');
  t.same(host.status().conf.learners, ['n4'], 'the core is in the new configuration');
  t.equal(n.sm.appliedIndex, 2);
});

/** n1, following n2, writes n4's addition at 2 and is told it is committed: the sync of commit 2 is in flight. */
function followerSyncsChange({ host, storage, clock }: Node): void {
  const entry: Entry = { term: 2, index: 2, kind: 'conf', data: encodeConfEntry(addN4) };
  host.step({ type: 'Append', from: 'n2', to: 'n1', term: 2, prevIndex: 1, prevTerm: 1, entries: [entry], commit: 1, commitOnly: false });
  clock.advance(0);
  storage.completeAll();
  clock.advance(0);
  host.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 2, context: '' });
  clock.advance(0);
}

/** n2 grants what n1 asks and acknowledges what n1 appends; handles what n1 sent so far. */
function answerAsN2({ host, sent }: Node): void {
  for (const m of sent.splice(0)) {
    if (m.to !== 'n2') continue;
    if (m.type === 'PreVote') host.step({ type: 'PreVoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Vote') host.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Append' && !m.commitOnly) {
      host.step({ type: 'AppendResp', from: 'n2', to: 'n1', term: m.term, reject: false, index: m.prevIndex + m.entries.length, rejectHint: 0, hintTerm: 0 });
    }
  }
}

/** n1 campaigns and, with n2's votes, leads with its first entry applied. */
function electN1(n: Node): void {
  const { host, storage, clock } = n;
  host.campaign();
  for (let i = 0; i < 20 && !(host.softState().leader === 'n1' && host.status().applied === host.status().lastIndex); i++) {
    clock.advance(0);
    storage.completeAll();
    clock.advance(0);
    answerAsN2(n);
  }
  if (host.softState().leader !== 'n1') throw new Error('n1 was not elected');
}

/** The leader proposes `change`, writes it and has n2 acknowledge it: returns its index and the outcome. */
function proposeAndAck(n: Node, change: ConfEntry): { at: number; done: Promise<{ ok: boolean }> } {
  const { host, storage, clock } = n;
  const done = host.proposeConfChange(change, 60_000);
  clock.advance(0);
  storage.completeAll();
  clock.advance(0);
  const at = host.status().lastIndex;
  if (!n.sent.some((m) => m.type === 'Append' && m.to === 'n2' && m.entries.some((e) => e.index === at && e.kind === 'conf'))) throw new Error('the change was not appended to n2');
  answerAsN2(n);
  clock.advance(0);
  return { at, done };
}

void t.test('a leader sends its commit notices at once but applies the change only once its commit index is synced, heartbeating meanwhile', async (t) => {
  const n = startN1(t);
  const { host, storage, clock, sent } = n;
  electN1(n);
  const { at, done } = proposeAndAck(n, addN4);

  const commitSave = storage.pending.at(-1);
  t.ok(commitSave !== undefined && commitSave.sync && commitSave.update.hardState?.commit === at, `the commit index ${at} is written synced`);
  t.ok(sent.some((m) => m.type === 'Append' && m.to === 'n2' && m.commit === at), 'the commit notice went out before the write completed');
  t.same(n.applied, [], 'the change is not applied while that write is in flight');
  t.same(host.status().conf.learners, [], "the leader's configuration is still the old one");

  sent.splice(0);
  clock.advance(timing.heartbeatIntervalMs);
  t.ok(sent.some((m) => m.type === 'Heartbeat' && m.to === 'n3'), 'heartbeats go out while it waits');
  t.notOk(sent.some((m) => m.to === 'n4'), 'none to the learner it has not applied yet');

  storage.completeAll();
  clock.advance(0);
  t.same(n.applied.map((a) => a.change), [addN4], 'applied once the write completed');
  t.same(host.status().conf.learners, ['n4']);
  t.ok((await done).ok, 'and the proposal answered');
});

void t.test('what a leader queued for a member while it synced that member\'s removal is not sent once the removal is applied', async (t) => {
  // The identity layer stamps a leader's message with the receiver's recorded data dir as it
  // leaves; sent after the removal was applied, the record is gone and a replacement of n3
  // would take the old data dir's commit for its own (identity seed 131172).
  const n = startN1(t);
  const { host, storage, clock, sent } = n;
  electN1(n);
  const removeN3: ConfEntry = { type: 'remove', node: 'n3', context: '' };
  const { done } = proposeAndAck(n, removeN3);
  t.same(n.applied, [], 'the removal waits for its commit index to be synced');

  // Meanwhile a client reads: the core queues heartbeats that confirm its leadership, for n2
  // and n3, in the old configuration.
  sent.splice(0);
  void host.readBarrier(60_000).catch(() => undefined);
  clock.advance(0);
  t.same(sent, [], 'nothing is sent while the loop waits');

  storage.completeAll();
  clock.advance(0);
  t.same(n.applied.map((a) => a.change), [removeN3], 'the removal is applied');
  t.ok(sent.some((m) => m.type === 'Heartbeat' && m.to === 'n2' && m.context !== ''), "the read's heartbeat goes to n2");
  t.notOk(sent.some((m) => m.to === 'n3'), 'and nothing to n3, removed before it was sent');
  t.ok((await done).ok);
});

void t.test('stop() while a follower syncs the commit index covering a change: the write completes, the change is applied, then the node stops', async (t) => {
  const n = startN1(t);
  const { host, storage } = n;
  followerSyncsChange(n);
  t.ok(storage.pending.at(-1)?.sync, 'the commit index is being synced');

  let stopped = false;
  const stopping = host.stop().then(() => void (stopped = true));
  await Promise.resolve();
  t.notOk(stopped, 'stop() waits for the write in flight');
  storage.completeAll();
  await stopping;
  t.same(n.applied.map((a) => a.change), [addN4], 'the Ready is carried out before the node stops');
  await t.rejects(host.readBarrier(1000), { code: 'SHUTTING_DOWN' }, 'and then it takes nothing more');
});

void t.test('a failed sync of the commit index covering a change applies nothing and stops the node', async (t) => {
  const fatal: Error[] = [];
  const n = startN1(t, (err) => void fatal.push(err));
  const { host, storage, clock } = n;
  electN1(n);
  const { done } = proposeAndAck(n, addN4);
  t.ok(storage.pending.at(-1)?.sync, 'the commit index is being synced');
  storage.failAll(new Error('EIO: fsync failed'));
  clock.advance(0);
  t.same(n.applied, [], 'the change is not applied');
  t.same(host.status().conf.learners, [], "nor is the core's configuration switched");
  t.match(fatal.map((e) => e.message), [/EIO/], 'the failure is fatal');
  await t.rejects(done, { code: 'STORAGE_FAILED' }, 'and the proposal fails');
});

void t.test("a leader's snapshot that arrives while a follower syncs the commit index covering a change wins over that change", async (t) => {
  // The core takes the snapshot's configuration as it steps it; the change, handed out before
  // and applied after the sync, lies below the snapshot and must not be applied over it.
  const n = startN1(t);
  const { host, storage, clock } = n;
  followerSyncsChange(n);
  t.ok(storage.pending.at(-1)?.sync, 'the commit index covering the change is being synced');

  // By index 5 the cluster had added n4 and removed it again.
  const state = new StateMachine();
  for (let i = 1; i <= 5; i++) state.advance(i);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  host.step({ type: 'InstallSnapshot', from: 'n2', to: 'n1', term: 2, snapshot: { meta: { index: 5, term: 2, conf }, data: state.snapshot() } });
  clock.advance(0);
  t.same(n.applied, [], 'nothing is applied while the sync is in flight');

  storage.completeAll();
  clock.advance(0);
  t.same(n.applied, [], 'the change below the snapshot is advanced over, not applied');
  t.same(host.status().conf, conf, "the core keeps the snapshot's configuration");
  storage.completeAll();
  clock.advance(0);
  t.equal(n.sm.appliedIndex, 5, 'and the state machine is restored from the snapshot');
  t.same(host.status().conf, conf);
});
