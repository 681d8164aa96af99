/**
 * Carries out a recovery plan (plan.ts) on a survivor's data dir. It refuses an empty data dir
 * and a running node (the controller holds LevelDB's lock on its Raft database for as long as
 * it runs, so failing to take it means the node is running). It then applies the whole log and
 * the recovery's entries (replay.ts), starts a new epoch of the cluster's identity (epoch.ts),
 * and writes the result as the data dir's snapshot, with the new term, vote and commit index,
 * in one synced batch after the identity record: everything the log held is in that state,
 * committed, and a member joining later receives it whole, never a log that still says the old
 * cluster id. The Raft database it wrote is then made the owner's alone (0700, files 0600),
 * as `controller restore` leaves a data dir: it holds every value the cluster stores.
 */
import fs from 'node:fs';
import { makePrivateTree, ownerWhenRoot } from '../backup/private-tree.js';
import { sameAddress } from '../config/host-port.js';
import type { NodeConfig } from '../config/index.js';
import type { LocalIdentity } from '../identity/index.js';
import type { Snapshot } from '../raft/index.js';
import { LevelRaftStorage, type PersistedState } from '../storage/level-raft-storage.js';
import { raftDbPath } from '../storage/paths.js';
import { epochClusterId, withClusterId } from './epoch.js';
import { answersByVoter, liveQuorumRefusal, staleLogRefusal, uncheckedRefusal, votersToAsk, type MemberTarget, type RefusingMember, type RunningMember } from './live-quorum.js';
import { RecoverError } from './errors.js';
import { planRecovery, type RecoverPlan } from './plan.js';
import { applyEntries, replay } from './replay.js';

/** True when `code` appears in the error's cause chain (LevelDB's ModuleError nests them). */
function hasCode(err: unknown, code: string): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    if ('code' in cur && cur.code === code) return true;
    cur = 'cause' in cur ? cur.cause : undefined;
  }
  return false;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface RecoverOutcome {
  readonly dataDir: string;
  readonly plan: RecoverPlan;
  /** The cluster id before and after; null when the cluster had none yet (its next leader draws one). */
  readonly clusterId: { readonly before: string | null; readonly after: string | null };
  readonly keys: number;
  /**
   * Nothing was written: the log's configuration is already the members to keep, all voters,
   * so there is nobody to remove or promote (a recovery run before left it so). Another epoch
   * would only make the members recovered with the earlier run refuse this one.
   */
  readonly unchanged: boolean;
}

/**
 * What the other voters answered: those running for this cluster, those running but refusing
 * this node's file, and a line per address asked ("c1 at 10.0.0.1:7101: no answer").
 */
export interface PeersRunning {
  readonly running: readonly RunningMember[];
  readonly refused: readonly RefusingMember[];
  readonly asked: readonly string[];
}

/**
 * Which of `targets` answer as running members of the asker's cluster (`clusterId`, null when it
 * has no id yet), or answer but refuse; `lastIndex` is the asker's. Null skips the check (--force).
 */
export type RunningPeers = ((targets: readonly MemberTarget[], asker: { readonly clusterId: string | null; readonly lastIndex: number }) => Promise<PeersRunning>) | null;

/**
 * `explain` hears what is about to happen before anything is written, and whom the live-quorum
 * check asked (null when skipped).
 */
export async function recoverDataDir(
  config: NodeConfig,
  keep: readonly string[] | null,
  explain: (plan: RecoverPlan, clusterId: RecoverOutcome['clusterId'], asked: readonly string[] | null) => void,
  runningPeers: RunningPeers = null,
): Promise<RecoverOutcome> {
  const self = config.self.id;
  const dbDir = raftDbPath(config.dataDir);
  // Opening would create an empty database: look first.
  if (!fs.existsSync(dbDir)) {
    throw new RecoverError('EMPTY_DATA_DIR', `${config.dataDir} holds no Raft state of ${self} (no ${dbDir}): there is nothing to recover from`);
  }
  let storage: LevelRaftStorage;
  try {
    storage = await LevelRaftStorage.open(dbDir);
  } catch (err) {
    if (hasCode(err, 'LEVEL_LOCKED')) {
      throw new RecoverError('NODE_RUNNING', `${self} is running (a process holds the lock on ${dbDir}): stop it first; recover works on a stopped node only`, { cause: err });
    }
    throw new RecoverError('STORAGE_FAILED', `cannot open ${dbDir}: ${message(err)}`, { cause: err });
  }
  try {
    let persisted: PersistedState;
    let identity: LocalIdentity | null;
    try {
      persisted = await storage.load();
      identity = await storage.loadIdentity();
    } catch (err) {
      throw new RecoverError('STORAGE_FAILED', `cannot read ${dbDir}: ${message(err)}`, { cause: err });
    }
    if (identity !== null && identity.memberId !== self) {
      throw new RecoverError('NOT_A_MEMBER', `${config.dataDir} is the data dir of ${identity.memberId}, not of ${self}`);
    }
    const plan = planRecovery({ self, keep, hardState: persisted.hardState, snapshot: persisted.snapshot, entries: persisted.entries });
    let sm;
    // Where the log records each member, before the recovery's entries remove the others.
    let recorded: ReadonlyMap<string, string>;
    try {
      sm = replay(persisted.snapshot, persisted.entries);
      recorded = new Map(sm.members.list().map((m) => [m.id, m.address]));
      applyEntries(sm, plan.entries);
    } catch (err) {
      throw new RecoverError('STORAGE_FAILED', `cannot apply the log of ${self}: ${message(err)}`, { cause: err });
    }
    const before = sm.members.clusterId ?? identity?.clusterId ?? null;
    if (plan.removed.length === 0 && plan.promoted.length === 0) {
      return { dataDir: config.dataDir, plan, clusterId: { before, after: before }, keys: sm.kv.size, unchanged: true };
    }
    const after =
      before === null
        ? null
        : epochClusterId({ previous: before, lastIndex: plan.lastIndex, lastTerm: plan.lastTerm, term: plan.hardState.term, members: plan.after.voters });
    const clusterId = { before, after };
    let asked: readonly string[] | null = null;
    if (runningPeers !== null) {
      const addressesOf = (id: string): string[] => {
        const [log = '', file = ''] = [recorded.get(id), config.nodes.find((n) => n.id === id)?.address];
        return log === '' || file === '' || sameAddress(log, file) ? [log || file] : [log, file];
      };
      const { targets, unaddressed } = votersToAsk(plan.before, self, addressesOf);
      const answers = await runningPeers(targets, { clusterId: before, lastIndex: plan.lastIndex });
      const { running, refused } = answersByVoter(answers.running, answers.refused);
      const refusal =
        liveQuorumRefusal(plan.before, self, running.map((m) => m.id), refused) ??
        staleLogRefusal(self, plan.lastIndex, running) ??
        uncheckedRefusal(plan.before, self, running.length + refused.length, unaddressed);
      if (refusal !== null) throw new RecoverError('QUORUM_ALIVE', refusal);
      asked = answers.asked;
    }
    const data = after === null ? sm.snapshot() : withClusterId(sm.snapshot(), after);
    const last = plan.entries[plan.entries.length - 1];
    if (last === undefined) throw new Error('invariant: a recovery appends at least its no-op');
    const snapshot: Snapshot = { meta: { index: last.index, term: last.term, conf: plan.after }, data };
    explain(plan, clusterId, asked);
    try {
      // Whose the Raft database is, before LevelDB adds files of this process's.
      const owner = ownerWhenRoot(dbDir);
      // The identity first: interrupted here, a second run derives the same id and finishes.
      if (identity !== null && after !== null) await storage.saveIdentity({ ...identity, clusterId: after });
      await storage.save({ hardState: plan.hardState, entries: [], snapshot }, true);
      // LevelDB made its new files with the umask (the CLI sets 077; a library caller may not).
      makePrivateTree(dbDir, owner);
    } catch (err) {
      throw new RecoverError('STORAGE_FAILED', `cannot write ${dbDir}: ${message(err)}`, { cause: err });
    }
    return { dataDir: config.dataDir, plan, clusterId, keys: sm.kv.size, unchanged: false };
  } finally {
    await storage.close();
  }
}
