/**
 * The mesh's size, kept as it changes so that nothing has to serialize the mesh to know it:
 *
 * - `resourceBytes`: the UTF-8 length of the JSON list of every service and route, exactly as a
 *   snapshot and a full push carry them (resourceJson). `controller.max_mesh_bytes` bounds it.
 * - `snapshotLength()`: an upper bound of the mesh kind's snapshot JSON, in UTF-16 units (what
 *   V8's string limit and controller.quota_bytes count), so StateMachine.snapshotLength() need not
 *   serialize the mesh every few seconds. UTF-8 bytes are never fewer than UTF-16 units, so the
 *   resources' bytes bound their characters; numbers that change without a change of size here
 *   (times, revisions, counters) are counted at their widest.
 */
import type { AgentDeclaration } from './mesh-declarations.js';
import type { HostAction } from './mesh-publish.js';
import { marksLength } from './refusal-marks.js';
import { contentKey, resourceJson, statusOf, type Resource, type ResourceInput, type ResourceType, type ServiceResource } from './mesh-types.js';

/** The widest JSON number the mesh writes (a safe integer), and a separator. */
const NUMBER = 17;


/** UTF-8 bytes of `s` (no copy: counts code units, a surrogate pair is 4 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** A resource's share of the resources list: its JSON's UTF-8 bytes and the comma after it. */
export function resourceSize(r: Resource): number {
  return utf8Length(JSON.stringify(resourceJson(r))) + 1;
}

/** An upper bound of one declaration's snapshot record (DeclarationBook.snapshot), comma included. */
export function declarationLength(d: AgentDeclaration): number {
  // {"agent":,"lazy":false,"hosts":[],"dependencies":[],"observed":[],"revision":,"publishWrites":,"publishRevisions":}
  let n = 120 + 3 * NUMBER + JSON.stringify(d.agent).length;
  for (const h of d.hosts) n += h.length + 3;
  for (const h of d.dependencies) n += h.length + 3;
  // ["name",since,lastUsed,false],
  for (const name of d.observed.keys()) n += name.length + 12 + 2 * NUMBER;
  return n + marksLength(d.refused);
}

/** An upper bound of a quarantined address in the allocator's snapshot: ["255.255.255.255",time], */
export const QUARANTINE_ENTRY_LENGTH = 22 + NUMBER;

/**
 * The snapshot's fixed part: field names, lastChange, clock, transitionSeq, the allocator's
 * range and cursor (each at most 32 characters, checked at restore), brackets.
 */
export const MESH_SNAPSHOT_FIXED_LENGTH = 200 + 3 * NUMBER + 2 * 34;


/** The widest status a new service gets: a VIP of 15 characters and one endpoint (a publish). */
const WIDEST_VIP = '255.255.255.255';

/** What `resources` would add to `resourceBytes` if applied now (negative: they shrink it). */
export function applyGrowth(resources: readonly ResourceInput[], current: (kind: ResourceType, name: string) => Resource | null): number {
  let growth = 0;
  for (const r of resources) {
    const old = current(r.kind, r.name);
    if (old !== null && contentKey(old) === contentKey(r)) continue;
    growth += resourceSize(stored(r, old)) - (old === null ? 0 : resourceSize(old));
  }
  return growth;
}

/** `r` as apply would store it: the status kept (or a new VIP), at the widest revision. */
function stored(r: ResourceInput, old: Resource | null): Resource {
  if (r.kind === 'route') return { kind: 'route', name: r.name, spec: r.spec, labels: r.labels, status: {}, revision: Number.MAX_SAFE_INTEGER };
  const status = old?.kind === 'service' ? old.status : statusOf(WIDEST_VIP, []);
  return { kind: 'service', name: r.name, spec: r.spec, labels: r.labels, status, revision: Number.MAX_SAFE_INTEGER };
}

/** An endpoint's share of a service: `{"agent":"id","healthy":false},` and the list's field, at most. */
function endpointLength(agent: string): number {
  return JSON.stringify(agent).length + 28 + 16;
}

/** What an agent's publish plan would add to `resourceBytes` (negative: it shrinks it). */
export function publishGrowth(agent: string, hosts: readonly HostAction[], leave: readonly string[], service: (name: string) => ServiceResource | null): number {
  let growth = 0;
  for (const h of hosts) {
    switch (h.type) {
      case 'create':
        growth += resourceSize({ kind: 'service', ...h.host, status: statusOf(WIDEST_VIP, [{ agent, healthy: false }]), revision: Number.MAX_SAFE_INTEGER });
        break;
      case 'configure': {
        const old = service(h.host.name)!;
        growth += resourceSize({ kind: 'service', ...h.host, status: old.status, revision: Number.MAX_SAFE_INTEGER }) - resourceSize(old) + (h.join ? endpointLength(agent) : 0);
        break;
      }
      case 'join':
        growth += endpointLength(agent) + NUMBER;
        break;
      case 'keep':
      case 'refuse':
        break;
      default: {
        const never: never = h;
        return never;
      }
    }
  }
  // A leave drops the endpoint; counted as the endpoint's JSON without the list it may leave empty.
  return growth - leave.length * (JSON.stringify(agent).length + 26);
}
