/**
 * An agent whose controller went silent does not open its next attempts on the same connection:
 * it probes it (an HTTP/2 PING, src/transport/h2-stream/h2-connection.ts) and dials anew when
 * the PING goes unanswered.
 *
 * Found between network namespaces (chaos/netns agent-isolate, docs/fault-injection.md finding
 * 7): a partition that drops packets leaves the connection open and dead, every later attempt
 * rode it, and after the heal reached the controller only at the kernel's next retransmission:
 * an agent isolated for 34 s came back online 23.8 s after the heal. Here the controller is a
 * process stopped with SIGSTOP: its kernel still holds the connection, and nothing answers.
 */
// run-tests: waits (most of its time is the silent controller's PING deadline and the redial: run beside the CPU-bound files)
import t from 'tap';
import { AgentRunner } from '../../src/agent/agent-runner.js';
import { DEFAULT_AGENT_YAML } from '../../src/agent/agent-yaml.js';
import { INSECURE } from '../../src/transport/h2-stream/index.js';
import { seededRng } from '../../src/util/rng.js';
import { captureLogs } from '../helpers/log-capture.js';
import { h2ServerProcess } from '../helpers/h2-server-process.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('an agent whose controller went silent probes the connection and dials a new one instead of riding it', async (t) => {
  const peer = await h2ServerProcess(t, 'mute');
  const logs = captureLogs();
  const agent = new AgentRunner({ id: 'a1', controllers: [peer.address], security: INSECURE, yaml: DEFAULT_AGENT_YAML, out: null, logger: logs.logger, rng: seededRng(7) });
  t.teardown(() => agent.stop());
  const ended = (): number => logs.lines().filter((l) => l.msg === 'sync stream ended').length;
  agent.start();
  // A live peer that never welcomes: each attempt ends without a welcome, and the probe of the
  // connection is answered, so the agent keeps its one connection.
  await waitFor(() => ended() >= 2, 'two attempts without a welcome', 20_000);
  t.equal(peer.sessions(), 1, 'a connection that answers its probe is kept');

  peer.stop();
  const before = ended();
  // The attempt on the silent connection, its probe unanswered (2 s), then one that dials.
  await waitFor(() => ended() >= before + 3, 'three attempts while the peer is silent', 30_000);
  peer.resume();
  // The resumed peer accepts what waited in its backlog: the connections the agent dialled.
  await waitFor(() => peer.sessions() >= 2, 'a connection dialled while the peer was silent', 10_000);
  t.ok(peer.sessions() >= 2, `the agent dialled anew (${peer.sessions()} connections), not riding the silent one`);
});
