/**
 * What a client request asked for, kept beside its cached answer in the dedup table (dedup.ts)
 * so that a seq reused for a *different* request is refused instead of acknowledged with the
 * first one's answer (attack 28 F7: a put of raw/B "succeeded" with raw/A's revision and was
 * never written). A retry of the same request (the client library re-sends the same ref) must
 * print the same, so only what the client chose goes in: never what the leader adds when it
 * proposes (a mesh command's `at`, a forget's controller and session).
 *
 * Computed in apply from the decoded command alone: every replica prints alike.
 */
import { createHash } from 'node:crypto';
import type { AgentsReport } from './agents.js';
import { CONTROLLER_CLIENT_ID_PREFIX, type ClientTag } from './command.js';
import type { KvCommand } from './kv.js';
import type { MeshCommand } from './mesh-commands.js';
import { canonicalSpec, resourceKey, type ResourceInput } from './mesh-types.js';
import type { KindCommand } from './resource-kind.js';

export interface RequestPrint {
  /** Hex digest of the request's identity: equal for a retry, different for another request. */
  readonly hash: string;
  /** The request in a few words, for the refusal: `a put of "raw/A"`. */
  readonly what: string;
}

/** Digest length in hex characters: 128 bits, far beyond any chance clash within one client seq. */
const HASH_CHARS = 32;
/** The longest description kept: it is replicated state, in every snapshot (10,000 clients). */
export const MAX_WHAT_CHARS = 256;
const QUOTED_CHARS = 64;
const NAMED_RESOURCES = 3;

function quote(key: string): string {
  return JSON.stringify(key.length > QUOTED_CHARS ? `${key.slice(0, QUOTED_CHARS)}...` : key);
}

function print(what: string, identity: unknown, bytes?: Uint8Array): RequestPrint {
  const h = createHash('sha256').update(JSON.stringify(identity));
  // The JSON is one complete value, so where it ends and the bytes begin is never ambiguous.
  if (bytes !== undefined) h.update(bytes);
  const short = what.length > MAX_WHAT_CHARS ? `${what.slice(0, MAX_WHAT_CHARS - 3)}...` : what;
  return { hash: h.digest('hex').slice(0, HASH_CHARS), what: short };
}

function resourceIdentity(r: ResourceInput): unknown {
  const labels = Object.keys(r.labels)
    .sort()
    .map((k) => [k, r.labels[k]]);
  return [r.kind, r.name, canonicalSpec(r), labels];
}

function names(resources: readonly ResourceInput[]): string {
  const shown = resources.slice(0, NAMED_RESOURCES).map((r) => resourceKey(r.kind, r.name));
  const more = resources.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function kvPrint(c: KvCommand): RequestPrint {
  const condition = c.ifRevision ?? null;
  if (c.op === 'put') return print(`a put of ${quote(c.key)}`, ['kv', 'put', c.key, condition, c.value.byteLength], c.value);
  return print(`a delete of ${quote(c.key)}`, ['kv', 'delete', c.key, condition]);
}

function meshPrint(c: MeshCommand): RequestPrint {
  switch (c.op) {
    case 'apply':
      return print(`an apply of ${names(c.resources)}`, ['mesh', 'apply', c.resources.map(resourceIdentity)]);
    case 'delete':
      return print(`a delete of ${resourceKey(c.type, c.name)}`, ['mesh', 'delete', c.type, c.name]);
    case 'report': {
      const { at: _at, ...rest } = c;
      return print(`a mesh report of ${quote(c.controller)}`, rest);
    }
    default: {
      const never: never = c;
      return never;
    }
  }
}

/** An operator's `ctl delete agent` is an agents report of one forget; only the ids and ops are the client's. */
function agentsPrint(c: AgentsReport): RequestPrint {
  const ids = c.entries.slice(0, NAMED_RESOURCES).map((e) => quote(e.id));
  const what = c.entries.every((e) => e.op === 'forget') ? `a forget of agent ${ids.join(', ')}` : `an agents report of ${quote(c.controller)}`;
  return print(what, ['agents', c.entries.map((e) => [e.op, e.id])]);
}

/**
 * The print of `command` under `client`; null for the controllers' own report ids, which by
 * design re-send a seq with fewer entries when some went offline meanwhile (hub-driver.ts):
 * either attempt may commit, and the first answer stands for both.
 */
export function requestPrint(command: KindCommand, client: ClientTag): RequestPrint | null {
  if (client.id.startsWith(CONTROLLER_CLIENT_ID_PREFIX)) return null;
  switch (command.kind) {
    case 'kv':
      return kvPrint(command as KvCommand);
    case 'mesh':
      return meshPrint(command as MeshCommand);
    case 'agents':
      return agentsPrint(command as AgentsReport);
    default: {
      // No client API command of another kind carries a client ref today; print it whole.
      const op = (command as { readonly op?: unknown }).op;
      return print(`a ${command.kind}${typeof op === 'string' ? ` ${op}` : ''} command`, command);
    }
  }
}

/** The refusal of a seq reused for another request; null when `now` is the request `first` was. */
export function reuseProblem(client: ClientTag, first: RequestPrint, now: RequestPrint | null): string | null {
  if (now === null || now.hash === first.hash) return null;
  const id = JSON.stringify(client.id.length > QUOTED_CHARS ? `${client.id.slice(0, QUOTED_CHARS)}...` : client.id);
  const differs = now.what === first.what ? `${first.what} with other contents` : `${first.what}, not ${now.what}`;
  return `seq ${client.seq} of client ${id} was ${differs}: a new request needs a new seq (a retry re-sends the same request); nothing applied`;
}
