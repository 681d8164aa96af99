/**
 * The initial configuration a cluster is created from: `cluster.nodes`, each member's id and
 * address. Every initial member writes it as its first log entry, at the same index and term, so
 * Raft takes the entries for one: members started from files that disagree would hold different
 * first entries that Raft believes equal, and count votes over different voter sets. etcd keeps
 * them apart by deriving the cluster id from `--initial-cluster`; here a member about to
 * bootstrap compares its file with what each peer still in the cluster's creation bootstraps
 * from (startup-decision.ts), and refuses to start on a difference, naming it. Hosts started
 * together can both bootstrap before either answers: so every envelope also carries the digest of
 * the nodes its sender bootstrapped from, and a member refuses a peer whose digest differs from
 * its own (acceptance.ts), as etcd refuses a peer whose cluster id (derived from its
 * --initial-cluster) differs.
 */
import { createHash } from 'node:crypto';
import type { CreationDigest } from './types.js';

export interface InitialNode {
  readonly id: string;
  readonly address: string;
}

/** In id order, so two files listing the same members in another order are the same. */
export type InitialNodes = readonly InitialNode[];

/** Longest wire form accepted (a cluster file lists at most a few dozen members). */
export const MAX_INITIAL_NODES_CHARS = 65_536;

export function initialNodes(nodes: readonly InitialNode[]): InitialNodes {
  return nodes.map((n) => ({ id: n.id, address: n.address })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function sameInitialNodes(a: InitialNodes, b: InitialNodes): boolean {
  return a.length === b.length && a.every((n, i) => n.id === b[i]!.id && n.address === b[i]!.address);
}

/** What `theirs` says that `ours` does not, member by member, for an operator to act on. */
export function describeDifference(ours: InitialNodes, theirs: InitialNodes, peer: string): string {
  const mine = new Map(ours.map((n) => [n.id, n.address]));
  const other = new Map(theirs.map((n) => [n.id, n.address]));
  const parts: string[] = [];
  const onlyHere = ours.filter((n) => !other.has(n.id)).map((n) => n.id);
  const onlyThere = theirs.filter((n) => !mine.has(n.id)).map((n) => n.id);
  if (onlyHere.length > 0) parts.push(`${onlyHere.join(', ')} only here`);
  if (onlyThere.length > 0) parts.push(`${onlyThere.join(', ')} only at ${peer}`);
  for (const n of ours) {
    const there = other.get(n.id);
    if (there !== undefined && there !== n.address) parts.push(`${n.id} at ${n.address} here, at ${there} at ${peer}`);
  }
  return parts.join('; ');
}

/** What every envelope of a member that bootstrapped from `nodes` carries. */
export function creationDigest(nodes: InitialNodes): CreationDigest {
  return createHash('sha256').update(encodeInitialNodes(nodes)).digest('hex').slice(0, 16);
}

/** The wire form: a JSON array of [id, address] pairs. */
export function encodeInitialNodes(nodes: InitialNodes): string {
  return JSON.stringify(nodes.map((n) => [n.id, n.address]));
}

/** The wire form read back; '' (a peer of an older version, or none given) is null; a string says what was wrong. */
export function decodeInitialNodes(text: string): InitialNodes | null | string {
  if (text === '') return null;
  if (text.length > MAX_INITIAL_NODES_CHARS) return `nodes: expected at most ${MAX_INITIAL_NODES_CHARS} characters, found ${text.length}`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'nodes: expected a JSON array of [id, address] pairs, found text that does not parse';
  }
  if (!Array.isArray(v) || v.length === 0) return 'nodes: expected a non-empty JSON array of [id, address] pairs';
  const out: InitialNode[] = [];
  for (const item of v) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || typeof item[1] !== 'string' || item[0] === '') {
      return 'nodes: expected each item to be an [id, address] pair of strings';
    }
    out.push({ id: item[0], address: item[1] });
  }
  return initialNodes(out);
}
