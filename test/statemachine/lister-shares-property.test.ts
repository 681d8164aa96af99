/**
 * Cluster version 0.9's shares (publisher-shares.ts, rule 'listings') under random churn from
 * fixed seeds: agents publishing sliding sets of up to 256 names (created, joined, left), the
 * leader expiring what no agent lists, agents forgotten and claiming again, an operator deleting
 * and adopting services, the quarantine shortened and lengthened. After every entry no agent
 * holds past MAX_SERVICES_PER_AGENT; every agents' service no agent lists is charged to one, and
 * the agents' services and their quarantined VIPs never outnumber what is charged (k
 * certificates hold at most k times the bound); a replica restored from a snapshot holds the
 * same bytes and counts the same. Raised from 0.8 mid-way, the charges hold from the raise on.
 */
import t from 'tap';
import { MAX_SERVICES_PER_AGENT, StateMachine, agentsKind, meshKind, type HostedService, type ServiceResource } from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { apply, claim, cluster, clusterVersion, del, forgetRecord, host, offline, outcome, publishOf, report, run, service, setSetting } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;
const AGENTS = ['a', 'b', 'c'];
const POOL = Array.from({ length: 5_000 }, (_, i) => `n${String(i).padStart(4, '0')}`);
const QUARANTINES = [60 * MINUTE, 5 * MINUTE, 20 * MINUTE];

interface MeshSnapshot {
  readonly published: readonly string[];
  readonly publishers?: readonly (readonly [string, string])[];
  readonly allocator: { readonly quarantine: readonly (readonly [string, number, string?])[] };
  readonly resources: readonly { readonly kind: string; readonly name: string; readonly status: { readonly endpoints?: readonly unknown[] } }[];
}

const meshSnapshot = (sm: StateMachine): MeshSnapshot => (JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: { mesh: MeshSnapshot } }).kinds.mesh;

class Churn {
  readonly sm = cluster({ 'services.vip_cidr': '10.0.0.0/16' });
  private readonly sessions = new Map<string, number>();
  now = T0;
  quarantineMs = QUARANTINES[0]!;
  refused = 0;

  constructor(
    private readonly rng: Rng,
    version: string,
  ) {
    run(this.sm, clusterVersion(version));
    for (const a of AGENTS) this.claim(a, 1);
  }

  held(agent: string): number {
    return this.sm.view(meshKind).heldBy(agent, 'listings', this.quarantineMs, this.now);
  }

  step(): void {
    this.now += this.rng.int(0, 9) * MINUTE;
    const agent = AGENTS[this.rng.int(0, AGENTS.length)]!;
    const session = `${agent}-${this.sessions.get(agent)}`;
    const r = this.rng.next();
    const services = (): ServiceResource[] => this.sm.view(meshKind).listOf('service') as ServiceResource[];
    if (r < 0.6) {
      const start = this.rng.int(0, POOL.length - 256);
      const list: HostedService[] = POOL.slice(start, start + this.rng.int(0, 257)).map((n) => (this.rng.next() < 0.02 ? host(n, 'tcp', [9]) : host(n)));
      this.refused += outcome(run(this.sm, report(this.now, { publish: [publishOf(agent, session, list)] }))).refused;
    } else if (r < 0.7) {
      run(this.sm, report(this.now, { expireServices: this.sm.view(meshKind).unlistedPublished('endpoints').slice(0, 256) }));
    } else if (r < 0.75) {
      if (this.sm.view(agentsKind).get(agent) !== null) {
        run(this.sm, offline(agent, session));
        run(this.sm, forgetRecord(agent, session));
        run(this.sm, report(this.now, { forget: [agent] }));
      }
      this.claim(agent, this.sessions.get(agent)! + 1);
    } else if (r < 0.82) {
      const all = services();
      if (all.length > 0) run(this.sm, del(this.now, 'service', all[this.rng.int(0, all.length)]!.name));
    } else if (r < 0.86) {
      const all = services();
      const s = all[this.rng.int(0, Math.max(all.length, 1))];
      if (s !== undefined) run(this.sm, apply(this.now, service(s.name, s.spec.protocol, [...s.spec.ports])));
    } else if (r < 0.88) {
      this.quarantineMs = QUARANTINES[this.rng.int(0, QUARANTINES.length)]!;
      run(this.sm, setSetting('services.vip_quarantine', this.quarantineMs));
    }
  }

  private claim(agent: string, n: number): void {
    this.sessions.set(agent, n);
    run(this.sm, claim(agent, `${agent}-${n}`));
  }
}

/** What the charges must cover, from the snapshot: null when they do, else what is wrong. */
function uncovered(c: Churn): string | null {
  const mesh = meshSnapshot(c.sm);
  const payers = new Set((mesh.publishers ?? []).map(([name]) => name));
  const published = new Set(mesh.published);
  for (const r of mesh.resources) {
    if (r.kind === 'service' && published.has(r.name) && (r.status.endpoints ?? []).length === 0 && !payers.has(r.name)) return `${r.name}: no agent lists it and none is charged for it`;
  }
  const quarantined = mesh.allocator.quarantine.filter(([, releasedAt, owner]) => owner !== undefined && releasedAt + c.quarantineMs > c.now).length;
  const charged = AGENTS.reduce((n, a) => n + c.held(a), 0);
  return mesh.published.length + quarantined > charged ? `${mesh.published.length} agents' services and ${quarantined} quarantined VIPs, ${charged} charged` : null;
}

function restoredAlike(c: Churn): boolean {
  const replica = new StateMachine();
  replica.restore(c.sm.snapshot());
  if (!Buffer.from(replica.snapshot()).equals(Buffer.from(c.sm.snapshot()))) return false;
  return AGENTS.every((a) => replica.view(meshKind).heldBy(a, 'listings', c.quarantineMs, c.now) === c.held(a));
}

void t.test('from 0.9: within the bound, every VIP charged, restored alike, under churn', async (t) => {
  for (const seed of [1]) {
    const c = new Churn(seededRng(seed), '0.9');
    let most = 0;
    const faults: string[] = [];
    for (let i = 0; i < 200; i++) {
      c.step();
      for (const a of AGENTS) {
        const h = c.held(a);
        most = Math.max(most, h);
        if (h > MAX_SERVICES_PER_AGENT) faults.push(`step ${i}: ${a} holds ${h}`);
      }
      if (i % 10 !== 9) continue;
      const wrong = uncovered(c);
      if (wrong !== null) faults.push(`step ${i}: ${wrong}`);
      if (!restoredAlike(c)) faults.push(`step ${i}: a restored replica differs`);
    }
    t.same(faults.slice(0, 5), [], `seed ${seed}`);
    t.equal(most, MAX_SERVICES_PER_AGENT, `seed ${seed}: some agent reached its share`);
    t.ok(c.refused > 0, `seed ${seed}: hosts were refused (${c.refused})`);
  }
});

void t.test('raised from 0.8 mid-way: every VIP charged and restored alike from the raise on', async (t) => {
  const c = new Churn(seededRng(3), '0.8');
  const faults: string[] = [];
  for (let i = 0; i < 160; i++) {
    if (i === 80) run(c.sm, clusterVersion('0.9'));
    c.step();
    if (i < 80 || i % 10 !== 9) continue;
    const wrong = uncovered(c);
    if (wrong !== null) faults.push(`step ${i}: ${wrong}`);
    if (!restoredAlike(c)) faults.push(`step ${i}: a restored replica differs`);
  }
  t.same(faults.slice(0, 5), []);
});
