/**
 * controller.api.Operator: what `ctl member list`, `endpoint status`, `kv get --prefix`,
 * `watch` and `snapshot save` ask a controller. Reads only: every change still goes through
 * the Controller service.
 */
import type * as grpc from '@grpc/grpc-js';
import type { StateMachine } from '../statemachine/index.js';
import type { ConsensusPort } from './consensus-port.js';
import { DEFAULT_RANGE_LIMIT, MAX_RANGE_BYTES, MAX_RANGE_LIMIT, type MemberInfo } from './operator-proto.js';
import type { OpenStreams } from './open-streams.js';
import { refuseLongKey } from './kv-ops.js';
import { linearizableBarrier } from './read-barrier.js';
import { ServiceFailure } from './service-error.js';
import { snapshotSaveHandler } from './snapshot-save.js';
import { unaryHandler } from './unary-handler.js';
import { watchHandler } from './watch-handler.js';
import type { WatchLimits } from './watch-limits.js';
import type { WatchSource } from './watch-source.js';


export interface OperatorServiceDeps {
  readonly id: string;
  readonly clusterName: string;
  /** The cluster id its first leader drew; null before that. */
  readonly clusterId: () => string | null;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: StateMachine;
  /** Whether this node is cut off from a quorum, and why (the membership layer's quorum contact; a leaderless node says `no leader`). */
  readonly staleness: () => { readonly stale: boolean; readonly reason: string };
  /**
   * Peers of this node's file or membership seen answering for another cluster id, and why that
   * makes its answers untrustworthy ('' when none: other-cluster-peers.ts). Absent: none known.
   */
  readonly otherClusters?: () => { readonly peers: readonly OtherClusterPeerMsg[]; readonly reason: string };
  /** Why this node's own disk is below its controller.min_free_disk_bytes, or null (disk-floor.ts). Absent: never. */
  readonly diskShortfall?: () => string | null;
  /** Whether two processes answer as this member now (this node's identity layer's verdict; not committed). */
  readonly duplicate: (id: string) => boolean;
  /** Bytes of the Raft database on disk. */
  readonly dbSizeBytes: () => Promise<number>;
  readonly watches: WatchSource;
  /** What all watches on this controller may hold (watch-limits.ts). */
  readonly watchLimits: WatchLimits;
  readonly defaultTimeoutMs: number;
  /** Why this node cannot serve a linearizable read now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
  /** Where watches register so a stopping controller ends them with SHUTTING_DOWN. */
  readonly openStreams?: OpenStreams;
}

export interface OtherClusterPeerMsg {
  readonly peer: string;
  /** '' when the peer's refusal did not say. */
  readonly clusterId: string;
  readonly lastSeenMs: number;
}

export interface KeyValueMsg {
  readonly key: string;
  readonly value: Buffer;
  readonly revision: number;
}

const encoder = new TextEncoder();

/** A stored value as bytes, whichever form the kv kind keeps it in. */
function valueBytes(v: string | Uint8Array): Buffer {
  const bytes = typeof v === 'string' ? encoder.encode(v) : v;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function roleOf(host: ConsensusPort, id: string): string {
  const st = host.status();
  if (st.conf.learners.includes(id)) return 'learner';
  if (st.role === 'pre-candidate') return 'candidate';
  return st.role;
}

export function operatorService(deps: OperatorServiceDeps): grpc.UntypedServiceImplementation {
  const { host, stateMachine: sm } = deps;
  const t = deps.defaultTimeoutMs;

  return {
    MemberList: unaryHandler<{ serializable: boolean }, object>(async (req, deadline) => {
      if (!req.serializable) await linearizableBarrier(host, deadline, deps.cutOff);
      const leader = host.softState().leader;
      const members: MemberInfo[] = sm.members.list().map((m) => ({
        id: m.id,
        address: m.address,
        role: m.role,
        status: m.status,
        autoPromote: m.autoPromote,
        leader: m.id === leader,
        duplicateProcess: deps.duplicate(m.id),
      }));
      return { members, answeredBy: deps.id, leader: leader ?? '', revision: sm.revision(), removed: [...sm.members.removedIdList()] };
    }, t),

    EndpointStatus: unaryHandler<object, object>(async () => {
      const st = host.status();
      const errors: string[] = [];
      if (st.leader === null) errors.push('no leader');
      const staleness = deps.staleness();
      if (staleness.stale) errors.push(`cut off from a quorum: ${staleness.reason}`);
      const other = deps.otherClusters?.() ?? { peers: [], reason: '' };
      if (other.reason !== '') errors.push(other.reason);
      const disk = deps.diskShortfall?.() ?? null;
      if (disk !== null) errors.push(disk);
      return {
        id: deps.id,
        version: deps.version,
        cluster: deps.clusterName,
        role: roleOf(host, deps.id),
        leader: st.leader ?? '',
        term: st.term,
        commitIndex: st.commit,
        appliedIndex: sm.appliedIndex,
        lastIndex: st.lastIndex,
        snapshotIndex: host.snapshotIndex(),
        dbSizeBytes: await deps.dbSizeBytes(),
        revision: sm.revision(),
        errors,
        clusterId: deps.clusterId() ?? '',
        otherClusterPeers: other.peers,
      };
    }, t),

    Range: unaryHandler<{ prefix: string; limit: number; serializable: boolean }, object>(async (req, deadline) => {
      const limit = req.limit === 0 ? DEFAULT_RANGE_LIMIT : req.limit;
      if (limit > MAX_RANGE_LIMIT) throw new ServiceFailure('INVALID_ARGUMENT', `expected a limit of at most ${MAX_RANGE_LIMIT}, found ${limit}`);
      refuseLongKey(req.prefix, 'prefix');
      if (!req.serializable) await linearizableBarrier(host, deadline, deps.cutOff);
      const listing = sm.kv.list(req.prefix, { limit });
      const kvs: KeyValueMsg[] = [];
      let bytes = 0;
      let more = listing.more;
      for (const r of listing.items) {
        const value = valueBytes(r.value);
        bytes += value.byteLength + Buffer.byteLength(r.key, 'utf8');
        // Always at least one key, so a client paging by key makes progress.
        if (bytes > MAX_RANGE_BYTES && kvs.length > 0) {
          more = true;
          break;
        }
        kvs.push({ key: r.key, value, revision: r.modRevision });
      }
      return { kvs, more, revision: sm.revision(), answeredBy: deps.id };
    }, t),

    Watch: watchHandler(deps.watches, deps.watchLimits, deps.openStreams),

    SnapshotSave: snapshotSaveHandler({
      id: deps.id,
      clusterName: deps.clusterName,
      version: deps.version,
      host,
      stateMachine: sm,
      defaultTimeoutMs: t,
      ...(deps.cutOff === undefined ? {} : { cutOff: deps.cutOff }),
    }),
  };
}
