/**
 * The bytes of a KvSession's answers a controller holds for a client that does not read them.
 * An answer waits, unencoded, as a reference to the value the state machine kept; once the value
 * is replaced the answer alone keeps the old one alive. A client that never read, issuing Gets of
 * a 1 MiB key between replacements of it, had up to 1,024 answers (its requests in progress) each
 * keep a different old value: 1 GiB a session, and 256 sessions a client.
 *
 * So a session counts the bytes of its answers from the request's start until HTTP/2 has taken
 * them, and stops reading requests (HTTP/2's flow control then pushes back on the client, as for
 * the bound on requests in progress) while it holds its budget, or while its client's sessions
 * together hold the client's. A write counts its answer from its start; a Get counts what it
 * holds in progress (getInProgressBytes) until it reads its value, which it does only while the
 * counts of answers read are under their budgets, else it waits for room (kv-session-reads.ts),
 * and counts the value from then on. A request is taken only while the counts are under their
 * budgets, and a value read only while the answers read are, so each is passed by one value and
 * the Gets in progress at most, and every answer still goes, in order, once the client reads. Like grpc-go's write
 * quota per stream, and HTTP/2's connection window shared by its streams: a client that leaves
 * one session unread can hold up its own other sessions on this controller, no one else's.
 *
 * No I/O and no timers: the session (kv-session-service.ts) reports each answer's start, its
 * value when a Get reads it, its size once it is known and when HTTP/2 took it.
 */
import { MAX_ERROR_MESSAGE_BYTES } from '../util/error-message.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

const MIB = 1024 * 1024;
/** Bytes of answers one session holds at most before it stops reading (and its Gets wait to read): 64 values of 1 MiB. */
export const SESSION_ANSWER_BUDGET_BYTES = 64 * MIB;
/** Bytes of answers the sessions of one client hold together at most, on one controller. */
export const CLIENT_ANSWER_BUDGET_BYTES = 256 * MIB;

/**
 * What an answer holds beside its key, value and message until HTTP/2 takes it: its fields, its
 * encoded frame and the write's objects in grpc-js and Node, rounded up. Counted at 64 bytes, Gets
 * of a missing key left unread by a client held about 3 KB each against 1,088 counted, so one
 * client's sessions reached about 470 MB of heap under the 256 MiB budget (session 61's review).
 */
const ANSWER_OVERHEAD_BYTES = 2048;

export function answerBytes(res: KvSessionResponseMsg): number {
  return ANSWER_OVERHEAD_BYTES + res.value.byteLength + Buffer.byteLength(res.key) + Buffer.byteLength(res.errorMessage);
}

/**
 * An answer's bytes beside its overhead: its key and value, or (failed) its message and neither.
 * Counted as the larger, so a request's count covers its answer either way: an error's message is
 * at most MAX_ERROR_MESSAGE_BYTES (error-message.ts). Counted at their key alone, writes failing
 * with longer messages (a key quoted with escapes, a forwarded leader's status, any internal
 * error's text, unbounded) held a session past its budget, 1,024 writes at a time.
 */
function answerBodyBytes(keyAndValueBytes: number): number {
  return Math.max(keyAndValueBytes, MAX_ERROR_MESSAGE_BYTES);
}

/** What a write's answer may hold, counted from its start; a Get counts its value from when it reads it (`getInProgressBytes`). */
export function reservedAnswerBytes(req: KvSessionRequestMsg): number {
  return req.op === 'KV_OP_GET' ? 0 : ANSWER_OVERHEAD_BYTES + answerBodyBytes(Buffer.byteLength(req.key));
}

/**
 * What a Get holds before it reads its value: its request, its key and the state of its
 * promises and timer (about 2.7 KB and its key, measured). Counted nothing, a client's sessions
 * that never read kept 1,024 Gets each waiting to read, 256 sessions a client: with keys of
 * 1 KiB, 64 sessions held 244 MB of heap beside their 256 MiB of values.
 */
export function getInProgressBytes(key: string): number {
  return GET_STATE_BYTES + ANSWER_OVERHEAD_BYTES + Buffer.byteLength(key);
}
const GET_STATE_BYTES = 4096;

/** What a Get's answer may hold once it read a value of `valueBytes` of the key `key` (none found: a message). */
export function readAnswerBytes(key: string, valueBytes: number): number {
  return ANSWER_OVERHEAD_BYTES + answerBodyBytes(Buffer.byteLength(key) + valueBytes);
}

export interface AnswerBudgetOptions {
  readonly sessionBytes: number;
  readonly clientBytes: number;
}

export const DEFAULT_ANSWER_BUDGETS: AnswerBudgetOptions = { sessionBytes: SESSION_ANSWER_BUDGET_BYTES, clientBytes: CLIENT_ANSWER_BUDGET_BYTES };

/** A session stopped for its client's budget: what wakes it, and when it last took room. */
interface Waiter {
  readonly wake: () => void;
  readonly lastServed: () => number;
}

/** One client's answers, all its sessions together; its sessions stopped for its budget wait for room. */
class ClientAnswers {
  held = 0;
  /** Of `held`, the Gets in progress that have not read their values (getInProgressBytes). */
  pending = 0;
  sessions = 0;
  /** Ticks each time one of its sessions takes room: their order of service. */
  served = 0;
  readonly waiting = new Map<() => void, Waiter>();
}

/**
 * The order in which the sessions waiting for their client's room are woken: least recently
 * served first (those never served in the order they began to wait). The first woken takes the
 * room given back, and stops again for the budget before the next is woken; woken in the order
 * they signed up, an early session that kept requests waiting took every byte given back,
 * and the client's later sessions never read again while it did.
 */
function wakeOrder(waiting: Iterable<Waiter>): Waiter[] {
  return [...waiting].sort((x, y) => x.lastServed() - y.lastServed());
}

/** One session's account of its answers. */
export interface SessionAnswers {
  /** Bytes this session's answers hold now. */
  readonly held: number;
  /** True while this session, or its client, holds its budget: it must not take a request, nor a Get read its value. */
  readonly full: boolean;
  /** True while its client's sessions together hold the client's budget. */
  readonly clientFull: boolean;
  /**
   * True while the answers read (Gets in progress apart) hold this session's budget or its
   * client's: a Get must not read its value. Gets in progress stop a session taking requests,
   * never another Get reading, so Gets waiting to read cannot keep each other waiting.
   */
  readonly readFull: boolean;
  /** True while the answers its client's sessions read (Gets in progress apart) hold the client's budget. */
  readonly clientReadFull: boolean;
  /** Runs `then` once (not again until asked again) when its client's sessions give back bytes while the client is at its budget. */
  whenClientHasRoom(then: () => void): void;
  /** Counts `bytes` more (negative: fewer); giving bytes back may wake the client's other sessions. */
  add(bytes: number): void;
  /** Counts `bytes` more of Gets in progress, not yet read (negative: fewer), as `add` does. */
  addPending(bytes: number): void;
  /** The session ended: every byte it holds is given back. Idempotent. */
  close(): void;
}

/** The answer budgets of one server's sessions, by client (the key their session caps use). */
export class AnswerBudgets {
  private readonly clients = new Map<string, ClientAnswers>();

  constructor(readonly opts: AnswerBudgetOptions = DEFAULT_ANSWER_BUDGETS) {}

  /** Bytes all sessions' answers hold now. */
  get held(): number {
    let n = 0;
    for (const c of this.clients.values()) n += c.held;
    return n;
  }

  /** Bytes the sessions of the client `key` hold now. */
  heldBy(key: string): number {
    return this.clients.get(key)?.held ?? 0;
  }

  open(clientKey: string): SessionAnswers {
    let client = this.clients.get(clientKey);
    if (client === undefined) {
      client = new ClientAnswers();
      this.clients.set(clientKey, client);
    }
    client.sessions += 1;
    const c = client;
    const opts = this.opts;
    const clients = this.clients;
    let held = 0;
    let pending = 0;
    let closed = false;
    let waker: (() => void) | null = null;
    /** When this session last took room (0: never), in its client's ticks. */
    let lastServed = 0;
    const give = (bytes: number, pendingBytes = 0): void => {
      if (bytes > 0) lastServed = ++c.served;
      held += bytes;
      c.held += bytes;
      pending += pendingBytes;
      c.pending += pendingBytes;
      // Sessions wait for the count to fall under the budget (to take requests), or for the count
      // of values read to (to read them): a Get in progress that settles changes only the former.
      const room = c.held < opts.clientBytes || (bytes < pendingBytes && c.held - c.pending < opts.clientBytes);
      if (bytes < 0 && room && c.waiting.size > 0) {
        const woken = wakeOrder(c.waiting.values());
        c.waiting.clear();
        for (const w of woken) w.wake();
      }
    };
    return {
      get held() {
        return held;
      },
      get full() {
        return held >= opts.sessionBytes || c.held >= opts.clientBytes;
      },
      get clientFull() {
        return c.held >= opts.clientBytes;
      },
      get readFull() {
        return held - pending >= opts.sessionBytes || c.held - c.pending >= opts.clientBytes;
      },
      get clientReadFull() {
        return c.held - c.pending >= opts.clientBytes;
      },
      whenClientHasRoom(then) {
        if (closed) return;
        waker = then;
        c.waiting.set(then, { wake: then, lastServed: () => lastServed });
      },
      add(bytes) {
        if (!closed && bytes !== 0) give(bytes);
      },
      addPending(bytes) {
        if (!closed && bytes !== 0) give(bytes, bytes);
      },
      close() {
        if (closed) return;
        if (waker !== null) c.waiting.delete(waker);
        give(-held, -pending);
        closed = true;
        c.sessions -= 1;
        if (c.sessions === 0) clients.delete(clientKey);
      },
    };
  }
}
