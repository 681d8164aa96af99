/**
 * Put, Get and Delete as plain functions of a decoded request and a deadline: the unary calls
 * and the multiplexed KvSession both serve them, so the two cannot drift apart.
 */
import type { ApplyResult, KvCommand, StateMachine } from '../statemachine/index.js';
import { encodeCommand, kvRecordSnapshotLength, validateCommand } from '../statemachine/index.js';
import type { ConsensusPort } from './consensus-port.js';
import type { OnLeader } from './on-leader.js';
import { keyTooLong, quoteKey } from './request-key.js';
import { linearizableBarrier } from './read-barrier.js';
import { ServiceFailure } from './service-error.js';
import type { StateQuota } from './state-quota.js';
import type { WriteTurns } from './write-turns.js';
import { entryTagOf, kvRetryOf } from './client-tag.js';
import type { ClientRefMsg, DeleteRequestMsg, GetRequestMsg, PutRequestMsg } from './wire-types.js';

/**
 * Room for what a Get reads, given by its caller (a KvSession's budget of answer bytes,
 * kv-session-answers.ts): runs `read` once there is room, in the same turn as it counts
 * `bytesOf` what it read, and resolves with it; rejects when `deadline` (ms since the epoch)
 * passes first. A linearizable read may happen at any moment after its read barrier, before its
 * answer: a later one only sees later writes.
 */
export type ReadRoom = <T>(read: () => T, bytesOf: (value: T) => number, deadline: number) => Promise<T>;

export interface KvOps {
  put(req: PutRequestMsg, deadline: number): Promise<{ revision: number }>;
  delete(req: DeleteRequestMsg, deadline: number): Promise<{ revision: number }>;
  /** `room`: where the caller bounds what its answers hold; without it the value is read at once. */
  get(req: GetRequestMsg, deadline: number, room?: ReadRoom): Promise<{ key: string; value: Buffer; revision: number }>;
}

function kvResult(r: ApplyResult): { revision: number } {
  if (r.ok) return { revision: r.revision };
  switch (r.code) {
    case 'CAS_FAILED':
      throw new ServiceFailure('CAS_FAILED', `${r.message}${r.currentRevision !== undefined ? ` (current revision ${r.currentRevision})` : ''}`);
    case 'NOT_FOUND':
      throw new ServiceFailure('NOT_FOUND', r.message);
    case 'INVALID':
    case 'STALE_REQUEST':
    case 'CONFLICT':
      throw new ServiceFailure('INVALID_ARGUMENT', r.message);
    case 'IGNORED':
      throw new ServiceFailure('INTERNAL', r.message);
    case 'SESSION_EXPIRED':
      throw new ServiceFailure('SESSION_EXPIRED', r.message);
  }
}

/** A key (or prefix) over the limit is refused by every RPC that takes one, with Put's reason. */
export function refuseLongKey(key: string, field = 'key'): void {
  const problem = keyTooLong(key, field);
  if (problem !== null) throw new ServiceFailure('INVALID_ARGUMENT', problem);
}

/**
 * Validated before proposing: a command the state machine would refuse never reaches the log.
 * A client's retry mark and owner go in only once every member reads them (client-tag.ts).
 */
function encodeKv(cmd: KvCommand, client: ClientRefMsg | null, sm: StateMachine): Uint8Array {
  const tag = client === null ? null : entryTagOf(sm, client.id, client.seq, client.retry, client.owner);
  const envelope = tag === null ? cmd : { ...cmd, client: tag };
  validateCommand(envelope);
  return encodeCommand(envelope);
}

export function kvOps(host: ConsensusPort, sm: StateMachine, onLeader: OnLeader, cutOff?: () => string | null, quota?: StateQuota, turns?: WriteTurns): KvOps {
  return {
    async put(req, deadline) {
      refuseLongKey(req.key);
      // Large values are taken in a few MiB per turn of the event loop (write-turns.ts).
      const turn = turns?.admit(req.value.length);
      if (turn) await turn;
      const cmd: KvCommand = { kind: 'kv', op: 'put', key: req.key, value: req.value, ...(req.hasIfRevision ? { ifRevision: req.ifRevision } : {}) };
      const data = encodeKv(cmd, req.client, sm);
      const retry = kvRetryOf(req);
      return onLeader('put', req, deadline, async (remaining, retried) => {
        // On the leader, against its state: what the put adds to a snapshot, less what it replaces.
        // Reserved until it applies, so that puts proposed meanwhile cannot all pass on the same room.
        const current = sm.kv.getRecord(req.key);
        const growth = kvRecordSnapshotLength(req.key, req.value) - (current === null ? 0 : kvRecordSnapshotLength(current.key, current.value));
        const entry = retried && retry !== undefined ? encodeKv(cmd, retry.client, sm) : data;
        const propose = (): Promise<ApplyResult> => host.propose(entry, remaining);
        return kvResult(await (quota ? quota.guard(growth, `put of ${JSON.stringify(req.key.slice(0, 64))}`, propose) : propose()));
      }, retry);
    },

    async delete(req, deadline) {
      refuseLongKey(req.key);
      const cmd: KvCommand = { kind: 'kv', op: 'delete', key: req.key, ...(req.hasIfRevision ? { ifRevision: req.ifRevision } : {}) };
      const data = encodeKv(cmd, req.client, sm);
      const retry = kvRetryOf(req);
      return onLeader('delete', req, deadline, async (remaining, retried) => kvResult(await host.propose(retried && retry !== undefined ? encodeKv(cmd, retry.client, sm) : data, remaining)), retry);
    },

    async get(req, deadline, room) {
      if (req.key === '') throw new ServiceFailure('INVALID_ARGUMENT', 'key must not be empty');
      refuseLongKey(req.key);
      if (!req.serializable) {
        // ReadIndex: the leader confirms it still leads, and we wait to apply its commit index.
        await linearizableBarrier(host, deadline, cutOff);
      }
      const read = () => sm.kv.get(req.key);
      const kv = room === undefined ? read() : await room(read, (r) => r?.value.byteLength ?? 0, deadline);
      if (kv === null) throw new ServiceFailure('NOT_FOUND', `key ${quoteKey(req.key)} not found`);
      return { key: kv.key, value: Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength), revision: kv.revision };
    },
  };
}
