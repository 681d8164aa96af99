/** controller.min_free_disk_bytes: the leader refuses a write that would leave its disk below the floor. */
import t from 'tap';
import { DiskFloor, VOTER_DISK_FRESH_MS } from '../../src/api/disk-floor.js';
import { StateQuota } from '../../src/api/state-quota.js';
import { ServiceFailure } from '../../src/api/service-error.js';

const MiB = 1024 * 1024;
const floor = (minFreeBytes: number, now: () => number = () => 0): DiskFloor => new DiskFloor({ minFreeBytes, dataDir: '/var/lib/c1', self: 'c1', now });

void t.test('a write needing more than the room above the floor is refused NO_SPACE, naming the disk and its figures', async (t) => {
  const disk = floor(64 * MiB);
  disk.observe(70 * MiB);
  t.doesNotThrow(() => disk.check(3 * MiB, 'put of "a"'), '6 MiB needed, 6 MiB above the floor');
  const err = t.throws(() => disk.check(3 * MiB + 1, 'put of "a"')) as ServiceFailure;
  t.equal(err.code, 'NO_SPACE');
  t.equal(
    err.message,
    `put of "a" refused: the disk of c1's data dir /var/lib/c1 has ${70 * MiB} bytes free, and this write needs about ${6 * MiB + 2} above ` +
      `controller.min_free_disk_bytes ${64 * MiB}; a controller whose disk fills stops (it cannot make a write durable). ` +
      'Free disk space on the members, delete keys, or lower controller.min_free_disk_bytes',
  );
  disk.observe(10 * MiB);
  t.doesNotThrow(() => disk.check(0, 'delete of "a"'), 'a delete or a write that does not grow passes below the floor');
  t.doesNotThrow(() => disk.check(-5, 'put of "a"'));
  disk.observe(200 * MiB);
  t.doesNotThrow(() => disk.check(3 * MiB, 'put of "a"'), 'room made: judged on the new reading');
});

void t.test('no reading yet, or a floor of 0: nothing refused', async (t) => {
  t.doesNotThrow(() => floor(64 * MiB).check(MiB, 'put'), 'before the first reading');
  const off = floor(0);
  off.observe(0);
  t.doesNotThrow(() => off.check(MiB, 'put'));
  t.equal(off.free(), 0);
});

void t.test("the state's quota judges the disk first, for every write it guards", async (t) => {
  const disk = floor(64 * MiB);
  disk.observe(65 * MiB);
  const quota = new StateQuota(256 * MiB, { snapshotLength: () => ({ kept: 0, measure: () => 0 }) }, () => 0, disk);
  t.throws(() => quota.check(MiB, 'put of "a"'), { code: 'NO_SPACE', message: /the disk of c1's data dir/ });
  await t.rejects(quota.guard(MiB, 'apply of 3 resources', () => Promise.resolve(1)), { code: 'NO_SPACE' });
  t.equal(quota.reserved(), 0, 'nothing reserved for a refused write');
  t.equal(await quota.guard(0, 'delete', () => Promise.resolve('deleted')), 'deleted');
});

void t.test("another voter's disk is judged too, against the higher of its floor and the leader's, while its reading is fresh", async (t) => {
  let now = 1_000;
  const disk = floor(64 * MiB, () => now);
  disk.observe(10_000 * MiB); // the leader's own disk has room
  disk.observeVoter('c3', 70 * MiB, 0); // an older c3 says no floor: the leader's applies
  now += 1_500;
  t.doesNotThrow(() => disk.check(3 * MiB, 'put of "a"'), '6 MiB needed, 6 MiB above the floor on c3');
  const err = t.throws(() => disk.check(3 * MiB + 1, 'put of "a"')) as ServiceFailure;
  t.equal(err.code, 'NO_SPACE');
  t.equal(
    err.message,
    `put of "a" refused: the disk of c3's data dir has ${70 * MiB} bytes free (as c3 answered 1500ms ago), and this write needs about ${6 * MiB + 2} above ` +
      `controller.min_free_disk_bytes ${64 * MiB} (c1's (the leader's)); a controller whose disk fills stops (it cannot make a write durable). ` +
      "Free disk space on c3, delete keys, or lower controller.min_free_disk_bytes (each voter's disk is judged against the higher of its own and the leader's)",
  );
  disk.observeVoter('c2', 500 * MiB, 1024 * MiB); // c2's own floor is higher than the leader's
  t.throws(() => disk.check(1, 'put of "b"'), { code: 'NO_SPACE', message: /the disk of c2's data dir has 524288000 bytes free .* controller\.min_free_disk_bytes 1073741824 \(c2's\)/ });
  t.doesNotThrow(() => disk.check(0, 'delete of "a"'), 'a write that does not grow passes');

  now += VOTER_DISK_FRESH_MS + 1;
  t.doesNotThrow(() => disk.check(3 * MiB, 'put of "a"'), "a voter that stopped answering is not judged on an old reading");
  disk.observeVoter('c3', 70 * MiB, 0);
  disk.retainVoters(new Set(['c2']));
  t.doesNotThrow(() => disk.check(3 * MiB + 1, 'put of "a"'), 'no longer a voter (or this node no longer leads): forgotten');
});

void t.test('a leader with its floor off still judges a voter by its own floor; its own disk below the floor is named', async (t) => {
  const disk = floor(0);
  disk.observe(0);
  disk.observeVoter('c2', MiB, 64 * MiB);
  t.throws(() => disk.check(1, 'put of "a"'), { code: 'NO_SPACE', message: /c2's data dir/ });
  t.equal(disk.ownShortfall(), null, 'the floor off: no shortfall of its own');
  const low = floor(64 * MiB);
  t.equal(low.ownShortfall(), null, 'no reading yet');
  low.observe(10 * MiB);
  t.equal(low.ownShortfall(), `the disk of c1's data dir /var/lib/c1 has ${10 * MiB} bytes free, below controller.min_free_disk_bytes ${64 * MiB}: a controller whose disk fills stops (exit 1); free disk space on it, or give it a larger disk`);
  low.observe(64 * MiB);
  t.equal(low.ownShortfall(), null, 'at the floor');
});

void t.test('refusingWrites names the voter whose disk is already below its floor, or null', async (t) => {
  let now = 0;
  const disk = floor(64 * MiB, () => now);
  t.equal(disk.refusingWrites(), null, 'no reading');
  disk.observe(100 * MiB);
  disk.observeVoter('c2', 64 * MiB, 0);
  t.equal(disk.refusingWrites(), null, 'at the floor: only growing writes that pass it are refused');
  disk.observeVoter('c3', 10 * MiB, 0);
  t.equal(disk.refusingWrites(), `the leader refuses every write that grows the state: the disk of c3's data dir has ${10 * MiB} bytes free, below controller.min_free_disk_bytes ${64 * MiB}; free disk space on c3`);
  now += VOTER_DISK_FRESH_MS + 1;
  t.equal(disk.refusingWrites(), null, 'a stale reading does not count');
  disk.observe(MiB);
  t.match(disk.refusingWrites(), /the disk of c1's data dir has 1048576 bytes free/);
});
