/**
 * Start-up of a controller's data dir: open the storage, ask the peers the start-up question,
 * let src/identity's decision say bootstrap, join, start or refuse, and write what the decision
 * creates (the identity record, with the bootstrap entry when bootstrapping) before anything
 * else runs. A refusal closes the storage, removes the Raft database if this start created it,
 * and throws StartupRefusedError (exit 2).
 */
import { RELATIVE_DATA_DIR, relativeBootstrapWarning } from './relative-data-dir.js';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../config/index.js';
import { decideStartup, identityFor, initialNodes, StartupRefusedError, type DiskState, type IdentitySource, type LocalIdentity, type StartupDecision } from '../identity/index.js';
import { bootstrapState } from '../raft/index.js';
import { LevelRaftStorage, type PersistedState } from '../storage/level-raft-storage.js';
import { raftDbPath } from '../storage/paths.js';
import { restoreCutShortRefusal } from '../backup/restore-staging.js';
import { askPeers } from '../transport/index.js';
import { encodeBootstrapContext } from './conf-members.js';
import { ownAddressToAsk, runningElsewhereRefusal } from './running-elsewhere.js';
import { traceMilestone } from '../util/trace.js';
import { RAFT_TIMING_MISMATCH, raftTimingMismatch } from './timing-mismatch.js';

export interface PreparedDataDir {
  readonly storage: LevelRaftStorage;
  readonly persisted: PersistedState;
  readonly identity: LocalIdentity;
  readonly decision: StartupDecision;
}

export interface StartupOptions {
  readonly config: NodeConfig;
  readonly join: boolean;
  readonly logger: Logger;
  readonly credentials: grpc.ChannelCredentials;
  readonly newId: IdentitySource;
}

function isEmpty(p: PersistedState): boolean {
  return p.snapshot === null && p.entries.length === 0 && p.hardState.term === 0;
}

function lastIndexOf(p: PersistedState): number {
  return p.entries.at(-1)?.index ?? p.snapshot?.meta.index ?? 0;
}

/** How long to wait for the peers' answers: a running peer answers at once, a down one fails fast. */
export function helloDeadlineMs(config: NodeConfig): number {
  return Math.max(1000, 2 * config.raft.electionTimeoutMs);
}

export async function prepareDataDir(opts: StartupOptions): Promise<PreparedDataDir> {
  const { config, logger } = opts;
  const dbPath = raftDbPath(config.dataDir);
  // Opening creates the database; a start that is refused must not leave one behind, where an
  // operator moving the real one back would nest it inside (attack round 10).
  const created = !fs.existsSync(dbPath);
  const storage = await LevelRaftStorage.open(dbPath);
  try {
    const loaded = await storage.load();
    const stored = await storage.loadIdentity();
    const disk: DiskState = stored === null && isEmpty(loaded) ? { kind: 'empty' } : { kind: 'present', identity: stored, lastIndex: lastIndexOf(loaded) };
    const nodes = initialNodes(config.nodes);
    traceMilestone('start.hello');
    const answers = await askPeers({
      self: config.self.id,
      clusterName: config.clusterName,
      ask: { incarnation: stored?.incarnation ?? '', clusterId: stored?.clusterId ?? null, lastIndex: lastIndexOf(loaded), joining: opts.join, nodes },
      targets: config.nodes.filter((n) => n.id !== config.self.id).map((n) => ({ id: n.id, address: n.address })),
      credentials: opts.credentials,
      deadlineMs: helloDeadlineMs(config),
    });
    const decision = decideStartup({
      memberId: config.self.id,
      join: opts.join,
      dataDir: config.dataDir,
      clusterName: config.clusterName,
      configFile: config.file,
      clusterSize: config.nodes.length,
      selfAddress: config.self.address,
      nodes,
      disk,
      answers,
    });
    const answered = answers.filter((a) => 'reply' in a).map((a) => a.peer);
    traceMilestone('start.decided', `${decision.action} answered=${answered.length}`);
    logger.info({ decision: decision.action, answered, unanswered: answers.filter((a) => 'error' in a).map((a) => `${a.peer}: ${a.error}`) }, `start-up: ${decision.action}`);
    if (decision.action === 'refuse' && decision.code === 'ALREADY_BOOTSTRAPPED') {
      // Lost, or running elsewhere? Only the member's own address can tell (running-elsewhere.ts).
      const address = ownAddressToAsk(answers, config.self.address);
      const [own] = await askPeers({
        self: config.self.id,
        clusterName: config.clusterName,
        ask: { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes },
        targets: [{ id: config.self.id, address }],
        credentials: opts.credentials,
        deadlineMs: helloDeadlineMs(config),
      });
      const running = own === undefined ? null : runningElsewhereRefusal(config.self.id, config.dataDir, address, answers, own);
      if (running !== null) throw new StartupRefusedError('MEMBER_RUNNING', running);
    }
    if (decision.action === 'refuse') throw new StartupRefusedError(decision.code, decision.message);
    const timing = raftTimingMismatch(config.file, config.raft, answers);
    if (timing !== null) logger.warn({ code: RAFT_TIMING_MISMATCH, peers: timing.peers }, timing.message);
    const identity = identityFor(decision, config.self.id, disk, opts.newId);
    if (identity === null) throw new Error(`unreachable: no identity for ${decision.action}`);
    let persisted = loaded;
    switch (decision.action) {
      case 'bootstrap': {
        // An empty dir that a cut-short restore was to fill: the operator meant the restored cluster.
        const cutShort = restoreCutShortRefusal(config.dataDir);
        if (cutShort !== null) throw new StartupRefusedError('RESTORE_CUT_SHORT', cutShort);
        // Every initial member writes the same first entry, so all logs start identical.
        const b = bootstrapState(config.nodes.map((n) => n.id), encodeBootstrapContext(config.nodes));
        persisted = { hardState: b.hardState, entries: [b.entry], snapshot: null };
        await storage.saveIdentity(identity, { ...persisted, snapshot: null });
        logger.info({ members: config.nodes.map((n) => n.id), incarnation: identity.incarnation, reason: decision.reason }, 'bootstrapped a new cluster');
        const relative = relativeBootstrapWarning(config, () => process.cwd());
        if (relative !== null) logger.warn({ code: RELATIVE_DATA_DIR }, relative);
        break;
      }
      case 'join':
        await storage.saveIdentity(identity);
        logger.info({ incarnation: identity.incarnation, reason: decision.reason }, 'joining: starting empty, waiting for the cluster to replicate to this member');
        if (decision.warning !== null) logger.warn(decision.warning);
        break;
      case 'start':
        if (decision.warning !== null) logger.warn(decision.warning);
        if (stored === null) {
          await storage.saveIdentity(identity);
          logger.info({ incarnation: identity.incarnation }, 'data dir from a version without identities: assigned an incarnation');
        } else if (identity.recorded !== stored.recorded) {
          await storage.saveIdentity(identity);
          logger.info({ incarnation: identity.incarnation }, 'the cluster has recorded this data dir');
        }
        break;
    }
    return { storage, persisted, identity, decision };
  } catch (err) {
    await storage.close();
    if (created && err instanceof StartupRefusedError) fs.rmSync(dbPath, { recursive: true, force: true });
    throw err;
  }
}
