/**
 * The client of controller.api.Operator, on the channels, failover and deadlines of a
 * ControllerClient: member list, each endpoint's own status, ranges of keys, watches and
 * snapshots.
 */
import { createHash } from 'node:crypto';
import type { ControllerClient } from './client.js';
import { ApiError, type ApiErrorCode } from './errors.js';
import {
  decodeEndpointStatus,
  decodeMemberList,
  decodeRange,
  decodeSnapshotChunk,
  decodeWatchEvent,
  type EndpointSelfJson,
  type MemberListJson,
  type RangeAnswer,
  type SnapshotHeaderJson,
  type SnapshotPart,
  type WatchEventEntry,
} from './operator-answers.js';
import { classify } from './failover.js';
import { operatorMethod } from './operator-proto.js';
import { checkKey } from './request-size.js';
import { readServerStream } from './server-stream.js';
import { WATCH_CUT_OFF_RULE } from './stream-context.js';

/** How long `ctl snapshot save` waits for the snapshot's first message, at least: the server serializes the whole state first. */
export const SNAPSHOT_FIRST_MESSAGE_MS = 60_000;

export interface WatchOptions {
  readonly key: string;
  readonly prefix: boolean;
  /** 0: from now on. */
  readonly startRevision: number;
  readonly signal?: AbortSignal;
  /** Told when the stream was lost and the watch moves on, resuming at `fromRevision` (ctl says so on stderr). */
  readonly onResume?: (lost: string, fromRevision: number) => void;
}

/**
 * A controller's history of changes is its own, in memory (it starts afresh at a restart or a
 * snapshot installed from the leader): one that says COMPACTED speaks for itself, and another
 * endpoint may still hold the revisions the watch needs.
 */
const WATCH_RETRY_ELSEWHERE: ReadonlySet<ApiErrorCode> = new Set(['COMPACTED']);

/**
 * Lost streams in a row, each short-lived and delivering no change (a controller that accepts
 * the watch and drops it at once), after which a watch stops moving on rather than spin. A
 * stream that lived BRIEF_STREAM_MS, or delivered, starts the count again: an idle watch outlives
 * any number of rolling restarts.
 */
const FRUITLESS_RESUMES_PER_ENDPOINT = 3;
const BRIEF_STREAM_MS = 10_000;

/** A snapshot as received: its header and data, the data's checksum verified. */
export interface SnapshotDownload {
  readonly header: SnapshotHeaderJson;
  readonly data: Uint8Array;
  readonly sha256: string;
}

/** Checks the stream's order (header, data, trailer) and the data against size and checksum. */
export class SnapshotAssembler {
  private header: SnapshotHeaderJson | null = null;
  private readonly chunks: Uint8Array[] = [];
  private received = 0;
  private sha256: string | null = null;

  constructor(private readonly endpoint: string) {}

  add(part: SnapshotPart): void {
    if (this.sha256 !== null) this.fail('expected the stream to end after the trailer, found more');
    switch (part.part) {
      case 'header':
        if (this.header !== null) this.fail('expected one header, found a second');
        this.header = part.header;
        return;
      case 'data':
        if (this.header === null) this.fail('expected the header first, found data');
        this.received += part.data.byteLength;
        if (this.received > this.header.size) this.fail(`expected ${this.header.size} bytes of data, found more`);
        this.chunks.push(part.data);
        return;
      case 'trailer':
        if (this.header === null) this.fail('expected the header first, found the trailer');
        this.sha256 = part.sha256;
        return;
      default: {
        const never: never = part;
        return never;
      }
    }
  }

  finish(): SnapshotDownload {
    const header = this.header;
    if (header === null) this.fail('the stream ended before the header');
    if (this.sha256 === null) this.fail(`the stream ended before the trailer (${this.received} of ${header.size} bytes received)`);
    if (this.received !== header.size) this.fail(`expected ${header.size} bytes of data, found ${this.received}`);
    const data = Buffer.concat(this.chunks);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== this.sha256) this.fail(`checksum mismatch: the server sent SHA-256 ${this.sha256}, the data received has ${sha256}`);
    return { header, data, sha256 };
  }

  private fail(message: string): never {
    throw new ApiError('INTERNAL', `snapshot from ${this.endpoint}: ${message}`);
  }
}

export class OperatorClient {
  constructor(private readonly base: ControllerClient) {}

  async memberList(opts: { readonly serializable?: boolean } = {}): Promise<MemberListJson> {
    return decodeMemberList(await this.base.call(operatorMethod('MemberList'), { serializable: opts.serializable ?? false }));
  }

  /** Exactly this endpoint's own view (no failover). */
  async endpointStatusOn(endpoint: string): Promise<EndpointSelfJson> {
    return decodeEndpointStatus(await this.base.callOn(endpoint, operatorMethod('EndpointStatus'), {}));
  }

  async range(prefix: string, opts: { readonly limit?: number; readonly serializable?: boolean } = {}): Promise<RangeAnswer> {
    checkKey(prefix, 'prefix');
    await this.base.sameCluster(`the read of the keys under ${JSON.stringify(prefix)}`);
    const request = { prefix, limit: opts.limit ?? 0, serializable: opts.serializable ?? false };
    return decodeRange(await this.base.call(operatorMethod('Range'), request));
  }

  /**
   * Streams changes to onEvent until opts.signal aborts (then it resolves) or no endpoint serves
   * it. A stream lost once open (its controller stopped, was killed or reset it) moves to the
   * next endpoint that answers and resumes after the last change delivered, as etcdctl's watch
   * does: nothing is missed, nothing delivered twice. A watch "from now" is pinned first to the
   * revision after the answering node's, so a change made while it moves is not missed either.
   */
  async watch(opts: WatchOptions, onEvent: (e: WatchEventEntry) => void): Promise<void> {
    checkKey(opts.key);
    await this.base.sameCluster(`the watch of ${JSON.stringify(opts.key)}`);
    let next = opts.startRevision;
    let fruitless = 0;
    for (;;) {
      let lost: ApiError | null = null;
      let delivered = 0;
      const began = Date.now();
      await this.base.onFirstAnswering(async (endpoint) => {
        if (next === 0) next = (await this.revisionOn(endpoint, opts.key)) + 1;
        const request = { key: opts.key, prefix: opts.prefix, startRevision: next };
        try {
          await readServerStream(
            this.base.streamContext(endpoint),
            { method: operatorMethod('Watch'), request, decode: decodeWatchEvent, idleTimeoutMs: null, signal: opts.signal, what: 'the watch', cutOffRule: WATCH_CUT_OFF_RULE },
            (e) => {
              delivered += 1;
              next = e.revision + 1;
              onEvent(e);
            },
          );
          // A watch has no natural end: the server closing it (a shutdown) loses it like a reset.
          if (opts.signal?.aborted !== true) throw new ApiError('UNREACHABLE', `${endpoint} ended the watch`);
        } catch (err) {
          // Open, then lost (streamFailure's UNREACHABLE): move on. Before it opened, a failure is
          // the failover's to classify; a cut-off for a limit or a bad answer is final.
          if (err instanceof ApiError && err.code === 'UNREACHABLE') {
            lost = err;
            return;
          }
          // Ended COMPACTED after changes were shown (a snapshot installed there): the move to
          // another endpoint is told like a lost stream's, so the operator knows which one serves.
          const outcome = delivered > 0 ? classify(err, endpoint, WATCH_RETRY_ELSEWHERE) : null;
          if (outcome?.kind !== 'retryable') throw err;
          lost = new ApiError('UNREACHABLE', `${endpoint} ended the watch (${outcome.error.code}: ${outcome.error.message})`, outcome.error.grpcCode, { cause: err });
        }
      }, WATCH_RETRY_ELSEWHERE);
      if (lost === null || opts.signal?.aborted === true) return;
      fruitless = delivered > 0 || Date.now() - began >= BRIEF_STREAM_MS ? 0 : fruitless + 1;
      if (fruitless > FRUITLESS_RESUMES_PER_ENDPOINT * this.base.endpoints.length) throw lost;
      opts.onResume?.((lost as ApiError).message, next);
    }
  }

  /** The revision `endpoint` has applied (a serializable read of one key: no leader needed). */
  private async revisionOn(endpoint: string, key: string): Promise<number> {
    return decodeRange(await this.base.unaryOn(endpoint, operatorMethod('Range'), { prefix: key, limit: 1, serializable: true })).revision;
  }

  /** A consistent snapshot from the first endpoint that serves one, verified. */
  async snapshot(): Promise<SnapshotDownload> {
    await this.base.sameCluster('the snapshot request');
    return this.base.onFirstAnswering(async (endpoint) => {
      const assembler = new SnapshotAssembler(endpoint);
      const ctx = this.base.streamContext(endpoint);
      await readServerStream(
        ctx,
        // The first message waits for a read barrier and the whole state's serialization, a step
        // per turn of the server's loop beside its Raft work (a leader serving 533,000 keys took
        // more than 5 s); then chunks follow one another closely.
        {
          method: operatorMethod('SnapshotSave'),
          request: {},
          decode: decodeSnapshotChunk,
          idleTimeoutMs: ctx.timeoutMs,
          firstMessageTimeoutMs: Math.max(ctx.timeoutMs, SNAPSHOT_FIRST_MESSAGE_MS),
          what: 'the snapshot',
        },
        (part) => assembler.add(part),
      );
      return assembler.finish();
    });
  }
}
