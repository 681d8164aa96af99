/**
 * `GetResources` without a limit (`ctl` pages, other clients may not): the whole kind in one
 * answer, built and handed out in bounded pieces across turns of the event loop.
 *
 * Before (attack round 15, a 3-member TLS cluster on 2 busy cores, a mesh of 75,000 services):
 * 30 concurrent unpaged listings of its 10 MB held the leader's loop 0.9-1.5 s, and it lost its
 * term or answered "cut off from a quorum". The time went to the answers' serialization: every
 * listing waiting on the same read barrier resumed in one turn, and each copied its 10 MB three
 * times (protobuf, a needless Buffer.from, gRPC's framing), 30 of them back to back; and to the
 * JSON of the whole kind (0.1 s and more), built in one go after every change of the mesh.
 *
 * Now the JSON is written a slice of resources per turn, once per mesh and kind however many
 * listings wait for it, and large answers are handed to the transport at most about
 * BYTES_PER_TURN a turn (always one), oldest first, so the loop reads the peers' heartbeats
 * between two of them. The answer is the one the whole list gives (the same bytes), at the
 * revision read with that list.
 */
import { resourceJson, type MeshView, type Resource, type ResourceType } from '../statemachine/index.js';

/** Resources written into the JSON per turn: about 0.6 MB, a few milliseconds. */
export const RESOURCES_PER_SLICE = 5_000;
/** Answers of at least this size wait for their turn; smaller ones go at once. */
export const LARGE_ANSWER_BYTES = 1024 * 1024;
/** Bytes of large answers handed to the transport per turn of the loop (one answer at least). */
export const BYTES_PER_TURN = 4 * 1024 * 1024;

/** Runs `f` in a later turn of the event loop, after its I/O (setImmediate). */
export type NextTurn = (f: () => void) => void;

const nextImmediate: NextTurn = (f) => void setImmediate(f);

/** Large answers released a bounded number of bytes per turn, oldest first. */
export class AnswerTurns {
  private readonly waiting: { readonly bytes: number; readonly go: () => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly bytesPerTurn: number = BYTES_PER_TURN,
    private readonly nextTurn: NextTurn = nextImmediate,
  ) {}

  /** Resolves in a later turn, once the answers before it went. */
  wait(bytes: number): Promise<void> {
    return new Promise((go) => {
      this.waiting.push({ bytes, go });
      this.schedule();
    });
  }

  /** Answers waiting for their turn. */
  get size(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    this.nextTurn(() => {
      this.scheduled = false;
      let released = 0;
      while (this.waiting.length > 0 && (released === 0 || released + this.waiting[0]!.bytes <= this.bytesPerTurn)) {
        const next = this.waiting.shift()!;
        released += next.bytes;
        next.go();
      }
      this.schedule();
    });
  }
}

/** One kind's whole list as the JSON an unpaged answer carries, written a slice per turn. */
async function listingJson(sorted: readonly Resource[], nextTurn: NextTurn, perSlice: number): Promise<Buffer> {
  const chunks: Buffer[] = [Buffer.from('[')];
  for (let at = 0; at < sorted.length; at += perSlice) {
    if (at > 0) await new Promise<void>((go) => nextTurn(go));
    const slice = sorted.slice(at, at + perSlice).map((r) => JSON.stringify(resourceJson(r)));
    chunks.push(Buffer.from((at > 0 ? ',' : '') + slice.join(',')));
  }
  chunks.push(Buffer.from(']'));
  return Buffer.concat(chunks);
}

export interface UnpagedListingOptions {
  readonly nextTurn?: NextTurn;
  readonly resourcesPerSlice?: number;
  readonly turns?: AnswerTurns;
}

/** The unpaged answers of one controller. */
export class UnpagedListings {
  // Keyed by the mesh's sorted list: the same object until the mesh changes.
  private readonly built = new WeakMap<readonly Resource[], Map<ResourceType, Promise<Buffer>>>();
  private readonly nextTurn: NextTurn;
  private readonly perSlice: number;
  private readonly turns: AnswerTurns;

  constructor(
    private readonly mesh: () => MeshView,
    private readonly revision: () => number,
    opts: UnpagedListingOptions = {},
  ) {
    this.nextTurn = opts.nextTurn ?? nextImmediate;
    this.perSlice = opts.resourcesPerSlice ?? RESOURCES_PER_SLICE;
    this.turns = opts.turns ?? new AnswerTurns(BYTES_PER_TURN, this.nextTurn);
  }

  /** Every resource of `type`, by name, as JSON, and the revision of the state it shows. */
  async answer(type: ResourceType): Promise<{ readonly resources: Buffer; readonly revision: number }> {
    const all = this.mesh().list();
    // Read with the list: the list is this state's (the mesh did not change since, or it would be another list).
    const revision = this.revision();
    let byType = this.built.get(all);
    if (byType === undefined) this.built.set(all, (byType = new Map()));
    let json = byType.get(type);
    if (json === undefined) byType.set(type, (json = listingJson(all.filter((r) => r.kind === type), this.nextTurn, this.perSlice)));
    const resources = await json;
    if (resources.byteLength >= LARGE_ANSWER_BYTES) await this.turns.wait(resources.byteLength);
    return { resources, revision };
  }
}
