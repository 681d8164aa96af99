/**
 * A ControllerClient closed while a call waits for its first endpoint to connect: the call ends
 * at once, saying the client was closed. With a second wait on the same channel (the head start
 * watched the preferred endpoint's connection beside the call), closing revived the channel for
 * the second wait: the call then waited out the connect timeout, held the process that long, and
 * reported every endpoint as not connecting.
 */
import t from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { freePort } from './audit-endpoint.js';
import { hungEndpoint } from '../helpers/hung-endpoint.js';

void t.test('a call waiting on a hung endpoint ends at once when its client is closed', async (t) => {
  const connectTimeoutMs = 4000;
  const endpoints = [await hungEndpoint(t), `127.0.0.1:${await freePort()}`];
  const client = new ControllerClient({ endpoints, timeoutMs: 10_000, connectTimeoutMs });
  const started = Date.now();
  const call = client.status().then(
    () => null,
    (e: unknown) => e,
  );
  client.close();
  const err = await call;
  const tookMs = Date.now() - started;
  t.match(err, { code: 'INTERNAL', message: /expected an open client, found it closed/ }, 'the call says its client was closed');
  t.ok(tookMs < connectTimeoutMs / 2, `it ends at once, not after the connect timeout: ${tookMs}ms`);
});
