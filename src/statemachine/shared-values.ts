/**
 * One copy of the values many agent records repeat: the strings a controller's claims share
 * ("connected to c1", its id) and the lists most agents declare alike (["http", "tcp"], []).
 * Each report is parsed afresh, so without this every record would hold its own copies.
 *
 * Bounded: after MAX_SHARED distinct values it shares only those it holds and returns any
 * other value as it is (correct either way; only the memory differs). The values are frozen:
 * a shared list must never change under another record.
 */
import type { AgentInfo } from './agent-records.js';

/** Distinct strings, and distinct lists, held for sharing. */
export const MAX_SHARED = 1024;

const EMPTY: readonly string[] = Object.freeze([]);

export class SharedValues {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  string(s: string): string {
    const held = this.strings.get(s);
    if (held !== undefined) return held;
    if (this.strings.size < MAX_SHARED) this.strings.set(s, s);
    return s;
  }

  /** An equal list held already, or this one (frozen copy, held when there is room). */
  list(names: readonly string[]): readonly string[] {
    if (names.length === 0) return EMPTY;
    // Names are validated identifiers (no newline), so the join is a faithful key.
    const key = names.join('\n');
    const held = this.lists.get(key);
    if (held !== undefined) return held;
    if (this.lists.size >= MAX_SHARED) return names;
    const copy = Object.freeze([...names]);
    this.lists.set(key, copy);
    return copy;
  }

  /** The agent's declaration with its lists shared. */
  info(info: AgentInfo): AgentInfo {
    return { protocols: this.list(info.protocols), lazy: info.lazy, dependencies: this.list(info.dependencies), hosts: this.list(info.hosts) };
  }
}
