/**
 * Asks every peer the start-up question (Hello) in parallel, each within the deadline, and
 * returns what each answered or why it did not. A peer that is down fails fast (connection
 * refused); one that cannot be reached costs at most the deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeInitialNodes, encodeInitialNodes, IDENTITY_ID, type HelloAsk, type HelloReply, type PeerAnswer } from '../identity/index.js';
import { raftPeerMethod, raftPeerService, isRecord, type Raw, type WireHelloRequest, type WireRaftTiming } from './wire.js';

export interface HelloTarget {
  readonly id: string;
  readonly address: string;
}

export interface AskPeersOptions {
  readonly self: string;
  readonly clusterName: string;
  /** What the asker's data dir holds. */
  readonly ask: HelloAsk;
  readonly targets: readonly HelloTarget[];
  readonly credentials: grpc.ChannelCredentials;
  readonly deadlineMs: number;
}

/** A peer's answer, with the raft timing it said (absent: an older version, or no answer). */
export type HelloAnswer = PeerAnswer & { readonly timing?: WireRaftTiming };

export async function askPeers(opts: AskPeersOptions): Promise<HelloAnswer[]> {
  const Service = raftPeerService();
  const method = raftPeerMethod('Hello');
  return Promise.all(
    opts.targets.map(
      (target) =>
        new Promise<HelloAnswer>((resolve) => {
          const client = new Service(target.address, opts.credentials, { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 });
          const { ask } = opts;
          const request: WireHelloRequest = {
            cluster: opts.clusterName,
            from: opts.self,
            to: target.id,
            incarnation: ask.incarnation,
            clusterId: ask.clusterId ?? '',
            lastIndex: ask.lastIndex,
            joining: ask.joining,
            nodes: ask.nodes === null ? '' : encodeInitialNodes(ask.nodes),
          };
          client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + opts.deadlineMs }, (err, res) => {
            client.close();
            if (err) {
              const status = grpc.status[err.code] ?? String(err.code);
              resolve({ peer: target.id, error: `${status}: ${err.details}`, status, details: err.details });
              return;
            }
            const raw = isRecord(res) ? res : {};
            const reply = decodeHello(raw);
            if (typeof reply === 'string') {
              resolve({ peer: target.id, error: `malformed answer: ${reply}`, status: null, details: reply });
              return;
            }
            const timing = decodeRaftTiming(raw);
            resolve(timing === null ? { peer: target.id, reply } : { peer: target.id, reply, timing });
          });
        }),
    ),
  );
}

/** An asker's account of its data dir, checked field by field; a string says what was wrong. */
export function decodeHelloAsk(r: Raw): HelloAsk | string {
  const incarnation = typeof r['incarnation'] === 'string' ? r['incarnation'] : '';
  const clusterId = typeof r['clusterId'] === 'string' ? r['clusterId'] : '';
  const lastIndex = r['lastIndex'];
  if (incarnation !== '' && !IDENTITY_ID.test(incarnation)) return `incarnation: expected 16 hex digits or '', found ${JSON.stringify(incarnation.slice(0, 40))}`;
  if (clusterId !== '' && !IDENTITY_ID.test(clusterId)) return `clusterId: expected 16 hex digits or '', found ${JSON.stringify(clusterId.slice(0, 40))}`;
  if (typeof lastIndex !== 'number' || !Number.isSafeInteger(lastIndex) || lastIndex < 0) return 'lastIndex: expected a non-negative integer';
  const nodes = decodeInitialNodes(typeof r['nodes'] === 'string' ? r['nodes'] : '');
  if (typeof nodes === 'string') return nodes;
  return { incarnation, clusterId: clusterId === '' ? null : clusterId, lastIndex, joining: r['joining'] === true, nodes };
}

/** A peer's answer checked field by field; a string says what was wrong. */
export function decodeHello(r: Raw): HelloReply | string {
  const str = (k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : '');
  const num = (k: string): number => (typeof r[k] === 'number' && Number.isSafeInteger(r[k]) && (r[k] as number) >= 0 ? (r[k] as number) : -1);
  const id = (k: string, optional: boolean): string | null => {
    const v = str(k);
    if (v === '' && optional) return '';
    return IDENTITY_ID.test(v) ? v : null;
  };
  const memberId = str('memberId');
  const incarnation = id('incarnation', false);
  const clusterId = id('clusterId', true);
  const recorded = id('youRecorded', true);
  const heard = id('youHeard', true);
  const lastIndex = num('lastIndex');
  const appliedIndex = num('appliedIndex');
  const role = str('youRole');
  const youAddress = str('youAddress');
  if (memberId === '') return 'no member id';
  if (incarnation === null || clusterId === null || recorded === null || heard === null) return 'an identity field is not 16 hex digits';
  if (lastIndex < 0 || appliedIndex < 0) return 'an index is not a non-negative integer';
  if (role !== '' && role !== 'voter' && role !== 'learner') return `role ${JSON.stringify(role)}`;
  const creationNodes = decodeInitialNodes(str('nodes'));
  if (typeof creationNodes === 'string') return creationNodes;
  return {
    memberId,
    incarnation,
    clusterId: clusterId === '' ? null : clusterId,
    lastIndex,
    appliedIndex,
    you: { member: r['youMember'] === true, role: role === '' ? null : role, recorded, heard, removed: r['youRemoved'] === true, address: youAddress === '' ? null : youAddress },
    creationNodes,
  };
}

/** The answerer's raft timing; null when it did not say (0, or an older version) or said nonsense. */
export function decodeRaftTiming(r: Raw): WireRaftTiming | null {
  const ms = (k: string): number | null => {
    const v = r[k];
    return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;
  };
  const electionTimeoutMs = ms('electionTimeoutMs');
  const heartbeatIntervalMs = ms('heartbeatIntervalMs');
  return electionTimeoutMs === null || heartbeatIntervalMs === null ? null : { electionTimeoutMs, heartbeatIntervalMs };
}
