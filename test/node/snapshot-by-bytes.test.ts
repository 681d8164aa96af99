/**
 * RaftHost takes a snapshot once `snapshotThresholdBytes` of entries were applied since the last
 * one, long before `snapshotThreshold` entries, and compacts the log behind it to a quarter of
 * that: the log lives in memory until a snapshot, and a count alone let large entries (a
 * fan-out's agent reports) pin hundreds of MB. A state larger than the bound is snapshotted
 * once per its own size of log, not at every bound's worth. Each case runs on one seed, with
 * the byte bound and without it.
 */
import t, { type Test } from 'tap';
import type { Snapshot } from '../../src/raft/types.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import type { RaftHost, RaftTiming } from '../../src/node/raft-host.js';
import type { RaftStorage } from '../../src/node/raft-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { StateMachine } from '../../src/statemachine/index.js';
import type { SteppedSnapshot } from '../../src/statemachine/snapshot-job.js';
import { answerAsN2, startLoneHost, type LoneHostOptions } from './lone-host.js';

const SEED = 11;
const VALUE_BYTES = 30_000;
const base = { heartbeatIntervalMs: 20, electionTimeoutMs: 60_000, snapshotThreshold: 10_000, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

interface Taken {
  readonly index: number;
  readonly compactTo: number;
  readonly bytes: number;
}

/** `puts` puts of VALUE_BYTES each, to key k0 again and again, or to a new key each time (`distinct`). */
async function leaderWithPuts(t: Test, timing: RaftTiming, puts: number, distinct: boolean, options: LoneHostOptions = {}): Promise<{ host: RaftHost; taken: Taken[] }> {
  const taken: Taken[] = [];
  const observe = (s: RaftStorage): RaftStorage => ({
    save: (u, sync) => s.save(u, sync),
    saveLocalSnapshot: (snap: Snapshot, compactTo: number) => {
      taken.push({ index: snap.meta.index, compactTo, bytes: snap.data.length });
      return s.saveLocalSnapshot(snap, compactTo);
    },
  });
  const lone = await startLoneHost(t, timing, SEED, observe, options);
  const { host } = lone;
  host.campaign();
  const answer = (): void => answerAsN2(lone);
  await waitFor(() => (answer(), host.softState().role === 'leader'), 'n1 to lead', 5000);
  for (let i = 0; i < puts; i++) {
    const value = new Uint8Array(VALUE_BYTES).fill(i % 251);
    const proposal = host.propose(encodeCommand({ kind: 'kv', op: 'put', key: distinct ? `k${i}` : 'k0', value }), 30_000);
    let done = false;
    // Settled either way; a refusal is then reported by the await below, not as an unhandled rejection.
    void proposal.then(
      () => (done = true),
      () => (done = true),
    );
    await waitFor(() => (answer(), done), `put ${i} to commit`, 5000);
    const result = await proposal;
    t.ok(result.ok, `put ${i} applied`);
  }
  return { host, taken };
}

void t.test(`a snapshot comes after snapshotThresholdBytes of entries, and keeps a quarter of that behind it (seed ${SEED})`, async (t) => {
  const bound = 200_000;
  const { host, taken } = await leaderWithPuts(t, { ...base, snapshotThresholdBytes: bound }, 16, false);
  // 16 puts of 30 KB to one key (the state stays below the bound): past 200 KB after the
  // seventh, and again seven puts later.
  t.equal(taken.length, 2, 'two snapshots, by bytes, long before 10,000 entries');
  for (const s of taken) {
    // Entries (compactTo, index] stay behind the snapshot: at most 50 KB of them, so one 30 KB put.
    t.ok(s.index - s.compactTo <= Math.floor(bound / 4 / VALUE_BYTES) + 1, `snapshot at ${s.index} keeps ${s.index - s.compactTo} entries, not trailingLogs' 100`);
  }
  t.equal(host.snapshotIndex(), taken.at(-1)!.index);
});

void t.test(`without the byte bound the same puts take no snapshot (seed ${SEED})`, async (t) => {
  const { host, taken } = await leaderWithPuts(t, { ...base, snapshotThresholdBytes: Number.POSITIVE_INFINITY }, 16, false);
  t.equal(taken.length, 0);
  t.equal(host.snapshotIndex(), 0);
});

void t.test(`a state larger than the byte bound is snapshotted once per its own size of log (seed ${SEED})`, async (t) => {
  // Every put keeps its 30 KB under a new key, so the state outgrows a 100 KB bound at once.
  const { taken } = await leaderWithPuts(t, { ...base, snapshotThresholdBytes: 100_000 }, 40, true);
  t.ok(taken.length >= 2, `${taken.length} snapshots`);
  let deferred = false;
  for (let i = 1; i < taken.length; i++) {
    const applied = (taken[i]!.index - taken[i - 1]!.index) * VALUE_BYTES;
    t.ok(applied >= taken[i - 1]!.bytes, `snapshot ${i} came after ${applied} bytes of puts, at least the previous snapshot's ${taken[i - 1]!.bytes}`);
    if (applied > 4 * VALUE_BYTES) deferred = true;
  }
  t.ok(deferred, 'the state\'s size, not the 100 KB bound (four puts), spaced the later snapshots');
});

/** A state machine whose first `failures` snapshots throw, in a step, as past V8's string limit. */
class FailingSnapshots extends StateMachine {
  constructor(private failures: number) {
    super();
  }

  override startSnapshot(): SteppedSnapshot {
    const job = super.startSnapshot();
    if (this.failures-- > 0) {
      job.step = () => {
        throw new RangeError('Invalid string length');
      };
    }
    return job;
  }
}

/**
 * A state machine whose snapshot jobs take no step while `held`: the test decides how long a
 * serialization lasts. `captured` is the whole snapshot as it was when each job began.
 */
class HeldSnapshots extends StateMachine {
  held = true;
  steps = 0;
  readonly captured: { index: number; bytes: Uint8Array }[] = [];

  override startSnapshot(): SteppedSnapshot {
    // Not super.snapshot(): it runs this.startSnapshot(), this override.
    this.captured.push({ index: this.appliedIndex, bytes: super.startSnapshot().finish() });
    const job = super.startSnapshot();
    const step = job.step.bind(job);
    job.step = (budget) => {
      this.steps++;
      return this.held ? false : step(budget);
    };
    return job;
  }
}

void t.test(`a snapshot that cannot be serialized is reported and retried later; the node runs on (seed ${SEED})`, async (t) => {
  const failed: string[] = [];
  // startLoneHost fails the test on any fatal error: the node must not stop.
  const { host, taken } = await leaderWithPuts(t, { ...base, snapshotThresholdBytes: 200_000 }, 16, false, {
    stateMachine: new FailingSnapshots(1),
    onSnapshotFailed: (err) => failed.push(err.message),
  });
  t.same(failed, ['Invalid string length'], 'the failed attempt is reported once');
  // The attempt after the seventh put fails; the next comes after as much log again, at the fourteenth.
  t.equal(taken.length, 1, 'one snapshot, taken on the retry');
  t.ok(taken[0]!.index >= 14, `the retry came after another threshold of log (at index ${taken[0]!.index})`);
  t.equal(host.snapshotIndex(), taken[0]!.index);
});

void t.test(`the leader heartbeats while a snapshot is being written (seed ${SEED})`, async (t) => {
  // A large snapshot took 0.5-0.8 s to write on a loaded host; a leader that held its loop
  // meanwhile sent no heartbeats and lost its term. Here the write waits until released.
  let release: (() => void) | null = null;
  let pending = false;
  const slow = (s: RaftStorage): RaftStorage => ({
    save: (u, sync) => s.save(u, sync),
    saveLocalSnapshot: (snap: Snapshot, compactTo: number) => {
      pending = true;
      const gate = new Promise<void>((resolve) => (release = resolve));
      return gate.then(() => new Promise<void>((resolve, reject) => s.saveLocalSnapshot(snap, compactTo).then(resolve, reject))).finally(() => (pending = false));
    },
  });
  const lone = await startLoneHost(t, { ...base, snapshotThresholdBytes: 100_000 }, SEED, slow);
  const { host, sent } = lone;
  host.campaign();
  await waitFor(() => (answerAsN2(lone), host.softState().role === 'leader'), 'n1 to lead', 5000);
  for (let i = 0; i < 5 && !pending; i++) {
    const proposal = host.propose(encodeCommand({ kind: 'kv', op: 'put', key: 'k0', value: new Uint8Array(VALUE_BYTES) }), 30_000);
    void proposal.catch(() => undefined);
    await waitFor(() => (answerAsN2(lone), pending || host.status().commit >= host.status().lastIndex), `put ${i}`, 5000);
  }
  // The snapshot is serialized in steps after the put that crossed the bound applied (a later
  // put may commit first on a loaded host): its write begins when the steps are done.
  await waitFor(() => (answerAsN2(lone), pending), 'a snapshot write to begin', 5000);
  t.ok(pending, 'a snapshot write is in progress, held');
  sent.splice(0);
  await waitFor(() => sent.filter((m) => m.type === 'Heartbeat' && m.to === 'n2').length >= 5, 'heartbeats to n2 while the snapshot is written', 5000);
  t.ok(pending, 'five heartbeats went out while the write was still held');
  release!();
  await waitFor(() => !pending, 'the snapshot write to complete', 5000);
  t.pass('written');
});

void t.test(`a snapshot is serialized in steps while the leader heartbeats and applies, and is of the state it captured (seed ${SEED})`, async (t) => {
  // 70 MB of state took 1.1-1.9 s to serialize in one go, and a leader that held its loop that
  // long lost its term. Here serialization lasts until the test releases it.
  const sm = new HeldSnapshots();
  const stored: Snapshot[] = [];
  const observe = (s: RaftStorage): RaftStorage => ({
    save: (u, sync) => s.save(u, sync),
    saveLocalSnapshot: (snap: Snapshot, compactTo: number) => {
      stored.push(snap);
      return s.saveLocalSnapshot(snap, compactTo);
    },
  });
  const lone = await startLoneHost(t, { ...base, snapshotThresholdBytes: 100_000 }, SEED, observe, { stateMachine: sm });
  const { host, sent } = lone;
  host.campaign();
  await waitFor(() => (answerAsN2(lone), host.softState().role === 'leader'), 'n1 to lead', 5000);
  const put = async (i: number): Promise<void> => {
    const proposal = host.propose(encodeCommand({ kind: 'kv', op: 'put', key: 'k0', value: new Uint8Array(VALUE_BYTES).fill(i) }), 30_000);
    void proposal.catch(() => undefined);
    await waitFor(() => (answerAsN2(lone), host.status().applied >= host.status().lastIndex), `put ${i} to apply`, 5000);
    t.ok((await proposal).ok, `put ${i} applied`);
  };
  let i = 0;
  while (sm.captured.length === 0 && i < 10) await put(++i);
  t.equal(sm.captured.length, 1, `a snapshot began after ${i} puts of ${VALUE_BYTES} bytes (the bound is 100,000)`);
  const captured = sm.captured[0]!;
  sent.splice(0);
  await waitFor(() => sent.filter((m) => m.type === 'Heartbeat' && m.to === 'n2').length >= 5, 'heartbeats to n2 while the snapshot is serialized', 5000);
  for (let k = 0; k < 3; k++) await put(++i);
  t.ok(host.status().applied > captured.index, `entries applied past the captured index ${captured.index} while serializing (applied ${host.status().applied})`);
  t.ok(sm.steps >= 5, `the job was stepped on later turns (${sm.steps} steps), not run in one go`);
  t.equal(stored.length, 0, 'nothing stored before the serialization completed');
  sm.held = false;
  await waitFor(() => stored.length === 1, 'the snapshot to be stored', 5000);
  t.equal(stored[0]!.meta.index, captured.index, 'stored at the index it captured, not the applied one');
  t.same(Buffer.from(stored[0]!.data), Buffer.from(captured.bytes), 'the bytes of the state at capture, none of the later puts');
  await waitFor(() => host.snapshotIndex() === captured.index, 'the log compacted to the snapshot', 5000);
});
