/**
 * The server side of KvSession: Put, Get and Delete multiplexed on one stream per client.
 *
 * A unary gRPC call costs this process about as much CPU as the Raft work of a put (HTTP/2
 * stream set-up, headers, trailers); a message on an open stream costs a fraction of it. Each
 * request is served exactly as its unary twin (kv-ops.ts) and answered with its id, in
 * completion order. Flow control: a session stops reading while it has MAX_OUTSTANDING
 * requests in progress, while its answers are not being read, or while its answers hold its
 * budget of bytes or its client's (kv-session-answers.ts), so HTTP/2 pushes back on the client
 * instead of this process buffering without bound; a Get then waits to read its value until they
 * hold less (kv-session-reads.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { directStream, takeMessages } from '../transport/direct-messages.js';
import { assertWellFramed } from '../transport/strict-decode.js';
import type { OwnerOf } from './caller-owner.js';
import { AnswerBudgets, answerBytes, getInProgressBytes, readAnswerBytes, reservedAnswerBytes } from './kv-session-answers.js';
import { WaitingReads } from './kv-session-reads.js';
import { controllerMethod } from './controller-proto.js';
import { kvSessionLimits } from './kv-session-limits.js';
import type { KvOps, ReadRoom } from './kv-ops.js';
import { refusedStatus } from './open-streams.js';
import { ServiceFailure, toServiceError, toServiceFailure } from './service-error.js';
import { errorMessage } from '../util/error-message.js';
import { trace, tracing } from '../util/trace.js';
import { watchClientOf } from './watch-client.js';
import type { WatchLimits } from './watch-limits.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

export const MAX_OUTSTANDING_PER_SESSION = 1024;
/**
 * The longest a session request may wait on this controller, whatever `timeout_ms` it asks
 * (up to 2^32 ms, about 49 days, on the wire): a request whose answer never comes (a proposal
 * the cluster lost) must not hold its slot and memory for longer than any client waits.
 */
export const MAX_SESSION_REQUEST_TIMEOUT_MS = 300_000;

type SessionCall = grpc.ServerDuplexStream<KvSessionRequestMsg, KvSessionResponseMsg>;

/**
 * Why the session's caller may no longer call (`NOT_A_MEMBER: ...`), or null. The server's door
 * judges a call once, at its start, but a session lasts: a member's peer certificate that opened
 * one kept writing keys, under any owner it claimed, after the member was removed (attack round
 * 12), though removal revokes the key (docs/security.md). So each request is judged again.
 */
export type SessionRefusal = (call: SessionCall) => string | null;

const EMPTY = new Uint8Array(0);

/** The session's messages as the server's service definition reads (strictRequests) and writes them. */
const KV_SESSION = controllerMethod('KvSession');
function decodeRequest(bytes: Buffer): KvSessionRequestMsg {
  assertWellFramed(bytes);
  return KV_SESSION.requestDeserialize(bytes) as KvSessionRequestMsg;
}

function answer(id: number, res: { revision: number; key?: string; value?: Uint8Array }): KvSessionResponseMsg {
  return { id, errorCode: '', errorMessage: '', revision: res.revision, key: res.key ?? '', value: res.value ?? EMPTY };
}

function failure(id: number, err: unknown): KvSessionResponseMsg {
  const f = toServiceFailure(err);
  return { id, errorCode: f.code, errorMessage: errorMessage(f.message), revision: 0, key: '', value: EMPTY, ...(f.notProposed ? { notProposed: true } : {}) };
}

/** How long a session request may wait here: what it asks (0: the server's default), at most MAX_SESSION_REQUEST_TIMEOUT_MS. */
export function sessionRequestTimeoutMs(asked: number, defaultTimeoutMs: number): number {
  return Math.min(asked > 0 ? asked : defaultTimeoutMs, MAX_SESSION_REQUEST_TIMEOUT_MS);
}

/** `owner`: whose record a write makes (caller-owner.ts), resolved from the session's call; `room`: where a Get reads its value. */
async function serve(kv: KvOps, req: KvSessionRequestMsg, defaultTimeoutMs: number, owner: string | undefined, room: ReadRoom | undefined): Promise<KvSessionResponseMsg> {
  const timeoutMs = sessionRequestTimeoutMs(req.timeoutMs, defaultTimeoutMs);
  // Answer a little before the client gives up, so it sees our error rather than a timeout.
  const deadline = Date.now() + Math.max(timeoutMs - 50, timeoutMs / 2);
  const client = req.clientId === '' ? null : { id: req.clientId, seq: req.clientSeq, ...(req.clientRetry === true ? { retry: true } : {}), ...(owner === undefined ? {} : { owner }) };
  const guarded = { hasIfRevision: req.hasIfRevision, ifRevision: req.ifRevision, client, forwarded: req.forwarded };
  try {
    switch (req.op) {
      case 'KV_OP_PUT':
        return answer(req.id, await kv.put({ key: req.key, value: req.value, ...guarded }, deadline));
      case 'KV_OP_DELETE':
        return answer(req.id, await kv.delete({ key: req.key, ...guarded }, deadline));
      case 'KV_OP_GET':
        return answer(req.id, await kv.get({ key: req.key, serializable: req.serializable }, deadline, room));
      case 'KV_OP_UNSPECIFIED':
      default:
        throw new ServiceFailure('INVALID_ARGUMENT', `unknown KvSession op ${JSON.stringify(req.op)}`);
    }
  } catch (err) {
    return failure(req.id, err);
  }
}

/**
 * Every open session of one server, so a graceful shutdown can end them, held to the caps of
 * `limits` (kv-session-limits.ts): a session past them is refused RESOURCE_EXHAUSTED at its start.
 */
export class KvSessions {
  private readonly open = new Set<() => void>();
  private closing = false;
  /** Sessions whose requests went through grpc-js's reader: no base call was filed for them (direct-messages.ts). */
  readByGrpc = 0;

  constructor(
    readonly limits: WatchLimits = kvSessionLimits(),
    /** The bytes of answers each session, and each client's sessions together, may hold. */
    readonly answers: AnswerBudgets = new AnswerBudgets(),
  ) {}

  /** The KvSession handler serving `kv`. */
  handler(kv: KvOps, defaultTimeoutMs: number, ownerOf: OwnerOf = () => undefined, refusal: SessionRefusal = () => null): (call: SessionCall) => void {
    return (call) => {
      const client = watchClientOf(call);
      const admission = this.limits.admit(client.key, client.name, () => undefined);
      if (!admission.ok) {
        call.emit('error', toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', admission.message)));
        return;
      }
      const lease = admission.lease;
      const held = this.answers.open(client.key);
      /** Gets waiting for room in the budgets to read their values. */
      const reads = new WaitingReads(held, this.answers.opts, () => {
        if (held.clientReadFull) held.whenClientHasRoom(flow);
      });
      const close = (): void => {
        lease.close();
        reads.drop();
        held.close();
      };
      let outstanding = 0;
      let clientDone = false;
      let finished = false;
      let paused = false;
      let awaitingDrain = false;
      /** Why the caller was refused mid-session: the session then ends PERMISSION_DENIED, not cleanly. */
      let refusedWith: string | null = null;
      // Requests read and answers written straight on the HTTP/2 stream where the server's guard
      // filed it (direct-messages.ts): grpc-js's per-message layers cost the leader a put's worth
      // of its own work; without a filed stream, through grpc-js.
      const direct = directStream(call);
      let readsDirect = false;
      /**
       * Requests read while paused: read straight from the stream, a chunk may hold many (grpc-js
       * would hold them too); and one that comes while the budget of answers is held (by another
       * session of the client since this one last looked) waits here rather than pass it.
       */
      const waiting: KvSessionRequestMsg[] = [];
      /**
       * The client half-closed while requests still wait. A paused HTTP/2 stream still ends when
       * its last chunk was already taken (the one the pause came in), so its end may overtake the
       * requests that chunk held; grpc-js queues the end behind them. It takes effect once they are taken.
       */
      let endAfterWaiting = false;
      /**
       * Answers waiting for room on the stream, not yet encoded: as grpc-js's own queue holds them,
       * each refers to the value the state machine keeps instead of a copy of it. Encoded at once,
       * the Gets of a 1 MiB key that one 16 KiB DATA frame held (550 of them) kept 600 MB while
       * their client read nothing; queued this way, 7 MB.
       */
      const unsent: { readonly res: KvSessionResponseMsg; readonly bytes: number }[] = [];
      /**
       * The status goes after every answer: the session ends once none waits for room either, and
       * HTTP/2 has taken every answer written. Ended sooner, a session's last answers stayed in its
       * stream, unread, with their bytes given back: a client that opened session after session,
       * each one Get and its end, held 1 MiB a session past its budget, 1,024 a connection.
       */
      const settledAll = (): boolean => outstanding === 0 && unsent.length === 0 && held.held === 0;
      const flow = (): void => {
        // Gets in progress read first: they were taken before the requests still to be read.
        reads.serve();
        const full = held.full;
        const stop = outstanding >= MAX_OUTSTANDING_PER_SESSION || awaitingDrain || full;
        // The client's other sessions may hold its budget: they wake this one as they give bytes back.
        if (full && held.clientFull) held.whenClientHasRoom(flow);
        if (stop !== paused) {
          paused = stop;
          if (stop) {
            if (readsDirect) direct!.pause();
            else call.pause();
          }
          while (!paused && waiting.length > 0) onRequest(waiting.shift()!);
          if (endAfterWaiting && waiting.length === 0) {
            endAfterWaiting = false;
            end();
          }
          if (!paused) {
            if (readsDirect) direct!.resume();
            else call.resume();
          }
        }
      };
      const finish = (): void => {
        if (finished) return;
        finished = true;
        this.open.delete(end);
        close();
        if (call.cancelled) return;
        if (refusedWith === null) call.end();
        else call.emit('error', refusedStatus(refusedWith));
      };
      // Stop taking requests, answer those in progress, then end the stream.
      const end = (): void => {
        clientDone = true;
        if (settledAll()) finish();
      };
      this.open.add(end);
      if (this.closing) end();
      /** An answer of `bytes` was taken by HTTP/2 (or failed with its stream): its bytes are given back. */
      const sent =
        (bytes: number) =>
        (): void => {
          held.add(-bytes);
          if (finished) return;
          flow();
          if (clientDone && settledAll()) finish();
        };
      const onRequest = (req: KvSessionRequestMsg): void => {
        if (clientDone) return;
        const refused = refusal(call);
        if (refused !== null) {
          // Nothing more is taken. The requests in progress were judged when they came, and a write
          // among them may commit: each is answered with what it did before the session ends
          // refused, or its client would take a committed write for a refused one.
          refusedWith = refused;
          end();
          return;
        }
        if (tracing) trace('kv.recv', `${req.op} ${req.id}`);
        outstanding += 1;
        // A write's answer counts from its start: it may come at any time, past a budget already
        // held. A Get's from when it reads its value, which waits for room (kv-session-reads.ts);
        // until then it counts what it holds in progress, which stops the session taking more.
        let reserved = reservedAnswerBytes(req);
        let pending = req.op === 'KV_OP_GET' ? getInProgressBytes(req.key) : 0;
        const settlePending = (): void => {
          held.addPending(-pending);
          pending = 0;
        };
        held.add(reserved);
        held.addPending(pending);
        flow();
        const room =
          req.op === 'KV_OP_GET'
            ? reads.room(
                (valueBytes) => readAnswerBytes(req.key, valueBytes),
                (bytes) => {
                  reserved += bytes;
                  settlePending();
                },
              )
            : undefined;
        void serve(kv, req, defaultTimeoutMs, ownerOf(call, req.clientOwner ?? '', req.forwarded), room).then((res) => {
          outstanding -= 1;
          settlePending();
          if (finished || call.cancelled) {
            held.add(-reserved);
            return;
          }
          const bytes = answerBytes(res);
          held.add(bytes - reserved);
          if (tracing) {
            trace('kv.answer', res.id);
            // HTTP/2 sends what was written in the check phase (setImmediate) of this turn.
            setImmediate(() => trace('kv.answer.flushed', res.id));
          }
          let room: boolean;
          if (direct === null) room = call.write(res, sent(bytes));
          else if (awaitingDrain) {
            unsent.push({ res, bytes });
            room = false;
          } else room = direct.write(KV_SESSION.responseSerialize(res), sent(bytes));
          if (tracing) trace('kv.answer.written', res.id);
          if (!room && !awaitingDrain) {
            awaitingDrain = true;
            const drained = (): void => {
              // Direct: the queued answers go, encoded one at a time while the stream has room.
              while (direct !== null && unsent.length > 0) {
                if (finished || call.cancelled) {
                  unsent.length = 0;
                  break;
                }
                const next = unsent.shift()!;
                if (!direct.write(KV_SESSION.responseSerialize(next.res), sent(next.bytes))) {
                  direct.onceDrained(drained);
                  return;
                }
              }
              awaitingDrain = false;
              flow();
              if (clientDone && settledAll()) finish();
            };
            if (direct === null) call.once('drain', drained);
            else direct.onceDrained(drained);
          }
          flow();
          if (clientDone && settledAll()) finish();
        });
      };
      const take = (req: KvSessionRequestMsg): void => {
        if (!paused && !held.full) onRequest(req);
        else {
          waiting.push(req);
          flow();
        }
      };
      readsDirect = direct !== null && takeMessages(call, decodeRequest, take);
      if (!readsDirect) this.readByGrpc += 1;
      call.on('data', take);
      call.on('end', () => {
        if (waiting.length === 0) end();
        else endAfterWaiting = true;
      });
      call.on('cancelled', () => {
        finished = true;
        this.open.delete(end);
        close();
      });
      call.on('error', () => {
        finished = true;
        this.open.delete(end);
        close();
      });
      call.on('close', close);
    };
  }

  /** Graceful shutdown: every session answers what it has in progress, then ends. */
  endAll(): void {
    this.closing = true;
    for (const end of [...this.open]) end();
  }
}
