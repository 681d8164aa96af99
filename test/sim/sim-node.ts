/**
 * One simulated controller over its lifetime: a disk that survives crashes, and for each
 * process started on it the production RaftHost, composed as controller-node.ts composes it
 * but with simulated ports: SimStorage on the disk, the KV state machine, simulated time and
 * the simulated network. There is no Ready loop here: RaftHost's is the only one.
 *
 * A crash kills the process (nothing it scheduled runs any more) and keeps what the disk model
 * keeps; a restart builds a new process from the durable image, through a start decision that
 * may also refuse to start or start from another state (the lost-disk fault plugs an identity
 * and bootstrap decision in here).
 */
import pino from 'pino';
import { RaftHost } from '../../src/node/raft-host.js';
import type { StorageUpdate } from '../../src/node/raft-ports.js';
import type { ConfEntry, ConfState, Entry, MemoryStorage, Message, NodeId, NodeStatus, SnapshotMeta, SoftState } from '../../src/raft/index.js';
import { RaftError } from '../../src/raft/index.js';
import { InvariantViolation } from './invariants.js';
import type { PersistedState } from '../../src/storage/level-raft-storage.js';
import type { Rng } from '../../src/util/rng.js';
import { Disk } from './disk.js';
import { KvStateMachine } from './kv.js';
import { SimStorage, type DiskLatency } from './sim-storage.js';
import type { ProcessTime } from './sim-time.js';

export interface NodeSettings {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly maxInflight: number;
  /** The peer message limit; the core puts at most half of it in one append (as in production). */
  readonly maxMessageBytes: number;
  readonly maxApplyBytes: number;
  /** Take a local snapshot every this many applied entries; 0 never does. */
  readonly snapshotEvery: number;
  /** Entries kept behind a snapshot for followers that are only a little behind. */
  readonly snapshotTrailing: number;
  /** RaftHost's initialElectionAdvance (default true). */
  readonly initialElectionAdvance?: boolean;
}

/** What the harness learns from a node, in the order it happens. */
export interface NodeObserver {
  softState(node: SimNode, ss: SoftState, term: number): void;
  /** A Ready's write was issued; `log` is the node's log after it. */
  wrote(node: SimNode, update: StorageUpdate, log: MemoryStorage): void;
  snapshotTaken(node: SimNode, index: number): void;
  applied(node: SimNode, e: Entry, identity: string, digest: number): void;
  restored(node: SimNode, index: number, digest: number): void;
  /** A snapshot from the leader replaced the state machine. */
  installed(node: SimNode, meta: SnapshotMeta): void;
  /** A conf entry was applied at `index`; `conf` is what the core reports. */
  confApplied(node: SimNode, index: number, change: ConfEntry, conf: ConfState): void;
}

/** How a process starts from what its disk holds: the state to start from, or null to refuse. */
export type StartDecision = (id: NodeId, onDisk: PersistedState) => PersistedState | null;

export const startAsPersisted: StartDecision = (_id, onDisk) => onDisk;

/** What a node needs from the harness it runs in (the seeded Cluster, or a hand-driven Script). */
export interface NodeEnv {
  readonly settings: NodeSettings;
  readonly latency: DiskLatency;
  readonly observer: NodeObserver;
  readonly startDecision: StartDecision;
  /** A new process's time; killed when the process dies. */
  newProcess(node: SimNode): ProcessTime & { kill(): void };
  rngFor(node: SimNode): Rng;
  send(node: SimNode, msgs: readonly Message[]): void;
  /** Whether the node's own vote may count now (RaftHostOptions.mayCampaign); absent: always. */
  readonly mayCampaign?: ((node: SimNode) => boolean) | undefined;
  /** Lets a test plant a bug in the driver of every process it starts. */
  readonly plant?: ((host: RaftHost) => void) | undefined;
}

const SILENT = pino({ level: 'silent' });

/**
 * A node stopped with ENTRIES_LOST: a broken promise (durable-before-send), unless the
 * acknowledgements the leader counts were a lost data dir's (Cluster.deliver tells them apart).
 */
export class EntriesLostStop extends InvariantViolation {
  constructor(message: string) {
    super('durable-before-send', message);
  }
}

interface Running {
  readonly proc: ProcessTime & { kill(): void };
  readonly host: RaftHost;
  readonly storage: SimStorage;
}

export class SimNode {
  /** Counts starts: 1 for the first process, +1 per restart. */
  incarnation = 0;
  /** The state machine of the current (or last) process. */
  sm: KvStateMachine = new KvStateMachine();
  private running: Running | null = null;

  constructor(
    readonly id: NodeId,
    private readonly env: NodeEnv,
    readonly disk: Disk = new Disk(),
  ) {}

  get up(): boolean {
    return this.running !== null;
  }

  /** The RaftHost of a running node; throws for a crashed one (a harness bug). */
  host(): RaftHost {
    return this.run().host;
  }

  proc(): ProcessTime & { kill(): void } {
    return this.run().proc;
  }

  /** Everything the running process wrote, durable or not. */
  log(): MemoryStorage {
    return this.run().storage.log;
  }

  status(): NodeStatus {
    return this.host().status();
  }

  /**
   * Starts a process from the durable image, as the start decision says. Returns false when
   * the decision refuses to start.
   */
  start(): boolean {
    if (this.running) throw new Error(`sim: node ${this.id} is already up`);
    const onDisk = this.disk.load();
    const persisted = this.env.startDecision(this.id, onDisk);
    if (persisted === null) return false;
    if (persisted !== onDisk) this.disk.initialize(persisted);
    this.incarnation++;
    const s = this.env.settings;
    const obs = this.env.observer;
    const proc = this.env.newProcess(this);
    const storage = new SimStorage(this.disk, proc, this.env.latency, persisted, {
      wrote: (u, log) => obs.wrote(this, u, log),
      snapshotTaken: (index) => obs.snapshotTaken(this, index),
    });
    const sm = new KvStateMachine({
      applied: (e, identity, digest) => obs.applied(this, e, identity, digest),
      restored: (index, digest) => obs.restored(this, index, digest),
    });
    this.sm = sm;
    const host = new RaftHost({
      id: this.id,
      timing: {
        heartbeatIntervalMs: s.heartbeatIntervalMs,
        electionTimeoutMs: s.electionTimeoutMs,
        snapshotThreshold: s.snapshotEvery > 0 ? s.snapshotEvery : Number.POSITIVE_INFINITY,
        // The simulations' entries are small: snapshots come by count, as their schedules expect.
        snapshotThresholdBytes: Number.POSITIVE_INFINITY,
        trailingLogs: s.snapshotTrailing,
        maxInflight: s.maxInflight,
        maxMessageBytes: s.maxMessageBytes,
      },
      maxApplyBytes: s.maxApplyBytes,
      ...(s.initialElectionAdvance === undefined ? {} : { initialElectionAdvance: s.initialElectionAdvance }),
      storage,
      persisted,
      stateMachine: sm,
      confCommand: () => null,
      scheduler: proc,
      rng: this.env.rngFor(this),
      run: String(this.incarnation),
      logger: SILENT,
      send: (msgs) => this.env.send(this, msgs),
      onSoftState: (ss, term) => obs.softState(this, ss, term),
      onConfApplied: (change, conf) => obs.confApplied(this, sm.appliedIndex, change, conf),
      onSnapshotRestored: (meta) => obs.installed(this, meta),
      ...(this.env.mayCampaign === undefined ? {} : { mayCampaign: () => this.env.mayCampaign?.(this) ?? true }),
      onFatal: (err) => {
        // A member that finds the leader's log lacking entries it committed has caught a leader
        // without every committed entry: name it as the invariant it is.
        if (err instanceof RaftError && err.code === 'DIVERGED') throw new InvariantViolation('leader-completeness', `${this.id} stopped: ${err.message}`);
        // One that finds its log lacking entries it acknowledged has caught a broken promise.
        if (err instanceof RaftError && err.code === 'ENTRIES_LOST') throw new EntriesLostStop(`${this.id} stopped: ${err.message}`);
        // A failed write, or a check that threw inside the driver: the run stops here.
        throw err;
      },
    });
    this.env.plant?.(host);
    this.running = { proc, host, storage };
    host.start();
    return true;
  }

  /** Kills the process; the first `keep` unsynced writes survive. Returns how many were lost. */
  crash(keep: number): number {
    if (this.running === null) return 0;
    this.running.proc.kill();
    this.running = null;
    return this.disk.crash(keep);
  }

  private run(): Running {
    if (this.running === null) throw new Error(`sim: node ${this.id} is down`);
    return this.running;
  }
}
