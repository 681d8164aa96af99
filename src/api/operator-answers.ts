/**
 * The Operator service's answers, decoded as the untrusted input they are into the JSON shapes
 * `ctl -o json` prints. A mismatch is a server bug, reported as INTERNAL with what was
 * expected and found.
 */
import { Fields } from '../util/untrusted.js';
import { ApiError } from './errors.js';
import { MAX_RANGE_LIMIT, type MemberInfo, type SnapshotHeader } from './operator-proto.js';

function answer(raw: unknown, message: string): Fields {
  return Fields.of(raw, message, (text) => new ApiError('INTERNAL', `unexpected answer from the server: ${text}`));
}

/** One row of `ctl member list -o json`. */
export type MemberJson = MemberInfo;

export interface MemberListJson {
  readonly members: readonly MemberJson[];
  readonly answeredBy: string;
  readonly leader: string;
  readonly revision: number;
  /** Ids removed from the cluster (and not added again). */
  readonly removed: readonly string[];
}

const MAX_MEMBERS = 10_000;

export function decodeMemberList(raw: unknown): MemberListJson {
  const f = answer(raw, 'MemberListResponse');
  const members = f.array('members', MAX_MEMBERS).map((item, i) => {
    const m = answer(item, `MemberListResponse.members[${i}]`);
    return {
      id: m.string('id'),
      address: m.string('address'),
      role: m.oneOf('role', ['voter', 'learner'] as const),
      status: m.oneOf('status', ['online', 'offline'] as const),
      autoPromote: m.boolean('autoPromote'),
      leader: m.boolean('leader'),
      // Added after the first release: false from an older controller.
      duplicateProcess: m.has('duplicateProcess') && m.boolean('duplicateProcess'),
    };
  });
  return { members, answeredBy: f.string('answeredBy'), leader: f.string('leader'), revision: f.number('revision'), removed: f.strings('removed', MAX_MEMBERS) };
}

/** What one controller says about itself (`ctl endpoint status`). */
export interface EndpointSelfJson {
  readonly id: string;
  readonly version: string;
  readonly cluster: string;
  readonly role: string;
  readonly leader: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly dbSizeBytes: number;
  readonly revision: number;
  readonly errors: readonly string[];
  /** '' before the cluster's first leader drew it (or from a controller that does not say). */
  readonly clusterId: string;
  /** Peers it saw answer for another cluster id: two clusters under one cluster file ([] from a controller that does not say). */
  readonly otherClusterPeers: readonly OtherClusterPeerJson[];
}

/** A peer an endpoint saw answer for another cluster id than its own (other-cluster-peers.ts). */
export interface OtherClusterPeerJson {
  readonly peer: string;
  /** null when the peer's refusal did not say which. */
  readonly clusterId: string | null;
  /** Since the endpoint last saw it answer so. */
  readonly lastSeenMs: number;
}

const MAX_OTHER_CLUSTER_PEERS = 64;

function decodeOtherClusterPeer(raw: unknown, i: number): OtherClusterPeerJson {
  const p = answer(raw, `EndpointStatusResponse.otherClusterPeers[${i}]`);
  const clusterId = p.string('clusterId');
  return { peer: p.string('peer'), clusterId: clusterId === '' ? null : clusterId, lastSeenMs: p.number('lastSeenMs') };
}

export function decodeEndpointStatus(raw: unknown): EndpointSelfJson {
  const f = answer(raw, 'EndpointStatusResponse');
  return {
    id: f.string('id'),
    version: f.string('version'),
    cluster: f.string('cluster'),
    role: f.oneOf('role', ['leader', 'follower', 'candidate', 'learner'] as const),
    leader: f.string('leader'),
    term: f.number('term'),
    commitIndex: f.number('commitIndex'),
    appliedIndex: f.number('appliedIndex'),
    lastIndex: f.number('lastIndex'),
    snapshotIndex: f.number('snapshotIndex'),
    dbSizeBytes: f.number('dbSizeBytes'),
    revision: f.number('revision'),
    errors: f.strings('errors', 100),
    clusterId: f.string('clusterId'),
    otherClusterPeers: f.has('otherClusterPeers') ? f.array('otherClusterPeers', MAX_OTHER_CLUSTER_PEERS).map(decodeOtherClusterPeer) : [],
  };
}

export interface KeyValueEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

export interface RangeAnswer {
  readonly kvs: readonly KeyValueEntry[];
  readonly more: boolean;
  readonly revision: number;
  readonly answeredBy: string;
}

export function decodeRange(raw: unknown): RangeAnswer {
  const f = answer(raw, 'RangeResponse');
  const kvs = f.array('kvs', MAX_RANGE_LIMIT).map((item, i) => {
    const kv = answer(item, `RangeResponse.kvs[${i}]`);
    return { key: kv.string('key'), value: kv.bytes('value'), revision: kv.number('revision') };
  });
  return { kvs, more: f.boolean('more'), revision: f.number('revision'), answeredBy: f.string('answeredBy') };
}

export interface WatchEventEntry {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

export function decodeWatchEvent(raw: unknown): WatchEventEntry {
  const f = answer(raw, 'WatchEvent');
  return { type: f.oneOf('type', ['PUT', 'DELETE'] as const), key: f.string('key'), value: f.bytes('value'), revision: f.number('revision') };
}

export type SnapshotHeaderJson = SnapshotHeader;

export type SnapshotPart =
  | { readonly part: 'header'; readonly header: SnapshotHeaderJson }
  | { readonly part: 'data'; readonly data: Uint8Array }
  | { readonly part: 'trailer'; readonly sha256: string };

export function decodeSnapshotChunk(raw: unknown): SnapshotPart {
  const f = answer(raw, 'SnapshotChunk');
  const part = f.oneOf('part', ['header', 'data', 'trailer'] as const);
  switch (part) {
    case 'header': {
      const h = answer(f.raw['header'], 'SnapshotChunk.header');
      return {
        part,
        header: {
          index: h.int('index', { min: 0 }),
          term: h.int('term', { min: 0 }),
          revision: h.int('revision', { min: 0 }),
          size: h.int('size', { min: 0 }),
          cluster: h.string('cluster'),
          takenBy: h.string('takenBy'),
          version: h.string('version'),
          createdAt: h.string('createdAt'),
        },
      };
    }
    case 'data':
      return { part, data: f.bytes('data') };
    case 'trailer': {
      const sha256 = answer(f.raw['trailer'], 'SnapshotChunk.trailer').string('sha256');
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError('INTERNAL', `unexpected answer from the server: SnapshotChunk.trailer: field "sha256" must be 64 hex digits`);
      return { part, sha256 };
    }
    default: {
      const never: never = part;
      return never;
    }
  }
}
