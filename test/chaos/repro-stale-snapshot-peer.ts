#!/usr/bin/env node
/**
 * Reproduction of a liveness bug the chaos harness found (membership-churn, seed 1009, 60 s,
 * base timeout 500 ms): a node that joins empty installs the leader's snapshot, and when that
 * snapshot predates the leader's own (re-)addition, the joining node refuses every RPC from the
 * leader ("refused peer RPC: unknown sender ... found \"c4\"", PERMISSION_DENIED) and never
 * catches up; `member promote` then fails with "learner ... has not caught up".
 *
 * Cause, as far as the logs show: controller-node.ts passes the transport
 * `isKnownPeer: (id) => sm.members.size > 0 ? sm.members.get(id) !== null : <config>`, and the
 * members map of a node that is behind (here: restored from an old snapshot) does not know the
 * current leader yet. Raft must accept its leader's messages whatever its own log says.
 *
 *   node dist/test/chaos/repro-stale-snapshot-peer.js
 *
 * Exit 1 with REPRODUCED when the joining node is stuck, 0 when it catches up. Not a test file
 * (it fails until the controller is fixed); turn it into one, or into a simulation test, then.
 */
import { ApiError } from '../../src/api/errors.js';
import { ControllerClient } from '../../src/api/client.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

async function main(): Promise<number> {
  const cluster = await ProcessCluster.create({ nodes: 4, logLevel: 'info', raft: { snapshotThreshold: 50, trailingLogs: 0 } });
  const admin = (ids: readonly string[]): ControllerClient => new ControllerClient({ endpoints: ids.map((id) => cluster.addresses.get(id)!), timeoutMs: 5000 });
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  try {
    cluster.startAll();
    await cluster.waitForLeader();
    const a = admin(['c1', 'c2', 'c3']);

    say('1. remove c4, wipe it, and write 60 keys: every snapshot now has members c1, c2, c3');
    await a.memberRemove('c4');
    await cluster.kill('c4');
    const fs = await import('node:fs');
    fs.rmSync(`${cluster.dir}/data/c4`, { recursive: true, force: true });
    for (let i = 0; i < 60; i++) await a.put(`k${i}`, `v${i}`);

    say('2. re-add c4 empty: it installs such a snapshot, catches up, is promoted, becomes leader');
    await a.memberAdd('c4', cluster.addresses.get('c4')!, true);
    cluster.start('c4', ['--join']);
    await waitFor(async () => {
      try {
        await a.memberPromote('c4');
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.message.includes('already a voter')) return true;
        return false;
      }
    }, 'c4 promoted', 30000);
    const all = admin(['c1', 'c2', 'c3', 'c4']);
    await waitFor(
      async () => {
        await all.leaderTransfer('c4').catch(() => null);
        return (await cluster.status('c4'))?.leader === 'c4';
      },
      'c4 to lead',
      60000,
    );

    say('3. replace c3: remove it, wipe it, re-add it empty; the leader c4 sends its snapshot');
    await all.memberRemove('c3');
    await cluster.kill('c3');
    fs.rmSync(`${cluster.dir}/data/c3`, { recursive: true, force: true });
    await all.memberAdd('c3', cluster.addresses.get('c3')!, true);
    cluster.start('c3', ['--join']);

    let caughtUp = false;
    try {
      await waitFor(
        async () => {
          const st = await cluster.status('c3');
          const leader = await cluster.status('c4');
          return st !== null && leader !== null && st.appliedIndex >= leader.commitIndex;
        },
        'c3 to catch up with the leader',
        20000,
      );
      caughtUp = true;
    } catch {
      caughtUp = false;
    }
    const refused = (cluster.logs.get('c3') ?? []).join('').match(/refused peer RPC: unknown sender[^\n]*/)?.[0];
    const st = await cluster.status('c3');
    const leader = await cluster.status('c4');
    say(`c3 applied ${st?.appliedIndex ?? '?'} of the leader's ${leader?.commitIndex ?? '?'}; leader ${leader?.leader ?? '?'}`);
    if (refused !== undefined) say(`c3 log: ${refused}`);
    a.close();
    all.close();
    if (!caughtUp) {
      say('REPRODUCED: the joining node cannot catch up');
      return 1;
    }
    say('not reproduced: c3 caught up');
    return 0;
  } finally {
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
