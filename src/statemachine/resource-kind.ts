/**
 * The seam for adding replicated resources. A resource kind (kv, members, and later agent
 * config, acknowledged versions, virtual IPs, ...) is one module that owns its command type,
 * how commands change its state, its read-only queries, and its part of the snapshot. The
 * dispatcher knows nothing else about it: adding a kind is adding it to a registry.
 *
 * Everything a kind does on apply must be deterministic: no clocks, no randomness, no I/O,
 * and iteration only in an order derived from the data (sorted keys), never from timing.
 */
import { StateMachineError } from './errors.js';
import type { Fields } from '../util/untrusted.js';
import type { ApplyResult } from './result.js';
import type { SnapshotPieces } from './snapshot-job.js';

/** What every command carries; `kind` selects the module that handles it. */
export interface KindCommand {
  readonly kind: string;
}

/** Envelope fields the dispatcher reads; every kind must accept them in its commands. */
export const ENVELOPE_FIELDS: readonly string[] = ['kind', 'client'];

/** The allowed field names of a command: the envelope's plus the kind's own. */
export function commandFields(...own: readonly string[]): ReadonlySet<string> {
  return new Set([...ENVELOPE_FIELDS, ...own]);
}

export interface ApplyContext {
  /** Raft index of the entry being applied. */
  readonly index: number;
  /** The global revision before this command. */
  readonly revision: number;
  /**
   * Claim the next global revision for this command's change and return it. Call it once,
   * only when the command will change state, after every check that could refuse it.
   */
  bump(): number;
  /**
   * The read-only queries of another registered kind, as applied up to the entry before this
   * one. Deterministic like everything in apply: every replica applies the same entries in the
   * same order, so every replica reads the same state here. A kind must never write through a
   * view, and reads another kind's state rather than copying it (a setting read here is the
   * value in force at this entry, on every replica).
   */
  read<C extends KindCommand, V>(kind: ResourceKind<C, V>): V;
}

/** One kind's live state inside one state machine. */
export interface KindInstance<C extends KindCommand, V> {
  apply(command: C, ctx: ApplyContext): ApplyResult;
  /**
   * A JSON value; equal states must give equal values (sort by key, fixed field order).
   * `undefined`: the initial state, left out of the snapshot (restored as a fresh instance), so a
   * kind an older build lacks costs that build nothing until it holds something.
   */
  snapshot(): unknown;
  /** Load a value `snapshot()` produced; called once on a fresh instance. Throws SnapshotError. */
  restore(data: unknown): void;
  /**
   * An upper bound of `JSON.stringify(snapshot())`'s length, kept as the state changes, by a kind
   * that can grow large (kv, mesh, agents); others are measured by serializing them (StateMachine).
   */
  snapshotLength?(): number;
  /**
   * By a kind that can grow large: `snapshot()`'s JSON text in pieces, of the state as it is at
   * the call, whatever is applied while the pieces are taken; undefined when `snapshot()` is.
   * Absent: the snapshot's text is made in one go when a snapshot starts, which a small kind
   * can afford.
   */
  snapshotPieces?(): SnapshotPieces | undefined;
  /** The read-only queries the rest of the program may use. */
  readonly view: V;
}

export interface ResourceKind<C extends KindCommand, V> {
  readonly name: C['kind'];
  /**
   * Narrow an untrusted command whose `kind` is this kind's name, or throw CommandError.
   * Pure, so the API layer can refuse a command before proposing it. Enforces every limit.
   */
  parse(fields: Fields): C;
  create(): KindInstance<C, V>;
  /**
   * True when parse's output, written as JSON and parsed again, is given back field for field
   * (strings, safe integers, null, booleans, lists and objects it built, no -0 in it, which JSON
   * writes 0): encodeParsed may then remember it as the decode of its bytes (command.ts).
   */
  readonly parsesAsJsonGivesBack?: boolean;
}

/** A kind with its types erased, as the registry holds it. */
export type AnyResourceKind = ResourceKind<KindCommand, unknown>;

/** The kinds a state machine handles. Every node in a cluster must use the same registry. */
export class KindRegistry {
  private readonly byName: ReadonlyMap<string, AnyResourceKind>;
  /** Kind names in sorted order: the order kinds appear in a snapshot. */
  readonly names: readonly string[];

  constructor(kinds: readonly AnyResourceKind[]) {
    const byName = new Map<string, AnyResourceKind>();
    for (const kind of kinds) {
      if (!/^[a-z][a-z0-9-]*$/.test(kind.name)) {
        throw new StateMachineError('INVALID_REGISTRY', `kind name must match [a-z][a-z0-9-]*, found "${kind.name}"`);
      }
      if (byName.has(kind.name)) {
        throw new StateMachineError('INVALID_REGISTRY', `kind "${kind.name}" is registered twice`);
      }
      byName.set(kind.name, kind);
    }
    this.byName = byName;
    this.names = [...byName.keys()].sort();
  }

  get(name: string): AnyResourceKind | undefined {
    return this.byName.get(name);
  }

  /** True when `kind` is the very module registered under its name (not a look-alike). */
  holds(kind: AnyResourceKind): boolean {
    return this.byName.get(kind.name) === kind;
  }
}
