/** How a controller concludes it was removed: its own removal after a grace period, or a peer that applied it. */
import pino from 'pino';
import t from 'tap';
import { RemovalWatch, type RemovalWatchDeps } from '../../src/node/removal-watch.js';
import { waitFor } from '../helpers/wait-for.js';

function watch(over: Partial<RemovalWatchDeps> = {}) {
  const removed: string[] = [];
  let member = true;
  const w = new RemovalWatch({
    self: 'c4',
    isMember: () => member,
    graceMs: 30,
    leaderlessMs: () => 0,
    holdsUncommitted: () => true,
    probeAfterMs: 20,
    askPeers: () => Promise.resolve(null),
    logger: pino({ level: 'silent' }),
    onRemoved: (reason) => removed.push(reason),
    ...over,
  });
  return { w, removed, setMember: (v: boolean) => (member = v) };
}

void t.test('applying its own removal, and still not a member after the grace period: removed', async (t) => {
  const { w, removed, setMember } = watch();
  t.teardown(() => w.stop());
  w.onConfApplied({ type: 'remove', node: 'c9', context: '' });
  t.equal(w.pending, false, "another member's removal is none of its business");
  setMember(false);
  w.onConfApplied({ type: 'remove', node: 'c4', context: '' });
  t.equal(w.pending, true);
  await waitFor(() => removed.length === 1, 'the conclusion');
  t.match(removed[0], /it applied its own removal/);
});

void t.test('a removal replayed while catching up, followed by the re-add, is history', async (t) => {
  const { w, removed } = watch();
  t.teardown(() => w.stop());
  w.onConfApplied({ type: 'remove', node: 'c4', context: '' });
  w.onConfApplied({ type: 'add-learner', node: 'c4', context: 'h:1' });
  t.equal(w.pending, false, 'the grace period was cancelled');
  t.strictSame(removed, []);
});

void t.test('leaderless and still believing itself a member: it asks its peers, and one that applied the removal settles it', async (t) => {
  let answer: string | null = null;
  let asked = 0;
  const { w, removed } = watch({
    leaderlessMs: () => Number.POSITIVE_INFINITY,
    askPeers: () => {
      asked += 1;
      return Promise.resolve(answer);
    },
  });
  t.teardown(() => w.stop());
  w.start();
  await waitFor(() => asked >= 1, 'a first question, which nobody answers');
  t.strictSame(removed, [], 'no answer, no conclusion');
  answer = 'c1';
  await waitFor(() => removed.length === 1, 'a peer to report the removal');
  t.match(removed[0], /c1 has applied its removal from the cluster/);
});

void t.test('a node of a new cluster, with nothing uncommitted, never asks', async (t) => {
  let asked = 0;
  const { w } = watch({
    leaderlessMs: () => Number.POSITIVE_INFINITY,
    holdsUncommitted: () => false,
    askPeers: () => {
      asked += 1;
      return Promise.resolve('c1');
    },
  });
  t.teardown(() => w.stop());
  w.start();
  const until = Date.now() + 100;
  await waitFor(() => Date.now() >= until, 'five probe intervals', 2000);
  t.equal(asked, 0);
});

void t.test('a node that is not a member in its own view (a fresh --join) never asks', async (t) => {
  let asked = 0;
  const { w, setMember } = watch({
    leaderlessMs: () => Number.POSITIVE_INFINITY,
    askPeers: () => {
      asked += 1;
      return Promise.resolve('c1');
    },
  });
  setMember(false);
  t.teardown(() => w.stop());
  w.start();
  // A negative needs a window: five probe intervals, in which it would have asked five times.
  const until = Date.now() + 100;
  await waitFor(() => Date.now() >= until, 'five probe intervals', 2000);
  t.equal(asked, 0);
});

void t.test('peers refusing it as removed: conclusive at once', async (t) => {
  const { w, removed } = watch();
  w.refusedAsRemoved('c2', 'REMOVED_MEMBER');
  t.match(removed, [/c2 refused it as a removed member \(REMOVED_MEMBER\)/]);
  w.refusedAsRemoved('c3', 'again');
  t.equal(removed.length, 1, 'once');
});
