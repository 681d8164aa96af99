/** The leader asks the other voters for their disks (voter-disks.ts), and logs its own crossing the floor (disk-floor-log.ts). */
import t from 'tap';
import { DiskFloor } from '../../src/api/disk-floor.js';
import { DiskFloorLog } from '../../src/node/disk-floor-log.js';
import { VoterDisks } from '../../src/node/voter-disks.js';
import type { DiskReading } from '../../src/resources/wire.js';

const MiB = 1024 * 1024;
const VOTERS = [
  { id: 'c1', address: 'a1' },
  { id: 'c2', address: 'a2' },
  { id: 'c3', address: 'a3' },
];

/** Voter disks whose questions are never answered, with what they asked, for c1 while `leading()`. */
function unansweredDisks(leading: () => boolean, now: () => number): { disks: VoterDisks; floor: DiskFloor; asked: string[] } {
  const floor = new DiskFloor({ minFreeBytes: 64 * MiB, dataDir: '/d', self: 'c1', now: () => 0 });
  const asked: string[] = [];
  const disks = new VoterDisks({
    self: 'c1',
    votersIfLeading: () => (leading() ? VOTERS : null),
    ask: (m) => {
      asked.push(m.id);
      return new Promise<DiskReading>(() => undefined);
    },
    floor,
    now,
  });
  return { disks, floor, asked };
}

void t.test('while leading, each other voter is asked once per round, and its answer judges writes', async (t) => {
  const floor = new DiskFloor({ minFreeBytes: 64 * MiB, dataDir: '/d', self: 'c1', now: () => 0 });
  let leading = true;
  const asked: string[] = [];
  const pending = new Map<string, (d: DiskReading) => void>();
  const disks = new VoterDisks({
    self: 'c1',
    votersIfLeading: () => (leading ? VOTERS : null),
    ask: (m) => {
      asked.push(m.id);
      return new Promise((resolve) => pending.set(m.id, resolve));
    },
    floor,
    now: () => 0,
  });
  disks.round();
  t.same(asked, ['c2', 'c3'], 'not itself');
  disks.round();
  t.same(asked, ['c2', 'c3'], 'a voter still being asked is not asked again on top');
  pending.get('c2')!({ freeBytes: 10 * MiB, floorBytes: 0 });
  await new Promise((r) => setImmediate(r));
  t.throws(() => floor.check(1, 'put of "a"'), { code: 'NO_SPACE', message: /c2's data dir has 10485760 bytes free/ });
  leading = false;
  pending.get('c3')!({ freeBytes: MiB, floorBytes: 0 });
  await new Promise((r) => setImmediate(r));
  disks.round();
  t.doesNotThrow(() => floor.check(1, 'put of "a"'), 'no longer leading: the readings are dropped, and one arriving after is not kept');
});

void t.test('a node that comes to lead asks at once, not at its next round; another leader changes nothing', (t) => {
  let leading = false;
  const { disks, asked } = unansweredDisks(() => leading, () => 0);
  disks.leaderChanged('c2');
  t.same(asked, [], 'another node leads: nothing asked');
  leading = true;
  disks.leaderChanged('c1');
  t.same(asked, ['c2', 'c3'], 'this node leads: every other voter asked');
  t.end();
});

void t.test('a voter whose pongs carry its disk is judged by them and not asked; a silent one is asked again', (t) => {
  let leading = false;
  let now = 10_000;
  const { disks, floor, asked } = unansweredDisks(() => leading, () => now);
  disks.heard('c2', { freeBytes: 10 * MiB, floorBytes: 0 });
  t.doesNotThrow(() => floor.check(1, 'put of "a"'), 'not leading: a pong\'s disk is not kept');
  leading = true;
  disks.heard('c2', { freeBytes: 10 * MiB, floorBytes: 0 });
  disks.heard('c9', { freeBytes: MiB, floorBytes: 0 });
  t.throws(() => floor.check(1, 'put of "a"'), { code: 'NO_SPACE', message: /c2's data dir has 10485760 bytes free/ }, "a voter's pong judges writes");
  disks.round();
  t.same(asked, ['c3'], 'only the voter whose pongs said nothing (an older member) is asked');
  now += 2_000;
  disks.round();
  t.same(asked, ['c3', 'c2'], "a voter whose pongs stopped saying its disk for a round's period is asked again");
  t.end();
});

void t.test("a node's own disk crossing its floor is logged once each way", async (t) => {
  const floor = new DiskFloor({ minFreeBytes: 64 * MiB, dataDir: '/d', self: 'c3', now: () => 0 });
  const lines: { level: string; code: unknown; msg: string }[] = [];
  const logger = {
    warn: (o: { code: unknown }, msg: string) => lines.push({ level: 'warn', code: o.code, msg }),
    info: (o: { code: unknown }, msg: string) => lines.push({ level: 'info', code: o.code, msg }),
  };
  const log = new DiskFloorLog(floor, logger as never);
  log.observe(100 * MiB);
  log.observe(20 * MiB);
  log.observe(19 * MiB);
  log.observe(65 * MiB);
  t.same(lines.map((l) => [l.level, l.code]), [['warn', 'DISK_BELOW_FLOOR'], ['info', 'DISK_ABOVE_FLOOR']]);
  t.match(lines[0]!.msg, /^the disk of c3's data dir \/d has 20971520 bytes free, below controller\.min_free_disk_bytes 67108864/);
});
