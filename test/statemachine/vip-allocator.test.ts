/**
 * Virtual IPs, allocated in apply (issue 14, "What to build" 1): first addresses, the monotonic
 * cursor, quarantine in log time, range changes, exhaustion (nothing half-applied), the same on
 * every replica, and no duplicate or early reuse across leader changes whose clocks disagree.
 */
import t from 'tap';
import { StateMachine, VipAllocator, encodeCommand, meshKind, usableSpan, vipRange, type ApplyResult, type KindCommand } from '../../src/statemachine/index.js';
import { parseIpv4Cidr } from '../../src/settings/index.js';
import { seededRng } from '../../src/util/rng.js';
import { apply, cluster, del, initSettings, run, service, setSetting, svcOf, vips } from './mesh-helpers.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

void t.test('the first services get the first addresses of the range, without its network address', async (t) => {
  const sm = cluster();
  t.match(run(sm, apply(T0, service('web'), service('db'))), { ok: true, revision: 1 });
  t.same([...vips(sm)], [['db', '241.0.0.2'], ['web', '241.0.0.1']]);
  run(sm, apply(T0, service('api')));
  t.equal(svcOf(sm, 'api')?.status.vip, '241.0.0.3');
});

void t.test('a VIP is kept for the service\'s life: a re-apply, a new spec, a new label change nothing of it', async (t) => {
  const sm = cluster();
  run(sm, apply(T0, service('web')));
  run(sm, apply(T0 + 1, service('web')));
  run(sm, apply(T0 + 2, service('web', 'tcp', [81], { tier: 'front' })));
  t.equal(svcOf(sm, 'web')?.status.vip, '241.0.0.1');
  t.equal(svcOf(sm, 'web')?.revision, 2, 'the re-apply wrote nothing; the new spec did');
});

void t.test('the cursor moves on: a deleted service\'s address is not the next one handed out', async (t) => {
  const sm = cluster();
  run(sm, apply(T0, service('a'), service('b')));
  run(sm, del(T0 + 1, 'service', 'a'));
  run(sm, apply(T0 + 2, service('c')));
  t.equal(svcOf(sm, 'c')?.status.vip, '241.0.0.3', 'not 241.0.0.1, which a held');
  run(sm, apply(T0 + 3, service('a')));
  t.equal(svcOf(sm, 'a')?.status.vip, '241.0.0.4', 'a re-created service is a new service: a fresh address');
});

void t.test('quarantine: a released address is not handed out within services.vip_quarantine of log time, and is after', async (t) => {
  // 241.0.0.0/29: six usable addresses, .1 to .6.
  const sm = cluster({ 'services.vip_cidr': '241.0.0.0/29' });
  run(sm, apply(T0, ...['s1', 's2', 's3', 's4', 's5', 's6'].map((n) => service(n))));
  run(sm, del(T0 + 1000, 'service', 's2'));
  const r = run(sm, apply(T0 + 1000 + HOUR - 1, service('n1')));
  t.match(r, { ok: false, code: 'CONFLICT', message: /range exhausted/ }, 'one millisecond before the quarantine ends: none free');
  t.match(r, { message: /services\.vip_cidr 241\.0\.0\.0\/29 has 0 free .*quarantined for 1h/ }, 'the error says why and what to do');
  t.equal(sm.revision(), 2, 'nothing applied');
  t.equal(svcOf(sm, 'n1'), null);
  t.match(run(sm, apply(T0 + 1000 + HOUR, service('n1'))), { ok: true, revision: 3 });
  t.equal(svcOf(sm, 'n1')?.status.vip, '241.0.0.2', 'the freed address, once its quarantine is over');
});

void t.test('a range too small for a file fails the whole apply with "range exhausted": nothing half-applied', async (t) => {
  const sm = cluster({ 'services.vip_cidr': '10.0.0.0/30' });
  run(sm, apply(T0, service('keep')));
  const before = sm.snapshot();
  const r = run(sm, apply(T0 + 1, service('a'), service('b'), service('keep', 'tcp')));
  t.match(r, { ok: false, code: 'CONFLICT', message: /^range exhausted: nothing applied: 2 new service\(s\) need a virtual IP and services\.vip_cidr 10\.0\.0\.0\/30 has 1 free/ });
  t.same(svcOf(sm, 'keep')?.spec.protocol, 'http', 'the service the file would also have changed is untouched');
  // The applied index and log time moved (time passes on every entry); nothing else of the mesh did.
  const mesh = (snap: Uint8Array): unknown => ({ ...JSON.parse(new TextDecoder().decode(snap.subarray(1))).kinds.mesh, clock: 0 });
  t.same(mesh(sm.snapshot()), mesh(before));
  t.match(run(sm, apply(T0 + 2, service('a'))), { ok: true });
  t.equal(svcOf(sm, 'a')?.status.vip, '10.0.0.2');
});

void t.test('a range change starts a fresh cursor that skips VIPs in use; services keep theirs', async (t) => {
  const sm = cluster();
  run(sm, apply(T0, service('a'), service('b'), service('c')));
  run(sm, setSetting('services.vip_cidr', '10.1.0.0/24'));
  run(sm, apply(T0 + 1, service('d')));
  t.equal(svcOf(sm, 'd')?.status.vip, '10.1.0.1', 'from the new range');
  t.equal(svcOf(sm, 'a')?.status.vip, '241.0.0.1', 'kept, although outside the new range');
  run(sm, del(T0 + 2, 'service', 'b'));
  run(sm, setSetting('services.vip_cidr', '241.0.0.0/8'));
  run(sm, apply(T0 + 3, service('e')));
  t.equal(svcOf(sm, 'e')?.status.vip, '241.0.0.4', 'a fresh cursor at .1: .1 and .3 in use, .2 quarantined, so .4');
});

void t.test('any range apply may meet works, down to a single address; none crashes apply', async (t) => {
  // 0.0.0.0/1 is refused by the setting today (vip-range-rules.ts), but a log written before may hold it.
  for (const [cidr, first, count] of [
    ['10.9.9.9/32', '10.9.9.9', 1],
    ['10.9.9.8/31', '10.9.9.8', 2],
    ['10.9.9.0/30', '10.9.9.1', 2],
    ['0.0.0.0/1', '0.0.0.1', 2 ** 31 - 2],
  ] as const) {
    const parsed = parseIpv4Cidr(cidr);
    if (!parsed.ok) throw new Error(parsed.reason);
    t.equal(usableSpan(parsed.cidr).count, count, `${cidr}: ${count} usable`);
    const sm = cluster({ 'services.vip_cidr': cidr });
    t.match(run(sm, apply(T0, service('one'))), { ok: true }, cidr);
    t.equal(svcOf(sm, 'one')?.status.vip, first);
    if (count === 1) t.match(run(sm, apply(T0, service('two'))), { ok: false, message: /range exhausted/ });
  }
});

void t.test('a committed range the setting refuses today still applies and loads from a snapshot: replay never fails', async (t) => {
  // Logs and snapshots written before vip-range-rules.ts may hold such a range (attack 28, F5).
  const sm = cluster({ 'services.vip_cidr': '127.0.0.0/30' });
  t.match(run(sm, apply(T0, service('old'))), { ok: true });
  t.equal(svcOf(sm, 'old')?.status.vip, '127.0.0.1', 'allocated as before the rule');
  run(sm, setSetting('services.vip_cidr', '255.255.255.255/32'));
  t.match(run(sm, apply(T0 + 1, service('bcast'))), { ok: true }, 'a committed set of a refused range applies');
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.equal(svcOf(copy, 'bcast')?.status.vip, '255.255.255.255');
  t.same(Buffer.from(copy.snapshot()), Buffer.from(sm.snapshot()), 'restored byte for byte');
});

void t.test('the wrap-around: after the last address the cursor starts again at the first free one', async (t) => {
  const sm = cluster({ 'services.vip_cidr': '10.0.0.0/29', 'services.vip_quarantine': 0 });
  run(sm, apply(T0, ...['a', 'b', 'c', 'd', 'e', 'f'].map((n) => service(n))));
  run(sm, del(T0 + 1, 'service', 'c'));
  run(sm, del(T0 + 1, 'service', 'a'));
  run(sm, apply(T0 + 2, service('g')));
  t.equal(svcOf(sm, 'g')?.status.vip, '10.0.0.1', 'the cursor was past .6: it wraps to .1');
  run(sm, apply(T0 + 3, service('h')));
  t.equal(svcOf(sm, 'h')?.status.vip, '10.0.0.3');
});

void t.test('log time never goes back: a new leader whose clock is behind cannot end a quarantine early', async (t) => {
  const sm = cluster({ 'services.vip_cidr': '10.0.0.0/30' });
  run(sm, apply(T0, service('a'), service('b')));
  run(sm, del(T0 + 10_000, 'service', 'a'));
  t.equal(sm.view(meshKind).clock, T0 + 10_000);
  // The next leader's clock is an hour behind: log time stays where it was.
  t.match(run(sm, apply(T0 + 10_000 - HOUR, service('c'))), { ok: false, message: /range exhausted/ });
  t.equal(sm.view(meshKind).clock, T0 + 10_000, 'the largest stamp seen');
  t.match(run(sm, apply(T0 + HOUR, service('c'))), { ok: false, message: /range exhausted/ }, 'still quarantined in log time');
  t.match(run(sm, apply(T0 + 10_000 + HOUR, service('c'))), { ok: true });
  t.equal(svcOf(sm, 'c')?.status.vip, '10.0.0.1');
});

void t.test('allocation is the same on every replica, also one restored from a snapshot halfway; never a duplicate', async (t) => {
  const seed = 1414;
  t.comment(`seed ${seed}`);
  const rng = seededRng(seed);
  const log: Uint8Array[] = [];
  const a = new StateMachine();
  const propose = (cmd: KindCommand): ApplyResult => {
    log.push(encodeCommand(cmd));
    return a.apply(log.length, log[log.length - 1]!);
  };
  propose(initSettings({ 'services.vip_cidr': '10.0.0.0/27', 'services.vip_quarantine': 60_000 }));
  let at = T0;
  const live = new Set<string>();
  let exhausted = 0;
  for (let step = 0; step < 600; step++) {
    at += rng.int(0, 20_000) - 2_000; // leaders' clocks disagree: sometimes behind the last stamp
    const k = rng.next();
    if (k < 0.5 || live.size === 0) {
      const name = `s${step}`;
      if (propose(apply(at, service(name))).ok) live.add(name);
      else exhausted++;
    } else if (k < 0.9) {
      const victim = [...live][rng.int(0, live.size)]!;
      propose(del(at, 'service', victim));
      live.delete(victim);
    } else {
      propose(setSetting('services.vip_cidr', rng.next() < 0.5 ? '10.0.0.0/27' : '10.0.0.16/28'));
    }
    const held = [...vips(a).values()];
    if (new Set(held).size !== held.length) t.fail(`step ${step}: a VIP is held twice: ${held.join(', ')}`);
  }
  t.ok(exhausted > 0, `the range ran out ${exhausted} times: the run reaches exhaustion`);
  t.equal(vips(a).size, live.size, 'every live service holds a VIP');
  const b = new StateMachine();
  for (const [i, data] of log.entries()) b.apply(i + 1, data);
  const half = Math.floor(log.length / 2);
  const early = new StateMachine();
  for (let i = 0; i < half; i++) early.apply(i + 1, log[i]!);
  const c = new StateMachine();
  c.restore(early.snapshot());
  for (let i = half; i < log.length; i++) c.apply(i + 1, log[i]!);
  t.same(Buffer.from(b.snapshot()), Buffer.from(a.snapshot()), 'a replica that applied every entry: byte-identical');
  t.same(Buffer.from(c.snapshot()), Buffer.from(a.snapshot()), 'a replica restored halfway: byte-identical');
  t.same(vips(c), vips(a));
});

void t.test('the allocator alone: free counts, purge, claims and a snapshot round trip', async (t) => {
  const range = vipRange('10.0.0.0/29');
  const al = new VipAllocator();
  t.equal(al.free(range), 6);
  t.equal(al.allocate(range, 'a'), '10.0.0.1');
  t.equal(al.allocate(range, 'b'), '10.0.0.2');
  al.release('10.0.0.1', 100);
  t.equal(al.free(range), 4, 'a quarantined address is not free');
  t.equal(al.freeAt(range, 1100, 1000), 5, 'freeAt counts a quarantine ending by then, without changing anything');
  t.equal(al.free(range), 4);
  const copy = new VipAllocator();
  copy.restore(al.snapshot());
  copy.claim('10.0.0.2', 'b');
  t.same(copy.snapshot(), al.snapshot());
  t.equal(copy.allocate(range, 'c'), '10.0.0.3', 'the cursor survives the round trip');
  al.purge(1100, 1000);
  t.equal(al.free(range), 5);
  t.throws(() => copy.restore({ range: null, cursor: null, quarantine: [['10.0.0.9', 5], ['10.0.0.8', 4]] }), /must not decrease/);
});
