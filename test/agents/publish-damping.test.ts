/**
 * An agent's publishes that change the mesh go through one controller at most three times per
 * 30 s (src/agents/publish-damping.ts): attack round 16, one agent certificate flipping the labels
 * of its hosted services at every reconnect made a revision, and a push to every agent that is not
 * lazy, once a second per controller.
 */
import t from 'tap';
import { meshKind, type ServiceResource } from '../../src/statemachine/index.js';
import { defaultSettings } from '../../src/settings/index.js';
import { settingsToJson } from '../../src/statemachine/settings.js';
import { TAKEOVER_MIN_INTERVAL_MS } from '../../src/agents/hub.js';
import { PUBLISH_WINDOW_MS, PublishDamping } from '../../src/agents/publish-damping.js';
import { SimAgent, SimController, SimLog, advance, host, settle } from './hub-harness.js';

function stage(): { clock: { now: number }; cs: SimController[] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  log.propose({ kind: 'settings', op: 'init', values: settingsToJson(defaultSettings({ electionTimeoutMs: 1000 })) } as never);
  const cs = ['c1', 'c2'].map((id) => new SimController(id, log, clock));
  cs[0]!.leading = true;
  for (const c of cs) c.tick();
  settle(cs);
  return { clock, cs };
}

const label = (c: SimController): string | undefined => (c.sm.view(meshKind).get('service', 'web') as ServiceResource | null)?.labels['flip'];

void t.test('attack round 16: an agent flipping its labels at every reconnect changes the mesh three times per window through a controller, then waits', async (t) => {
  const { clock, cs } = stage();
  const [c1, c2] = [cs[0]!, cs[1]!];
  const watcher = new SimAgent('watcher');
  watcher.connect(c2);
  settle(cs);
  const churner = new SimAgent('churner', ['http'], 'boot', { hosts: [host('web', 'http', [80], { flip: 'v0' })] });
  churner.connect(c1);
  settle(cs);
  advance(clock, cs, 2500);
  t.equal(label(c1), 'v0', 'its first publish creates web at once');
  const pushesBefore = watcher.received.length;
  const applied: boolean[] = [];
  // A reconnect every 1.5 s: eight within the window.
  for (let i = 1; i <= 8; i++) {
    churner.disconnect();
    advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
    churner.decl = { ...churner.decl, hosts: [host('web', 'http', [80], { flip: `v${i}` })] };
    churner.connect(c1);
    settle(cs);
    advance(clock, cs, 500);
    applied.push(label(c1) === `v${i}`);
  }
  t.same(applied, [true, true, false, false, false, false, false, false], 'two changes after the first publish go at once, the rest wait (before: every one)');
  t.ok(watcher.received.length - pushesBefore <= 2, `another agent was pushed ${watcher.received.length - pushesBefore} times for them (before: 8)`);
  t.equal(c1.hub.counters.publishesDamped, 6, 'each connection that waited is counted once');
  const standing = c1.hub.live(clock.now).find((r) => r.id === 'churner')?.publish;
  t.match(standing?.held, /it changes the mesh again after 3 changes within 30s through this controller: it goes in \d+s/, 'list agents says why it waits');
  t.equal(c1.logs.filter((l) => l.includes('agent publishes changes to the mesh faster than they are taken')).length, 6, 'logged, within the warnings budget');
  advance(clock, cs, PUBLISH_WINDOW_MS);
  t.equal(label(c1), 'v8', 'once the window has passed, the latest declaration goes, without a reconnect');
});

void t.test('the allowance counts changes in the window, for each agent apart', async (t) => {
  const d = new PublishDamping();
  for (const at of [0, 10, 20]) {
    t.equal(d.waitMs('a', at), 0);
    d.proposed('a', at);
  }
  t.equal(d.waitMs('a', 25), PUBLISH_WINDOW_MS - 25, 'a fourth waits until the first leaves the window');
  t.equal(d.waitMs('b', 25), 0, 'another agent has its own');
  t.equal(d.waitMs('a', PUBLISH_WINDOW_MS), 0, 'the first has left the window');
  d.proposed('a', PUBLISH_WINDOW_MS);
  t.equal(d.waitMs('a', PUBLISH_WINDOW_MS + 1), 10 + PUBLISH_WINDOW_MS - (PUBLISH_WINDOW_MS + 1), 'the window slides');
  t.equal(d.tracked, 1);
});

void t.test('a herd of first publishes past the sweep bound: stale agents are swept now and then, not at every publish', async (t) => {
  // Before, past 10,000 agents every publish swept them all: 20,000 first publishes within a
  // window held the loop 2 s, 40,000 held it 22 s (a fleet's first start; the record tables hold 100,000).
  const d = new PublishDamping();
  const herd = 40_000;
  for (let i = 0; i < herd; i++) d.proposed(`agent-${i}`, 1000 + i / 2);
  t.equal(d.tracked, herd, 'every agent of the window is kept');
  t.ok(d.sweepsRun <= 2, `${d.sweepsRun} sweeps for ${herd} publishes (before: one per publish past 10,000)`);
  // A window later the herd is stale: it is swept once the agents kept have doubled again.
  const later = 1000 + herd / 2 + PUBLISH_WINDOW_MS;
  for (let i = 0; i < herd + 10; i++) d.proposed(`next-${i}`, later);
  t.ok(d.tracked <= herd + 10, `the stale herd was swept: ${d.tracked} agents kept`);
  t.equal(d.waitMs('agent-0', later), 0, 'a swept agent starts a new allowance');
});
