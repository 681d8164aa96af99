/**
 * The mesh's kept size (src/statemachine/mesh-size.ts) over seeded changes of every sort the
 * kind applies: operators' applies and deletes (labels with non-ASCII values, which JSON and
 * UTF-8 write longer), agents' publishes, joins and leaves, observed dependencies, expiry and
 * forgotten records. After every step, `resourceBytes` is the real UTF-8 length of the resources'
 * JSON (within the one byte it counts over) and `snapshotLength()` bounds the real length of
 * `JSON.stringify(snapshot())`; a restored mesh keeps the same figures.
 */
import t from 'tap';
import { LISTER_SHARE_VERSION, PUBLISH_SHARE_VERSION, REFUSALS_ONCE_VERSION, StateMachine, meshKind, type KindCommand, type ResourceInput } from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { apply, claim, cluster, clusterVersion, del, forgetRecord, host, offline, publishOf, report, route, run, service } from './mesh-helpers.js';

const SEED = 41;
const STEPS = 600;

interface MeshKindInstance {
  snapshot(): unknown;
  snapshotLength(): number;
}

/** The mesh kind's own part of a real snapshot. */
function meshSnapshot(sm: StateMachine): { readonly text: string; readonly resources: string } {
  const body = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: Record<string, { resources: unknown[] }> };
  const mesh = body.kinds['mesh'] ?? { resources: [] };
  return { text: JSON.stringify(mesh), resources: JSON.stringify(mesh.resources) };
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.next() * xs.length)]!;
}

const NAMES = Array.from({ length: 30 }, (_, i) => `svc-${i}${i % 7 === 0 ? '.long-name-of-some-team.example' : ''}`);
const AGENTS = ['a1', 'agent-2.example.com', 'urn:agent:3', 'a4', 'a5'];

function labels(rng: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  const n = Math.floor(rng.next() * 4);
  for (let i = 0; i < n; i++) out[`k${Math.floor(rng.next() * 9)}`] = rng.next() < 0.3 ? 'é€😀"\\\n'.repeat(1 + Math.floor(rng.next() * 20)) : 'v'.repeat(Math.floor(rng.next() * 200));
  return out;
}

function someService(rng: Rng, name: string): ResourceInput {
  const ports = [...new Set(Array.from({ length: 1 + Math.floor(rng.next() * 5) }, () => 1 + Math.floor(rng.next() * 65535)))];
  return service(name, pick(rng, ['http', 'tcp', 'grpc']), ports, labels(rng));
}

// At the base level, and at PUBLISH_SHARE_VERSION, where the snapshot also names each published
// service's creator and the agent each quarantined address is charged to (publisher-shares.ts),
// and at LISTER_SHARE_VERSION, where it names the last lister of each service no agent lists, so
// every agents' service is charged to some agent, and at REFUSALS_ONCE_VERSION, where each agent's
// record names the services it was refused (refusal-marks.ts).
for (const version of [null, PUBLISH_SHARE_VERSION, LISTER_SHARE_VERSION, REFUSALS_ONCE_VERSION]) void t.test(`the mesh's kept size follows its changes and bounds its snapshot (seed ${SEED}, ${STEPS} steps, cluster version ${version ?? 'base'})`, async (t) => {
  const rng = seededRng(SEED);
  const sm = cluster({ 'services.vip_quarantine': 60_000, 'agents.dependency_ttl': 1_000 });
  if (version !== null) run(sm, clusterVersion(version));
  const mesh = sm.view(meshKind);
  const sessions = new Map<string, string>();
  let at = 1_000;
  let worst = 0;
  let checked = 0;
  const seen = { publishers: false, owned: false, refused: false };
  let unlistedChecked = 0;
  for (let step = 0; step < STEPS; step++) {
    at += Math.floor(rng.next() * 2_000);
    const r = rng.next();
    let command: KindCommand;
    if (r < 0.3) {
      const resources = Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => someService(rng, pick(rng, NAMES)));
      const names = new Set<string>();
      const unique = resources.filter((x) => !names.has(x.name) && (names.add(x.name), true));
      const existing = mesh.listOf('service').map((s) => s.name);
      if (existing.length >= 2 && rng.next() < 0.5) unique.push(route(`r-${Math.floor(rng.next() * 10)}`, pick(rng, existing), pick(rng, existing)));
      command = apply(at, ...unique);
    } else if (r < 0.45) {
      const all = mesh.list();
      if (all.length === 0) continue;
      const victim = pick(rng, all);
      command = del(at, victim.kind, victim.name);
    } else if (r < 0.75) {
      const agent = pick(rng, AGENTS);
      const session = `${agent}-s${step}`;
      run(sm, claim(agent, session, step + 1));
      sessions.set(agent, session);
      const hosts = [...new Set(Array.from({ length: Math.floor(rng.next() * 4) }, () => pick(rng, NAMES)))].map((n) => host(n, 'http', [80], rng.next() < 0.5 ? {} : { team: 'ü'.repeat(5) }));
      const dependencies = [...new Set(Array.from({ length: Math.floor(rng.next() * 3) }, () => pick(rng, NAMES)))];
      command = report(at, { publish: [publishOf(agent, session, hosts, { lazy: rng.next() < 0.5, dependencies })] });
    } else if (r < 0.9) {
      const agent = pick(rng, AGENTS);
      command = report(at, { usage: [{ agent, missed: [...new Set([pick(rng, NAMES), `unknown-${Math.floor(rng.next() * 50)}`])], used: [pick(rng, NAMES)] }] });
    } else if (r < 0.95) {
      command = report(at, { expire: true });
    } else {
      const agent = pick(rng, AGENTS);
      const session = sessions.get(agent);
      if (session === undefined) continue;
      run(sm, offline(agent, session));
      run(sm, forgetRecord(agent, session));
      command = report(at, { forget: [agent] });
    }
    run(sm, command);
    const real = meshSnapshot(sm);
    const kept = (sm as unknown as { stores: Map<string, MeshKindInstance> }).stores.get('mesh')!.snapshotLength();
    const bytes = Buffer.byteLength(real.resources);
    if (mesh.resourceBytes !== bytes && mesh.resourceBytes !== bytes + 1) t.fail(`step ${step}: resourceBytes ${mesh.resourceBytes}, the resources' JSON is ${bytes} bytes`);
    if (kept < real.text.length) t.fail(`step ${step}: snapshotLength ${kept} < the snapshot's ${real.text.length}`);
    worst = Math.max(worst, kept / real.text.length);
    checked++;
    seen.publishers ||= real.text.includes('"publishers":[[');
    seen.owned ||= /\["[0-9.]+",[0-9]+,"/.test(real.text);
    seen.refused ||= real.text.includes('"refused":[[');
    if (version === LISTER_SHARE_VERSION || version === REFUSALS_ONCE_VERSION) {
      for (const svc of mesh.listOf('service')) {
        if (svc.kind !== 'service' || !mesh.publishedSpec(svc.name) || (svc.status.endpoints?.length ?? 0) > 0) continue;
        unlistedChecked++;
        if (mesh.unlistedPayer(svc.name) === null) t.fail(`step ${step}: the agents' service ${svc.name} is listed by none and charged to no one`);
      }
    }
  }
  t.same(seen, { publishers: version !== null, owned: version !== null, refused: version === REFUSALS_ONCE_VERSION }, `creators and charged quarantines ${version === null ? 'never' : 'at some steps'} in the snapshot, refusals only from ${REFUSALS_ONCE_VERSION}`);
  t.ok(checked > STEPS / 2, `${checked} steps checked`);
  t.ok(mesh.size > 0 && mesh.declaredAgents().length > 0, `the mesh ends holding ${mesh.size} resources and ${mesh.declaredAgents().length} declarations`);
  t.ok(worst < 4, `the bound stays within 4x of the snapshot (worst ${worst.toFixed(2)})`);
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  const rm = restored.view(meshKind);
  t.equal(rm.resourceBytes, mesh.resourceBytes, 'a restored mesh counts the same resource bytes');
  const kind = (m: StateMachine): number => (m as unknown as { stores: Map<string, MeshKindInstance> }).stores.get('mesh')!.snapshotLength();
  t.equal(kind(restored), kind(sm), 'and the same snapshot bound');
  if (version === REFUSALS_ONCE_VERSION) t.same(restored.snapshot(), sm.snapshot(), 'the restored mesh writes the same snapshot, refusals marked included');
  if (version === LISTER_SHARE_VERSION) t.ok(unlistedChecked > 0, `${unlistedChecked} times an agents' service listed by none was charged to its last lister`);
  if (version !== null) {
    const rule = version === PUBLISH_SHARE_VERSION ? 'creations' : 'listings';
    const held = (m: StateMachine): number[] => AGENTS.map((a) => m.view(meshKind).heldBy(a, rule, 60_000, at));
    t.same(held(restored), held(sm), `and charges each agent the same (${held(sm).join(', ')})`);
  }
});

void t.test("the state machine keeps the mesh's size instead of serializing it to measure", async (t) => {
  const sm = cluster();
  run(sm, apply(1_000, ...Array.from({ length: 50 }, (_, i) => service(`s${i}`, 'http', [80], { big: 'x'.repeat(200) }))));
  const { kept } = sm.snapshotLength();
  const mesh = sm.view(meshKind);
  t.ok(kept >= mesh.resourceBytes, `kept (${kept}) counts the mesh (${mesh.resourceBytes} bytes of resources)`);
  const before = kept;
  t.ok(run(sm, apply(2_000, service('one-more', 'http', [80], { big: 'y'.repeat(250) }))).ok, 'one more service applied');
  t.ok(sm.snapshotLength().kept > before + 250, 'and grows with it, no measuring needed');
});
