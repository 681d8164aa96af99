/**
 * Carries out a recovery plan (plan.ts) on a survivor's data dir: refuses an empty data dir
 * and a running node (the controller holds LevelDB's lock on its Raft database for as long as
 * it runs, so failing to take it means the node is running), then writes the appended entries
 * and the new hard state in one synced batch.
 */
import fs from 'node:fs';
import type { NodeConfig } from '../config/index.js';
import { LevelRaftStorage, type PersistedState } from '../storage/level-raft-storage.js';
import { raftDbPath } from '../storage/paths.js';
import { RecoverError } from './errors.js';
import { planRecovery, type RecoverPlan } from './plan.js';

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
}

/** `explain` hears the plan before anything is written. */
export async function recoverDataDir(config: NodeConfig, keep: readonly string[] | null, explain: (plan: RecoverPlan) => void): Promise<RecoverOutcome> {
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
    try {
      persisted = await storage.load();
    } catch (err) {
      throw new RecoverError('STORAGE_FAILED', `cannot read ${dbDir}: ${message(err)}`, { cause: err });
    }
    const plan = planRecovery({ self, keep, hardState: persisted.hardState, snapshot: persisted.snapshot, entries: persisted.entries });
    explain(plan);
    try {
      await storage.save({ hardState: plan.hardState, entries: plan.entries, snapshot: null }, true);
    } catch (err) {
      throw new RecoverError('STORAGE_FAILED', `cannot write ${dbDir}: ${message(err)}`, { cause: err });
    }
    return { dataDir: config.dataDir, plan };
  } finally {
    await storage.close();
  }
}
