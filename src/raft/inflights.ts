/**
 * A bounded window of append messages in flight to one follower (etcd's tracker/inflights):
 * pipelining without flooding a slow follower. Each slot records the last index a message
 * carried; an acknowledgement frees every slot up to the acknowledged index.
 */
export class Inflights {
  private readonly slots: number[] = [];

  constructor(readonly capacity: number) {}

  full(): boolean {
    return this.slots.length >= this.capacity;
  }

  count(): number {
    return this.slots.length;
  }

  add(lastIndex: number): void {
    this.slots.push(lastIndex);
  }

  /** Frees every in-flight message whose last index is <= index. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.slots.length && this.slots[n]! <= index) n++;
    if (n > 0) this.slots.splice(0, n);
  }

  /** Frees the oldest in-flight message: its acknowledgement may have been lost (see onHeartbeatResp). */
  freeFirstOne(): void {
    this.slots.shift();
  }

  reset(): void {
    this.slots.length = 0;
  }
}
