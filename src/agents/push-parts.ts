/**
 * A big push crosses a slow link in parts. A gRPC message is delivered whole, and everything
 * written after it on the stream waits behind it: over a link below 1 Mbit/s a configuration of
 * megabytes outlasted the agent's watchdog and our heartbeat timeout alike (push-transfer.ts
 * gives a push time only down to that rate), the agent reconnected and was sent it all again,
 * for ever. Sent in parts of PUSH_PART_BYTES, written one at a time as the link takes them
 * (hub-driver.ts), pings go between the parts, every part is news to the agent's watchdog, and
 * its pongs keep reaching us: a push then takes as long as the link needs, at any rate at which
 * one part crosses within a heartbeat timeout.
 *
 * On the wire (proto/agent.proto): PUSH_PART messages carry the first slices of the body, the
 * PUSH that ends them the last slice, every other field, and how many parts came before it.
 * Only agents whose hello says `push_parts` are sent parts; others get the push whole.
 */
import { MalformedMessageError } from './errors.js';
import type { ControllerMessageWire } from './wire.js';

/** One part crosses a 64 kbit/s link in 2 s, the shortest heartbeat timeout of the defaults. */
export const PUSH_PART_BYTES = 16 * 1024;

/** The body's slices, each at most `partBytes` (views, not copies); one slice when it fits one part. */
export function bodySlices(body: Uint8Array, partBytes: number = PUSH_PART_BYTES): Uint8Array[] {
  if (!(partBytes > 0)) throw new Error(`invariant: partBytes must be positive, found ${partBytes}`);
  const slices: Uint8Array[] = [];
  for (let at = 0; at < body.byteLength; at += partBytes) slices.push(body.subarray(at, Math.min(at + partBytes, body.byteLength)));
  return slices.length === 0 ? [body] : slices;
}

/**
 * The agent's side: parts are held until the PUSH that ends them, which must count them
 * exactly; their total is bounded as a whole push is (the channel's receive limit). Anything
 * else between parts (a ping) passes through. One per stream: a new stream starts empty.
 */
export class PushAssembler {
  private parts: Uint8Array[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A PUSH_PART arrived. */
  add(w: ControllerMessageWire): void {
    if (w.body.byteLength === 0) throw new MalformedMessageError('push part: expected a slice of a push body, found none');
    if (this.bytes + w.body.byteLength > this.maxBytes) {
      throw new MalformedMessageError(`push parts: expected at most ${this.maxBytes} bytes in all, found ${this.bytes + w.body.byteLength} before the push that ends them`);
    }
    this.parts.push(w.body);
    this.bytes += w.body.byteLength;
  }

  /** A PUSH arrived: whole, with the parts before it joined to its body. */
  complete(w: ControllerMessageWire): ControllerMessageWire {
    const held = this.parts.length;
    if (w.parts !== held) throw new MalformedMessageError(`push: expected it to end ${held} part(s), it says ${w.parts}`);
    if (held === 0) return w;
    if (this.bytes + w.body.byteLength > this.maxBytes) throw new MalformedMessageError(`push parts: expected at most ${this.maxBytes} bytes in all, found ${this.bytes + w.body.byteLength}`);
    const body = Buffer.concat([...this.parts, w.body]);
    this.parts = [];
    this.bytes = 0;
    return { ...w, body, parts: 0 };
  }

  /** Bytes of parts held for a push still to come. */
  get heldBytes(): number {
    return this.bytes;
  }
}
