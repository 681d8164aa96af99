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
 * Controllers' clocks differ by their skew (milliseconds under NTP): two processes of one agent
 * admitted within it may be taken in either order, as two claims committing at once always were.
 */
import { Fields, type ErrorFactory } from '../util/untrusted.js';
import { MAX_OPENED_MS, parseAgentId } from './agent-records.js';

/** `,"opened":[]`: what the table adds to the agents kind's snapshot besides its entries. */
const FIELD_LENGTH = ',"opened":[]'.length;

const entryLength = (id: string, at: number): number => JSON.stringify(id).length + String(at).length + 3;

export class ClaimOpenings {
  private readonly opened = new Map<string, number>();
  /** The entries' JSON lengths summed, as written in a snapshot. */
  private entriesLength = 0;

  get size(): number {
    return this.opened.size;
  }

  get(id: string): number | null {
    return this.opened.get(id) ?? null;
  }

  set(id: string, at: number): void {
    this.delete(id);
    this.opened.set(id, at);
    this.entriesLength += entryLength(id, at);
  }

  delete(id: string): void {
    const old = this.opened.get(id);
    if (old === undefined) return;
    this.opened.delete(id);
    this.entriesLength -= entryLength(id, old);
  }

  /** [id, ms] pairs sorted by id, for a snapshot; absent (undefined) when empty, as before the level. */
  snapshot(): [string, number][] | undefined {
    if (this.opened.size === 0) return undefined;
    return [...this.opened].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** What snapshot() adds to the kind's snapshot JSON, in UTF-16 units. */
  snapshotLength(): number {
    return this.opened.size === 0 ? 0 : FIELD_LENGTH + this.entriesLength + this.opened.size - 1;
  }

  /** Restores a snapshot's pairs: ids strictly increasing, each naming a record. */
  restore(value: unknown, hasRecord: (id: string) => boolean, makeError: ErrorFactory): void {
    this.opened.clear();
    this.entriesLength = 0;
    if (value === undefined) return;
    if (!Array.isArray(value)) throw makeError(`agents: opened: expected a list, found ${typeof value}`);
    let previous: string | null = null;
    for (const [i, item] of (value as readonly unknown[]).entries()) {
      const where = `agents: opened[${i}]`;
      if (!Array.isArray(item) || item.length !== 2) throw makeError(`${where}: expected [agent id, time]`);
      const f = Fields.of({ id: item[0], at: item[1] }, where, makeError);
      const id = parseAgentId(f, 'id');
      const at = f.int('at', { min: 0, max: MAX_OPENED_MS });
      if (previous !== null && !(previous < id)) f.fail(`ids must be strictly increasing, found ${JSON.stringify(id)} after ${JSON.stringify(previous)}`);
      if (!hasRecord(id)) f.fail(`agent ${JSON.stringify(id)} has no record`);
      previous = id;
      this.set(id, at);
    }
  }
}
