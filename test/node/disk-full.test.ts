/**
 * A disk that fills up (ENOSPC on the synced batch): the node must not acknowledge the write,
 * must not keep running as if it were durable, and must lose nothing it acknowledged before.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { bootstrapState } from '../../src/raft/index.js';
import { StateMachine, encodeCommand } from '../../src/statemachine/index.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';
import { StorageIoError } from '../../src/storage/errors.js';
import { RaftHost } from '../../src/node/raft-host.js';
import { HostError } from '../../src/api/consensus-port.js';
import { confEntryToMembersCommand, encodeBootstrapContext } from '../../src/node/conf-members.js';
import { systemScheduler } from '../../src/util/clock.js';
import { seededRng } from '../../src/util/rng.js';
import { waitFor } from '../helpers/wait-for.js';

const timing = { heartbeatIntervalMs: 20, electionTimeoutMs: 100, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };
const put = (key: string, value: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value });

async function startHost(dir: string, onFatal: (err: Error) => void): Promise<{ host: RaftHost; storage: LevelRaftStorage; sm: StateMachine }> {
  const storage = await LevelRaftStorage.open(dir);
  let persisted = await storage.load();
  if (persisted.hardState.term === 0 && persisted.entries.length === 0) {
    const b = bootstrapState(['n1'], encodeBootstrapContext([{ id: 'n1', address: '127.0.0.1:1' }]));
    await storage.save({ hardState: b.hardState, entries: [b.entry], snapshot: null }, true);
    persisted = { hardState: b.hardState, entries: [b.entry], snapshot: null };
  }
  const sm = new StateMachine();
  const host = new RaftHost({ id: 'n1', timing, storage, persisted, stateMachine: sm, confCommand: confEntryToMembersCommand, scheduler: systemScheduler, rng: seededRng(1), run: 'disk-full', logger: pino({ level: 'silent' }), send: () => undefined, onFatal });
  host.start();
  await waitFor(() => host.softState().leader === 'n1', 'the single node to lead', 5000);
  return { host, storage, sm };
}

void t.test('ENOSPC on the synced write: the proposal fails, the node stops, acknowledged writes survive', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'disk-full-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fatal: Error[] = [];
  const { host, storage } = await startHost(dir, (e) => fatal.push(e));

  const acked = await host.propose(put('before', 'ok'), 2000);
  t.ok(acked.ok, 'a write before the disk fills is acknowledged');

  // The disk fills: every further save fails the way LevelDB reports it.
  const realSave = storage.save.bind(storage);
  storage.save = () => Promise.reject(new StorageIoError(`write to ${dir} failed: IO error: No space left on device (ENOSPC)`));
  const err = await host.propose(put('after', 'lost'), 2000).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, HostError, 'the write is refused, not acknowledged');
  t.equal((err as HostError).code, 'STORAGE_FAILED');
  t.match((err as HostError).message, /No space left on device/, 'with the cause in the message');
  await waitFor(() => fatal.length === 1, 'onFatal to be called', 2000);
  t.match(fatal[0]!.message, /ENOSPC/, 'the process is told to stop, with the reason');
  const again = await host.propose(put('later', 'x'), 500).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(again, HostError, 'nothing is accepted after durability was lost');

  storage.save = realSave;
  await host.stop();
  await storage.close();

  // Space is freed and the node restarts: the acknowledged write is there, the refused one is not.
  const fatal2: Error[] = [];
  const restarted = await startHost(dir, (e) => fatal2.push(e));
  t.teardown(async () => {
    await restarted.host.stop();
    await restarted.storage.close();
  });
  await waitFor(() => restarted.sm.kv.get('before') !== null, 'the log to be re-applied', 5000);
  t.equal(Buffer.from(restarted.sm.kv.get('before')?.value ?? []).toString(), 'ok', 'the acknowledged write survived');
  t.equal(restarted.sm.kv.get('after'), null, 'the refused write was never applied');
  t.same(fatal2, []);
});
