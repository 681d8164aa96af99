/**
 * The cluster version: the feature level every member of the cluster is known to support, as
 * etcd's cluster version. A command that older members cannot apply (a new op, a new field) is
 * proposed only once the cluster version says every member reads it; otherwise an older member
 * would apply the entry as an error while the others apply it, and the replicas would diverge.
 *
 * The version is `MAJOR.MINOR` of the controllers' software version. Before the first `set` the
 * cluster is at BASE_CLUSTER_VERSION, the level of the builds that had no cluster version. Only
 * the leader sets it (src/node/cluster-version-keeper.ts), to the lowest version its members
 * advertise, and it never goes down: a member older than the cluster version stops rather than
 * apply entries it may not understand.
 */
import { SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { okResult, type ApplyResult } from './result.js';

export const CLUSTER_KIND = 'cluster';

/** The level of the builds before the cluster version existed (software version 0.1.x). */
export const BASE_CLUSTER_VERSION = '0.1';

/** The level that may forget agents' records (agents `forget`, mesh `forget`). */
export const FORGET_AGENTS_VERSION = '0.2';

/**
 * The level from which the dedup table keeps what each request was (request-print.ts): a
 * snapshot taken below it writes client records as 0.1.x and 0.2.x members read them.
 */
export const REQUEST_PRINT_VERSION = '0.3';

/**
 * The level from which a client's re-send carries `retry` (command.ts) and a retry of an id the
 * dedup table no longer knows is refused as SESSION_EXPIRED instead of applied a second time
 * (attack 37 A2). Older members refuse the field, so it is proposed only from this level.
 */
export const SESSION_EXPIRY_VERSION = '0.4';

/**
 * The level from which every dedup record carries its owner (command.ts ClientTag.owner: the
 * caller's certificate identity) and a full table evicts from the owner holding the most records
 * (dedup.ts), so one certificate's flood evicts its own records. Older members refuse the field,
 * and their snapshot reader the owned table, so neither is written below this level.
 */
export const CLIENT_SHARE_VERSION = '0.5';

/**
 * The level from which a client id is its owner's (dedup.ts: another owner's request under it is
 * refused INVALID) and the owners named as having lost records are bounded by the table's size
 * (owner-shares.ts; a snapshot may then say some were forgotten, which 0.5 members cannot read).
 * Both change what a replica decides, so a member below it must not meet them (attack round 13).
 */
export const OWNED_CLIENT_ID_VERSION = '0.6';

/**
 * The level from which a service an operator applied is the operator's (an agent's publish joins
 * it only when the service's `mesh/allowed-agents` label names the agent, and an operator's write
 * keeps only the agents it allows as endpoints), and a service agents published is expired once no
 * agent lists it (the leader asks after a grace; report `expireServices`, which older members
 * refuse). Both change what a replica decides, so a member below it must not meet them.
 */
export const SERVICE_OWNERSHIP_VERSION = '0.7';

/**
 * The level from which an agent holds at most MAX_SERVICES_PER_AGENT services it created by its
 * publishes, counting those expired whose VIPs are still in quarantine (publisher-shares.ts): a
 * publish creating more is refused for those services. The mesh records each such service's
 * creator (snapshot `publishers`, quarantine entries' third element), which 0.7 members' snapshot
 * reader refuses, and the refusal changes what a replica decides: neither below this level.
 */
export const PUBLISH_SHARE_VERSION = '0.8';

/**
 * The level from which an agent's share counts every agents' service it lists, created or joined,
 * and the last lister of a service stays charged for it through the grace and its VIP's
 * quarantine (publisher-shares.ts, rule 'listings'): a publish past the bound is refused for the
 * services it would join too, and only endpoints keep an agents' service from expiring. Before, a
 * certificate listing another agent's services kept them charged to their creator after it
 * stopped (session 52: the creator's share pinned at the bound). It changes what a replica
 * decides, so no member below it may meet it; the snapshot's fields are those of 0.8.
 */
export const LISTER_SHARE_VERSION = '0.9';

/**
 * The level from which the agents kind remembers, per agent, the process a claim by another
 * process replaced, and refuses that process's claims while the agent is online
 * (superseded-boots.ts): a late claim of a restarted agent's old connection took the agent from
 * its live process. The snapshot's `superseded` field is new (0.8 members refuse it) and the
 * refusal changes what a replica decides: neither below this level.
 */
export const SUPERSEDED_PROCESS_VERSION = '0.9';

/**
 * The level from which an agent's claim carries when its controller admitted the stream (its
 * clock, `opened`), the agents kind remembers it for the claim holding each agent, and a claim of
 * another process whose stream was admitted before that one loses while the agent is online
 * (claim-openings.ts): a restarted agent's old connection, claimed by a controller the leader did
 * not hear, took the agent from its new process when the old one's claim had never committed
 * before (agents simulation, seed 5301219), which SUPERSEDED_PROCESS_VERSION does not see. The
 * field is new to connect entries and the snapshot (0.9 members refuse both), and the refusal
 * changes what a replica decides: neither below this level.
 */
export const CLAIM_ORDER_VERSION = '0.10';

/**
 * The level from which a claim of another process that does not say when its stream was admitted
 * (one its controller built before it applied the raise to CLAIM_ORDER_VERSION, committed after
 * it) loses too while the agent is online on a claim that does (claim-openings.ts). Before, it was
 * not ordered at all: around the raise a restarted agent's old connection, claimed late by a
 * controller the leader did not hear, took the agent from its new process, which was refused as a
 * second one until the old record went offline (agents simulation, seed 337 --lossy, where the old
 * stream had closed; the hub now leaves such a claim out, but not one of a stream still open
 * there, half-open say). It changes what a replica decides for the same entry: not below this level.
 */
export const UNORDERED_CLAIM_VERSION = '0.11';

/**
 * The level from which the cluster-wide setting `services.agent_publish` exists (src/settings/keys.ts):
 * set to `declared`, an agent's publish only joins services an operator applied and creates
 * none (mesh-publish.ts). 0.11 members refuse the key in a `set`, an `init` and a snapshot, so it
 * is set only from this level, and written to an init or a snapshot only when not at its default.
 */
export const DECLARED_PUBLISH_VERSION = '0.12';

/**
 * The level from which an apply's result says `configured` for a service applied unchanged whose
 * apply took endpoints off (under services.agent_publish declared, mesh-operator.ts): it wrote
 * the service and moved the revision, and `unchanged` said otherwise. The result is cached in the
 * replicated client table (dedup.ts) and so in the snapshot, which every member must write alike:
 * not below this level, where 0.12.x members say `unchanged`.
 */
export const TAKEN_OFF_RESULT_VERSION = '0.13';

/**
 * The level from which a publish's refused host is audited by the log (a publish.refused
 * transition) only when it is new for the agent, service and cause: each agent's record keeps the
 * causes its last publish was refused for (refusal-marks.ts). Before, every committed publish
 * audited all its refused hosts again, and an agent republishing in a loop (each publish changing
 * something) flooded the bounded transition log, pushing other controllers' real events out, and
 * every controller's audit log. The record's `refused` field is new (0.13 members refuse it) and
 * the transitions differ: neither below this level.
 */
export const REFUSALS_ONCE_VERSION = '0.14';

/**
 * The level from which every member stamps its process's boot id on every peer message
 * (src/identity/process-claims.ts): at it, a message without one comes from no member.
 */
export const BOOT_ID_VERSION = '0.3';

const VERSION_TEXT = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
const SOFTWARE_VERSION_TEXT = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.\d+(?:[-+].*)?$/;

export interface ClusterVersionSet {
  readonly kind: 'cluster';
  readonly op: 'set-version';
  readonly version: string;
}

export type ClusterCommand = ClusterVersionSet;

/** The `value` of a set's result. */
export interface ClusterVersionChange {
  readonly version: string;
  readonly changed: boolean;
}

export interface ClusterView {
  /** `MAJOR.MINOR`; BASE_CLUSTER_VERSION until a leader sets it. */
  readonly version: string;
  /** True when the cluster version is at least `required`. */
  supports(required: string): boolean;
}

/** Orders two `MAJOR.MINOR` versions: negative, zero or positive as `a` is below, at or above `b`. */
export function compareClusterVersions(a: string, b: string): number {
  const [am, an] = splitVersion(a);
  const [bm, bn] = splitVersion(b);
  return am !== bm ? am - bm : an - bn;
}

/** Whether `text` is a cluster version (`MAJOR.MINOR`), as read from somewhere outside the log. */
export function isClusterVersion(text: string): boolean {
  return VERSION_TEXT.test(text);
}

/** `MAJOR.MINOR` of a software version (`0.2.0`, `1.4.2-rc1`); null when it has no such form. */
export function clusterVersionOf(softwareVersion: string): string | null {
  const m = SOFTWARE_VERSION_TEXT.exec(softwareVersion);
  return m === null ? null : `${m[1]}.${m[2]}`;
}

function splitVersion(v: string): [number, number] {
  const m = VERSION_TEXT.exec(v);
  if (m === null) throw new RangeError(`expected a version MAJOR.MINOR, found ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2])];
}

const SET_FIELDS = commandFields('op', 'version');

function parseVersion(f: Fields, key: string): string {
  const v = f.string(key, { nonEmpty: true, maxBytes: 16 });
  if (!VERSION_TEXT.test(v)) f.fail(`field "${key}" must be a version MAJOR.MINOR, found ${JSON.stringify(v)}`);
  return v;
}

function parseCluster(fields: Fields): ClusterCommand {
  fields.oneOf('op', ['set-version'] as const);
  fields.only(SET_FIELDS);
  return { kind: 'cluster', op: 'set-version', version: parseVersion(fields, 'version') };
}

class ClusterStore implements KindInstance<ClusterCommand, ClusterView>, ClusterView {
  version = BASE_CLUSTER_VERSION;

  get view(): ClusterView {
    return this;
  }

  /** supports()'s answers for `answeredAt`: asked a few times per write (dedup, owners), parsed once per version. */
  private answers = new Map<string, boolean>();
  private answeredAt = this.version;

  supports(required: string): boolean {
    if (this.answeredAt !== this.version) {
      this.answers = new Map();
      this.answeredAt = this.version;
    }
    let yes = this.answers.get(required);
    if (yes === undefined) {
      yes = compareClusterVersions(this.version, required) >= 0;
      this.answers.set(required, yes);
    }
    return yes;
  }

  apply(command: ClusterCommand, ctx: ApplyContext): ApplyResult {
    // Never down: a member older than the version may already have stopped for it.
    const changed = compareClusterVersions(command.version, this.version) > 0;
    if (changed) this.version = command.version;
    const change: ClusterVersionChange = { version: this.version, changed };
    return okResult(ctx.revision, change);
  }

  snapshot(): unknown {
    // Left out at the base level: a snapshot taken during a rolling upgrade from 0.1 must still
    // load on the members not yet upgraded, which refuse a kind they do not know.
    return this.version === BASE_CLUSTER_VERSION ? undefined : { version: this.version };
  }

  restore(data: unknown): void {
    const f = Fields.of(data, 'cluster', (m) => new SnapshotError(m)).only(new Set(['version']));
    this.version = parseVersion(f, 'version');
  }
}

export const clusterKind: ResourceKind<ClusterCommand, ClusterView> = {
  name: CLUSTER_KIND,
  parse: parseCluster,
  create: () => new ClusterStore(),
};
