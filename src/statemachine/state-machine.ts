/**
 * The replicated state machine the Raft log drives (hashicorp/raft's FSM: apply, snapshot,
 * restore). It dispatches each command to its resource kind by the envelope's `kind`, keeps
 * one global revision bumped by every command that changes state (like etcd's), and applies
 * retried client requests exactly once.
 *
 * Determinism is the contract: the same entries applied in the same order give the same
 * results and byte-identical snapshots on every node. Nothing here reads a clock, draws a
 * random number or does I/O, and a bad entry is a result, never an exception.
 */
import { validateCommand, decodeCommand, type DecodedCommand, type Envelope } from './command.js';
import { ClientTable, DEFAULT_MAX_CLIENTS } from './dedup.js';
import { CLIENT_SHARE_VERSION, OWNED_CLIENT_ID_VERSION, REQUEST_PRINT_VERSION, clusterKind } from './cluster-version.js';
import { requestPrint, type RequestPrint } from './request-print.js';
import { describe, Fields, isRecord } from '../util/untrusted.js';
import { SnapshotError, StateMachineError } from './errors.js';
import { DEFAULT_REGISTRY } from './kinds.js';
import { kvKind, type KvView } from './kv.js';
import { membersKind, type MembersView } from './members.js';
import {
  KindRegistry,
  type AnyResourceKind,
  type ApplyContext,
  type KindCommand,
  type KindInstance,
  type ResourceKind,
} from './resource-kind.js';
import { failure, type ApplyResult } from './result.js';
import { SteppedSnapshot, valuePieces, type SnapshotPieces } from './snapshot-job.js';
import type { ReplicatedStateMachine } from '../node/raft-ports.js';

export type { ApplyResult, ApplyOk, ApplyFailure, FailureCode } from './result.js';

export const SNAPSHOT_FORMAT_VERSION = 1;

export interface StateMachineOptions {
  /** The resource kinds; the default is kv and members. Must be the same on every node. */
  readonly kinds?: KindRegistry | readonly AnyResourceKind[];
  /** Bound on the dedup table. Replicated state: must be the same on every node. */
  readonly maxClients?: number;
}

type Stores = ReadonlyMap<string, KindInstance<KindCommand, unknown>>;

class Context implements ApplyContext {
  bumped = false;
  constructor(
    readonly index: number,
    readonly revision: number,
    private readonly views: <C extends KindCommand, V>(kind: ResourceKind<C, V>) => V,
  ) {}

  read<C extends KindCommand, V>(kind: ResourceKind<C, V>): V {
    return this.views(kind);
  }

  bump(): number {
    if (this.bumped) throw new StateMachineError('INVALID_REGISTRY', `a kind claimed two revisions for entry ${this.index}`);
    this.bumped = true;
    return this.revision + 1;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const SNAPSHOT_FIELDS = new Set(['appliedIndex', 'revision', 'kinds', 'clients']);

export class StateMachine implements ReplicatedStateMachine {
  private readonly registry: KindRegistry;
  private readonly maxClients: number;
  private stores: Stores;
  private clients: ClientTable;
  private applied = 0;
  private rev = 0;

  constructor(options: StateMachineOptions = {}) {
    const kinds = options.kinds ?? DEFAULT_REGISTRY;
    this.registry = kinds instanceof KindRegistry ? kinds : new KindRegistry(kinds);
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    if (!Number.isSafeInteger(this.maxClients) || this.maxClients < 1) {
      throw new RangeError(`maxClients must be a positive integer, found ${this.maxClients}`);
    }
    this.stores = this.freshStores();
    this.clients = new ClientTable(this.maxClients);
  }

  /** The index of the last entry applied (or skipped with `advance`). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** The global revision: how many commands have changed state. */
  revision(): number {
    return this.rev;
  }

  get kv(): KvView {
    return this.view(kvKind);
  }

  get members(): MembersView {
    return this.view(membersKind);
  }

  /** The queries of any registered kind, typed by its module. */
  view<C extends KindCommand, V>(kind: ResourceKind<C, V>): V {
    const store = this.stores.get(kind.name);
    if (store === undefined || !this.registry.holds(kind as AnyResourceKind)) {
      throw new StateMachineError('INVALID_REGISTRY', `kind "${kind.name}" is not registered with this state machine`);
    }
    // Sound: the registry holds this very module, and its instance was made by its create().
    return store.view as V;
  }

  /**
   * Apply the command in entry `index`. Never throws for bad data: an undecodable command
   * returns INVALID and still advances the applied index, as it does on every other node.
   * An index at or below the applied index (a replay) changes nothing and returns IGNORED.
   */
  apply(index: number, data: Uint8Array): ApplyResult {
    const replay = this.begin(index);
    if (replay !== null) return replay;
    let decoded: DecodedCommand;
    try {
      decoded = decodeCommand(data, this.registry);
    } catch (err) {
      return failure('INVALID', errorMessage(err));
    }
    return this.dispatch(index, decoded);
  }

  /**
   * Apply a command object directly, for the node host applying the members command that
   * matches a conf-change entry. Validated exactly as a decoded command is.
   */
  applyCommand<C extends KindCommand>(index: number, command: Envelope<C>): ApplyResult {
    const replay = this.begin(index);
    if (replay !== null) return replay;
    let decoded: DecodedCommand;
    try {
      decoded = validateCommand(command, this.registry);
    } catch (err) {
      return failure('INVALID', errorMessage(err));
    }
    return this.dispatch(index, decoded);
  }

  /** Record entry `index` as applied without a command (a leader's no-op, a conf change). */
  advance(index: number): void {
    this.begin(index);
  }

  /**
   * An upper bound of the snapshot's length, in UTF-16 units (V8's string limit, 512 MiB, bounds
   * a snapshot): `kept` sums what the kinds that can grow large, and the client table, keep as
   * they change, at no cost; `measure()` serializes the other kinds to count them, so a caller
   * calls it seldom.
   */
  snapshotLength(): { readonly kept: number; readonly measure: () => number } {
    let kept = this.clients.snapshotLength() + 64;
    const measured: string[] = [];
    for (const name of this.registry.names) {
      const store = this.stores.get(name)!;
      if (store.snapshotLength !== undefined) kept += store.snapshotLength() + name.length + 4;
      else measured.push(name);
    }
    const measure = (): number => {
      let n = 0;
      for (const name of measured) n += (JSON.stringify(this.stores.get(name)!.snapshot()) ?? '').length + name.length + 4;
      return n;
    };
    return { kept, measure };
  }

  /** One version byte, then JSON with kinds in name order and records in key order. */
  snapshot(): Uint8Array {
    return this.startSnapshot().finish();
  }

  /**
   * The state as it is now, to serialize in steps (the bytes `snapshot()` gives at this point).
   * Small kinds are serialized here; a kind that can grow large gives a frozen view instead,
   * which costs it no more than a copy of its references.
   */
  startSnapshot(): SteppedSnapshot {
    const sources: (string | SnapshotPieces)[] = [`${String.fromCharCode(SNAPSHOT_FORMAT_VERSION)}{"appliedIndex":${this.applied},"revision":${this.rev},"kinds":{`];
    let first = true;
    for (const name of this.registry.names) {
      const store = this.stores.get(name)!;
      let source: string | SnapshotPieces;
      if (store.snapshotPieces !== undefined) {
        const pieces = store.snapshotPieces();
        if (pieces === undefined) continue;
        source = pieces;
      } else {
        const text = JSON.stringify(store.snapshot());
        if (text === undefined) continue;
        source = text;
      }
      sources.push(`${first ? '' : ','}${JSON.stringify(name)}:`, source);
      first = false;
    }
    // In steps too: a table of large cached results (4 MB after 15 applies of 5,000 resources)
    // held a loaded leader's loop 60-340 ms when serialized in one go. Its records are replaced,
    // never changed, so the form taken now is the table as it is now.
    sources.push('},"clients":', valuePieces(this.clients.snapshot(), this.clients.snapshotLength()), '}');
    return new SteppedSnapshot(this.applied, this.rev, sources);
  }

  /**
   * Replace the whole state with a snapshot. All or nothing: on a SnapshotError the state is
   * unchanged. Zero bytes (Raft's empty snapshot) means the initial, empty state. A kind
   * missing from the snapshot (added since it was taken) starts empty.
   */
  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.install(this.freshStores(), new ClientTable(this.maxClients), 0, 0);
      return;
    }
    if (data[0] !== SNAPSHOT_FORMAT_VERSION) {
      throw new SnapshotError(`snapshot: expected format version ${SNAPSHOT_FORMAT_VERSION}, found byte ${data[0]}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(data.subarray(1)));
    } catch (err) {
      throw new SnapshotError(`snapshot: expected UTF-8 JSON after the version byte: ${errorMessage(err)}`, { cause: err });
    }
    const f: Fields = Fields.of(value, 'snapshot', (m) => new SnapshotError(m)).only(SNAPSHOT_FIELDS);
    const appliedIndex = f.int('appliedIndex', { min: 0 });
    const revision = f.int('revision', { min: 0 });
    const kinds = f.raw['kinds'];
    if (!isRecord(kinds)) f.fail(`field "kinds" must be an object, found ${describe(kinds)}`);
    for (const name of Object.keys(kinds)) {
      if (this.registry.get(name) === undefined) f.fail(`kind "${name}" is not registered; refusing to drop its state`);
    }
    const stores = this.freshStores();
    for (const [name, store] of stores) {
      if (Object.hasOwn(kinds, name)) store.restore(kinds[name]);
    }
    const clients = new ClientTable(this.maxClients);
    clients.restore(f.raw['clients']);
    this.install(stores, clients, appliedIndex, revision);
  }

  private begin(index: number): ApplyResult | null {
    if (!Number.isSafeInteger(index) || index < 1) {
      throw new StateMachineError('INVALID_INDEX', `entry index must be a positive integer, found ${index}`);
    }
    if (index <= this.applied) return failure('IGNORED', `entry ${index} is already applied (applied index ${this.applied})`);
    this.applied = index;
    return null;
  }

  private dispatch(index: number, { command, client }: DecodedCommand): ApplyResult {
    let print: RequestPrint | null | undefined;
    const printOf = (): RequestPrint | null => (client === null ? null : (print ??= requestPrint(command, client)));
    // Read once, before the command: a set-version entry carries no client tag.
    const share = client !== null && this.supports(CLIENT_SHARE_VERSION);
    const owned = share && this.supports(OWNED_CLIENT_ID_VERSION);
    if (client !== null) {
      const seen = this.clients.check(client, printOf, share, owned);
      if (seen !== null) return seen;
    }
    const ctx = new Context(index, this.rev, (kind) => this.view(kind));
    let result: ApplyResult;
    try {
      result = this.stores.get(command.kind)!.apply(command, ctx);
    } catch (err) {
      // A bug in a kind, not bad data; every node hits it alike, so report it rather than crash.
      result = failure('INVALID', `kind "${command.kind}" failed to apply: ${errorMessage(err)}`);
    }
    if (ctx.bumped) this.rev = ctx.revision + 1;
    if (client !== null) this.clients.record(client, result, index, this.printsRequests() ? printOf() : null, share, owned);
    return result;
  }

  /**
   * Whether the dedup table keeps what requests were. Read from the replicated cluster version,
   * so every replica records alike; below REQUEST_PRINT_VERSION a snapshot must still load on
   * 0.1.x members during a rolling upgrade, and their snapshot reader refuses the longer record.
   */
  private printsRequests(): boolean {
    return this.supports(REQUEST_PRINT_VERSION);
  }

  /**
   * Whether the replicated cluster version is at least `version`, so every member reads what
   * that level adds. A state machine without the cluster kind (a test's) supports every level.
   */
  supports(version: string): boolean {
    if (!this.registry.holds(clusterKind as AnyResourceKind)) return true;
    return this.view(clusterKind).supports(version);
  }

  private freshStores(): Map<string, KindInstance<KindCommand, unknown>> {
    const stores = new Map<string, KindInstance<KindCommand, unknown>>();
    for (const name of this.registry.names) stores.set(name, this.registry.get(name)!.create());
    return stores;
  }

  private install(stores: Stores, clients: ClientTable, appliedIndex: number, revision: number): void {
    this.stores = stores;
    this.clients = clients;
    this.applied = appliedIndex;
    this.rev = revision;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
