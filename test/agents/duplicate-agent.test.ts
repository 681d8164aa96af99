/**
 * Two processes run with one agent id (a unit copied to a second host with its --id, a cloned
 * VM): each took the id from the other every 5 s, for ever. Measured (attack-operator round 15,
 * two real agents declaring `api` on 8080 and 9090): the service's port flipped at each takeover,
 * each flip a revision and a push to every other agent (14 in 30 s to an idle one), while `ctl list
 * agents` showed one agent, SYNCED. A process whose connection another process took over is now
 * refused while that process holds the agent online: one stands, the other is told why.
 */
import t from 'tap';
import { TAKEOVER_MIN_INTERVAL_MS } from '../../src/agents/hub.js';
import { SupplantedProcesses } from '../../src/agents/supplanted.js';
import { meshKind, type ServiceResource } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, settle, host } from './hub-harness.js';

/** How long the agent binary waits after a takeover before it connects again (failover.ts). */
const HOLD_OFF_MS = 5_000;

function stage(): { clock: { now: number }; cs: [SimController, SimController] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const cs: [SimController, SimController] = [new SimController('c1', log, clock), new SimController('c2', log, clock)];
  for (const c of cs) c.tick();
  settle(cs);
  return { clock, cs };
}

const portsOf = (c: SimController, name: string): readonly number[] | undefined => (c.sm.view(meshKind).get('service', name) as ServiceResource | null)?.spec.ports;
const takeovers = (c: SimController): number => c.audits.filter((e) => e.type === 'agent.takeover').length;

void t.test('a process taken over by another is refused while that one holds the agent; the service stops flipping', async (t) => {
  const { clock, cs } = stage();
  const [c1, c2] = cs;
  const first = new SimAgent('edge', ['http', 'tcp'], 'boot-first', { hosts: [host('api', 'http', [8080])] });
  const second = new SimAgent('edge', ['http', 'tcp'], 'boot-second', { hosts: [host('api', 'http', [9090])] });
  first.connect(c1);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  t.same(portsOf(c1, 'api'), [8080]);

  second.connect(c2);
  advance(clock, cs, HOLD_OFF_MS);
  t.match(first.closedWith, { code: 'aborted', reason: /taken over by a newer connection/ }, 'a newer process takes over, as a restart does');
  t.same(portsOf(c1, 'api'), [9090]);
  const after = takeovers(c1);

  for (let round = 0; round < 3; round++) {
    first.connect(c1);
    advance(clock, cs, HOLD_OFF_MS);
    t.match(first.closedWith, { code: 'aborted', reason: /another process \(boot boot-second\) holds agent "edge" online on c2, and another took this one's connection \(boot boot-first\) over: two processes run with one agent id/ }, `return ${round + 1} refused`);
    t.equal(second.closedWith, null, 'the process that holds it keeps it');
    t.same(portsOf(c1, 'api'), [9090], 'the service keeps the spec of the process that holds it');
  }
  t.equal(takeovers(c1), after, 'no takeover, so no claim, publish or push, at any return');
  t.equal(c1.logs.filter((m) => /two processes run with one agent id/.test(m)).length, 1, "the controller's log names the duplicate once, not at every return");
  t.match(c1.record('edge'), { online: true, session: second.session });

  // The holder goes for good: the refused process takes the id at its next return.
  second.disconnect();
  advance(clock, cs, 10_000);
  t.match(c1.record('edge'), { online: false });
  first.connect(c1);
  advance(clock, cs, HOLD_OFF_MS);
  t.equal(first.closedWith, null, 'admitted once the other process is offline');
  t.match(c1.record('edge'), { online: true, session: first.session });
});

void t.test('a restart is still taken at once: the new process takes over, the old one never returns', async (t) => {
  const { clock, cs } = stage();
  const [c1] = cs;
  const old = new SimAgent('edge', ['http', 'tcp'], 'boot-old');
  old.connect(c1);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  const restarted = new SimAgent('edge', ['http', 'tcp'], 'boot-new');
  restarted.connect(c1);
  settle(cs);
  t.match(old.closedWith, { code: 'aborted', reason: /taken over/ });
  t.equal(restarted.closedWith, null);
  t.match(c1.record('edge'), { online: true, session: restarted.session });
  // Its next connection (a failover, a network blip) is the same process: admitted.
  restarted.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  restarted.connect(c1);
  settle(cs);
  t.equal(restarted.closedWith, null);
  t.match(c1.record('edge'), { online: true, session: restarted.session });
});

void t.test('three processes with one id: the one holding it stands, the two it took over are refused', async (t) => {
  const { clock, cs } = stage();
  const [c1, c2] = cs;
  const [a, b, c] = ['a', 'b', 'c'].map((boot) => new SimAgent('edge', ['http', 'tcp'], `boot-${boot}`, { hosts: [host('api', 'http', [boot === 'a' ? 8080 : boot === 'b' ? 8081 : 8082])] })) as [SimAgent, SimAgent, SimAgent];
  a.connect(c1);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  b.connect(c1);
  advance(clock, cs, HOLD_OFF_MS);
  c.connect(c2);
  advance(clock, cs, HOLD_OFF_MS);
  t.match(b.closedWith, { code: 'aborted', reason: /taken over by a newer connection of agent "edge" on c2/ });
  const after = takeovers(c1);
  for (let round = 0; round < 3; round++) {
    a.connect(c1);
    b.connect(c1);
    advance(clock, cs, HOLD_OFF_MS);
    t.match(a.closedWith, { reason: /another process \(boot boot-c\) holds agent "edge" online on c2/ }, `a refused, return ${round + 1}`);
    t.match(b.closedWith, { reason: /another process \(boot boot-c\) holds agent "edge" online on c2/ }, `b refused, return ${round + 1}`);
  }
  t.equal(c.closedWith, null);
  t.equal(takeovers(c1), after, 'no takeover at any return');
  t.same(portsOf(c1, 'api'), [8082], 'the service keeps the declaration of the process that holds it');
});

void t.test('what a controller remembers is bounded: per agent and in all', async (t) => {
  const s = new SupplantedProcesses(2, 2);
  const online = (boot: string): { boot: string; online: boolean } => ({ boot, online: true });
  s.note('x', 'p1', 'p1');
  t.equal(s.size, 0, 'a newer connection of the same process is not noted');
  s.note('x', 'p1', 'p2');
  s.note('x', 'p2', 'p3');
  s.note('x', 'p3', 'p4');
  t.equal(s.holder('x', 'p1', online('p4')), null, 'the oldest of three processes is forgotten');
  t.equal(s.holder('x', 'p2', online('p4')), 'p4');
  t.equal(s.holder('x', 'p4', online('p4')), null, 'the holder itself reconnects');
  s.note('y', 'q1', 'q2');
  s.note('z', 'r1', 'r2');
  t.equal(s.size, 2, 'the agent noted longest ago is forgotten');
  t.equal(s.holder('x', 'p2', online('p4')), null);
  t.equal(s.holder('z', 'r1', { boot: 'r2', online: false }), null, 'offline: anyone may take it');
  t.equal(s.size, 1, 'and the note is dropped');
});
