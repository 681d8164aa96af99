/**
 * Which cluster an agent takes its configuration from (src/agent/cluster-guard.ts): another
 * cluster.name is refused, the same name with a new id (a restore) taken with a warning, and the
 * name kept with the configuration, in the --out file too.
 */
import t from 'tap';
import { judgeWelcome } from '../../src/agent/cluster-guard.js';
import { AgentConfig } from '../../src/agent/config-state.js';
import { parseConfigJson } from '../../src/agent/load-out.js';
import { configText } from '../../src/agent/out-file.js';

const prod = { id: 'k-prod', name: 'prod' };
const from = 'c1 at 10.0.0.9:7000';

void t.test('judgeWelcome: nothing held or the same id is taken silently; another name refused; the same name taken with a warning', async (t) => {
  t.same(judgeWelcome(null, { id: 'k-staging', name: 'staging' }, from), { type: 'take', warning: null }, 'an agent holding nothing takes any cluster');
  t.same(judgeWelcome(prod, { id: 'k-prod', name: 'prod' }, from), { type: 'take', warning: null });
  t.same(judgeWelcome(prod, { id: 'k-prod', name: '' }, from), { type: 'take', warning: null }, 'a controller that sends no name, same id');
  const refused = judgeWelcome(prod, { id: 'k-staging', name: 'staging' }, from);
  t.equal(refused.type, 'refuse', 'another cluster.name is refused');
  t.match(refused, { reason: /^controller c1 at 10\.0\.0\.9:7000 belongs to cluster "staging" \(id k-staging\), but this agent's configuration came from cluster "prod" \(id k-prod\): refused, trying the next controller/ });
  t.match(refused, { reason: /delete its --out file/ }, 'and how to move on purpose');
  const restored = judgeWelcome(prod, { id: 'k-prod-2', name: 'prod' }, from);
  t.match(restored, { type: 'take', warning: /cluster "prod" \(id k-prod-2\) has a new id \(this agent's configuration came from id k-prod\): restored/ }, 'a restore keeps the name: taken');
  t.same(judgeWelcome({ id: 'prod', name: 'prod' }, prod, from), { type: 'take', warning: null }, "a configuration from the cluster's first moments (its name stood in for the id): no restore to warn of");
  t.match(judgeWelcome({ id: 'k-prod', name: '' }, { id: 'k-x', name: 'x' }, from), { type: 'take', warning: /\(name not known\).*check --controllers/ }, 'a name not known cannot be compared: taken, warned');
  t.match(judgeWelcome(prod, { id: 'k-x', name: '' }, from), { type: 'take', warning: /cluster \(name not known\) \(id k-x\)/ });
});

void t.test('the cluster name is kept with what is accepted, written to --out and read back', async (t) => {
  const c = new AgentConfig(new Set(['http']));
  const web = { kind: 'service' as const, name: 'web', spec: { protocol: 'http', ports: [80] }, labels: {}, status: {}, revision: 2 };
  const v = c.judge({ version: 2, baseVersion: null, clusterId: 'k-prod', upserts: [web], removes: [] });
  if (v.type !== 'accept') throw new Error('not accepted');
  const written = configText(AgentConfig.json(c.whole(v.next), 'prod'));
  c.commit(v.next, 'prod');
  t.equal(c.clusterName, 'prod');
  t.match(c.json(), { cluster: 'k-prod', clusterName: 'prod' });
  const back = parseConfigJson(written, 'a5.json');
  t.match(back, { version: 2, cluster: 'k-prod', clusterName: 'prod' });
  const restarted = new AgentConfig(new Set(['http']));
  restarted.restore(back);
  t.equal(restarted.clusterName, 'prod', 'a restart keeps the name');
  const old = parseConfigJson(JSON.stringify({ version: 2, cluster: 'k-prod', resources: [] }), 'old.json');
  t.notOk('clusterName' in old, 'an --out file from before names were kept still loads');
  const learner = new AgentConfig(new Set(['http']));
  learner.restore(old);
  learner.learnClusterName('prod');
  t.equal(learner.clusterName, 'prod', 'and learns the name from a controller of its cluster');
});

void t.test('judgeWelcome: two clusters of one name are told apart by where the held cluster answered', async (t) => {
  const held = { id: 'k-default-1', name: 'default' };
  const sibling = { id: 'k-default-2', name: 'default' };
  const from2 = 'c1 at 10.0.0.2:7000';
  const refused = judgeWelcome(held, sibling, from2, { fromHeld: false, othersHeld: ['10.0.0.1:7000'] });
  t.equal(refused.type, 'refuse', 'a new id under the held name, from an address that never answered for the held cluster while another one of the list did: the other cluster');
  t.match(refused, {
    reason: /^controller c1 at 10\.0\.0\.2:7000 belongs to cluster "default" \(id k-default-2\), but this agent's configuration came from cluster "default" \(id k-default-1\), which answered at 10\.0\.0\.1:7000: two clusters of one name; refused/,
  });
  t.match(refused, { reason: /delete its --out file/ }, 'and how to move on purpose');
  t.match(
    judgeWelcome(held, sibling, 'c1 at 10.0.0.1:7000', { fromHeld: true, othersHeld: [] }),
    { type: 'take', warning: /has a new id/ },
    'the same address answering with a new id: a restore in place, taken with the warning',
  );
  t.match(judgeWelcome(held, sibling, from2, { fromHeld: false, othersHeld: [] }), { type: 'take', warning: /has a new id/ }, 'nothing heard in this process (a restart): taken as before, with the warning');
  t.same(judgeWelcome(held, held, from2, { fromHeld: false, othersHeld: ['10.0.0.1:7000'] }), { type: 'take', warning: null }, 'the held cluster at an address not heard yet: taken');
  t.match(judgeWelcome({ id: 'k-prod', name: 'prod' }, { id: 'k-s', name: 'staging' }, from2, { fromHeld: true, othersHeld: [] }), { type: 'refuse' }, 'another name is refused wherever it answers');
  t.match(judgeWelcome(held, { id: 'k-x', name: '' }, from2, { fromHeld: false, othersHeld: ['10.0.0.1:7000'] }), { type: 'take' }, 'a controller that sends no name is not judged');
});
