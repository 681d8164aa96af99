/**
 * A leader whose log lacks entries this node committed (a quorum lost acknowledged writes: a
 * member restored from an older copy of its data dir while this node was away). Raft never
 * changes a committed entry, so this node cannot follow: it must stop loudly, keeping what it
 * holds, rather than stay wedged and answer as if healthy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { bootstrapState, RaftError } from '../../src/raft/index.js';
import type { Entry } from '../../src/raft/types.js';
import { StateMachine, encodeCommand } from '../../src/statemachine/index.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';
import { RaftHost } from '../../src/node/raft-host.js';
import { HostError } from '../../src/api/consensus-port.js';
import { confEntryToMembersCommand, encodeBootstrapContext } from '../../src/node/conf-members.js';
import { systemScheduler } from '../../src/util/clock.js';
import { seededRng } from '../../src/util/rng.js';
import { RaftLog } from '../../src/raft/raft-log.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { waitFor } from '../helpers/wait-for.js';

const timing = { heartbeatIntervalMs: 20, electionTimeoutMs: 100, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };
const put = (key: string, value: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value });

void t.test('the core: an append that would change a committed entry is refused as DIVERGED, naming both terms', async (t) => {
  const log = new RaftLog(new MemoryStorage({ voters: ['n1'], learners: [] }), 1 << 20);
  const mine: Entry[] = [1, 2, 3].map((index) => ({ index, term: 1, kind: 'normal', data: new Uint8Array([index]) }));
  log.append(mine);
  log.commitTo(3);
  const theirs: Entry[] = [{ index: 2, term: 4, kind: 'normal', data: new Uint8Array([9]) }];
  let thrown: unknown = null;
  try {
    log.maybeAppend(1, 1, 3, theirs);
  } catch (err) {
    thrown = err;
  }
  t.type(thrown, RaftError);
  t.equal((thrown as RaftError).code, 'DIVERGED');
  t.match((thrown as RaftError).message, /the leader's entry 2 is of term 4, but this node committed entry 2 of term 1 \(its log is committed up to 3\)/);
  t.equal(log.lastIndex(), 3, 'nothing was truncated');
  t.equal(log.term(2), 1);
  // A probe whose previous entry differs from a committed one: refused as DIVERGED too, not
  // answered with a hint the leader would take for stale and ignore.
  const probe = (() => {
    try {
      return log.maybeAppend(3, 4, 3, []);
    } catch (err) {
      return err;
    }
  })();
  t.match(probe, { code: 'DIVERGED', message: /the leader's entry 3 is of term 4, but this node committed entry 3 of term 1/ });
  t.equal(log.maybeAppend(3, 1, 3, []), 3, 'a matching probe is answered');
  // An uncommitted conflicting suffix is still replaced, as Raft requires.
  log.append([{ index: 4, term: 1, kind: 'normal', data: new Uint8Array([4]) }]);
  t.equal(log.maybeAppend(3, 1, 3, [{ index: 4, term: 4, kind: 'normal', data: new Uint8Array([8]) }]), 4);
  t.equal(log.term(4), 4);
});

void t.test('a node whose committed entries the leader lacks stops, says why, and keeps them on disk', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diverged-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const storage = await LevelRaftStorage.open(dir);
  const b = bootstrapState(['n1'], encodeBootstrapContext([{ id: 'n1', address: '127.0.0.1:1' }]));
  await storage.save({ hardState: b.hardState, entries: [b.entry], snapshot: null }, true);
  const fatal: Error[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const sm = new StateMachine();
  const host = new RaftHost({ id: 'n1', timing, storage, persisted: await storage.load(), stateMachine: sm, confCommand: confEntryToMembersCommand, scheduler: systemScheduler, rng: seededRng(3), run: 'diverged', logger, send: () => undefined, onFatal: (e) => void fatal.push(e) });
  host.start();
  await waitFor(() => host.softState().leader === 'n1', 'n1 to lead itself', 5000);
  for (let i = 0; i < 3; i++) t.ok((await host.propose(put(`k${i}`, 'kept'), 2000)).ok, `write ${i} acknowledged`);
  const { term, commit } = host.status();
  t.ok(commit >= 4, `committed up to ${commit}`);

  // A leader of a later term whose log has other entries from index 2 on.
  host.step({ type: 'Append', from: 'n2', to: 'n1', term: term + 5, prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: term + 5, kind: 'normal', data: put('other', 'history') }], commit: 2, commitOnly: false });
  await waitFor(() => fatal.length === 1, 'onFatal', 2000);
  t.match(fatal[0], { code: 'DIVERGED' }, 'the driver is told why, as a RaftError it can tell apart');
  t.match(fatal[0]!.message, /the leader's entry 2 is of term \d+, but this node committed entry 2 of term \d+ .*Writes the cluster acknowledged are in this node's data dir and missing from n2's log/);
  t.match(logs.join(''), /"code":"DIVERGED"/, 'logged as fatal with its code');
  const refused = await host.propose(put('after', 'x'), 500).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(refused, HostError, 'nothing is accepted after it stopped');
  await host.stop();
  await storage.close();

  const reopened = await LevelRaftStorage.open(dir);
  t.teardown(() => reopened.close());
  const kept = await reopened.load();
  t.ok(kept.entries.length >= 4, 'the committed entries are still on disk');
  t.equal(kept.hardState.commit >= commit || kept.entries.at(-1)!.index >= commit, true, 'up to the commit index it had');
});
