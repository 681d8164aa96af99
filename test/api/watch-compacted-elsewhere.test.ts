/**
 * A controller's history of changes is its own and in memory (it starts afresh at a restart or
 * at a snapshot installed from the leader), so its COMPACTED speaks only for itself: a watch
 * that one endpoint cannot serve from its revision, or that one endpoint ends as COMPACTED
 * mid-stream, is taken up by another endpoint that still holds the history. It used to be final
 * at the first endpoint (review of session 37), the changes on the second never shown.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { ApiError } from '../../src/api/errors.js';
import { OperatorClient } from '../../src/api/operator-client.js';
import { operatorMethod } from '../../src/api/operator-proto.js';
import { watchHandler } from '../../src/api/watch-handler.js';
import { WatchLimits } from '../../src/api/watch-limits.js';
import { WatchHub } from '../../src/node/watch-hub.js';
import { encodeCommand } from '../../src/statemachine/index.js';

const put = (key: string, value: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value } as { kind: string });

/** A controller's Watch service over `hub`, on a port of its own. */
async function serve(t: Test, hub: WatchHub): Promise<string> {
  const limits = new WatchLimits({}, () => performance.now(), { refused: () => undefined, cutOff: () => undefined });
  const server = new grpc.Server();
  server.addService({ Watch: operatorMethod('Watch') }, { Watch: watchHandler(hub, limits) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** A hub that saw revisions first..last (each a put of k/<revision>), knowing nothing before. */
function hubWith(first: number, last: number): WatchHub {
  const hub = new WatchHub(first - 1);
  for (let r = first; r <= last; r++) hub.recordChange(r, put(`k/${r}`, `v${r}`));
  return hub;
}

/** Watches k/ from `startRevision` on `endpoints` until `count` changes arrived; their revisions. */
async function watchUntil(t: Test, endpoints: string[], startRevision: number, count: number, onStarted?: (got: number[]) => void): Promise<{ got: number[]; resumed: string[] }> {
  const client = new ControllerClient({ endpoints, timeoutMs: 5_000 });
  t.teardown(() => client.close());
  const stop = new AbortController();
  const got: number[] = [];
  const resumed: string[] = [];
  await new OperatorClient(client).watch({ key: 'k/', prefix: true, startRevision, signal: stop.signal, onResume: (lost) => void resumed.push(lost) }, (e) => {
    got.push(e.revision);
    onStarted?.(got);
    if (got.length === count) stop.abort();
  });
  return { got, resumed };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

void t.test('a watch from a revision the first endpoint no longer holds is served by the second', async (t) => {
  const restarted = await serve(t, hubWith(11, 12)); // history from 11 only
  const holding = await serve(t, hubWith(1, 12));
  const { got } = await watchUntil(t, [restarted, holding], 3, 10);
  t.same(got, range(3, 12), 'every change from revision 3, from the endpoint that has them');
});

void t.test('a watch every endpoint has compacted past is refused COMPACTED, naming each', async (t) => {
  const a = await serve(t, hubWith(11, 12));
  const b = await serve(t, hubWith(9, 12));
  const err = await watchUntil(t, [a, b], 3, 1).then(() => null, (e: unknown) => e);
  t.ok(err instanceof ApiError && err.code === 'COMPACTED', `COMPACTED (${String(err)})`);
  t.match(err instanceof Error ? err.message : '', new RegExp(`tried ${a} \\(COMPACTED\\), ${b} \\(COMPACTED\\)`));
});

void t.test('a stream ended COMPACTED mid-way (a snapshot installed) resumes on another endpoint after the last change shown', async (t) => {
  const resetting = hubWith(1, 6);
  const first = await serve(t, resetting);
  const holding = await serve(t, hubWith(1, 12));
  let reset = false;
  const { got, resumed } = await watchUntil(t, [first, holding], 2, 11, (seen) => {
    if (seen.length === 3 && !reset) {
      reset = true;
      // After the first three changes, the first endpoint installs a snapshot at 20.
      setImmediate(() => resetting.reset(20));
    }
  });
  t.same(got, range(2, 12), 'each change once, in order: 2-6 from the first endpoint, 7-12 from the second');
  t.equal(resumed.length, 1, 'the move is told once, as a lost stream is (ctl says it on stderr)');
  t.match(resumed[0] ?? '', new RegExp(`^${first} ended the watch \\(COMPACTED: `), 'naming the endpoint and why');
});
