/**
 * For each agent, the process (boot id) whose record a claim by another process of the agent
 * replaced (from cluster version SUPERSEDED_PROCESS_VERSION). While the agent is online, a claim
 * by that process loses: it is either late (a connection of a process since restarted, whose
 * claim waited in the report of a controller the leader did not hear) or a second live process
 * with the agent's id returning after the other took over. Before, such a claim committed after
 * the restarted process's own and took the agent from it: its controller closed the live stream
 * as taken over, and the agent was reported offline on a controller it had left (agents
 * simulation, seed 631).
 *
 * A restarted process never returns with its old boot id (each process draws its own), so no
 * live process of the agent is ever refused by this: only the one the record moved away from,
 * and only while the agent is online under another.
 */
import { Fields, type ErrorFactory } from '../util/untrusted.js';
import { MAX_BOOT_BYTES, parseAgentId } from './agent-records.js';

/** `,"superseded":[]`: what the table adds to the agents kind's snapshot besides its entries. */
const FIELD_LENGTH = ',"superseded":[]'.length;

const entryLength = (id: string, boot: string): number => JSON.stringify(id).length + JSON.stringify(boot).length + 3;

export class SupersededBoots {
  private readonly boots = new Map<string, string>();
  /** The entries' JSON lengths summed, as written in a snapshot. */
  private entriesLength = 0;

  get size(): number {
    return this.boots.size;
  }

  get(id: string): string | null {
    return this.boots.get(id) ?? null;
  }

  set(id: string, boot: string): void {
    this.delete(id);
    this.boots.set(id, boot);
    this.entriesLength += entryLength(id, boot);
  }

  delete(id: string): void {
    const old = this.boots.get(id);
    if (old === undefined) return;
    this.boots.delete(id);
    this.entriesLength -= entryLength(id, old);
  }

  /** [id, boot] pairs sorted by id, for a snapshot; absent (undefined) when empty, as before the level. */
  snapshot(): [string, string][] | undefined {
    if (this.boots.size === 0) return undefined;
    return [...this.boots].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** What snapshot() adds to the kind's snapshot JSON, in UTF-16 units. */
  snapshotLength(): number {
    return this.boots.size === 0 ? 0 : FIELD_LENGTH + this.entriesLength + this.boots.size - 1;
  }

  /** Restores a snapshot's pairs: ids strictly increasing, each naming a record. */
  restore(value: unknown, hasRecord: (id: string) => boolean, makeError: ErrorFactory): void {
    this.boots.clear();
    this.entriesLength = 0;
    if (value === undefined) return;
    if (!Array.isArray(value)) throw makeError(`agents: superseded: expected a list, found ${typeof value}`);
    let previous: string | null = null;
    for (const [i, item] of (value as readonly unknown[]).entries()) {
      const where = `agents: superseded[${i}]`;
      if (!Array.isArray(item) || item.length !== 2) throw makeError(`${where}: expected [agent id, boot id]`);
      const f = Fields.of({ id: item[0], boot: item[1] }, where, makeError);
      const id = parseAgentId(f, 'id');
      const boot = f.string('boot', { nonEmpty: true, maxBytes: MAX_BOOT_BYTES });
      if (previous !== null && !(previous < id)) f.fail(`ids must be strictly increasing, found ${JSON.stringify(id)} after ${JSON.stringify(previous)}`);
      if (!hasRecord(id)) f.fail(`agent ${JSON.stringify(id)} has no record`);
      previous = id;
      this.set(id, boot);
    }
  }
}
