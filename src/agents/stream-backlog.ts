/**
 * What the driver wrote to one agent stream that the transport has not taken yet: a write's
 * callback comes once HTTP/2 took the message, which flow control holds until the agent reads.
 *
 * An agent has one push in flight and is sent the next only after its reply (push-tracker.ts),
 * and it can reply only to a push it received, so an honest agent never has more than one push
 * waiting here: by the time a push after its reply is written, the one before has gone. An agent
 * that does not read its stream, but answers pushes it never received (a NACK needs only the
 * nonce, which counts up) and keeps its stream "heard" with made-up pongs, would otherwise have
 * every push kept in the controller's memory: one such stream took a controller from 91 MB to
 * 761 MB in 15 s of configuration changes (attack round 13); now it is ended after 4 pushes.
 * HTTP/2 takes about 15 writes of any size before flow control holds them (snapshot-save.ts), so
 * such a stream still holds those and the two pushes counted here. Pings alone pile up the same way,
 * slowly, while a push too slow to arrive holds them back: bounded by count, far above any push's
 * transfer.
 */

/** Pushes the transport has not taken; the next push past them ends the stream. */
export const MAX_UNSENT_PUSHES = 2;
/** Other messages (pings) the transport has not taken: over 40 minutes of pings at 4 a second. */
export const MAX_UNSENT_OTHERS = 10_000;

export class StreamBacklog {
  private pushes = 0;
  private others = 0;

  /** Why a push may not be written now (the agent does not read what it is sent), or null. */
  beforePush(): string | null {
    if (this.pushes < MAX_UNSENT_PUSHES) return null;
    return `the agent has not read its stream: ${this.pushes} pushes written to it are still unsent (flow control), yet it answered them; ended rather than kept in memory`;
  }

  /** A push is written: call what it returns once the transport took it (all of its parts). */
  pushWritten(): () => void {
    this.pushes++;
    let taken = false;
    return () => {
      if (taken) return;
      taken = true;
      this.pushes--;
    };
  }

  /** Another message is written: call what it returns once the transport took it. */
  otherWritten(): () => void {
    this.others++;
    let taken = false;
    return () => {
      if (taken) return;
      taken = true;
      this.others--;
    };
  }

  /** Why the stream must end now that other messages pile up unread, or null. */
  othersOverrun(): string | null {
    if (this.others <= MAX_UNSENT_OTHERS) return null;
    return `the agent has not read its stream: ${this.others} messages written to it are still unsent (flow control); ended rather than kept in memory`;
  }
}
