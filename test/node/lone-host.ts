/**
 * One RaftHost, n1 of a bootstrapped three-voter cluster, on real LevelDB storage in a temp dir,
 * with no peers: a test plays n2 and n3 by stepping their messages in, and reads what n1 sent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Message } from '../../src/raft/index.js';
import { bootstrapState } from '../../src/raft/index.js';
import { StateMachine } from '../../src/statemachine/index.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';
import { RaftHost, type RaftTiming } from '../../src/node/raft-host.js';
import type { RaftStorage } from '../../src/node/raft-ports.js';
import { confEntryToMembersCommand, encodeBootstrapContext } from '../../src/node/conf-members.js';
import { systemScheduler } from '../../src/util/clock.js';
import { seededRng } from '../../src/util/rng.js';
import { waitFor } from '../helpers/wait-for.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
  fail(message: string): void;
}

export interface LoneHost {
  readonly host: RaftHost;
  /** Everything n1 has sent, in order; a test may splice what it has handled. */
  readonly sent: Message[];
}

/** What a test may give n1 instead of the defaults. */
export interface LoneHostOptions {
  readonly stateMachine?: StateMachine;
  readonly onSnapshotFailed?: (err: Error) => void;
  /** RaftHostOptions.maxApplyBytes: bytes of committed entries handed out per Ready. */
  readonly maxApplyBytes?: number;
}

/** Starts n1 and waits until it has applied the bootstrap entry. `wrap` may observe storage. */
export async function startLoneHost(t: Teardown, timing: RaftTiming, seed: number, wrap: (s: RaftStorage) => RaftStorage = (s) => s, options: LoneHostOptions = {}): Promise<LoneHost> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lone-host-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const level = await LevelRaftStorage.open(dir);
  const ids = ['n1', 'n2', 'n3'];
  const b = bootstrapState(ids, encodeBootstrapContext(ids.map((id) => ({ id, address: `127.0.0.1:1${id.slice(1)}` }))));
  await level.save({ hardState: b.hardState, entries: [b.entry], snapshot: null }, true);
  const sent: Message[] = [];
  const host = new RaftHost({
    id: 'n1',
    timing,
    storage: wrap(level),
    persisted: { hardState: b.hardState, entries: [b.entry], snapshot: null },
    stateMachine: options.stateMachine ?? new StateMachine(),
    ...(options.onSnapshotFailed === undefined ? {} : { onSnapshotFailed: options.onSnapshotFailed }),
    ...(options.maxApplyBytes === undefined ? {} : { maxApplyBytes: options.maxApplyBytes }),
    confCommand: confEntryToMembersCommand,
    scheduler: systemScheduler,
    rng: seededRng(seed),
    run: 'lone',
    logger: pino({ level: 'silent' }),
    send: (msgs) => void sent.push(...msgs),
    onFatal: (err) => t.fail(err.message),
  });
  t.teardown(async () => {
    await host.stop();
    await level.close();
  });
  host.start();
  await waitFor(() => host.status().conf.voters.length === 3, 'the bootstrap entry to apply', 5000);
  return { host, sent };
}

/**
 * Plays n2: grants whatever n1 asks (pre-vote, then vote) and acknowledges what each append
 * carries, as a follower does (acknowledging n1's last index instead could commit an entry
 * before n1 took the Ready that appends it, and the commit would then come with that Ready's
 * entries). A commit notice gets no answer, as from a follower. Handles what n1 sent so far.
 */
export function answerAsN2({ host, sent }: LoneHost): void {
  for (const m of sent.splice(0)) {
    if (m.to !== 'n2') continue;
    if (m.type === 'PreVote') host.step({ type: 'PreVoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Vote') host.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    if (m.type === 'Append' && !m.commitOnly) {
      const index = m.prevIndex + m.entries.length;
      host.step({ type: 'AppendResp', from: 'n2', to: 'n1', term: m.term, reject: false, index, rejectHint: 0, hintTerm: 0 });
    }
  }
}
