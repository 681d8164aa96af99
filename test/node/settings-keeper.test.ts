/** The leader writes its file's settings once; a node whose file differs warns, once, naming each key. */
import t from 'tap';
import { captureLogs, settlePromises } from '../helpers/log-capture.js';
import { parseClusterConfig } from '../../src/config/load.js';
import { SettingsKeeper, fileDifferences } from '../../src/node/settings-keeper.js';
import { StateMachine, encodeCommand } from '../../src/statemachine/index.js';
import { initCommand, settingsKind } from '../../src/statemachine/settings.js';
import type { ClusterSettings } from '../../src/settings/index.js';

const FILE = parseClusterConfig(
  `cluster:
  nodes: [{ id: c1, address: 127.0.0.1:7101 }]
services:
  vip_cidr: 10.0.0.0/8
autopilot:
  min_quorum: 1
`,
  'c.yaml',
).settings;


void t.test('a leader proposes the file values once while uninitialized, and again after a failure', async (t) => {
  const sm = new StateMachine();
  let leader = false;
  const proposals: ClusterSettings[] = [];
  let fail = true;
  const keeper = new SettingsKeeper({
    file: FILE,
    view: () => sm.view(settingsKind),
    isLeader: () => leader,
    proposeInit: async (values) => {
      proposals.push(values);
      if (fail) throw new Error('lost leadership');
    },
    logger: captureLogs().logger,
  });
  keeper.check();
  t.equal(proposals.length, 0, 'a follower proposes nothing');
  leader = true;
  keeper.check();
  keeper.check();
  t.equal(proposals.length, 1, 'one proposal in flight at a time');
  await settlePromises();
  fail = false;
  keeper.check();
  t.equal(proposals.length, 2, 'after a failure the next check tries again');
  t.equal(proposals[1]?.['services.vip_cidr'], '10.0.0.0/8');
  await settlePromises();
  sm.apply(1, encodeCommand(initCommand(proposals[1]!)));
  keeper.check();
  t.equal(proposals.length, 2, 'once initialized nothing more is proposed');
});

void t.test('a file that disagrees with the cluster is warned about once, key by key; unwritten keys are not', async (t) => {
  const sm = new StateMachine();
  const cluster = { ...FILE.values, 'services.vip_cidr': '241.0.0.0/8', 'autopilot.max_trailing_logs': 7 };
  sm.apply(1, encodeCommand(initCommand(cluster)));
  t.same(fileDifferences(FILE, cluster), [{ key: 'services.vip_cidr', file: '10.0.0.0/8', cluster: '241.0.0.0/8' }]);
  const log = captureLogs();
  const keeper = new SettingsKeeper({
    file: FILE,
    view: () => sm.view(settingsKind),
    isLeader: () => true,
    proposeInit: async () => {
      t.fail('nothing to propose');
    },
    logger: log.logger,
  });
  keeper.check();
  keeper.check();
  const warnings = log.lines().filter((l) => l['level'] === 40);
  t.equal(warnings.length, 1);
  t.equal(warnings[0]?.['setting'], 'services.vip_cidr');
  t.match(String(warnings[0]?.['msg']), /running with 241\.0\.0\.0\/8 \(change it with: ctl config set services\.vip_cidr VALUE\)/);
});
