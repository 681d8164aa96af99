import t from 'tap';
import { AgentLiveness } from '../../src/agents/liveness.js';
import { seededRng } from '../../src/util/rng.js';

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

void t.test('a push answered within the interval spares the ping due, at most three in a row', async (t) => {
  const l = new AgentLiveness(DETECTOR, 0);
  t.equal(l.pingDue(0, 1000), 1);
  l.pushSent(500);
  l.heard(510);
  l.pushAnswered();
  t.equal(l.pingDue(1000, 1000), 2, 'no RTT measured yet: the ping goes');
  t.equal(l.pong(2, 1010), 10);
  l.pushSent(1500);
  l.pushAnswered();
  t.equal(l.pingDue(2000, 1000), null, 'the push written at 1500 was answered since ping 2: spared');
  t.equal(l.pingDue(2400, 1000), null, 'the next is due an interval after that push, not after the spared ping');
  t.equal(l.pingDue(2500, 1000), 3, 'nothing answered since: the ping goes at 2500, an interval after the push the agent last heard');

  const churn = new AgentLiveness(DETECTOR, 0);
  churn.pingDue(0, 1000);
  churn.pong(1, 10);
  const sent: number[] = [];
  for (let now = 100; now <= 10_000; now += 100) {
    churn.pushSent(now - 50);
    churn.pushAnswered();
    if (churn.pingDue(now, 1000) !== null) sent.push(now);
  }
  t.same(sent, [4000, 8000], 'a push answered every 100 ms: a ping every fourth interval still');

  const unanswered = new AgentLiveness(DETECTOR, 0);
  unanswered.pingDue(0, 1000);
  unanswered.pong(1, 10);
  unanswered.pushSent(900);
  t.equal(unanswered.pingDue(1000, 1000), 2, 'a push not answered spares nothing');
  unanswered.pushAnswered();
  t.equal(unanswered.pingDue(2000, 1000), 3, 'nor one answered whose push was written an interval or more ago');

  const large = new AgentLiveness(DETECTOR, 0);
  large.pingDue(0, 1000);
  large.pong(1, 10);
  large.pushSent(900);
  large.pushAnswered();
  t.equal(large.pingNow(950), 2, 'the ping ahead of a large push is never spared');
});

void t.test('spared pings, any schedule of pushes and answers: the agent hears from us within an interval, a ping goes at least every fourth, a live agent is never timed out', async (t) => {
  const INTERVAL = 400;
  const TICK = 50;
  let worstToAgent = 0;
  let worstPingGap = 0;
  let spared = 0;
  const timedOut: string[] = [];
  for (let seed = 1; seed <= 40; seed++) {
    const rng = seededRng(seed);
    const pushChance = seed % 2 === 0 ? 0.9 : rng.next() * 0.6;
    const l = new AgentLiveness(DETECTOR, 0);
    /** When the agent's reply to what we sent comes: a pong (seq) or the push's answer (null). */
    const replies: { at: number; seq: number | null }[] = [];
    let pushInFlight = false;
    let lastToAgent = 0;
    let lastPing = Number.NaN;
    let firstRtt = Number.NaN;
    for (let now = 0; now <= 30_000; now += TICK) {
      for (const r of replies.filter((x) => x.at <= now)) {
        replies.splice(replies.indexOf(r), 1);
        if (r.seq !== null) {
          if (l.pong(r.seq, r.at) !== null && Number.isNaN(firstRtt)) firstRtt = r.at;
        } else {
          l.heard(r.at);
          l.pushAnswered();
          pushInFlight = false;
        }
      }
      if (l.timedOut(now)) timedOut.push(`seed ${seed} at ${now}`);
      if (!pushInFlight && rng.next() < pushChance) {
        l.pushSent(now);
        lastToAgent = now;
        pushInFlight = true;
        // Half the seeds answer within 100 ms (a stream of changes), half within 600 (some past the interval).
        replies.push({ at: now + rng.int(1, seed % 2 === 0 ? 100 : 600), seq: null });
      }
      const seq = l.pingDue(now, INTERVAL);
      if (seq !== null) {
        lastPing = now;
        lastToAgent = now;
        replies.push({ at: now + rng.int(1, 40), seq });
      } else if (now - lastPing >= INTERVAL) spared++;
      worstToAgent = Math.max(worstToAgent, now - lastToAgent);
      if (!Number.isNaN(firstRtt)) worstPingGap = Math.max(worstPingGap, now - lastPing);
    }
  }
  t.same(timedOut, [], 'an agent answering everything is never timed out');
  t.ok(spared > 100, `pings were spared (${spared})`);
  t.ok(worstToAgent < INTERVAL, `the longest the agent went without a message from us: ${worstToAgent} ms`);
  t.ok(worstPingGap <= 4 * (INTERVAL + TICK), `the longest between pings once an RTT was measured: ${worstPingGap} ms`);
});
