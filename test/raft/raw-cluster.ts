/**
 * Bootstrapped RawNodes on MemoryStorage, driven by hand: each Ready persisted, its messages
 * queued, its committed entries applied (normal ones recorded as text), until nothing moves.
 * For tests of the core alone, without RaftHost.
 */
import { bootstrapState, MemoryStorage, RawNode, type Message } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';

export interface RawMember {
  readonly id: string;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  /** The data of every normal entry applied, in order, as text. */
  readonly applied: string[];
}

export interface RawCluster {
  readonly nodes: readonly RawMember[];
  /** Handles every Ready, delivering queued messages (`deliver`) or holding them, until nothing moves. */
  pump(deliver?: boolean): void;
  /** Ticks and pumps until a node leads (at most 40 rounds); that node, or null. */
  elect(): RawMember | null;
  /** Messages queued and not yet delivered (optionally only those matching). */
  pending(match?: (m: Message) => boolean): Message[];
  /** Removes matching messages from the queue and returns them: lost unless delivered. */
  take(match: (m: Message) => boolean): Message[];
  /** Steps `m` into its destination now, then handles the Readies without delivering anything. */
  deliver(m: Message): void;
}

/** Voters `ids`, node i seeded i + 1; `maxUncommittedBytes` bounds each leader when given. */
export function rawCluster(ids: readonly string[], maxUncommittedBytes?: number): RawCluster {
  const nodes = ids.map((id, i): RawMember => {
    const storage = new MemoryStorage({ voters: [], learners: [] });
    const b = bootstrapState([...ids], '');
    storage.append([b.entry]);
    storage.setHardState(b.hardState);
    const node = new RawNode({
      id, storage, rng: seededRng(i + 1), electionTicks: 10, heartbeatTicks: 1, applied: 0,
      maxMessageBytes: 1 << 20, maxInflight: 64, maxApplyBytes: 1 << 20,
      ...(maxUncommittedBytes === undefined ? {} : { maxUncommittedBytes }),
    });
    return { id, node, storage, applied: [] };
  });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const queue: Message[] = [];
  const pump = (deliver = true): void => {
    for (let guard = 0; guard < 10000; guard++) {
      let progressed = false;
      for (const n of nodes) {
        while (n.node.hasReady()) {
          progressed = true;
          const rd = n.node.ready();
          if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
          n.storage.append(rd.entries);
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          queue.push(...rd.messages);
          for (const e of rd.committedEntries) {
            if (e.kind === 'normal') n.applied.push(new TextDecoder().decode(e.data));
            if (e.kind === 'conf') n.node.applyConfChange(e);
          }
          n.node.advance(rd);
        }
      }
      const m = deliver ? queue.shift() : undefined;
      if (m) {
        byId.get(m.to)!.node.step(m);
        progressed = true;
      }
      if (!progressed) return;
    }
  };
  const elect = (): RawMember | null => {
    pump();
    for (let i = 0; i < 40 && !nodes.some((n) => n.node.status().role === 'leader'); i++) {
      for (const n of nodes) n.node.tick();
      pump();
    }
    return nodes.find((n) => n.node.status().role === 'leader') ?? null;
  };
  const pending = (match: (m: Message) => boolean = () => true): Message[] => queue.filter(match);
  const take = (match: (m: Message) => boolean): Message[] => {
    const taken = queue.filter(match);
    const kept = queue.filter((m) => !match(m));
    queue.length = 0;
    queue.push(...kept);
    return taken;
  };
  const deliver = (m: Message): void => {
    byId.get(m.to)!.node.step(m);
    pump(false);
  };
  return { nodes, pump, elect, pending, take, deliver };
}
