/**
 * For each agent online or offline, when the stream of the claim its record holds was admitted,
 * on its controller's clock (from cluster version CLAIM_ORDER_VERSION). A claim by another
 * process of the agent whose stream was admitted before that one loses while the agent is online:
 * it comes from a process the holder's replaced (a restarted agent's old connection, claimed late
 * by a controller the leader did not hear), or from a second live process that connected earlier;
 * either way the newer stream holds the agent, as a takeover means. Before, the claim committed
 * last won, and an old connection's claim waiting in an unheard controller's report took a
 * restarted agent from its live process: its controller closed the live stream as taken over and
 * the agent was shown offline (agents simulation, seed 5301219). superseded-boots.ts sees only a
 * process whose claim committed before it was replaced; this sees one whose claim never did.
 *
 * Controllers' clocks differ by their skew (milliseconds under NTP, more after a step): so the
 * clocks decide only between streams admitted concurrently with the holder's claim. Each holder
 * also keeps `since`, the agents' transition seq once its claim applied, and a claim says what
 * its controller had applied when it admitted the stream (`seen`): one admitted by a controller
 * that had applied the holder's claim is newer than it, whatever the clocks say. Before, a
 * restarted agent on a controller whose clock was behind its old one's lost to its old
 * process's record, was refused as a second process, and stayed off until that record went
 * offline (agents simulation with skewed clocks, seed 37 at --skew 1000).
 *
 * A claim built before its controller applied the raise to CLAIM_ORDER_VERSION says neither, and
 * may commit after it (a report held by a controller the leader did not hear). From
 * UNORDERED_CLAIM_VERSION such a claim of another process loses too while the agent is online on
 * a claim that says when its stream was admitted: the log cannot tell it newer, and a newer
 * process it lost to claims again, ordered, at its controller's next reconcile round (the hub
 * refuses a stream only when its own admission is before the holder's). Before, it took the
 * agent, and the process holding it was refused as a second one until the old record went
 * offline (agents simulation, seed 337 --lossy: about 6 s around the raise; there the old stream
 * had closed, and the hub now leaves such a claim out, hub.ts withoutGoneClaims, but a stream
 * still open on its controller, half-open say, is claimed).
 */
import { Fields, type ErrorFactory } from '../util/untrusted.js';
import { MAX_OPENED_MS, parseAgentId } from './agent-records.js';

/** `,"opened":[]`: what the table adds to the agents kind's snapshot besides its entries. */
const FIELD_LENGTH = ',"opened":[]'.length;

/** The holder's claim: when its stream was admitted, and the transition seq once it applied. */
export interface ClaimOpening {
  readonly at: number;
  readonly since: number;
}

/** `["id",at,since]` */
const entryLength = (id: string, o: ClaimOpening): number => JSON.stringify(id).length + String(o.at).length + String(o.since).length + 4;

/**
 * Whether a claim of another process, admitted at `opened` by a controller that had applied the
 * agents' transitions up to `seen` (undefined: not said), was admitted before `holder`'s.
 */
export function admittedBeforeHolder(opened: number, seen: number | undefined, holder: ClaimOpening): boolean {
  return opened < holder.at && (seen === undefined || seen < holder.since);
}

/**
 * Whether a claim of another process loses to `holder`'s (null: a holder whose claim said nothing
 * of its admission, which orders nothing): admitted before it, or, with `unordered` (from
 * UNORDERED_CLAIM_VERSION), saying nothing of its own admission.
 */
export function claimBeforeHolder(opened: number | undefined, seen: number | undefined, holder: ClaimOpening | null, unordered: boolean): boolean {
  if (holder === null) return false;
  return opened === undefined ? unordered : admittedBeforeHolder(opened, seen, holder);
}

export class ClaimOpenings {
  private readonly opened = new Map<string, ClaimOpening>();
  /** The entries' JSON lengths summed, as written in a snapshot. */
  private entriesLength = 0;

  get size(): number {
    return this.opened.size;
  }

  get(id: string): ClaimOpening | null {
    return this.opened.get(id) ?? null;
  }

  set(id: string, at: number, since: number): void {
    this.delete(id);
    const o = { at, since };
    this.opened.set(id, o);
    this.entriesLength += entryLength(id, o);
  }

  delete(id: string): void {
    const old = this.opened.get(id);
    if (old === undefined) return;
    this.opened.delete(id);
    this.entriesLength -= entryLength(id, old);
  }

  /** [id, ms, since] triples sorted by id, for a snapshot; absent (undefined) when empty, as before the level. */
  snapshot(): [string, number, number][] | undefined {
    if (this.opened.size === 0) return undefined;
    return [...this.opened].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id, o]) => [id, o.at, o.since]);
  }

  /** What snapshot() adds to the kind's snapshot JSON, in UTF-16 units. */
  snapshotLength(): number {
    return this.opened.size === 0 ? 0 : FIELD_LENGTH + this.entriesLength + this.opened.size - 1;
  }

  /** Restores a snapshot's triples: ids strictly increasing, each naming a record, since at most `maxSeq` (the kind's transition seq). */
  restore(value: unknown, hasRecord: (id: string) => boolean, maxSeq: number, makeError: ErrorFactory): void {
    this.opened.clear();
    this.entriesLength = 0;
    if (value === undefined) return;
    if (!Array.isArray(value)) throw makeError(`agents: opened: expected a list, found ${typeof value}`);
    let previous: string | null = null;
    for (const [i, item] of (value as readonly unknown[]).entries()) {
      const where = `agents: opened[${i}]`;
      if (!Array.isArray(item) || item.length !== 3) throw makeError(`${where}: expected [agent id, time, since]`);
      const f = Fields.of({ id: item[0], at: item[1], since: item[2] }, where, makeError);
      const id = parseAgentId(f, 'id');
      const at = f.int('at', { min: 0, max: MAX_OPENED_MS });
      const since = f.int('since', { min: 0, max: maxSeq });
      if (previous !== null && !(previous < id)) f.fail(`ids must be strictly increasing, found ${JSON.stringify(id)} after ${JSON.stringify(previous)}`);
      if (!hasRecord(id)) f.fail(`agent ${JSON.stringify(id)} has no record`);
      previous = id;
      this.set(id, at, since);
    }
  }
}
