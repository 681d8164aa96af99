/**
 * `controller.max_mesh_bytes`: the mesh's services and routes, as the JSON a full push to an agent
 * carries, stay below it, so that one push stays cheap to serialize on a controller's event loop
 * (a 62 MiB mesh took 1.5 s per push and deposed a leader). As the quota (state-quota.ts), it is
 * checked before proposing: the leader refuses an apply that would grow the mesh past it
 * (NO_SPACE, nothing applied), and a controller holds back an agent's publish that would. Deletes
 * and applies that do not grow the mesh always pass, so an operator can always make room.
 *
 * Why before proposing is enough: the bound protects the controllers' event loops, not an
 * invariant of the log, so the state machine need not judge it (and a local key needs no cluster
 * version to reach every replica alike). What can pass it is only what is in flight at once:
 * applies (each at most MAX_APPLY_BYTES) and publishes proposed before the ones ahead of them
 * are applied; the mesh's size is read from the applied state, kept as it changes, at no cost.
 */
import { applyGrowth, type MeshView, type ResourceInput } from '../statemachine/index.js';
import client from 'prom-client';
import { ServiceFailure } from './service-error.js';

export class MeshBound {
  /** Applies refused for the bound since the process started (publishes are counted by the hub). */
  appliesRefused = 0;

  constructor(
    readonly maxBytes: number,
    private readonly mesh: () => MeshView,
  ) {}

  /** The mesh's resources as a full push's JSON, in UTF-8 bytes. */
  used(): number {
    return this.mesh().resourceBytes;
  }

  /** Why `growth` more bytes do not fit; null when they do (or the mesh does not grow). */
  refusal(growth: number): string | null {
    if (growth <= 0) return null;
    const used = this.used();
    if (used + growth <= this.maxBytes) return null;
    return `the mesh would pass its bound (about ${used} bytes of controller.max_mesh_bytes ${this.maxBytes}, and this adds ${growth})`;
  }

  /** Throws NO_SPACE, counted, when applying `resources` would take the mesh past the bound. */
  checkApply(resources: readonly ResourceInput[]): void {
    const mesh = this.mesh();
    const reason = this.refusal(applyGrowth(resources, (kind, name) => mesh.get(kind, name)));
    if (reason === null) return;
    this.appliesRefused++;
    const what = `apply of ${resources.length} resource${resources.length === 1 ? '' : 's'}`;
    throw new ServiceFailure('NO_SPACE', `${what} refused, nothing applied: ${reason}; delete services or routes, or raise controller.max_mesh_bytes on every controller`);
  }

}

/** The bound's gauges and counter on the node's registry. */
export function registerMeshBoundMetrics(bound: MeshBound, registry: client.Registry): void {
  new client.Gauge({ name: 'mesh_size_bytes', help: "The mesh's services and routes as one push's JSON (UTF-8 bytes), applied here.", registers: [registry], collect() { this.set(bound.used()); } });
  new client.Gauge({ name: 'mesh_max_bytes', help: 'controller.max_mesh_bytes: applies and publishes that would take mesh_size_bytes past it are refused or held back.', registers: [registry], collect() { this.set(bound.maxBytes); } });
  new client.Counter({
    name: 'mesh_applies_refused_total',
    help: 'Applies this controller refused (NO_SPACE) because they would take the mesh past controller.max_mesh_bytes.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(bound.appliesRefused);
    },
  });
}
