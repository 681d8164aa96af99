/**
 * Quorum-loss recovery decided on a log, without a disk: what is kept, what is appended and at
 * which term, and each refusal with its reason (test/e2e/quorum-loss-recovery.test.ts runs it on
 * real processes).
 */
import t from 'tap';
import { bootstrapState, decodeConfEntry, encodeConfEntry, type Entry, type HardState, type Snapshot } from '../../src/raft/index.js';
import { RecoverError } from '../../src/recover/errors.js';
import { configurationAtEnd, planRecovery, type RecoverInput } from '../../src/recover/plan.js';

const enc = new TextEncoder();
const boot = bootstrapState(['c1', 'c2', 'c3'], '[]').entry;
const normal = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: enc.encode(`w${index}`) });
const conf = (index: number, term: number, c: Parameters<typeof encodeConfEntry>[0]): Entry => ({ index, term, kind: 'conf', data: encodeConfEntry(c) });

/** c1, c2, c3 voters, c4 added as a learner at 4; ten entries, committed up to 8, term 3. */
const LOG: Entry[] = [
  boot,
  normal(2, 2),
  normal(3, 2),
  conf(4, 2, { type: 'add-learner', node: 'c4', context: '127.0.0.1:7104' }),
  normal(5, 2),
  normal(6, 3),
  normal(7, 3),
  normal(8, 3),
  normal(9, 3),
  normal(10, 3),
];
const HARD: HardState = { term: 3, vote: 'c2', commit: 8 };

function input(over: Partial<RecoverInput> = {}): RecoverInput {
  return { self: 'c1', keep: null, hardState: HARD, snapshot: null, entries: LOG, ...over };
}

function refusal(i: RecoverInput): RecoverError {
  try {
    planRecovery(i);
  } catch (err) {
    if (err instanceof RecoverError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

void t.test('by default the survivor alone stays: every other member is removed at a new term, and everything is committed', async (t) => {
  const plan = planRecovery(input());
  t.strictSame(plan.before, { voters: ['c1', 'c2', 'c3'], learners: ['c4'] });
  t.strictSame(plan.removed, ['c2', 'c3', 'c4']);
  t.strictSame(plan.promoted, []);
  t.strictSame(plan.after, { voters: ['c1'], learners: [] });
  t.strictSame(plan.entries.map((e) => [e.index, e.term, e.kind]), [
    [11, 4, 'conf'],
    [12, 4, 'conf'],
    [13, 4, 'conf'],
    [14, 4, 'noop'],
  ], 'appended after the last entry, at a term no leader of this log used, with a no-op that marks the recovery');
  t.strictSame(plan.entries.slice(0, 3).map((e) => decodeConfEntry(e.data).type), ['remove', 'remove', 'remove']);
  t.match(decodeConfEntry(plan.entries[0]!.data).context, /quorum-loss recovery on c1 \(controller recover\)/, 'the reason the audit trail records');
  t.strictSame(plan.hardState, { term: 4, vote: 'c1', commit: 14 }, 'entries 9 and 10, never known committed, are committed too');
  t.equal(plan.commitBefore, 8);
});

void t.test('--members keeps the named members as voters, promoting a learner among them', async (t) => {
  const plan = planRecovery(input({ keep: ['c1', 'c4'] }));
  t.strictSame(plan.promoted, ['c4']);
  t.strictSame(plan.removed, ['c2', 'c3']);
  t.strictSame(plan.entries.slice(0, 3).map((e) => decodeConfEntry(e.data)).map((c) => [c.type, c.type === 'bootstrap' ? '' : c.node]), [
    ['promote', 'c4'],
    ['remove', 'c2'],
    ['remove', 'c3'],
  ], 'promotions first, so the kept members vote before anyone leaves');
  t.strictSame(plan.after, { voters: ['c1', 'c4'], learners: [] });
});

void t.test('the new term is above both the hard state and the log', async (t) => {
  t.equal(planRecovery(input({ hardState: { term: 9, vote: null, commit: 8 } })).hardState.term, 10);
  t.equal(planRecovery(input({ hardState: { term: 1, vote: null, commit: 8 } })).hardState.term, 4);
});

void t.test('a log after a snapshot starts from the configuration the snapshot holds', async (t) => {
  const snapshot: Snapshot = { meta: { index: 20, term: 5, conf: { voters: ['c1', 'c2', 'c5'], learners: [] } }, data: new Uint8Array() };
  const entries = [normal(21, 5), conf(22, 5, { type: 'remove', node: 'c5', context: '' })];
  t.strictSame(configurationAtEnd(snapshot, entries), { voters: ['c1', 'c2'], learners: [] });
  const plan = planRecovery(input({ snapshot, entries, hardState: { term: 5, vote: null, commit: 21 } }));
  t.strictSame(plan.removed, ['c2']);
  t.strictSame([plan.firstIndex, plan.lastIndex, plan.entries[0]!.index], [21, 22, 23]);
  const bare = planRecovery(input({ snapshot, entries: [], hardState: { term: 5, vote: null, commit: 20 } }));
  t.strictSame([bare.lastIndex, bare.lastTerm, bare.entries[0]!.index, bare.hardState.term], [20, 5, 21, 6], 'a log compacted to nothing: after the snapshot');
  const same = planRecovery(input({ keep: ['c1', 'c2', 'c3', 'c4'] }));
  t.strictSame([same.removed, same.promoted, same.entries.map((e) => e.kind)], [[], ['c4'], ['conf', 'noop']], 'keeping everyone still appends the no-op');
});

void t.test('bad input is refused with the reason', async (t) => {
  const cases: Array<[string, RecoverInput, RecoverError['code'], RegExp]> = [
    ['an empty data dir', input({ entries: [], hardState: { term: 0, vote: null, commit: 0 } }), 'EMPTY_DATA_DIR', /holds no Raft state/],
    ['an unknown member', input({ keep: ['c1', 'c9'] }), 'UNKNOWN_MEMBER', /c9 is not a member of the configuration in c1's log \(voters c1, c2, c3, learners c4\)/],
    ['an id that differs from a member only in case', input({ keep: ['c1', 'C2'] }), 'UNKNOWN_MEMBER', /C2 is not a member of the configuration in c1's log \(voters c1, c2, c3, learners c4\) \(member c2 differs only in case: ids are case-sensitive\)$/],
    ['a list without the survivor', input({ keep: ['c2'] }), 'INVALID_MEMBERS', /must include c1/],
    ['a name twice', input({ keep: ['c1', 'c1'] }), 'INVALID_MEMBERS', /c1 is named twice/],
    ['an empty name', input({ keep: ['c1', ''] }), 'INVALID_MEMBERS', /found an empty one/],
    ['a survivor that is not a member', input({ self: 'c7' }), 'NOT_A_MEMBER', /c7 is not a member of the configuration in its own log/],
  ];
  for (const [what, i, code, reason] of cases) {
    const err = refusal(i);
    t.equal(err.code, code, what);
    t.match(err.message, reason, what);
    t.equal(err.exitCode, 2, `${what}: exit 2`);
  }
});
