import t from 'tap';
import { AgentLiveness } from '../../src/agents/liveness.js';

const DETECTOR = { baseTimeoutMs: 1000, dynamicAdjustment: true, rttWindow: 16, minTimeoutMs: 1000, maxTimeoutMs: 4000 };

void t.test('a pong measures the RTT of its ping and answers every older ping', async (t) => {
  const l = new AgentLiveness(DETECTOR, 0);
  t.equal(l.pingDue(0, 100), 1);
  t.equal(l.pingDue(50, 100), null, 'not due before the interval');
  t.equal(l.pingDue(100, 100), 2);
  t.equal(l.pong(2, 130), 30, 'ping 2: sent at 100');
  t.equal(l.pong(1, 140), null, 'ping 1 was answered by the pong of ping 2');
  t.equal(l.pong(2, 150), null, 'a pong twice measures once');
  t.equal(l.pong(3, 160), null, 'a pong for a ping never sent measures nothing');
  t.equal(l.movingAverageRttMs(), 30);
  t.equal(l.lastHeardAt(), 160, 'every pong is contact');
});

void t.test('only the four latest pings are remembered', async (t) => {
  const l = new AgentLiveness(DETECTOR, 0);
  for (let i = 0; i < 6; i++) t.equal(l.pingDue(i * 100, 100), i + 1);
  t.equal(l.pong(1, 600), null, 'ping 1 was forgotten');
  t.equal(l.pong(2, 600), null, 'ping 2 was forgotten');
  t.equal(l.pong(3, 600), 400, 'ping 3 (sent at 200) is still remembered');
  t.equal(l.pong(6, 620), 120, 'ping 6 (sent at 500)');
  t.equal(l.pong(-1, 630), null, 'a negative seq measures nothing');
  t.equal(l.pong(2.5, 630), null, 'a seq that is no integer measures nothing');
});

void t.test('a pong slower than the timeout measures a pause, not the link', async (t) => {
  const l = new AgentLiveness(DETECTOR, 0);
  t.equal(l.pingDue(0, 100), 1);
  t.equal(l.pong(1, 5_000), null, 'beyond the 1 s timeout: not recorded');
  t.equal(l.movingAverageRttMs(), 0);
  t.equal(l.pingDue(5_000, 100), 2);
  t.equal(l.pong(2, 5_010), 10);
});

void t.test("a large push on its way excuses the agent's silence for its transfer time, until it has arrived", async (t) => {
  const l = new AgentLiveness({ ...DETECTOR, dynamicAdjustment: false }, 0);
  t.equal(l.pingNow(0), 1, 'the ping written ahead of the push');
  l.pushWritten(10_000, 0);
  t.equal(l.pingDue(500, 100), 2, 'pings go on, queued behind the push');
  t.notOk(l.timedOut(9_000), 'silent for 9 s of a 10 s transfer: not timed out');
  t.notOk(l.timedOut(11_000), 'nor within the timeout after the transfer time');
  t.ok(l.timedOut(11_001), 'past the transfer time and a timeout: timed out');

  const answered = new AgentLiveness({ ...DETECTOR, dynamicAdjustment: false }, 0);
  answered.pingNow(0);
  answered.pushWritten(10_000, 0);
  answered.pong(1, 20);
  t.notOk(answered.timedOut(5_000), 'a pong to the ping ahead of the push says nothing of the push');
  answered.pingDue(100, 100);
  answered.pong(2, 3_000);
  t.ok(answered.timedOut(4_001), 'a pong to a ping written after the push: it arrived, the usual timeout counts again');

  const acked = new AgentLiveness({ ...DETECTOR, dynamicAdjustment: false }, 0);
  acked.pushWritten(10_000, 0);
  acked.heard(2_000);
  acked.pushAnswered();
  t.ok(acked.timedOut(3_001), 'the ACK ends the allowance');
});
