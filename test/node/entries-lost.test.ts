/**
 * A follower whose log lacks entries it acknowledged (its data dir restored from an older copy
 * of itself, or a disk that lost synced writes): the leader's heartbeat counts it as holding more
 * than it has. etcd panics there; the node stops, says why, and keeps what it has, since a vote
 * from this log could elect a leader without writes the cluster acknowledged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { bootstrapState } from '../../src/raft/index.js';
import { StateMachine } from '../../src/statemachine/index.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';
import { RaftHost } from '../../src/node/raft-host.js';
import { confEntryToMembersCommand, encodeBootstrapContext } from '../../src/node/conf-members.js';
import { systemScheduler } from '../../src/util/clock.js';
import { seededRng } from '../../src/util/rng.js';
import { waitFor } from '../helpers/wait-for.js';

const timing = { heartbeatIntervalMs: 20, electionTimeoutMs: 5000, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

void t.test("a follower told it holds entries beyond its log stops with ENTRIES_LOST and keeps its log", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entries-lost-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const storage = await LevelRaftStorage.open(dir);
  const nodes = ['n1', 'n2', 'n3'];
  const b = bootstrapState(nodes, encodeBootstrapContext(nodes.map((id, i) => ({ id, address: `127.0.0.1:${i + 1}` }))));
  await storage.save({ hardState: b.hardState, entries: [b.entry], snapshot: null }, true);
  const fatal: Error[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const host = new RaftHost({ id: 'n1', timing, storage, persisted: await storage.load(), stateMachine: new StateMachine(), confCommand: confEntryToMembersCommand, scheduler: systemScheduler, rng: seededRng(5), run: 'entries-lost', logger, send: () => undefined, onFatal: (e) => void fatal.push(e) });
  host.start();

  // What it holds: followed as usual.
  host.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 1, context: '' });
  await waitFor(() => host.softState().leader === 'n2', 'n1 to follow n2', 2000);
  t.equal(fatal.length, 0, 'a heartbeat within the log is followed');
  t.equal(host.status().commit, 1);

  // n2 counts n1 as holding entries up to 7 (it acknowledged them once); its log ends at 1.
  host.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 7, context: '' });
  await waitFor(() => fatal.length === 1, 'onFatal', 2000);
  t.match(fatal[0], { code: 'ENTRIES_LOST' }, 'the driver is told why, as a RaftError it can tell apart');
  t.match(fatal[0]!.message, /^n2 counts this node as holding the log up to 7, which it acknowledged, but its log ends at 1: entries this node acknowledged are gone: this data dir is older than the one that acknowledged them/);
  t.match(logs.join(''), /"level":60[^\n]*"code":"ENTRIES_LOST"/, 'logged as fatal with its code');
  t.equal(host.status().commit, 1, 'the commit index did not move past the log');
  await host.stop();
  await storage.close();

  const reopened = await LevelRaftStorage.open(dir);
  t.teardown(() => reopened.close());
  const kept = await reopened.load();
  t.equal(kept.entries.at(-1)?.index, 1, 'its log is as it was');
});

void t.test('a follower that started with an empty data dir and is told it holds entries says its data dir was new', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entries-lost-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const storage = await LevelRaftStorage.open(dir);
  const fatal: Error[] = [];
  const logger = pino({ level: 'silent' });
  // A joiner that lost its disk after it acknowledged entries, and started empty again.
  const host = new RaftHost({ id: 'n1', timing, storage, persisted: await storage.load(), stateMachine: new StateMachine(), confCommand: confEntryToMembersCommand, scheduler: systemScheduler, rng: seededRng(5), run: 'entries-lost', logger, send: () => undefined, onFatal: (e) => void fatal.push(e) });
  host.start();
  t.teardown(async () => {
    await host.stop();
    await storage.close();
  });
  host.step({ type: 'Heartbeat', from: 'n2', to: 'n1', term: 2, commit: 7, context: '' });
  await waitFor(() => fatal.length === 1, 'onFatal', 2000);
  t.match(fatal[0], { code: 'ENTRIES_LOST' });
  t.match(fatal[0]!.message, /but its log ends at 0: .*: this data dir was empty at this start: the member lost the data dir that acknowledged them/);
  t.notMatch(fatal[0]!.message, /older than the one that acknowledged/, 'not called an older copy');
});

