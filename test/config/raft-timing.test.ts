/** Raft timings that start but cost elections or refused requests: one warning each, none at the defaults. */
import t from 'tap';
import { parseClusterConfig } from '../../src/config/load.js';
import { raftTimingWarnings } from '../../src/config/raft-timing.js';

const FILE = '/etc/controller/cluster.yaml';
/** Membership pings every 250ms (base_timeout / 4), so only the Raft ratio is in play unless a test changes it. */
const PINGS_250MS = 'controller:\n  heartbeat:\n    base_timeout: 1s\n';
const NODES = `cluster:
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
    - { id: c2, address: 127.0.0.1:7102 }
`;

function warningsFor(yaml: string): string[] {
  return raftTimingWarnings(parseClusterConfig(`${NODES}${yaml}`, FILE)).map((w) => w.message);
}

void t.test('the defaults and the shipped 10 x ratio draw no warning', async (t) => {
  t.same(warningsFor(''), []);
  t.same(warningsFor(`${PINGS_250MS}raft:\n  heartbeat_interval: 50ms\n  election_timeout: 500ms\n`), [], '10 x exactly (the e2e clusters)');
});

void t.test('an election timeout under 10 heartbeats is legal but warned about', async (t) => {
  const [only, ...rest] = raftTimingWarnings(parseClusterConfig(`${NODES}${PINGS_250MS}raft:\n  heartbeat_interval: 100ms\n  election_timeout: 500ms\n`, FILE));
  t.same(rest, [], 'one warning');
  t.equal(only?.key, 'raft.election_timeout');
  t.equal(
    only?.message,
    `${FILE}: raft.election_timeout: 500ms is under 10 x raft.heartbeat_interval (100ms) = 1s: a follower campaigns after a few late ` +
      `heartbeats, so a pause of the leader (garbage collection, a slow disk) costs an election; raise it to 1s or more`,
  );
});

void t.test('an election timeout under two membership pings is warned about', async (t) => {
  // Pings every 400ms (base_timeout 1.6s / 4); 10 x the Raft heartbeat holds, so only the ping relation fires.
  const slowPings = warningsFor('controller:\n  heartbeat:\n    base_timeout: 1600ms\nraft:\n  heartbeat_interval: 50ms\n  election_timeout: 700ms\n');
  t.equal(slowPings.length, 1, slowPings.join('\n'));
  t.match(slowPings[0], /^\/etc\/controller\/cluster\.yaml: raft\.election_timeout: 700ms is under 2 x controller\.heartbeat\.interval \(400ms\) = 800ms: .*refuses requests/);
  t.same(warningsFor('controller:\n  heartbeat:\n    base_timeout: 1600ms\nraft:\n  heartbeat_interval: 50ms\n  election_timeout: 800ms\n'), [], 'two pings exactly');
  const both = warningsFor('controller:\n  heartbeat:\n    interval: 100ms\nraft:\n  heartbeat_interval: 20ms\n  election_timeout: 150ms\n');
  t.equal(both.length, 2, 'both relations are reported');
});

void t.test('an election timeout above 10s starts, warned about with how long a failover takes', async (t) => {
  t.same(warningsFor(`raft:\n  heartbeat_interval: 1s\n  election_timeout: 30s\n`), [
    `${FILE}: raft.election_timeout: 30s is above 10s: a crashed leader goes unreplaced, and writes are refused, for 30s to 1m; ` +
      'the default is 1s, and a few seconds suit even distant data centers',
  ]);
  t.same(warningsFor(`raft:\n  heartbeat_interval: 1s\n  election_timeout: 10s\n`), [], '10s exactly');
});
