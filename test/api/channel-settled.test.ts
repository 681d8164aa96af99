/**
 * channelSettled on a channel closed while it connects: every wait ends at once, and the channel
 * stays closed. Asking a closed grpc-js channel to connect starts it connecting again: the first
 * wait's check did, and a second wait on the same channel then waited out its deadline.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { channelSettled } from '../../src/api/channel-settled.js';
import { hungEndpoint } from '../helpers/hung-endpoint.js';

void t.test('waits on a channel closed while it connects all end at once, and it stays closed', async (t) => {
  // Accepts TCP and never answers: the channel stays CONNECTING.
  const client = new grpc.Client(await hungEndpoint(t), grpc.credentials.createInsecure());
  const channel = client.getChannel();
  const deadlineMs = 4000;
  const started = Date.now();
  const waits = [channelSettled(channel, started + deadlineMs), channelSettled(channel, started + deadlineMs)];
  client.close();
  const settled = await Promise.all(waits);
  const tookMs = Date.now() - started;
  t.same(settled, [true, true], 'each wait ends settled (the channel is shut down)');
  t.ok(tookMs < deadlineMs / 2, `at once, not at the deadline: ${tookMs}ms`);
  t.equal(grpc.connectivityState[channel.getConnectivityState(false)], 'SHUTDOWN', 'the channel stays closed');
});
