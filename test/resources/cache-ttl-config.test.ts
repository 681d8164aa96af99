/** controller.resources_cache_ttl in the node's file: the default, a written value, and refusals naming the key. */
import t from 'tap';
import { ConfigError, parseClusterConfig } from '../../src/config/load.js';

const NODES = `cluster:
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
`;

void t.test('the cache expiry defaults to 24h and takes any duration, days included', async (t) => {
  t.equal(parseClusterConfig(NODES, 'c.yaml').resourcesCacheTtlMs, 86_400_000);
  t.equal(parseClusterConfig(`${NODES}controller:\n  resources_cache_ttl: 10m\n`, 'c.yaml').resourcesCacheTtlMs, 600_000);
  t.equal(parseClusterConfig(`${NODES}controller:\n  resources_cache_ttl: 720h\n`, 'c.yaml').resourcesCacheTtlMs, 720 * 3_600_000, 'longer than a timer may wait');
});

void t.test('a bad expiry is refused at the key, with the reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['0s', /expected a positive duration/],
    ['86400', /expected a duration with a unit/],
    ['soon', /./],
  ];
  for (const [value, reason] of cases) {
    try {
      parseClusterConfig(`${NODES}controller:\n  resources_cache_ttl: ${value}\n`, 'c.yaml');
      t.fail(`${value} was accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError, value);
      if (!(err instanceof ConfigError)) continue;
      t.equal(err.keyPath, 'controller.resources_cache_ttl', value);
      t.match(err.reason, reason, value);
      t.equal(err.exitCode, 2);
    }
  }
});
