/**
 * controller.quota_bytes and puts in flight: each put's growth is reserved from its proposal
 * until it applies or fails, so a burst of puts cannot all pass on the same room (attack 37a,
 * A3: 30 concurrent 1 MB puts with 4.3 MB left were all acknowledged, 36 MB past the quota).
 */
import t from 'tap';
import { kvOps } from '../../src/api/kv-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { StateQuota } from '../../src/api/state-quota.js';
import type { PutRequestMsg } from '../../src/api/wire-types.js';
import { kvRecordSnapshotLength, type ApplyResult } from '../../src/statemachine/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeConsensus } from './fake-consensus.js';

const VALUE = Buffer.alloc(1000, 'v');
const GROWTH = kvRecordSnapshotLength('k1', VALUE);

/** A leader whose proposals wait until the test lets them apply (or fail). */
function heldLeader(room: number) {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const held: Array<{ apply: () => void; fail: () => void }> = [];
  const apply = port.propose.bind(port);
  port.propose = (data: Uint8Array): Promise<ApplyResult> =>
    new Promise((resolve, reject) => held.push({ apply: () => void apply(data).then(resolve, reject), fail: () => reject(new Error('proposal lost')) }));
  const used = new StateQuota(0, port.sm, () => 0).used();
  const sized = new StateQuota(used + room, port.sm, () => 0);
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwards here')) } });
  return { held, quota: sized, kv: kvOps(port, port.sm, onLeader, undefined, sized) };
}

const put = (key: string, seq: number): PutRequestMsg => ({ key, value: VALUE, hasIfRevision: false, ifRevision: 0, client: { id: 'burst', seq }, forwarded: false });
const soon = (): number => Date.now() + 5000;

void t.test('puts in flight hold their room: a burst stops at the quota', async (t) => {
  const { held, quota, kv } = heldLeader(Math.floor(2.5 * GROWTH));
  const first = kv.put(put('k1', 1), soon());
  const second = kv.put(put('k2', 2), soon());
  await waitFor(() => held.length === 2, 'two puts proposed', 5000);
  t.equal(quota.reserved(), 2 * GROWTH, 'both reserved while in flight');
  const third = await kv.put(put('k3', 3), soon()).catch((e: unknown) => e);
  t.match(third, { code: 'NO_SPACE', message: new RegExp(`${2 * GROWTH} more proposed and not yet applied, and this adds ${GROWTH}`) }, 'the third does not fit beside them');
  t.equal(held.length, 2, 'and was not proposed');
  for (const h of held) h.apply();
  t.ok((await first).revision > 0 && (await second).revision > 0, 'the two applied');
  t.equal(quota.reserved(), 0, 'applied: their growth is in the state now, not reserved');
  t.match(await kv.put(put('k3', 4), soon()).catch((e: unknown) => e), { code: 'NO_SPACE' }, 'still no room for a third');
});

void t.test('a put that fails gives its room back', async (t) => {
  const { held, quota, kv } = heldLeader(Math.floor(1.5 * GROWTH));
  const first = kv.put(put('k1', 1), soon()).catch((e: unknown) => e);
  await waitFor(() => held.length === 1, 'proposed', 5000);
  t.match(await kv.put(put('k2', 2), soon()).catch((e: unknown) => e), { code: 'NO_SPACE' }, 'no room beside it');
  held[0]!.fail();
  t.match(await first, { message: /proposal lost/ });
  t.equal(quota.reserved(), 0, 'released');
  const second = kv.put(put('k2', 3), soon());
  await waitFor(() => held.length === 2, 'the next put is proposed', 5000);
  held[1]!.apply();
  t.ok((await second).revision > 0, 'and applies');
});
