/**
 * The client API (proto/controller.proto). Any controller answers; what needs the leader is
 * proposed here when this node leads, and otherwise forwarded to the leader once.
 */
import * as grpc from '@grpc/grpc-js';
import type { RaftHost } from '../node/raft-host.js';
import { HostError } from '../node/errors.js';
import type { StateMachine, ApplyResult, KvCommand } from '../statemachine/index.js';
import { encodeCommand, validateCommand } from '../statemachine/index.js';
import { LeaderForwarder } from './leader-forwarder.js';
import { ServiceFailure, toServiceError } from './service-error.js';
import type {
  AuditEventMsg,
  AuditRequestMsg,
  ClientRefMsg,
  DeleteRequestMsg,
  GetRequestMsg,
  LeaderTransferRequestMsg,
  ListControllersResponseMsg,
  MemberAddRequestMsg,
  MemberIdRequestMsg,
  PutRequestMsg,
  StatusReportMsg,
} from './wire-types.js';

export interface AuditSource {
  query(sinceMs: number): Promise<readonly AuditEventMsg[]>;
  follow(listener: (e: AuditEventMsg) => void): () => void;
}

export interface ControllerServiceDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly version: string;
  readonly host: RaftHost;
  readonly stateMachine: StateMachine;
  readonly addressOf: (id: string) => string | null;
  readonly forwarder: LeaderForwarder;
  readonly listControllers: () => ListControllersResponseMsg;
  readonly audit: AuditSource;
  /** On the leader: judge and propose a follower's status correction; true when proposed. */
  readonly reportStatus: (report: StatusReportMsg) => Promise<boolean>;
  readonly defaultTimeoutMs: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Handler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

function unary<Req, Res>(f: (req: Req, deadline: number) => Promise<Res>, defaultTimeoutMs: number): Handler<Req, Res> {
  return (call, cb) => {
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    // Answer a little before the client gives up, so it sees our error rather than a timeout.
    const deadline = Number.isFinite(requested) && requested > 0 ? requested - 50 : Date.now() + defaultTimeoutMs;
    f(call.request, deadline).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toServiceError(err)),
    );
  };
}

export function controllerService(deps: ControllerServiceDeps): grpc.UntypedServiceImplementation {
  const { host, stateMachine: sm } = deps;
  const t = deps.defaultTimeoutMs;

  /** Runs `local` on the leader, forwarding `method` there when this node does not lead. */
  async function onLeader<Res>(method: string, req: { forwarded: boolean }, deadline: number, local: (remaining: number) => Promise<Res>): Promise<Res> {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader answered before the deadline');
      const leader = host.softState().leader ?? (await host.waitForLeader(remaining));
      if (leader === null) throw new ServiceFailure('NO_LEADER', `no leader elected within ${Math.round(remaining)}ms`);
      try {
        if (leader === deps.id) return await local(deadline - Date.now());
        if (req.forwarded) throw new ServiceFailure('NOT_LEADER', `${deps.id} is not the leader (leader is ${leader})`);
        const address = deps.addressOf(leader);
        if (address === null) throw new ServiceFailure('NO_LEADER', `leader ${leader} has no known address`);
        return await deps.forwarder.call<Res>(address, method, req, deadline);
      } catch (err) {
        const retriable =
          (err instanceof HostError && (err.code === 'NOT_LEADER' || err.code === 'NO_LEADER')) ||
          (err instanceof ServiceFailure && err.code === 'NO_LEADER' && !req.forwarded);
        if (!retriable || req.forwarded) throw err;
        await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
      }
    }
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
    }
  }

  function encodeKv(cmd: KvCommand, client: ClientRefMsg | null): Uint8Array {
    const envelope = client && client.id !== '' ? { ...cmd, client: { id: client.id, seq: client.seq } } : cmd;
    validateCommand(envelope);
    return encodeCommand(envelope);
  }

  function decodeValue(v: Uint8Array): string {
    try {
      return utf8.decode(v);
    } catch {
      throw new ServiceFailure('INVALID_ARGUMENT', 'value must be UTF-8 text');
    }
  }

  const memberResponse = () => {
    const conf = host.status().conf;
    return { voters: [...conf.voters], learners: [...conf.learners] };
  };

  /** A learner may be promoted once it has every committed entry (etcd's isLearnerReady). */
  async function waitCaughtUp(id: string, deadline: number): Promise<void> {
    for (;;) {
      const st = host.status();
      const pr = st.progress.get(id);
      if (pr && pr.match >= st.commit) return;
      if (Date.now() >= deadline) {
        throw new ServiceFailure('TIMEOUT', `learner ${id} has not caught up (has ${pr?.match ?? 0} of ${st.commit}); is it running?`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    Put: unary<PutRequestMsg, { revision: number }>(async (req, deadline) => {
      const cmd: KvCommand = { kind: 'kv', op: 'put', key: req.key, value: decodeValue(req.value), ...(req.hasIfRevision ? { ifRevision: req.ifRevision } : {}) };
      const data = encodeKv(cmd, req.client);
      return onLeader('put', req, deadline, async (remaining) => kvResult(await host.propose(data, remaining)));
    }, t),

    Delete: unary<DeleteRequestMsg, { revision: number }>(async (req, deadline) => {
      const cmd: KvCommand = { kind: 'kv', op: 'delete', key: req.key, ...(req.hasIfRevision ? { ifRevision: req.ifRevision } : {}) };
      const data = encodeKv(cmd, req.client);
      return onLeader('delete', req, deadline, async (remaining) => kvResult(await host.propose(data, remaining)));
    }, t),

    Get: unary<GetRequestMsg, { key: string; value: Buffer; revision: number }>(async (req, deadline) => {
      if (req.key === '') throw new ServiceFailure('INVALID_ARGUMENT', 'key must not be empty');
      if (!req.serializable) {
        // ReadIndex: the leader confirms it still leads, and we wait to apply its commit index.
        for (;;) {
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader confirmed the read before the deadline');
          if ((host.softState().leader ?? (await host.waitForLeader(remaining))) === null) {
            throw new ServiceFailure('NO_LEADER', `no leader elected within ${Math.round(remaining)}ms`);
          }
          try {
            await host.readBarrier(Math.max(1, deadline - Date.now()));
            break;
          } catch (err) {
            if (!(err instanceof HostError && (err.code === 'NOT_LEADER' || err.code === 'NO_LEADER'))) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
      const kv = sm.kv.get(req.key);
      if (kv === null) throw new ServiceFailure('NOT_FOUND', `key ${JSON.stringify(req.key)} not found`);
      return { key: kv.key, value: Buffer.from(kv.value, 'utf8'), revision: kv.revision };
    }, t),

    ListControllers: unary<object, ListControllersResponseMsg>(async () => deps.listControllers(), t),

    Status: unary<object, object>(async () => {
      const st = host.status();
      return {
        id: st.id,
        term: st.term,
        leader: st.leader ?? '',
        role: st.role,
        commitIndex: st.commit,
        appliedIndex: sm.appliedIndex,
        lastIndex: st.lastIndex,
        firstIndex: st.firstIndex,
        voters: [...st.conf.voters],
        learners: [...st.conf.learners],
        version: deps.version,
        snapshotIndex: host.snapshotIndex(),
        cluster: deps.clusterName,
      };
    }, t),

    MemberAdd: unary<MemberAddRequestMsg, object>(async (req, deadline) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(req.id)) throw new ServiceFailure('INVALID_ARGUMENT', `invalid member id ${JSON.stringify(req.id)}`);
      if (!/^[^\s:]+:\d{1,5}$/.test(req.address)) throw new ServiceFailure('INVALID_ARGUMENT', `invalid address ${JSON.stringify(req.address)}: expected host:port`);
      return onLeader('memberAdd', req, deadline, async (remaining) => {
        await host.proposeConfChange({ type: 'add-learner', node: req.id, context: req.address }, remaining);
        if (!req.learner) {
          // Adding a voter directly could cost availability while it catches up (thesis
          // §4.2.1): add as a learner, wait until it has the log, then promote.
          await waitCaughtUp(req.id, deadline);
          await host.proposeConfChange({ type: 'promote', node: req.id, context: '' }, deadline - Date.now());
        }
        return memberResponse();
      });
    }, t),

    MemberPromote: unary<MemberIdRequestMsg, object>(async (req, deadline) =>
      onLeader('memberPromote', req, deadline, async (remaining) => {
        const conf = host.status().conf;
        if (conf.voters.includes(req.id)) throw new ServiceFailure('INVALID_ARGUMENT', `${req.id} is already a voter`);
        if (!conf.learners.includes(req.id)) throw new ServiceFailure('UNKNOWN_NODE', `${req.id} is not a member`);
        await waitCaughtUp(req.id, Date.now() + remaining);
        await host.proposeConfChange({ type: 'promote', node: req.id, context: '' }, deadline - Date.now());
        return memberResponse();
      }),
    t),

    MemberRemove: unary<MemberIdRequestMsg, object>(async (req, deadline) =>
      onLeader('memberRemove', req, deadline, async (remaining) => {
        const conf = host.status().conf;
        if (!conf.voters.includes(req.id) && !conf.learners.includes(req.id)) {
          throw new ServiceFailure('UNKNOWN_NODE', `${req.id} is not a member`);
        }
        if (req.id === deps.id) {
          // A leader removing itself hands off first, then lets the new leader remove it.
          const next = await host.handOffLeadership();
          if (next === null) throw new ServiceFailure('NO_LEADER', 'could not hand leadership off before removing the leader');
          throw new HostError('NOT_LEADER', 'leadership handed off; retrying on the new leader', next);
        }
        await host.proposeConfChange({ type: 'remove', node: req.id, context: '' }, remaining);
        return memberResponse();
      }),
    t),

    LeaderTransfer: unary<LeaderTransferRequestMsg, { leader: string }>(async (req, deadline) =>
      onLeader('leaderTransfer', req, deadline, async () => {
        if (req.target === deps.id) return { leader: deps.id };
        if (req.target === '') {
          const next = await host.handOffLeadership();
          if (next === null) throw new ServiceFailure('TIMEOUT', 'no other voter took leadership in time');
          return { leader: next };
        }
        host.transferLeadership(req.target);
        return { leader: await waitLeaderIs(host, req.target, deadline) };
      }),
    t),

    ReportStatus: unary<StatusReportMsg, { accepted: boolean }>(async (req, deadline) => {
      if (req.status !== 'online' && req.status !== 'offline') {
        throw new ServiceFailure('INVALID_ARGUMENT', `status must be online or offline, found ${JSON.stringify(req.status)}`);
      }
      if (sm.members.get(req.member) === null) throw new ServiceFailure('UNKNOWN_NODE', `${req.member} is not a member`);
      return onLeader('reportStatus', req, deadline, async () => ({ accepted: await deps.reportStatus(req) }));
    }, t),

    Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => {
      const req = call.request;
      let unsubscribe: (() => void) | null = null;
      const buffered: AuditEventMsg[] = [];
      let replaying = true;
      if (req.follow) {
        // Subscribe before replaying so nothing falls between the two.
        unsubscribe = deps.audit.follow((e) => (replaying ? buffered.push(e) : call.write(e)));
        call.on('cancelled', () => unsubscribe?.());
        call.on('close', () => unsubscribe?.());
      }
      deps.audit.query(req.sinceMs).then(
        (events) => {
          const seen = new Set(events.map((e) => `${e.time}|${e.type}|${e.subject}|${e.to}`));
          for (const e of events) call.write(e);
          replaying = false;
          for (const e of buffered) if (!seen.has(`${e.time}|${e.type}|${e.subject}|${e.to}`)) call.write(e);
          if (!req.follow) call.end();
        },
        (err: unknown) => call.destroy(toServiceError(err)),
      );
    },
  };
}

async function waitLeaderIs(host: RaftHost, target: string, deadline: number): Promise<string> {
  while (Date.now() < deadline) {
    if (host.softState().leader === target) return target;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new ServiceFailure('TIMEOUT', `leadership did not move to ${target} before the deadline`);
}
