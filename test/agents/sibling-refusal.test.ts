/**
 * Two clusters of one name: an agent whose cluster answered at other addresses of its list, never
 * at this controller's, says so in its hello (heldClusterOnly), and a controller of that name and
 * another id refuses it at the hello (hub.ts, foreignBy): welcomed (the agent refuses it in its
 * own words), never claimed nor pushed to. Before, the controller claimed it, pushed to it and
 * listed it online, STALE, while the agent discarded every push and reconnected.
 */
import t from 'tap';
import { agentsKind } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, applyCmd, settle, svc } from './hub-harness.js';

void t.test('an agent that takes no other id under its cluster name from here is refused at the hello by the other cluster of that name', async (t) => {
  const log = new SimLog();
  log.clusterName = 'default';
  const c1 = new SimController('c1', log, { now: 1000 });
  c1.tick();
  log.propose(applyCmd(svc('payments')));
  settle([c1]);
  const held = { version: 1, cluster: 'first-id', clusterName: 'default', resources: [{ kind: 'service' as const, name: 'web', spec: { protocol: 'http', ports: [80] }, labels: {}, status: {}, revision: 1 }] };

  const stray = new SimAgent('a7');
  stray.config.restore(held);
  stray.connect(c1, { heldClusterOnly: true });
  settle([c1]);
  t.not(stray.session, '', 'welcomed: the welcome names this cluster, so the agent refuses it in its own words');
  t.match(stray.closedWith, {
    code: 'foreign',
    reason: /agent a7 holds a configuration of cluster "default" id first-id, which answered at other addresses of its --controllers, never here; this is another cluster of that name, id cluster-a: refused before any claim or push/,
  });
  t.equal(stray.received.length, 0, 'nothing pushed');
  t.equal(c1.sm.view(agentsKind).get('a7'), null, "never claimed: this cluster's agent list does not show it");
  t.equal(c1.hub.counters.refused, 1);
  t.same(stray.names(), ['service/web'], 'it keeps what it holds');

  // Without the flag (a restore of this cluster, or an agent from before the field): claimed and resynced.
  const restored = new SimAgent('a8');
  restored.config.restore(held);
  restored.connect(c1);
  settle([c1]);
  t.equal(restored.closedWith, null, 'served');
  t.same(restored.names(), ['service/payments']);
  t.ok(c1.sm.view(agentsKind).get('a8'), 'claimed');
  // The flag judges nothing when the ids match: its own cluster.
  const own = new SimAgent('a9');
  own.config.restore({ ...held, cluster: log.clusterId });
  own.connect(c1, { heldClusterOnly: true });
  settle([c1]);
  t.equal(own.closedWith, null, 'its own cluster serves it');
  t.ok(c1.sm.view(agentsKind).get('a9'), 'claimed');
});
