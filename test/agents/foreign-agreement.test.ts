/**
 * The controller's refusal of an agent of another cluster at its hello (hub.ts, foreignBy) and the
 * agent's own refusal of that controller's welcome (cluster-guard.ts, judgeWelcome) must agree in
 * every case: a controller that refused an agent the agent would take would have it reconnect
 * for good, unserved; one that took an agent the agent refuses would claim it for nothing.
 */
import t from 'tap';
import { judgeWelcome, type ClusterIdentity } from '../../src/agent/cluster-guard.js';
import { SimAgent, SimController, SimLog, settle } from './hub-harness.js';

/** The controller's cluster: a drawn id and a name; unnamed (before names); a new cluster's first moments (the name stands in for the id). */
const CONTROLLERS: readonly ClusterIdentity[] = [
  { id: 'cluster-a', name: 'staging' },
  { id: 'cluster-a', name: '' },
  { id: 'staging', name: 'staging' },
];
const HELD_IDS = ['cluster-a', 'other-id', 'staging', 'prod'];
const HELD_NAMES = ['', 'staging', 'prod'];

void t.test("the hub refuses at the hello exactly the agents that would refuse its welcome (every held id and name, none held)", async (t) => {
  const verdicts = { refuse: 0, take: 0 };
  for (const [c, ours] of CONTROLLERS.entries()) {
    const log = new SimLog();
    log.clusterId = ours.id;
    log.clusterName = ours.name;
    const controller = new SimController('c1', log, { now: 1000 });
    controller.tick();
    const held: Array<ClusterIdentity | null> = [null, ...HELD_IDS.flatMap((id) => HELD_NAMES.map((name) => ({ id, name })))];
    const agents = held.map((h, i) => {
      const a = new SimAgent(`a${c}-${i}`);
      if (h !== null) a.config.restore({ version: 1, cluster: h.id, ...(h.name === '' ? {} : { clusterName: h.name }), resources: [] });
      a.connect(controller);
      return { a, h };
    });
    settle([controller]);
    for (const { a, h } of agents) {
      const agentSays = judgeWelcome(h, ours, 'c1').type;
      verdicts[agentSays]++;
      const hubSays = a.closedWith?.code === 'foreign' ? 'refuse' : 'take';
      t.equal(hubSays, agentSays, `controller ${JSON.stringify(ours)}, agent holding ${JSON.stringify(h)}: the hub and the agent agree`);
      if (hubSays === 'take') t.equal(a.closedWith, null, `${a.id} is served`);
    }
  }
  t.ok(verdicts.refuse > 0 && verdicts.take > 0, `both verdicts occur (${verdicts.refuse} refused, ${verdicts.take} taken)`);
});
