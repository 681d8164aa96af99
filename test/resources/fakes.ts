/** In-memory ports for the resources gatherer: a cache, members that answer as told, timers fired by hand. */
import type { CacheEntry } from '../../src/resources/cache-entry.js';
import type { CacheRead, ResourcesCacheStore } from '../../src/resources/cache-store.js';
import { ResourcesError } from '../../src/resources/errors.js';
import type { MachineReading, ResourceMember, StaticResources } from '../../src/resources/types.js';
import type { Timer } from '../../src/util/clock.js';

export class MemoryCache implements ResourcesCacheStore {
  readonly entries = new Map<string, CacheEntry | 'corrupt'>();
  writes: string[] = [];

  async read(member: string): Promise<CacheRead> {
    const e = this.entries.get(member);
    if (e === undefined) return { kind: 'missing' };
    if (e === 'corrupt') return { kind: 'corrupt', reason: `${member}.json: not JSON` };
    return { kind: 'found', entry: e };
  }

  async write(entry: CacheEntry): Promise<void> {
    this.writes.push(entry.member);
    this.entries.set(entry.member, entry);
  }

  async retainOnly(members: ReadonlySet<string>): Promise<void> {
    for (const id of [...this.entries.keys()]) if (!members.has(id)) this.entries.delete(id);
  }
}

/** Timers that fire only when the test says so. */
export class ManualTimers {
  now = 1_700_000_000_000;
  private readonly pending = new Set<{ at: number; fn: () => void }>();

  wallClockMs(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): Timer {
    const t = { at: this.now + ms, fn };
    this.pending.add(t);
    return { cancel: () => this.pending.delete(t) };
  }

  /** Moves time on and fires what is due. */
  advance(ms: number): void {
    this.now += ms;
    for (const t of [...this.pending]) {
      if (t.at <= this.now) {
        this.pending.delete(t);
        t.fn();
      }
    }
  }

  get waiting(): number {
    return this.pending.size;
  }
}

export function machine(cpus: number, flags: readonly string[]): StaticResources {
  return { cpus, cpuModel: `Model ${cpus}`, cpuFlags: [...flags].sort(), memoryBytes: cpus * 1024 ** 3 };
}

export type Behaviour = { kind: 'answer'; static: StaticResources } | { kind: 'down' } | { kind: 'garbage' } | { kind: 'silent' };

/** Members that answer as their behaviour says; every call is recorded. */
export class FakeMembers {
  readonly behaviour = new Map<string, Behaviour>();
  readonly calls: Array<{ id: string; includeStatic: boolean }> = [];
  readAt = 1_700_000_000_000;

  constructor(private readonly clockNow: () => number) {}

  fetch = (member: ResourceMember, includeStatic: boolean): Promise<MachineReading> => {
    this.calls.push({ id: member.id, includeStatic });
    const b = this.behaviour.get(member.id) ?? { kind: 'down' };
    switch (b.kind) {
      case 'answer':
        return Promise.resolve({
          static: includeStatic ? b.static : null,
          live: { diskFreeBytes: 1e9, loadAverage: [0.5, 0.25, 0.125], readAt: this.clockNow() },
        });
      case 'down':
        return Promise.reject(new ResourcesError('UNREACHABLE', `${member.id} at ${member.address}: UNAVAILABLE: connection refused`));
      case 'garbage':
        return Promise.reject(new ResourcesError('INVALID_ANSWER', `${member.id} at ${member.address}: field "cpus" must be in [1, 65536], found 0`));
      case 'silent':
        return new Promise(() => undefined);
    }
  };

  staticCalls(id?: string): number {
    return this.calls.filter((c) => c.includeStatic && (id === undefined || c.id === id)).length;
  }
}
