/**
 * Flow control (etcd's raft_flow_control_test.go): a follower in replicate state gets appends
 * pipelined ahead of its acknowledgements, at most maxInflight of them.
 */
import t from 'tap';
import { ofType } from '../sim/script.js';
import { replicating } from './replicating.js';

void t.test('pipelining sends several appends before the first ack, bounded by maxInflight', async (t) => {
  const s = replicating();
  t.equal(s.status('a').progress.get('b')?.state, 'replicate', 'b is in replicate state');
  const start = s.status('a').lastIndex + 1;

  for (let i = 1; i <= 10; i++) s.propose('a', `k=${i}`);
  const appends = ofType(s.pending((m) => m.to === 'b'), 'Append');
  t.same(
    appends.map((m) => m.entries.map((e) => e.index)),
    [[start], [start + 1], [start + 2], [start + 3]],
    'four appends (maxInflight) went out without waiting, one entry each, then the window closed',
  );

  // One acknowledgement opens the window by one.
  const [firstAppend] = s.take((m) => m === appends[0]);
  s.deliver(firstAppend!);
  const [ack] = s.take((m) => m.from === 'b' && m.type === 'AppendResp');
  s.deliver(ack!);
  const more = ofType(s.pending((m) => m.to === 'b'), 'Append').filter((m) => !appends.includes(m));
  t.same(more.map((m) => m.entries.map((e) => e.index)), [[start + 4]], 'the ack let exactly one more append out');

  s.stabilize();
  t.equal(s.values('b').length, 11, 'everything reaches b in the end');
});

void t.test('a follower whose acks for a full window were all lost is caught up at the next heartbeat', async (t) => {
  // Regression (found by the simulation, seed 76 at the time): the leader never freed its
  // window, and the follower got heartbeats but no entries for ever.
  const s = replicating();
  for (let i = 1; i <= 10; i++) s.propose('a', `k=${i}`);
  for (const m of s.take((m) => m.to === 'b' && m.type === 'Append')) s.deliver(m);
  const lost = s.take((m) => m.from === 'b' && m.type === 'AppendResp');
  t.equal(lost.length, 4, "b's four acknowledgements are lost");
  s.stabilize(); // c keeps up, so the entries commit

  for (let i = 0; i < 3; i++) {
    s.tick('a');
    s.stabilize();
  }
  t.equal(s.status('b').lastIndex, s.status('a').lastIndex, 'b has every entry');
  t.same(s.values('b'), s.values('a'), 'and applied them');
});
