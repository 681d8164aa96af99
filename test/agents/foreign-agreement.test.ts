/**
 * The controller's refusal of an agent of another cluster at its hello (hub.ts, foreignBy) and the
 * agent's own refusal of that controller's welcome (cluster-guard.ts, judgeWelcome) must agree in
 * every case: a controller that refused an agent the agent would take would have it reconnect
 * for good, unserved; one that took an agent the agent refuses would claim it for nothing.
 */
import t from 'tap';
import { judgeWelcome, refusesSiblings, type ClusterIdentity, type HeldAddresses } from '../../src/agent/cluster-guard.js';
import { SimAgent, SimController, SimLog, settle } from './hub-harness.js';

/** The controller's cluster: a drawn id and a name; unnamed (before names); a new cluster's first moments (the name stands in for the id). */
const CONTROLLERS: readonly ClusterIdentity[] = [
  { id: 'cluster-a', name: 'staging' },
  { id: 'cluster-a', name: '' },
  { id: 'staging', name: 'staging' },
];
const HELD_IDS = ['cluster-a', 'other-id', 'staging', 'prod'];
const HELD_NAMES = ['', 'staging', 'prod'];
/** Where the held cluster answered, seen from the controller's address: nowhere yet; there; only elsewhere on the list. */
const HEARD: readonly HeldAddresses[] = [
  { fromHeld: false, othersHeld: [] },
  { fromHeld: true, othersHeld: [] },
  { fromHeld: false, othersHeld: ['10.0.0.1:7101'] },
];

void t.test('the hub refuses at the hello exactly the agents that would refuse its welcome (every held id and name, none held; wherever the held cluster answered)', async (t) => {
  const verdicts = { refuse: 0, take: 0 };
  for (const [c, ours] of CONTROLLERS.entries()) {
    const log = new SimLog();
    log.clusterId = ours.id;
    log.clusterName = ours.name;
    const controller = new SimController('c1', log, { now: 1000 });
    controller.tick();
    const held: Array<ClusterIdentity | null> = [null, ...HELD_IDS.flatMap((id) => HELD_NAMES.map((name) => ({ id, name })))];
    const agents = held.flatMap((h, i) =>
      HEARD.map((heard, j) => {
        const a = new SimAgent(`a${c}-${i}-${j}`);
        if (h !== null) a.config.restore({ version: 1, cluster: h.id, ...(h.name === '' ? {} : { clusterName: h.name }), resources: [] });
        // What its hello says, as AgentRunner computes it.
        a.connect(controller, { heldClusterOnly: refusesSiblings(h, heard) });
        return { a, h, heard };
      }),
    );
    settle([controller]);
    for (const { a, h, heard } of agents) {
      const agentSays = judgeWelcome(h, ours, 'c1', heard).type;
      verdicts[agentSays]++;
      const hubSays = a.closedWith?.code === 'foreign' ? 'refuse' : 'take';
      t.equal(hubSays, agentSays, `controller ${JSON.stringify(ours)}, agent holding ${JSON.stringify(h)}, heard ${JSON.stringify(heard)}: the hub and the agent agree`);
      if (hubSays === 'take') t.equal(a.closedWith, null, `${a.id} is served`);
    }
  }
  t.ok(verdicts.refuse > 0 && verdicts.take > 0, `both verdicts occur (${verdicts.refuse} refused, ${verdicts.take} taken)`);
});
