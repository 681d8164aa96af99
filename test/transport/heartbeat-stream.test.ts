/**
 * Membership pings ride one HeartbeatStream per peer. These check what the stream must keep
 * from the unary Heartbeat: each pong matched to its ping, a deadline per ping, and unary
 * pings to a peer that predates the stream.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { AnsweredByOtherError, DialFailedError, TransportError } from '../../src/transport/errors.js';
import { freePorts } from '../helpers/free-ports.js';
import { partialPeer, startNode } from './harness.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

async function peerWith(t: Test, impl: grpc.UntypedServiceImplementation): Promise<string> {
  const peer = await partialPeer(impl);
  t.teardown(peer.stop);
  return peer.address;
}

void t.test('concurrent pings each get their own pong', async (t) => {
  const n1 = await startNode({ id: 'n1' });
  const n2 = await startNode({ id: 'n2' });
  t.teardown(() => {
    n1.stop();
    n2.stop();
  });
  n1.transport.setPeer('n2', n2.address);
  const payloads = Array.from({ length: 30 }, (_, i) => new Uint8Array([i, 255 - i]));
  const pongs = await Promise.all(payloads.map((p) => n1.transport.ping('n2', p, 5000)));
  t.strictSame(
    pongs.map((p) => [...p.payload]),
    payloads.map((p) => [...p]),
    'the harness echoes each payload, so each pong went back to its own ping',
  );
  t.ok(pongs.every((p) => Number.isFinite(p.rttMs) && p.rttMs >= 0));
  t.equal(n2.heartbeatsFrom.length, 30);
});

void t.test('a peer without HeartbeatStream is pinged with unary calls', async (t) => {
  const unary: string[] = [];
  const address = await peerWith(t, {
    Heartbeat: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      unary.push(String(call.request['from']));
      cb(null, { from: 'n2', echoSendTimeMs: call.request['sendTimeMs'], payload: Buffer.from([7]) });
    },
  });
  const n1 = await startNode({ id: 'n1' });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', address);
  const first = await n1.transport.ping('n2', new Uint8Array([1]), 5000);
  const second = await n1.transport.ping('n2', new Uint8Array([2]), 5000);
  t.strictSame([...first.payload], [7]);
  t.strictSame([...second.payload], [7]);
  t.strictSame(unary, ['n1', 'n1'], 'both pings arrived as unary calls');
});

void t.test('a ping the peer never answers fails at its deadline; the stream serves the next one', async (t) => {
  let answer = false;
  const address = await peerWith(t, {
    HeartbeatStream: (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
      call.on('data', (ping: Record<string, unknown>) => {
        if (answer) call.write({ from: 'n2', echoSendTimeMs: ping['sendTimeMs'], payload: Buffer.from([3]), seq: ping['seq'] });
      });
      call.on('end', () => call.end());
    },
  });
  const n1 = await startNode({ id: 'n1' });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', address);
  const started = performance.now();
  const err: unknown = await n1.transport.ping('n2', new Uint8Array(0), 300).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof TransportError, 'a TransportError');
  t.match(err, { code: 'RPC_FAILED', grpcCode: grpc.status.DEADLINE_EXCEEDED });
  t.ok(performance.now() - started >= 290, 'not before its deadline');
  answer = true;
  const pong = await n1.transport.ping('n2', new Uint8Array(0), 5000);
  t.strictSame([...pong.payload], [3]);
});

void t.test('a pong from someone else is refused', async (t) => {
  const address = await peerWith(t, {
    HeartbeatStream: (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
      call.on('data', (ping: Record<string, unknown>) =>
        call.write({ from: 'n9', echoSendTimeMs: ping['sendTimeMs'], payload: Buffer.alloc(0), seq: ping['seq'] }),
      );
    },
  });
  const n1 = await startNode({ id: 'n1' });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', address);
  // Another process answers at n2's address: not a ping lost on an open connection to n2.
  const err: unknown = await n1.transport.ping('n2', new Uint8Array(0), 5000).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof AnsweredByOtherError, `an AnsweredByOtherError, found ${String(err)}`);
  t.match(err, { code: 'ANSWERED_BY_OTHER', peer: 'n2', address, refusal: null, detail: /expected a pong from n2, found one from n9/ });
});

void t.test('a ping to an address nobody listens on is a dial failure naming the peer, the address and the error (attack-37b B5)', async (t) => {
  const n1 = await startNode({ id: 'n1' });
  t.teardown(() => n1.stop());
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  n1.transport.setPeer('n2', address);
  const err: unknown = await n1.transport.ping('n2', new Uint8Array(0), 3000).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof DialFailedError, `a DialFailedError, found ${String(err)}`);
  t.match(err, { code: 'DIAL_FAILED', peer: 'n2', address, detail: /ECONNREFUSED/ });
});
