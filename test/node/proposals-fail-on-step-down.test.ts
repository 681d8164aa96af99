/**
 * Proposals waiting on a leader that stops leading fail at once with their outcome unknown
 * (etcd: "leader changed"), instead of waiting for an entry at their index that may never be
 * applied (an idle cluster) until the client's own deadline: minutes, or with KvSession up to
 * 49 days (attack 37a, A4).
 */
import t from 'tap';
import { HostError } from '../../src/api/consensus-port.js';
import { toServiceFailure } from '../../src/api/service-error.js';
import type { ApplyResult } from '../../src/statemachine/index.js';
import { encodePut } from '../sim/kv.js';
import { Script } from '../sim/script.js';

/** Far beyond any script: a proposal that fails did not fail by its deadline. */
const NO_DEADLINE_MS = 1e9;

function proposeOn(s: Script, id: string, key: string): { outcome: () => ApplyResult | Error | null; index: number } {
  let outcome: ApplyResult | Error | null = null;
  const at = s.act(id, (h) =>
    h.host.startProposal(encodePut({ id: `w-${key}`, key, value: '1' }), NO_DEADLINE_MS, {
      resolve: (r) => (outcome = r),
      reject: (err) => (outcome = err),
    }),
  );
  return { outcome: () => outcome, index: at.index };
}

void t.test('a leader cut off from its quorum steps down and fails its waiting proposals at once', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('a');
  const p = proposeOn(s, 'a', 'k');
  t.equal(p.outcome(), null, 'waiting while a leads');
  s.runUntil(() => s.status('a').role !== 'leader', ['a']);
  const err = p.outcome();
  t.ok(err instanceof HostError && err.code === 'LEADERSHIP_LOST', 'failed LEADERSHIP_LOST as a stepped down');
  t.match((err as Error).message, new RegExp(`outcome unknown: leadership changed \\(a stopped leading term \\d+ with the proposal at index ${p.index} waiting to commit`));
  t.equal(toServiceFailure(err).code, 'NOT_LEADER', 'the client retries it elsewhere, with its client ref');
});

void t.test('a leader deposed by a newer term fails its waiting proposals, whose entries the new leader overwrites', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('a');
  const p = proposeOn(s, 'a', 'lost');
  // b and c elect one of them without a; a stays leader of its term until it hears of it.
  const newLeader = (): string | undefined => ['b', 'c'].find((id) => s.status(id).role === 'leader');
  s.runUntil(() => newLeader() !== undefined, ['b', 'c']);
  const next = newLeader()!;
  t.equal(s.status('a').role, 'leader', 'a has not noticed yet');
  t.equal(p.outcome(), null, 'still waiting');
  s.heal();
  s.runUntil(() => s.status('a').role === 'follower' && s.status('a').leader === next, [next]);
  const err = p.outcome();
  t.ok(err instanceof HostError && err.code === 'LEADERSHIP_LOST', `failed as soon as a followed ${next}`);
  t.match((err as Error).message, new RegExp(`may yet commit under leader ${next}\\); retry with the same client ref`));
  // Nothing else waits on the index: b's entries take it and the cluster stays idle.
  s.stabilize();
  t.notOk(s.values('a').includes('lost=1'), 'the entry was overwritten, never applied');
});

void t.test('a proposal committed before the leader steps down is answered with its result', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  const p = proposeOn(s, 'a', 'kept');
  s.stabilize();
  const r = p.outcome();
  t.ok(r !== null && !(r instanceof Error) && r.ok, 'applied and answered');
  s.isolate('a');
  s.runUntil(() => s.status('a').role !== 'leader', ['a']);
  t.equal(p.outcome(), r, 'the answer stands');
});
