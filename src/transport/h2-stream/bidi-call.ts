/**
 * One bidirectional-streaming gRPC call on an HTTP/2 stream, with the part of grpc-js's
 * ClientDuplexStream an agent uses: `write`, `cancel`, and the events `data` (a message),
 * `end` (status OK) and `error` (any other status, a StreamCallError). Exactly one of `end` and
 * `error` comes, after every `data`; none comes after `cancel`.
 */
import http2 from 'node:http2';
import { StreamCallError } from './call-error.js';
import { statusOfHeaders, statusOfHttp, statusOfReset, type CallStatus } from './call-status.js';
import { frameMessage, MessageReader } from './message-framing.js';
import { status } from './status-codes.js';
import { answeredInHttp2, NOT_HTTP2_DETAILS } from './spoke-http2.js';

export interface BidiCallListeners<Res> {
  data: (message: Res) => void;
  end: () => void;
  error: (err: StreamCallError) => void;
}

export interface MessageCodec<Req, Res> {
  readonly encode: (message: Req) => Buffer;
  /** Throws for bytes that are no message; the call then ends INTERNAL, as grpc-js ends a call whose answer it cannot deserialize. */
  readonly decode: (bytes: Buffer) => Res;
}

export class BidiCall<Req, Res> {
  private readonly listeners: { [E in keyof BidiCallListeners<Res>]: BidiCallListeners<Res>[E][] } = { data: [], end: [], error: [] };
  private readonly reader: MessageReader;
  /** Set once the call's outcome is known (a status, a failure, or our cancel): nothing is delivered after. */
  private settled = false;
  /** The status the server gave (trailers, or headers for a Trailers-Only answer). */
  private given: CallStatus | null = null;
  /** The response's HTTP status; 0 before the response. */
  private httpStatus = 0;
  private streamError: (Error & { code?: string }) | null = null;
  /** The stream's connection: its end is told apart from a reset by the server. */
  private readonly session: http2.Http2Session | undefined;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly codec: MessageCodec<Req, Res>,
    maxReceiveBytes: number,
  ) {
    this.reader = new MessageReader(maxReceiveBytes);
    this.session = stream.session;
    stream.on('response', (headers) => {
      this.httpStatus = Number(headers[':status'] ?? 0);
      this.given = statusOfHeaders(headers);
    });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('trailers', (trailers) => {
      this.given = statusOfHeaders(trailers) ?? { code: status.UNKNOWN, details: 'the trailers carry no grpc-status' };
    });
    stream.on('error', (err: Error & { code?: string }) => {
      this.streamError = err;
    });
    // The server's half ends with its status (END_STREAM on the trailers), after every message:
    // the call is over even while this side could still write, as for grpc-js. A half that ends
    // without a status is a reset or a lost connection, or a server that gave none: Node emits
    // 'end' before the stream's reset code is known, so the outcome waits for 'close'.
    stream.on('end', () => {
      if (this.given !== null || (this.httpStatus !== 0 && this.httpStatus !== 200)) this.onClose();
    });
    stream.on('close', () => this.onClose());
  }

  on<E extends keyof BidiCallListeners<Res>>(event: E, listener: BidiCallListeners<Res>[E]): this {
    this.listeners[event].push(listener);
    return this;
  }

  /** Sends one message; dropped once the call is over. */
  write(message: Req): void {
    if (this.settled || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(frameMessage(this.codec.encode(message)));
  }

  /** Ends the call from this side (RST_STREAM CANCEL); no event follows. */
  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private onData(chunk: Buffer): void {
    if (this.settled || this.httpStatus !== 200) return;
    let messages: Buffer[];
    let decoded: Res[];
    try {
      messages = this.reader.read(chunk);
      decoded = messages.map((m) => this.codec.decode(m));
    } catch (err) {
      const failure = err instanceof StreamCallError ? err : new StreamCallError(status.INTERNAL, `a message that does not decode: ${err instanceof Error ? err.message : String(err)}`);
      this.fail(failure);
      return;
    }
    for (const m of decoded) {
      for (const l of this.listeners.data) l(m);
      // A listener may have cancelled the call.
      if (this.settled) return;
    }
  }

  /** Ends the call here with `err` (the server's answer is not taken), and resets the stream. */
  private fail(err: StreamCallError): void {
    this.settled = true;
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    for (const l of this.listeners.error) l(err);
  }

  private onClose(): void {
    if (this.settled) return;
    this.settled = true;
    // Our half too: the stream is released (RST_STREAM NO_ERROR if still open).
    if (!this.stream.destroyed) this.stream.close();
    const outcome = this.outcome();
    if (outcome.code === status.OK) for (const l of this.listeners.end) l();
    else for (const l of this.listeners.error) l(new StreamCallError(outcome.code, outcome.details));
  }

  private outcome(): CallStatus {
    if (this.httpStatus !== 200 && this.httpStatus !== 0 && this.given === null) return statusOfHttp(this.httpStatus);
    if (this.given !== null) {
      if (this.given.code === status.OK && this.reader.midMessage) return { code: status.INTERNAL, details: 'the stream ended inside a message' };
      return this.given;
    }
    const err = this.streamError;
    if (err?.code === 'ERR_HTTP2_ERROR' && this.session !== undefined && !answeredInHttp2(this.session)) return { code: status.UNAVAILABLE, details: NOT_HTTP2_DETAILS };
    // A stream still pending when its connection failed carries the connection's error as its cause.
    if (err !== null && err.code !== 'ERR_HTTP2_STREAM_ERROR') return { code: status.UNAVAILABLE, details: err.cause instanceof Error ? err.cause.message : err.message };
    // A lost connection closes its streams with CANCEL of its own: no reset by the server, and
    // UNAVAILABLE as grpc-js says ("Connection dropped"), not CANCELLED.
    if (this.session === undefined || this.session.destroyed) return { code: status.UNAVAILABLE, details: 'the connection closed before the call had a status' };
    const rst = this.stream.rstCode;
    if (rst !== undefined && rst !== http2.constants.NGHTTP2_NO_ERROR) return statusOfReset(rst);
    // The server ended the stream (END_STREAM, or RST_STREAM NO_ERROR) and sent no status.
    return { code: status.INTERNAL, details: 'the server ended the call without a status' };
  }
}
