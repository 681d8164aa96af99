/**
 * One push planned in steps: the merge of two manifests (diffManifests) and the JSON body of
 * the push (wire.ts pushBody), each resumed where the last step stopped. A whole configuration
 * of a big mesh (75,000 services, 12 MB) cost a controller 0.2-0.6 s of diff and encoding in one
 * go on its event loop; done in steps of a bounded number of entries, the loop serves its
 * heartbeats between two steps (fresh-plan-budget.ts says how many a pump may take).
 *
 * The body is byte for byte what pushBody writes: `{"upserts":[...],"removes":[...]}`, each
 * item JSON.stringify'd alone, as JSON.stringify writes an array's items.
 */
import { resourceJson, type Resource, type ResourceKey } from '../statemachine/index.js';
import type { Manifest } from './manifest.js';
import type { PushPlan, TargetResources } from './push-planner.js';

/** Encoded text is turned into bytes this many characters at a time (one copy at the end joins them). */
const TEXT_CHUNK_CHARS = 1024 * 1024;

const encoder = new TextEncoder();

type Phase = 'diff' | 'upserts' | 'removes' | 'done';

export interface PlannedPush {
  readonly plan: PushPlan;
  /** The plan's body, as pushBody(plan) would encode it. */
  readonly body: Uint8Array;
}

export class PlanJob {
  private phase: Phase = 'diff';
  private i = 0;
  private j = 0;
  private readonly removes: ResourceKey[] = [];
  private readonly upserts: Resource[] = [];
  private next = 0;
  private text: string[] = [];
  private textChars = 0;
  private readonly chunks: Uint8Array[] = [];
  private result: PlannedPush | null = null;

  /** `from` null: the push is the whole configuration. `resources`: the target's. */
  constructor(
    private readonly from: Manifest | null,
    readonly target: Manifest,
    private readonly resources: TargetResources,
  ) {}

  /** Done: the plan and its body. */
  get done(): PlannedPush | null {
    return this.result;
  }

  /**
   * Work on about `units` entries at most (one entry merged, or one resource or key encoded, is
   * a unit; the joining of the body's bytes at the end is one); the units spent, at least one.
   */
  step(units: number): number {
    let spent = 0;
    const budget = Math.max(1, units);
    while (this.result === null && spent < budget) {
      switch (this.phase) {
        case 'diff':
          spent += this.diff(budget - spent);
          break;
        case 'upserts':
          spent += this.encodeUpserts(budget - spent);
          break;
        case 'removes':
          spent += this.encodeRemoves(budget - spent);
          break;
        case 'done':
          this.finish();
          spent++;
          break;
      }
    }
    return spent;
  }

  /** One merge pass over the two sorted manifests, resumed at (i, j): diffManifests' rules. */
  private diff(units: number): number {
    const a = this.from?.entries ?? [];
    const b = this.target.entries;
    let spent = 0;
    while ((this.i < a.length || this.j < b.length) && spent < units) {
      spent++;
      const x = a[this.i];
      const y = b[this.j];
      if (y === undefined || (x !== undefined && x.key < y.key)) {
        this.removes.push(x!.key);
        this.i++;
      } else if (x === undefined || y.key < x.key) {
        this.upsert(this.j++);
      } else {
        if (x.revision !== y.revision) this.upsert(this.j);
        this.i++;
        this.j++;
      }
    }
    if (this.i >= a.length && this.j >= b.length) {
      this.phase = 'upserts';
      this.write('{"upserts":[');
    }
    return Math.max(1, spent);
  }

  /** The target's entry `index` is to be upserted: its resource, found by index (not a lookup by key of every upsert at the end, in one go). */
  private upsert(index: number): void {
    const r = this.resources.at(index);
    if (r === undefined) throw new Error(`invariant: ${this.target.entries[index]?.key} is in manifest ${this.target.id} but not among its resources`);
    this.upserts.push(r);
  }

  private encodeUpserts(units: number): number {
    const end = Math.min(this.upserts.length, this.next + units);
    for (let k = this.next; k < end; k++) this.write((k === 0 ? '' : ',') + JSON.stringify(resourceJson(this.upserts[k]!)));
    const spent = end - this.next;
    this.next = end;
    if (this.next >= this.upserts.length) {
      this.phase = 'removes';
      this.next = 0;
      this.write('],"removes":[');
    }
    return Math.max(1, spent);
  }

  private encodeRemoves(units: number): number {
    const end = Math.min(this.removes.length, this.next + units);
    for (let k = this.next; k < end; k++) this.write((k === 0 ? '' : ',') + JSON.stringify(this.removes[k]!));
    const spent = end - this.next;
    this.next = end;
    if (this.next >= this.removes.length) {
      this.write(']}');
      this.phase = 'done';
    }
    return Math.max(1, spent);
  }

  private finish(): void {
    this.flush();
    const plan: PushPlan = {
      baseVersion: this.from === null ? null : this.from.version,
      version: this.target.version,
      upserts: this.upserts,
      removes: this.removes,
      resources: this.target.size,
    };
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    this.result = { plan, body };
  }

  private write(s: string): void {
    this.text.push(s);
    this.textChars += s.length;
    if (this.textChars >= TEXT_CHUNK_CHARS) this.flush();
  }

  private flush(): void {
    if (this.text.length === 0) return;
    this.chunks.push(encoder.encode(this.text.join('')));
    this.text = [];
    this.textChars = 0;
  }
}
