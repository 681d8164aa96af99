/**
 * The server streams that never end by themselves (watches, audit follows). A stopping
 * controller ends them with SHUTTING_DOWN naming itself, as the agent stream does, so the client
 * knows to move on; without it they were reset at the server's forced shutdown, and the client
 * could not tell that from being cut off for reading too slowly.
 */
export class OpenStreams {
  private readonly ends = new Set<(reason: string) => void>();
  private stopping: string | null = null;

  /** Registers a stream's end; returns what unregisters it. A stream opened while stopping ends at once. */
  add(end: (reason: string) => void): () => void {
    if (this.stopping !== null) {
      end(this.stopping);
      return () => undefined;
    }
    this.ends.add(end);
    return () => void this.ends.delete(end);
  }

  /** Ends every open stream and every one opened later with `reason`. */
  endAll(reason: string): void {
    this.stopping = reason;
    const ends = [...this.ends];
    this.ends.clear();
    for (const end of ends) end(reason);
  }

  get size(): number {
    return this.ends.size;
  }
}
