/**
 * The protocols the mesh's services use, and whether an agent could run a configuration of them.
 * An agent that gets every service (not lazy) NACKs a configuration with a protocol it does not
 * speak; a publish that would bring one in is held back for it (publishing.ts). But an agent that
 * already cannot run the mesh as it is loses nothing by one more such service: it NACKs today's
 * configuration already. Before (attack round 16), it held every agent's new services back all the
 * same: one agent certificate that connected once declaring no protocol at all, then left, kept
 * every other agent from publishing a new service for as long as its record stayed (72 h, offline).
 */
import type { MeshView } from '../statemachine/index.js';

const computed = new WeakMap<MeshView, { readonly lastChange: number; readonly protocols: ReadonlySet<string> }>();

/** The protocols of the mesh's services now; computed again only after the mesh changes. */
export function protocolsInUse(mesh: MeshView): ReadonlySet<string> {
  const known = computed.get(mesh);
  if (known !== undefined && known.lastChange === mesh.lastChange) return known.protocols;
  const protocols = new Set<string>();
  for (const r of mesh.listOf('service')) if (r.kind === 'service') protocols.add(r.spec.protocol);
  computed.set(mesh, { lastChange: mesh.lastChange, protocols });
  return protocols;
}

/** Whether an agent speaking `protocols` can run a configuration using `inUse`. */
export function runsAll(protocols: readonly string[], inUse: ReadonlySet<string>): boolean {
  for (const p of inUse) if (!protocols.includes(p)) return false;
  return true;
}
