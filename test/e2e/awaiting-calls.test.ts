/**
 * Attack round 15: calls that never send their request message, on a real controller. Each
 * connection may hold 1,024 streams, and before, nothing bounded them across connections: a
 * KvSession that sends nothing was held for good, a header-only unary call until the stall sweep
 * (or for good, given a byte of a message every 20 s). 40 connections of 1,000 such calls took a
 * follower from 90 MB to 1 GB, and a leader whose client closed them at once lost its term. Now
 * the port holds at most INCOMPLETE_REQUEST_MAX_CALLS calls awaiting a message, resetting the one
 * that has waited longest, and the controller goes on serving.
 */
import http2 from 'node:http2';
import t from 'tap';
import { INCOMPLETE_REQUEST_MAX_CALLS } from '../../src/transport/incomplete-requests.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('header-only calls over several connections are held to the port cap; the controller serves on', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const address = cluster.addresses.get('c1')!;
  const connections = 5;
  const perConnection = 1000;
  const sessions: http2.ClientHttp2Session[] = [];
  t.teardown(() => sessions.forEach((s) => s.destroy()));
  let reset = 0;
  let otherwiseClosed = 0;
  for (let c = 0; c < connections; c++) {
    const session = http2.connect(`http://${address}`);
    session.on('error', () => undefined);
    sessions.push(session);
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    for (let i = 0; i < perConnection; i++) {
      // A health check's headers (open to any certificate), and never its request.
      const call = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
      call.on('error', () => undefined);
      call.on('close', () => {
        if (call.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) reset++;
        else otherwiseClosed++;
      });
      call.resume();
    }
  }
  const excess = connections * perConnection - INCOMPLETE_REQUEST_MAX_CALLS;
  await waitFor(() => reset >= excess, `the ${excess} calls past the port's ${INCOMPLETE_REQUEST_MAX_CALLS} reset (${reset} so far), well before the 30 s stall sweep`, 20000);
  t.equal(reset, excess, 'exactly those past the cap, with ENHANCE_YOUR_CALM');
  t.equal(otherwiseClosed, 0, 'the others are held, not ended otherwise');
  const put = await cluster.ctl(['kv', 'put', 'k', 'v'], cluster.endpoints(), 20000);
  t.equal(put.code, 0, `a put is served beside them: ${put.stderr}`);
});
