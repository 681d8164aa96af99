/**
 * A follower that cannot reach the leader it knows (a link down one way: the leader still
 * heartbeats it) stops forwarding after its budget and answers NO_LEADER, so the client tries
 * another controller with the time it has left (src/api/on-leader.ts).
 */
import t from 'tap';
import { onLeaderOf, type ForwardToLeader } from '../../src/api/on-leader.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { FakeConsensus } from './fake-consensus.js';

interface Attempt {
  readonly address: string;
  readonly at: number;
  readonly deadline: number;
}

/** Forwards fail as LeaderForwarder's do when the leader does not answer: at once (`hang` false) or at their deadline. */
function silentLink(hang: boolean, answers: (address: string) => unknown = () => null): ForwardToLeader & { readonly attempts: Attempt[] } {
  const attempts: Attempt[] = [];
  return {
    attempts,
    call: <Res>(address: string, _method: string, _request: object, deadline: number): Promise<Res> => {
      attempts.push({ address, at: Date.now(), deadline });
      const answer = answers(address);
      if (answer !== null) return Promise.resolve(answer as Res);
      const fail = (): ServiceFailure => new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: ${hang ? 'deadline exceeded' : 'connection refused'}`);
      return hang ? new Promise((_, reject) => setTimeout(() => reject(fail()), Math.max(0, deadline - Date.now()))) : Promise.reject(fail());
    },
  };
}

const addressOf = (id: string): string => `${id}.example:7000`;
const request = { forwarded: false };
const local = (): Promise<never> => Promise.reject(new Error('not the leader'));

void t.test('a leader that refuses every connection: NO_LEADER once the budget is spent, naming it and why', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = silentLink(false);
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 150 });
  const err = await onLeader('put', request, Date.now() + 60_000, local).catch((e: unknown) => e);
  t.match(err, { code: 'NO_LEADER', message: /^c1 has not reached leader c2 at c2\.example:7000 for \d+ms \(leader at c2\.example:7000 unreachable: connection refused\): try another controller$/ });
  t.ok(link.attempts.length >= 2, `it retried within the budget (${link.attempts.length} attempts)`);
  const first = link.attempts[0]!.at;
  t.ok(link.attempts.every((a) => a.deadline <= first + 150), 'no attempt may outlast the budget');
});

void t.test('a leader that never answers: the attempt ends with the budget, not with the client deadline', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = silentLink(true);
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 200 });
  const deadline = Date.now() + 60_000;
  const err = await onLeader('put', request, deadline, local).catch((e: unknown) => e);
  t.match(err, { code: 'NO_LEADER', message: /has not reached leader c2 .*deadline exceeded\): try another controller/ });
  t.equal(link.attempts.length, 1, 'one attempt, cut at the budget');
  // The budget starts as forwarding begins, a millisecond or so before the attempt is stamped.
  const { at, deadline: cut } = link.attempts[0]!;
  t.ok(cut <= at + 200 && cut >= at + 150, `cut at the budget: ${cut - at} ms after the attempt, not at the client deadline 60 s away`);
});

void t.test('a new leader starts a new budget; without a budget, the client deadline is the only bound', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = silentLink(false, (address) => {
    if (address === addressOf('c3')) return { revision: 7 };
    if (link.attempts.length === 3) port.setLeader('c3'); // c2 lost its leadership meanwhile
    return null;
  });
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 60_000 });
  t.same(await onLeader('put', request, Date.now() + 60_000, local), { revision: 7 }, "the new leader's answer");
  t.same([...new Set(link.attempts.map((a) => a.address))], [addressOf('c2'), addressOf('c3')]);

  const unbounded = silentLink(true);
  const deadline = Date.now() + 300;
  const plain = onLeaderOf({ id: 'c1', host: new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2'] }), addressOf, forwarder: unbounded });
  t.match(await plain('put', request, deadline, local).catch((e: unknown) => e), { code: 'NO_LEADER', message: /no leader answered before the deadline|unreachable/ });
  t.equal(unbounded.attempts[0]!.deadline, deadline, "the attempt had the client's whole deadline");
});

void t.test('a request that waits on the leader for more than a commit (a promotion) keeps the client deadline', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = silentLink(false, () => ({ members: [] }));
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 100 });
  const deadline = Date.now() + 60_000;
  t.same(await onLeader('memberPromote', request, deadline, local), { members: [] });
  t.equal(link.attempts[0]!.deadline, deadline, 'the forward had the whole deadline to wait for the catch-up');
  await onLeader('put', request, deadline, local);
  t.ok(link.attempts[1]!.deadline < deadline, 'a put, one commit, had the budget');
});

/** A leader that answers at `answerAt` (ms since the epoch), or fails as grpc-js does at a deadline before it; `aborted`: when the forward was given up. */
function slowLeader(answerAt: number): ForwardToLeader & { readonly attempts: Attempt[]; aborted: number | null } {
  const link = {
    attempts: [] as Attempt[],
    aborted: null as number | null,
    call: <Res>(address: string, _method: string, _request: object, deadline: number, signal?: AbortSignal): Promise<Res> => {
      link.attempts.push({ address, at: Date.now(), deadline });
      return new Promise<Res>((resolve, reject) => {
        const answered = answerAt <= deadline;
        const timer = setTimeout(
          () => (answered ? resolve({ revision: 9 } as Res) : reject(new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: Deadline exceeded`))),
          Math.max(0, Math.min(answerAt, deadline) - Date.now()),
        );
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          link.aborted = Date.now();
          reject(signal.reason);
        });
      });
    },
  };
  return link;
}

void t.test('a leader that is slow to answer but still heard keeps the forward past the budget, with the client deadline', async (t) => {
  // Attack A1: a burst of 1 MB puts through a follower; the leader, busy but heartbeating, answered after the budget, and the follower had cut the forward there (NO_LEADER).
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = slowLeader(Date.now() + 400);
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 100, leaderHeardAt: (l) => (l === 'c2' ? Date.now() - 20 : null) });
  const deadline = Date.now() + 60_000;
  t.same(await onLeader('put', request, deadline, local), { revision: 9 }, "the leader's answer, 400 ms in");
  t.equal(link.attempts.length, 1, 'one forward');
  t.equal(link.attempts[0]!.deadline, deadline, 'the leader was given the client deadline, not the budget');
  t.equal(link.aborted, null, 'never given up');
});

void t.test('a leader no longer heard loses the forward once it has been silent for the budget, and the forward is cancelled', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const link = slowLeader(Number.POSITIVE_INFINITY);
  const start = Date.now();
  const lastHeard = start + 150; // it was heard once after the forward began, then froze
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 200, leaderHeardAt: () => Math.min(Date.now(), lastHeard) });
  const err = await onLeader('put', request, start + 60_000, local).catch((e: unknown) => e);
  t.match(err, { code: 'NO_LEADER', message: /^c1 has not reached leader c2 at c2\.example:7000 for \d+ms \(leader at c2\.example:7000 unreachable: no answer, and no message from it for \d+ms\): try another controller$/ });
  t.equal(link.attempts.length, 1, 'one forward, then the answer');
  t.ok(link.aborted !== null && link.aborted >= lastHeard + 200, `given up ${String((link.aborted ?? 0) - lastHeard)} ms after the leader's last message (the budget: 200)`);

  const deposed = slowLeader(Number.POSITIVE_INFINITY);
  const began = Date.now();
  const gone = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: deposed, forwardBudgetMs: 150, leaderHeardAt: () => null });
  t.match(await gone('put', request, began + 60_000, local).catch((e: unknown) => e), { code: 'NO_LEADER' }, 'not its leader any more: given up');
  t.ok(deposed.aborted !== null && deposed.aborted >= began + 150, 'after the budget from the forward');
});

void t.test('a heard leader whose link breaks after the budget is forwarded to again (as a retry), not given up at once', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const sent: Array<{ readonly at: number; readonly request: object }> = [];
  const link: ForwardToLeader = {
    call: <Res>(address: string, _method: string, request: object): Promise<Res> => {
      sent.push({ at: Date.now(), request });
      if (sent.length > 1) return Promise.resolve({ revision: 9 } as Res);
      // A burst's forward, 600 ms in flight on a live leader, then the connection resets.
      return new Promise((_, reject) => setTimeout(() => reject(new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: Connection dropped`)), 600));
    },
  };
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: link, forwardBudgetMs: 400, leaderHeardAt: () => Date.now() });
  const retry = { forwarded: false, retry: true };
  t.same(await onLeader('put', request, Date.now() + 60_000, local, retry), { revision: 9 }, 'answered on the second forward');
  t.equal(sent.length, 2);
  t.equal(sent[1]!.request, retry, 'the second forward is marked a retry: the first may have been proposed');
});
