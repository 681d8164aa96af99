/**
 * A ping still waiting when its link is closed did not fail on an open connection. The link to a
 * peer whose connection attempt gets no answer is given up (stuck-connect.ts), and its
 * pings waiting then failed as CANCELLED, reported as RPC_FAILED: the membership driver counts
 * that as "our dials work" (c2d4fe2), so it ended the dial failure's streak every 2 s and the
 * undialable member's own messages counted as contact again (review-38). Such a ping now fails
 * as CLOSED, which the driver counts neither way.
 */
// run-tests: waits (most of its time is a connection attempt's deadline: run beside the CPU-bound files)
import t from 'tap';
import { TransportError } from '../../src/transport/errors.js';
import { HANDSHAKE_DEADLINE_MS } from '../../src/transport/connect-deadline.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { startNode } from './harness.js';
import { silentServer } from './silent-server.js';

void t.test('a ping waiting when its never-connected link is given up fails as CLOSED, not as failed on an open connection', async (t) => {
  const [port] = await freePorts(1);
  const silent = await silentServer(port!);
  const a = await startNode({ id: 'n1' });
  t.teardown(() => {
    a.stop();
    silent.stop();
  });
  a.transport.setPeer('n2', `127.0.0.1:${port}`);
  // Longer than the attempt is waited for, so the link closes under it: its TCP connection is
  // up (the silent server accepts it), so it is given the handshake's time, not the 2 s of an
  // unanswered SYN.
  let failure: unknown = null;
  a.transport.ping('n2', new Uint8Array([1]), HANDSHAKE_DEADLINE_MS + 4000).then(
    () => (failure = 'answered'),
    (err: unknown) => (failure = err),
  );
  await waitFor(() => failure !== null, 'the ping to fail', HANDSHAKE_DEADLINE_MS + 8000);
  t.ok(a.warnings.some((w) => /got no answer in time/.test(w.msg)), 'the link was given up as stuck under the ping');
  t.ok(failure instanceof TransportError, `a TransportError, found ${String(failure)}`);
  t.not((failure as TransportError).code, 'RPC_FAILED', 'not reported as failed on an open connection (which ends a dial failure streak)');
  t.equal((failure as TransportError).code, 'CLOSED');
});
