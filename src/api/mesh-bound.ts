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
 * version to reach every replica alike). The mesh's size is read from the applied state, kept
 * as it changes, at no cost; what is proposed and not yet applied is reserved here, so applies
 * sent at once cannot all pass on the same room (40 concurrent applies took a 1 MiB bound to
 * 3.7 MiB before). Each controller reserves the publishes it proposes for its own agents, so
 * those of several controllers together may pass the bound by what each had room for; and a
 * new leader does not know its predecessor's applies in flight.
 */
import { applyGrowth, type MeshView, type ResourceInput } from '../statemachine/index.js';
import client from 'prom-client';
import { ServiceFailure } from './service-error.js';

export class MeshBound {
  /** Applies refused for the bound since the process started (publishes are counted by the hub). */
  appliesRefused = 0;
  /** Growth of the applies and publishes proposed here and not yet applied or given up. */
  private reserved = 0;

  constructor(
    readonly maxBytes: number,
    private readonly mesh: () => MeshView,
  ) {}

  /** The mesh's resources as a full push's JSON, in UTF-8 bytes. */
  used(): number {
    return this.mesh().resourceBytes;
  }

  /** Why `growth` more bytes do not fit beside what is applied and reserved; null when they do (or the mesh does not grow). */
  refusal(growth: number): string | null {
    if (growth <= 0) return null;
    const used = this.used();
    if (used + this.reserved + growth <= this.maxBytes) return null;
    const inFlight = this.reserved > 0 ? `, ${this.reserved} more proposed and not yet applied` : '';
    return `the mesh would pass its bound (about ${used} bytes of controller.max_mesh_bytes ${this.maxBytes}${inFlight}, and this adds ${growth})`;
  }

  /**
   * Holds `growth` bytes of room until `settled` settles (the proposal applied, or given up), so
   * that what is proposed meanwhile is judged with it. Nothing for a change that does not grow.
   */
  reserve<T>(growth: number, settled: Promise<T>): Promise<T> {
    if (growth <= 0) return settled;
    this.reserved += growth;
    const release = (): void => {
      this.reserved -= growth;
    };
    settled.then(release, release);
    return settled;
  }

  /**
   * Proposes an apply with `propose` unless applying `resources` would take the mesh past the
   * bound (NO_SPACE, counted, nothing proposed); its growth is reserved until it settles.
   */
  async guardApply<T>(resources: readonly ResourceInput[], propose: () => Promise<T>): Promise<T> {
    const mesh = this.mesh();
    const growth = applyGrowth(resources, (kind, name) => mesh.get(kind, name));
    const reason = this.refusal(growth);
    if (reason !== null) {
      this.appliesRefused++;
      const what = `apply of ${resources.length} resource${resources.length === 1 ? '' : 's'}`;
      throw new ServiceFailure('NO_SPACE', `${what} refused, nothing applied: ${reason}; delete services or routes, or raise controller.max_mesh_bytes on every controller`);
    }
    return this.reserve(growth, propose());
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
