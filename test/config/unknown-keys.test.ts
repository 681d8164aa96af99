import t from 'tap';
import { ConfigError, parseClusterConfig } from '../../src/config/load.js';

const NODES = `cluster:
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
`;

function firstProblem(text: string): { keyPath: string; reason: string; line: number | null } {
  try {
    parseClusterConfig(text, 'c.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return { keyPath: err.keyPath, reason: err.reason, line: err.line };
    throw err;
  }
  throw new Error('expected the config to be refused');
}

void t.test('an unknown key is refused with its full path, at every depth', async (t) => {
  const cases: readonly [string, string][] = [
    [`${NODES}extra: 1\n`, 'extra'],
    [`cluster:\n  nodes: [ { id: c1, address: 'h:1' } ]\n  region: eu\n`, 'cluster.region'],
    [`cluster:\n  nodes:\n    - { id: c1, address: 'h:1' }\n    - { id: c2, address: 'h:2', weight: 3 }\n`, 'cluster.nodes[1].weight'],
    [`${NODES}controller:\n  datadir: x\n`, 'controller.datadir'],
    [`${NODES}controller:\n  heartbeat:\n    base_timeout: 2s\n    jitter: 10ms\n`, 'controller.heartbeat.jitter'],
    [`${NODES}controller:\n  audit:\n    max_size: 10\n`, 'controller.audit.max_size'],
    [`${NODES}raft:\n  pre_vote: true\n`, 'raft.pre_vote'],
    [`${NODES}tls:\n  ca: a\n  cert: b\n  key: c\n  verify: false\n`, 'tls.verify'],
  ];
  for (const [text, keyPath] of cases) {
    const problem = firstProblem(text);
    t.equal(problem.keyPath, keyPath, keyPath);
    t.match(problem.reason, /^unknown key "/, `${keyPath} reason`);
  }
});

void t.test('an unknown key names the allowed keys and suggests a near miss', async (t) => {
  const typo = firstProblem(`${NODES}controller:\n  heartbeat:\n    base_timout: 2s\n`);
  t.equal(typo.keyPath, 'controller.heartbeat.base_timout');
  t.match(typo.reason, /did you mean "base_timeout"\?/);
  t.match(typo.reason, /expected one of: base_timeout, dynamic_adjustment, rtt_window, min_timeout, max_timeout, interval, state_sync_interval/);
  t.equal(typo.line, 6, 'the line of the unknown key');
  const camel = firstProblem(`${NODES}raft:\n  electionTimeout: 1s\n`);
  t.match(camel.reason, /did you mean "election_timeout"\?/, 'camelCase is matched to snake_case');
  const far = firstProblem(`${NODES}raft:\n  zzz: 1\n`);
  t.notMatch(far.reason, /did you mean/, 'no suggestion when nothing is close');
});

void t.test('ops55: a required key missing beside its own misspelling names the misspelling', async (t) => {
  const address = firstProblem(`cluster:\n  nodes:\n    - { id: c1, address: 'h:1' }\n    - { id: c2, adress: 'h:2' }\n`);
  t.equal(address.keyPath, 'cluster.nodes[1].address');
  t.equal(address.reason, 'required key is missing (expected a string); found "adress" beside it (a misspelling of "address"?)');
  const tlsKey = firstProblem(`${NODES}tls:\n  ca: ca.pem\n  cert: c.pem\n  kye: k.pem\n`);
  t.equal(tlsKey.keyPath, 'tls.key');
  t.match(tlsKey.reason, /found "kye" beside it \(a misspelling of "key"\?\)/);
  const unrelated = firstProblem(`cluster:\n  nodes:\n    - { id: c1, region: eu }\n`);
  t.equal(unrelated.reason, 'required key is missing (expected a string)', 'a key that is no near miss is not blamed');
});
