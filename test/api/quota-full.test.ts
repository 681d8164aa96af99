/**
 * Operator round 17: `ctl health` stayed healthy while the leader refused every put of 100 KB
 * for controller.quota_bytes. The quota now says when the state counts as full (NOSPACE, as
 * etcd's alarm), which autopilot's health report turns unhealthy (test/autopilot/health.test.ts
 * covers `writesRefused`).
 */
import t from 'tap';
import { FULL_BELOW_FRACTION, StateQuota, type SnapshotSized } from '../../src/api/state-quota.js';

/** A state of `size` bytes, all kept as it changes (no measured part). */
function stateOf(size: { bytes: number }): SnapshotSized {
  return { snapshotLength: () => ({ kept: size.bytes, measure: () => 0 }) };
}

const QUOTA = 1_000_000;

void t.test('a state with room, and nothing refused, is not full', async (t) => {
  const size = { bytes: 800_000 };
  const quota = new StateQuota(QUOTA, stateOf(size), () => 0);
  t.equal(quota.refusingWrites(), null);
  quota.check(100_000, 'put of "k"');
  t.equal(quota.refusingWrites(), null, 'a write that fits refuses nothing');
});

void t.test('a write refused for the quota makes the state full until that write would fit again', async (t) => {
  const size = { bytes: 850_000 };
  const quota = new StateQuota(QUOTA, stateOf(size), () => 0);
  t.throws(() => quota.check(177_853, 'put of "k6"'), { code: 'NO_SPACE' });
  t.equal(
    quota.refusingWrites(),
    "NOSPACE: the cluster's state is at its quota (about 850000 bytes of controller.quota_bytes 1000000; the leader refused a write adding 177853 bytes, and 150000 are left): " +
      'the leader refuses writes that grow it; delete keys or resources, or raise controller.quota_bytes on every controller',
  );
  size.bytes = 830_000;
  t.match(quota.refusingWrites(), /^NOSPACE: .*170000 are left/, 'still too little room for it');
  size.bytes = 822_147;
  t.equal(quota.refusingWrites(), null, 'room made for the write refused: no longer full');
  size.bytes = 850_000;
  t.equal(quota.refusingWrites(), null, 'and it stays cleared until another refusal');
});

void t.test('less than a hundredth of the quota left counts as full, refused or not (a new leader refused nothing yet)', async (t) => {
  const size = { bytes: QUOTA - QUOTA / FULL_BELOW_FRACTION + 1 };
  const quota = new StateQuota(QUOTA, stateOf(size), () => 0);
  t.match(quota.refusingWrites(), /^NOSPACE: the cluster's state is at its quota \(about 990001 bytes of controller\.quota_bytes 1000000\): /);
  size.bytes -= 1;
  t.equal(quota.refusingWrites(), null, 'exactly a hundredth left');
});
