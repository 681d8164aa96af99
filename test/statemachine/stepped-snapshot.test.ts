/**
 * A snapshot serialized in steps (the Raft host takes one per turn of the loop) is the snapshot
 * of the state when it began: entries applied between steps do not show in it, and whatever
 * the step size, its bytes are the same canonical JSON text, which restores to that state.
 */
import t from 'tap';
import { DEFAULT_KINDS, StateMachine, encodeCommand, type Envelope, type KvCommand, type MembersCommand } from '../../src/statemachine/index.js';
import { SteppedSnapshot, arrayPieces, valuePieces } from '../../src/statemachine/snapshot-job.js';
import { apply, claim, del, initSettings, offline, route, run, service } from './mesh-helpers.js';
import { seededRng, type Rng } from '../../src/util/rng.js';

type Cmd = Envelope<KvCommand | MembersCommand>;

const SEED = 20261203;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const BUDGETS = [1, 7, 300, 1 << 20];

function feed(sm: StateMachine, commands: readonly Cmd[]): void {
  for (const c of commands) sm.apply(sm.appliedIndex + 1, encodeCommand(c));
}

/** Text with what JSON escapes, multi-byte letters and surrogate pairs; or bytes that are not UTF-8. */
function randomValue(rng: Rng): Uint8Array {
  const alphabet = ['a', 'Z', '"', '\\', '\n', '\u0001', 'ü', '€', '🎉', '𝄞', '\u2028'];
  if (rng.int(0, 5) === 0) return Uint8Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 256));
  return encoder.encode(Array.from({ length: rng.int(0, 60) }, () => alphabet[rng.int(0, alphabet.length)]).join(''));
}

function randomCommands(rng: Rng, count: number): Cmd[] {
  const cmds: Cmd[] = [{ kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: 'h:1' }, { id: 'c2', address: 'h:2' }] }];
  for (let i = 0; i < count; i++) {
    const key = `k${rng.int(0, 40)}${rng.int(0, 3) === 0 ? '🎉' : ''}`;
    if (rng.int(0, 6) === 0) cmds.push({ kind: 'kv', op: 'delete', key });
    else cmds.push({ kind: 'kv', op: 'put', key, value: randomValue(rng), ...(rng.int(0, 4) === 0 ? { client: { id: `cli${rng.int(0, 3)}`, seq: i + 1 } } : {}) });
  }
  return cmds;
}

function runInSteps(job: SteppedSnapshot, budget: number): { bytes: Uint8Array; steps: number } {
  let steps = 1;
  while (!job.step(budget)) steps++;
  return { bytes: job.bytes(), steps };
}

void t.test(`steps of any size give the same canonical JSON, which restores the state (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED);
  for (let round = 0; round < 20; round++) {
    const sm = new StateMachine();
    feed(sm, randomCommands(rng, rng.int(0, 120)));
    const whole = sm.snapshot();
    for (const budget of BUDGETS) {
      const { bytes, steps } = runInSteps(sm.startSnapshot(), budget);
      if (Buffer.compare(bytes, whole) !== 0) {
        t.fail(`round ${round}, budget ${budget}: the stepped bytes differ from snapshot()'s`);
        return;
      }
      if (budget === 1 && round > 0) t.ok(steps > 3, `round ${round}: budget 1 took ${steps} steps`);
    }
    const text = decoder.decode(whole.subarray(1));
    t.equal(JSON.stringify(JSON.parse(text)), text, `round ${round}: the text is JSON.stringify's own form`);
    const copy = new StateMachine();
    copy.restore(whole);
    t.equal(Buffer.compare(copy.snapshot(), whole), 0, `round ${round}: restores to the same state`);
  }
});

void t.test(`a job is of the state when it began, whatever applies between its steps (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED + 1);
  for (let round = 0; round < 20; round++) {
    const sm = new StateMachine();
    feed(sm, randomCommands(rng, 30 + rng.int(0, 60)));
    const atStart = sm.snapshot();
    const index = sm.appliedIndex;
    const revision = sm.revision();
    const job = sm.startSnapshot();
    // Overwrites, deletes and new keys between every step.
    const later = randomCommands(rng, 200).slice(1);
    let next = 0;
    while (!job.step(1 + rng.int(0, 50))) {
      if (next < later.length) feed(sm, [later[next++]!]);
    }
    t.ok(sm.appliedIndex > index, `round ${round}: ${sm.appliedIndex - index} entries applied while serializing`);
    t.equal(job.index, index);
    t.equal(job.revision, revision);
    t.equal(Buffer.compare(job.bytes(), atStart), 0, `round ${round}: the bytes of the state at the start`);
  }
});

void t.test('a snapshot longer than restore can decode fails in a step, before anything is stored', async (t) => {
  const sm = new StateMachine();
  feed(sm, [{ kind: 'kv', op: 'put', key: 'big', value: encoder.encode('x'.repeat(5000)) }]);
  const limit = 4000;
  const job = new SteppedSnapshot(1, 1, [arrayPieces(3, () => 'x'.repeat(1500))], limit);
  t.throws(() => runInSteps(job, 1000), /longer than 4000 UTF-16 units/);
  t.throws(() => job.bytes(), /not complete/, 'no bytes from a failed job');
});

void t.test('array pieces join into JSON arrays, empty included', async (t) => {
  for (const n of [0, 1, 2, 5]) {
    const pieces = arrayPieces(n, (i) => JSON.stringify({ i }));
    let text = '';
    for (let p = pieces.next(); p !== undefined; p = pieces.next()) text += p;
    t.equal(text, JSON.stringify(Array.from({ length: n }, (_, i) => ({ i }))), `${n} elements`);
    t.equal(pieces.next(), undefined, 'stays ended');
  }
});

void t.test(`value pieces join into JSON.stringify's text of the value (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED + 2);
  const leaf = (): unknown => [null, true, 0, -1.5, 'ü"\n🎉', undefined, 12345678901][rng.int(0, 7)];
  const make = (depth: number): unknown => {
    if (depth > 3 || rng.int(0, 4) === 0) return leaf();
    if (rng.int(0, 2) === 0) return Array.from({ length: rng.int(0, 4) }, () => make(depth + 1));
    return Object.fromEntries(Array.from({ length: rng.int(0, 4) }, (_, i) => [`f${i}\u2028`, make(depth + 1)]));
  };
  for (let round = 0; round < 300; round++) {
    const value = { a: make(0), b: [make(1), make(1)], c: undefined };
    const pieces = valuePieces(value);
    let text = '';
    for (let p = pieces.next(); p !== undefined; p = pieces.next()) text += p;
    if (text !== JSON.stringify(value)) {
      t.fail(`round ${round}: ${text} is not ${JSON.stringify(value)}`);
      return;
    }
  }
  t.pass('300 values');
});

void t.test('the mesh and the agents are snapshotted as they were when the job began', async (t) => {
  const sm = new StateMachine({ kinds: DEFAULT_KINDS });
  run(sm, initSettings());
  for (let i = 0; i < 30; i++) run(sm, apply(1000 + i, service(`svc-${i}`, 'http', [80 + i], { team: `t${i % 3}` })));
  run(sm, apply(2000, route('r1', 'svc-1', 'svc-2')));
  for (let i = 0; i < 10; i++) run(sm, claim(`agent-${i}`, `s${i}`));
  const atStart = sm.snapshot();
  const job = sm.startSnapshot();
  let i = 0;
  const changes = [
    () => run(sm, del(3000, 'route', 'r1')),
    () => run(sm, del(3001, 'service', 'svc-3')),
    () => run(sm, apply(3002, service('svc-4', 'tcp', [9000]), service('new-svc'))),
    () => run(sm, claim('agent-99', 's99')),
    () => run(sm, offline('agent-1', 's1')),
  ];
  while (!job.step(64)) if (i < changes.length) t.ok(changes[i++]!().ok, `change ${i} applied between steps`);
  t.equal(i, changes.length, 'every change applied while the job ran');
  t.equal(Buffer.compare(job.bytes(), atStart), 0, 'the bytes of the state at the start');
  t.not(Buffer.compare(sm.snapshot(), atStart), 0, 'the changes are in the next snapshot');
});
