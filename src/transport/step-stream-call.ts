/**
 * A link's StepStream call: batches out, acks in. Opened through grpc-js's client; once the
 * peer's response headers came, acks are read and batches written at the call's bottom
 * (client-call.ts) instead of through grpc-js's per-message layers, with the same bytes on the
 * wire. Until then, and for good after anything out of the ordinary, through grpc-js as before:
 * the first batches (until the headers came and the peer acked each batch grpc-js took), a batch
 * past the channel's send limit (grpc-js refuses it RESOURCE_EXHAUSTED), an ack compressed or
 * that does not decode (grpc-js ends the call with its own status). Statuses, deadlines,
 * cancellation and the stream's end are grpc-js's throughout.
 */
import type * as grpc from '@grpc/grpc-js';
import type { OutgoingBatch } from './batch-codec.js';
import { clientCallBottom, type ClientCallBottom } from './client-call.js';
import { grpcFramed } from './message-frames.js';
import { stepMethod } from './peer-methods.js';

/** A StepAck as the link reads it: the reply unchecked. */
export interface StepAck {
  readonly reply: Readonly<Record<string, unknown>> | null;
}

export interface StepStreamHandlers {
  readonly onAck: (ack: StepAck) => void;
  readonly onError: (err: grpc.ServiceError) => void;
  readonly onEnd: () => void;
}

/** Acks and batches that went through grpc-js's layers, over every link of a transport. */
export interface StepStreamCounts {
  acksReadByGrpc: number;
  batchesWrittenByGrpc: number;
}

export class StepStreamCall {
  private readonly call: grpc.ClientDuplexStream<unknown, unknown>;
  private readonly method = stepMethod('StepStream');
  /** The call's bottom once the headers came; null before, and without one. */
  private bottom: ClientCallBottom | null = null;
  /** Batches handed to grpc-js whose write has not completed: the bottom writes only at none. */
  private writesOnGrpc = 0;
  /**
   * Batches handed to grpc-js, and acks read, on this call. A completed write is not enough: the
   * retrying call answers a write it buffered at once, while it still holds the message behind
   * an earlier one, so a batch written below it then went ahead of that one. The peer acks each
   * batch in order; once it acked every batch grpc-js took, none of them is left in grpc-js.
   */
  private batchesToGrpc = 0;
  private acksRead = 0;
  /** Writes stay on grpc-js for good (a batch grpc-js must refuse went that way). */
  private writesByGrpc = false;
  private writeBottom: ClientCallBottom | null = null;

  /** `maxSendBytes`: the channel's grpc.max_send_message_length (-1: none). */
  constructor(
    client: grpc.Client,
    private readonly maxSendBytes: number,
    private readonly counts: StepStreamCounts,
    handlers: StepStreamHandlers,
  ) {
    const m = this.method;
    const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    this.call = call;
    call.on('metadata', () => this.headersCame(handlers.onAck));
    call.on('data', (ack: StepAck) => {
      counts.acksReadByGrpc += 1;
      this.ackRead();
      handlers.onAck(ack);
    });
    call.on('error', handlers.onError);
    call.on('end', handlers.onEnd);
  }

  write(batch: OutgoingBatch): void {
    const bottom = this.writeBottom;
    if (bottom !== null) {
      const bytes = this.method.requestSerialize(batch);
      if (this.maxSendBytes === -1 || bytes.byteLength <= this.maxSendBytes) {
        bottom.write(grpcFramed(bytes));
        return;
      }
      this.writesByGrpc = true;
      this.writeBottom = null;
    }
    this.counts.batchesWrittenByGrpc += 1;
    this.batchesToGrpc += 1;
    this.writesOnGrpc += 1;
    this.call.write(batch, () => {
      this.writesOnGrpc -= 1;
      this.takeWrites();
    });
  }

  cancel(): void {
    this.call.cancel();
  }

  private headersCame(onAck: (ack: StepAck) => void): void {
    const bottom = clientCallBottom(this.call);
    if (bottom === null) return;
    this.bottom = bottom;
    bottom.takeMessages((framed) => {
      // grpc-js's path reads the flag: a compressed ack is its to refuse.
      if (framed[0] !== 0) return false;
      let ack: StepAck;
      try {
        ack = this.method.responseDeserialize(framed.subarray(5)) as StepAck;
      } catch {
        return false;
      }
      this.ackRead();
      onAck(ack);
      return true;
    });
    this.takeWrites();
  }

  /** Counted before the link hears of it: the batch it writes on this ack may go below. */
  private ackRead(): void {
    this.acksRead += 1;
    this.takeWrites();
  }

  /** Moves the writes to the bottom once grpc-js holds none of them (the peer acked each). */
  private takeWrites(): void {
    const noneOnGrpc = this.writesOnGrpc === 0 && this.acksRead >= this.batchesToGrpc;
    if (this.bottom !== null && this.writeBottom === null && !this.writesByGrpc && noneOnGrpc) this.writeBottom = this.bottom;
  }
}
