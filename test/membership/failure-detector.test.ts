import t from 'tap';
import { FailureDetector, computeTimeoutMs, type DetectorConfig } from '../../src/membership/failure-detector.js';

const cfg = (over: Partial<DetectorConfig> = {}): DetectorConfig => ({
  baseTimeoutMs: 2000,
  dynamicAdjustment: true,
  rttWindow: 4,
  minTimeoutMs: 2000,
  maxTimeoutMs: 8000,
  ...over,
});

void t.test('dynamic timeout is base + 2 x moving-average RTT', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  t.equal(d.timeoutMs('b'), 2000, 'no samples yet: base');
  for (const r of [100, 120, 110, 130]) d.recordRtt('b', r);
  t.equal(d.timeoutMs('b'), 2000 + 2 * 115);
  t.equal(computeTimeoutMs(cfg(), 115), 2230);
});

void t.test('dynamic timeout is clamped to its floor and ceiling', async (t) => {
  t.equal(computeTimeoutMs(cfg({ minTimeoutMs: 2500 }), 10), 2500, 'floor');
  t.equal(computeTimeoutMs(cfg({ maxTimeoutMs: 3000 }), 5000), 3000, 'ceiling');
  const d = new FailureDetector(cfg({ maxTimeoutMs: 3000 }), ['b'], 0);
  // Samples above the timeout are pauses, not latency (see the next test): climb in steps.
  for (let i = 0; i < 40; i++) d.recordRtt('b', d.timeoutMs('b'));
  t.equal(d.timeoutMs('b'), 3000);
});

void t.test('a reply slower than the timeout (a pause) is not taken as the link RTT', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  for (const r of [100, 100, 100, 100]) t.ok(d.recordRtt('b', r));
  t.notOk(d.recordRtt('b', 5000), 'the pings answered after a 5 s SIGSTOP');
  t.equal(d.timeoutMs('b'), 2200);
});

void t.test('replies to pings sent before a silence ended are not RTT samples', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  d.recordContact('b', 1000);
  t.ok(d.recordRtt('b', 100), 'normal sample');
  // b was stopped from 1000 to 2500; on resuming it answers the pings queued meanwhile.
  d.recordContact('b', 2500);
  t.notOk(d.recordRtt('b', 900), 'ping sent at 1600, during the silence');
  t.notOk(d.recordRtt('b', 1600, 2500), 'ping sent at 900, before it');
  d.recordContact('b', 2700);
  t.ok(d.recordRtt('b', 150), 'a ping sent after the silence ended counts');
  t.equal(d.timeoutMs('b'), 2000 + 2 * 125);
});

void t.test('with dynamic_adjustment false the timeout is exactly base, whatever the RTT or bounds', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false, minTimeoutMs: 2500, maxTimeoutMs: 2600 }), ['b'], 0);
  for (let i = 0; i < 4; i++) d.recordRtt('b', 900);
  t.equal(d.timeoutMs('b'), 2000);
});

void t.test('a peer goes offline only once now - lastContact exceeds its timeout, and back at its next message', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false }), ['b'], 0);
  d.recordContact('b', 100);
  for (let now = 150; now <= 2100; now += 50) t.same(d.observe(now), [], `still online at ${now}`);
  const tr = d.observe(2150);
  t.same(tr, [{ peer: 'b', from: 'online', to: 'offline', reason: 'heartbeat timeout 2000ms', atMs: 2150 }]);
  t.equal(d.status('b'), 'offline');
  t.same(d.observe(2200), [], 'reported once');
  d.recordContact('b', 2230);
  t.equal(d.status('b'), 'online', 'online at once');
  t.same(d.observe(2250), [{ peer: 'b', from: 'offline', to: 'online', reason: 'heartbeat resumed', atMs: 2230 }]);
  t.equal(d.observation('b', 2250).changedAt, 2230);
});

void t.test('the reason names the adaptive timeout in force', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  for (const r of [100, 120, 110, 130]) d.recordRtt('b', r);
  let tr: readonly { reason: string }[] = [];
  for (let now = 50; tr.length === 0 && now < 5000; now += 50) tr = d.observe(now);
  t.equal(tr[0]?.reason, 'heartbeat timeout 2230ms');
});

void t.test('a paused peer is detected within its timeout (plus one observe tick)', async (t) => {
  const tick = 50;
  const d = new FailureDetector(cfg(), ['b'], 0);
  let now = 0;
  let lastContact = 0;
  // Healthy: a ping every 250 ms with 120 ms RTT.
  for (; now < 10_000; now += tick) {
    if (now % 250 === 0) {
      lastContact = now;
      d.recordContact('b', now);
      d.recordRtt('b', 120);
    }
    t.equal(d.observe(now).length, 0);
  }
  const pausedAt = lastContact;
  let detectedAt: number | null = null;
  for (; detectedAt === null && now < 20_000; now += tick) if (d.observe(now).length > 0) detectedAt = now;
  t.not(detectedAt, null);
  const timeout = d.timeoutMs('b');
  t.equal(timeout, 2240);
  t.ok(detectedAt! - pausedAt > timeout, 'not before the timeout');
  t.ok(detectedAt! - pausedAt <= timeout + tick, `within timeout + tick: ${detectedAt! - pausedAt}ms`);
});

void t.test('our own stall (a gap between observe calls) is not held against peers', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false, stallThresholdMs: 500 }), ['b', 'c'], 0);
  let now = 0;
  for (; now <= 1000; now += 50) {
    d.recordContact('b', now);
    d.recordContact('c', now);
    d.observe(now);
  }
  // SIGSTOP for 10 s; on resume the timers run before the queued messages are read.
  now += 10_000;
  t.same(d.observe(now), [], 'no peer timed out because of our own pause');
  // c really died during our pause: it is caught after one more timeout of our running time.
  let cOffAt: number | null = null;
  for (let step = 0; step < 100 && cOffAt === null; step++) {
    now += 50;
    d.recordContact('b', now);
    const tr = d.observe(now);
    if (tr.some((x) => x.peer === 'c' && x.to === 'offline')) cOffAt = now;
    t.notOk(tr.some((x) => x.peer === 'b'), 'b never flips');
  }
  t.ok(cOffAt !== null && cOffAt - 11_050 <= 2000, `c detected within a timeout after resuming (${cOffAt})`);
});

void t.test('the silence counted against a peer leaves out our own stall; the time since contact does not', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false, stallThresholdMs: 500 }), ['b'], 0);
  d.recordContact('b', 1000);
  d.observe(1000);
  // A 3 s stall: 2.5 s of it (beyond the threshold) is ours, not b's.
  d.observe(4000);
  const o = d.observation('b', 4000);
  t.equal(o.lastContactMs, 3000, 'what ctl shows: 3 s since b was last heard');
  t.equal(o.silenceMs, 500, 'what views carry: the 0.5 s the detector holds against b');
  t.equal(o.status, 'online');
  t.same(new FailureDetector(cfg(), ['c'], 0).observation('c', 100).silenceMs, null, 'never heard: null');
});

void t.test('unknown peers are refused with a clear error; peers can be added and removed', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  const unknown = { name: 'MembershipError', code: 'UNKNOWN_PEER', message: /expected a watched peer \(b\), found "zz"/ };
  t.throws(() => d.recordContact('zz', 1), unknown);
  t.throws(() => d.recordRtt('zz', 1), unknown);
  t.throws(() => d.snapshot('zz', 1), unknown);
  t.throws(() => d.addPeer('b', 1), { code: 'DUPLICATE_PEER' });
  d.setPeers(['c'], 10);
  t.same(d.peers(), ['c']);
  t.notOk(d.has('b'));
  t.same(d.observe(2000), [], 'a new peer gets a full timeout of grace');
  t.equal(d.observe(2011).length, 1, 'then it times out');
});

void t.test('snapshot reports status, time since contact, timeout and RTT percentiles', async (t) => {
  const d = new FailureDetector(cfg(), ['b'], 0);
  t.same(d.snapshot('b', 5), { peer: 'b', status: 'online', lastContactMs: null, timeoutMs: 2000, rttP50Ms: null, rttP99Ms: null });
  d.recordContact('b', 100);
  d.recordRtt('b', 0.4);
  const s = d.snapshot('b', 212);
  t.equal(s.lastContactMs, 112);
  t.equal(s.timeoutMs, 2001);
  t.ok(s.rttP50Ms !== null && Math.abs(s.rttP50Ms - 0.4) < 0.01);
  t.equal(d.snapshotAll(212).length, 1);
});

void t.test('impossible configs are refused', async (t) => {
  const bad = { code: 'INVALID_CONFIG' };
  t.throws(() => new FailureDetector(cfg({ baseTimeoutMs: 0 }), [], 0), bad);
  t.throws(() => new FailureDetector(cfg({ minTimeoutMs: 5000, maxTimeoutMs: 4000 }), [], 0), bad);
  t.throws(() => new FailureDetector(cfg({ rttWindow: 1.5 }), [], 0), bad);
});

void t.test('a peer whose messages arrive while our dials to it fail stops counting as heard after one timeout', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false }), ['b'], 0);
  d.recordContact('b', 100);
  d.recordDialFailure('b', 200); // refused; b not heard since the ping went out
  t.equal(d.undialable('b', 200), null, 'not heard while failing yet');
  d.recordContact('b', 300); // the first message in the streak still counts
  for (let at = 400; at <= 2300; at += 100) d.recordContact('b', at);
  t.same(d.observe(2299), [], 'within one timeout of the first message heard: online');
  const tr = d.observe(2301);
  t.equal(tr.length, 1);
  t.equal(tr[0]?.to, 'offline');
  t.equal(tr[0]?.undialable, true, 'marked undialable');
  t.match(tr[0]?.reason, /^cannot dial it for 2101ms while its own messages arrive \(heartbeat timeout 2000ms\)$/);
  t.same(d.undialable('b', 2301), { failingForMs: 2101, lastUncountedAgoMs: 1 });
  t.equal(d.observation('b', 2301).lastContactMs, 2001, 'its views report the last counted message');
  d.recordContact('b', 2400);
  t.same(d.observe(2400), [], 'its messages alone do not bring it back');
  d.recordDialSuccess('b', 2450);
  d.recordContact('b', 2500);
  const back = d.observe(2500);
  t.same(back.map((x) => [x.to, x.reason]), [['online', 'heartbeat resumed']], 'a dial that works brings it back');
  t.equal(d.undialable('b', 2500), null);
});

void t.test('dial failures: the grace, a failure of a ping older than a success, a success of one older than a failure, a peer heard since the failed ping', async (t) => {
  const config = cfg({ dynamicAdjustment: false, dialGraceMs: 3000, stallThresholdMs: 10_000 });
  const b = new FailureDetector(config, ['b'], 0);
  b.recordDialFailure('b', 0);
  for (let at = 100; at <= 3000; at += 100) b.recordContact('b', at);
  t.same(b.observe(3000), [], 'b: grace 3 s > timeout 2 s: still online 2.9 s after its first message heard');
  t.equal(b.observation('b', 3000).lastContactMs, 1900, 'b: messages counted until 1 s after the first one heard (grace - timeout)');
  t.equal(b.observe(3101).length, 1, 'b offline one timeout after its last counted message, 3 s after the first one heard');

  const c = new FailureDetector(config, ['c'], 0);
  c.recordDialSuccess('c', 500);
  c.recordDialFailure('c', 400); // answered later than it failed: an old ping
  for (let at = 100; at <= 5000; at += 100) c.recordContact('c', at);
  t.same(c.observe(5000), [], 'c: the older ping failing says nothing');
  t.equal(c.undialable('c', 5000), null);

  const f = new FailureDetector(config, ['f'], 0);
  f.recordDialFailure('f', 1000);
  f.recordDialSuccess('f', 900); // a ping sent before the refused one, lost and failed at its deadline
  for (let at = 1100; at <= 5000; at += 100) f.recordContact('f', at);
  t.equal(f.observe(5000).length, 1, 'f: a ping older than the failed dial ends no streak: offline one timeout after its grace');
  t.not(f.undialable('f', 5000), null);

  const e = new FailureDetector(config, ['e'], 0);
  e.recordContact('e', 5100);
  e.recordDialFailure('e', 5050); // e was heard after the failed ping was sent: maybe its last words
  t.equal(e.undialable('e', 5200), null, 'e: not yet heard since the failure');
  e.recordContact('e', 6100);
  t.same(e.undialable('e', 6100), { failingForMs: 1050, lastUncountedAgoMs: null });
  e.recordContact('e', 7100);
  t.equal(e.observation('e', 7100).lastContactMs, 0, 'e: the grace counts from its first message after the failure (6100 + 1000)');
  e.recordContact('e', 7200);
  t.equal(e.observation('e', 7200).lastContactMs, 100, 'e: then its messages no longer count');
});

void t.test('a peer that restarts while our dials to it fail gets the grace again: it is heard before we redial it', async (t) => {
  const d = new FailureDetector(cfg({ dynamicAdjustment: false, stallThresholdMs: 10_000 }), ['b'], 0);
  d.recordContact('b', 100);
  d.recordDialFailure('b', 50); // its connection closed as it shut down, after its last message
  t.equal(d.observe(2200).length, 1, 'b stopped: offline');
  d.recordContact('b', 6000); // b is back, our redial not yet done
  t.same(d.observe(6000).map((x) => x.to), ['online'], 'its first message after the silence counts');
  d.recordContact('b', 6500);
  d.recordDialSuccess('b', 6600);
  d.recordContact('b', 6700);
  t.same(d.observe(8600), [], 'redialled within the grace: never offline');
});

void t.test('a peer that restarts within its timeout is counted from its first message after: its last messages before do not start the grace', async (t) => {
  // The production grace (DIAL_GRACE_MS) and the default timeout: 2 s each.
  const d = new FailureDetector(cfg({ dynamicAdjustment: false, dialGraceMs: 2000, stallThresholdMs: 10_000 }), ['b'], 0);
  for (let at = 0; at <= 10_000; at += 100) d.recordContact('b', at); // b heard until it stops just after 10 s
  t.same(d.observe(10_000), []);
  // The ping sent at 9950 fails as b's connection closes: a dial failure, b heard since it went out.
  d.recordDialFailure('b', 9950);
  const transitions = [];
  // b is back 0.95 s later; our redial waits out the transport's backoff (attempts at +0.93 s,
  // then +1.58 s), and the next ping is answered 2.1 s after b stopped.
  for (let at = 10_050; at <= 15_000; at += 50) {
    if (at >= 10_950) d.recordContact('b', at);
    if (at === 12_100) d.recordDialSuccess('b', 12_050);
    transitions.push(...d.observe(at));
  }
  t.same(
    transitions.map((x) => [x.atMs, x.to]),
    [],
    'never offline: the grace ran from the failed ping before, so b, back and sending, was offline from 12 050 to 12 150',
  );
});
