/**
 * The bytes of large client writes a server takes in per turn of its event loop. A write's
 * handling copies its value more than once (the command, the log entry, the batch to disk), and
 * grpc-js hands every request that arrived in one read of the socket to its handler in the same
 * turn: 60 puts of 1 MB from one client held a leader's loop for a second on a loaded host, no
 * heartbeat or answer left meanwhile, and it lost its term or refused writes as cut off from its
 * quorum (attack round 11). Past `bytesPerTurn` in one turn, a write waits for a later turn, in
 * arrival order, so timers and sockets have their turn in between. Writes below `smallBytes`
 * never wait: they cost less than their own gRPC call.
 */
export const WRITE_BYTES_PER_TURN = 4 * 1024 * 1024;
export const SMALL_WRITE_BYTES = 64 * 1024;

export class WriteTurns {
  private readonly waiting: Array<{ readonly bytes: number; readonly go: () => void }> = [];
  /** Bytes of large writes let through in the current turn. */
  private used = 0;
  private armed = false;

  constructor(
    /** Runs `fn` in a later turn, after I/O (setImmediate). */
    private readonly soon: (fn: () => void) => void,
    private readonly bytesPerTurn = WRITE_BYTES_PER_TURN,
    private readonly smallBytes = SMALL_WRITE_BYTES,
  ) {}

  /** Writes waiting for a later turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** null: handle the write now; otherwise a promise that resolves in the turn it may be handled. */
  admit(bytes: number): Promise<void> | null {
    if (bytes < this.smallBytes) return null;
    if (this.waiting.length === 0 && (this.used === 0 || this.used + bytes <= this.bytesPerTurn)) {
      this.used += bytes;
      this.arm();
      return null;
    }
    return new Promise((go) => {
      this.waiting.push({ bytes, go });
      this.arm();
    });
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.soon(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.armed = false;
    this.used = 0;
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      if (this.used > 0 && this.used + w.bytes > this.bytesPerTurn) break;
      this.waiting.shift();
      this.used += w.bytes;
      w.go();
    }
    if (this.used > 0) this.arm();
  }
}
