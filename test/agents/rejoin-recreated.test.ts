/**
 * An agent that lists a service it is no endpoint of, on a connection its controller does not look
 * at again (its publish went through whole before), joins when the service is created again: after
 * an operator's delete, another agent listing the same name creates it anew at its next connection.
 * Before, the serving controller never looked again until the agent reconnected, so its listing
 * stayed off; and from cluster version 0.9, where only endpoints keep an agents' service from
 * expiring (publisher-shares.ts keptByFor), the service then expired once the other agent left it,
 * while the agent was connected and still listed it (review of session 52's pinning merge).
 */
import t, { type Test } from 'tap';
import { ALLOWED_AGENTS_LABEL, MAX_APPLY_RESOURCES, MESH_TRANSITION_LOG_SIZE, meshKind, type ServiceResource } from '../../src/statemachine/index.js';
import { SimAgent, SimController, advance, host, meshStage } from './hub-harness.js';
import { apply, del, service } from '../statemachine/mesh-helpers.js';

const GRACE_MS = 30_000;
/** The leader sweeps every 10 s (mesh-duties.ts). */
const SWEEP_MS = 10_000;

const stage = (version: string): ReturnType<typeof meshStage> => meshStage(version, GRACE_MS);

function svcOf(c: SimController, name: string): ServiceResource | null {
  const r = c.sm.view(meshKind).get('service', name);
  return r?.kind === 'service' ? r : null;
}

for (const version of ['0.8', '0.9']) {
  void t.test(`at ${version} an agent whose service an operator deleted joins it when another agent creates it again, and keeps it after that one leaves`, async (t) => {
    const { log, clock, cs } = stage(version);
    const a = new SimAgent('a1', ['http'], 'a1-boot', { hosts: [host('api')] });
    const b = new SimAgent('b1', ['http'], 'b1-boot', { hosts: [host('api')] });
    a.connect(cs[0]);
    b.connect(cs[1]);
    advance(clock, cs, 3_000);
    t.same(svcOf(cs[0], 'api')?.status.endpoints?.map((e) => e.agent), ['a1', 'b1']);
    log.propose(del(clock.now, 'service', 'api'));
    advance(clock, cs, 3_000);
    t.equal(svcOf(cs[0], 'api'), null, "the operator's delete stands while no agent publishes anew");
    // a1 restarts: its publish creates api again, with a new VIP.
    a.disconnect();
    a.connect(cs[0]);
    // b1's controller looks again at its next reconcile round (state_sync_interval, 2 s).
    advance(clock, cs, 5_000);
    t.same(svcOf(cs[0], 'api')?.status.endpoints?.map((e) => e.agent), ['a1', 'b1'], 'b1 joins without reconnecting');
    const vip = svcOf(cs[0], 'api')?.status.vip;
    // a1 stops listing api: b1 serves it on, and it never expires.
    a.disconnect();
    a.decl = { ...a.decl, hosts: [] };
    a.connect(cs[0]);
    advance(clock, cs, 2 * GRACE_MS + 2 * SWEEP_MS, 250);
    t.match(svcOf(cs[0], 'api'), { status: { vip, endpoints: [{ agent: 'b1', healthy: true }] } }, 'kept, with its VIP, while b1 lists it');
    t.equal(b.controller, cs[1], 'b1 never reconnected');
    t.same(cs[0].sm.snapshot(), cs[1].sm.snapshot());
  });
}

/** a1 and b1, each on its own controller, host `api`, which an operator then deletes. */
function apiDeleted(t: Test): ReturnType<typeof stage> & { readonly agents: SimAgent[] } {
  const staged = stage('0.9');
  const { log, clock, cs } = staged;
  const agents = ['a1', 'b1'].map((id) => new SimAgent(id, ['http'], `${id}-boot`, { hosts: [host('api')] }));
  agents.forEach((a, i) => a.connect(cs[i]!));
  advance(clock, cs, 3_000);
  log.propose(del(clock.now, 'service', 'api'));
  advance(clock, cs, 3_000);
  t.equal(svcOf(cs[0], 'api'), null, 'api deleted');
  return { ...staged, agents };
}

void t.test("agents hosting a deleted service's name join it when an operator applies it anew, allowing them", async (t) => {
  const { log, clock, cs, agents } = apiDeleted(t);
  log.propose(apply(clock.now, service('api', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'a1,b1' })));
  advance(clock, cs, 5_000);
  t.same(svcOf(cs[0], 'api')?.status.endpoints?.map((e) => e.agent), ['a1', 'b1'], 'both join, without reconnecting');
  t.same(agents.map((a) => a.controller), [cs[0], cs[1]]);
});

void t.test("agents hosting a service created anew join it even when its controller read the mesh's transitions too late to see its creation", async (t) => {
  const { log, clock, cs, agents } = apiDeleted(t);
  // api created anew, then more services than the mesh's transition log keeps, before either
  // controller applies any of it: api's vip.assigned is compacted away when they read the log.
  log.propose(apply(clock.now, service('api', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'a1,b1' })));
  const filler = Array.from({ length: MESH_TRANSITION_LOG_SIZE + 1 }, (_, i) => service(`filler-${i}`));
  for (let i = 0; i < filler.length; i += MAX_APPLY_RESOURCES) log.propose(apply(clock.now, ...filler.slice(i, i + MAX_APPLY_RESOURCES)));
  advance(clock, cs, 5_000);
  t.ok(
    cs.every((c) => c.logs.some((m) => /mesh transitions were compacted away/.test(m))),
    'both controllers missed transitions',
  );
  t.same(svcOf(cs[0], 'api')?.status.endpoints?.map((e) => e.agent), ['a1', 'b1'], 'both join, without reconnecting');
  t.same(agents.map((a) => a.controller), [cs[0], cs[1]]);
});
