/**
 * Server streams that end in an error reach ctl with that error, on a real controller: a
 * second snapshot save while one is served is refused at once (it waited out its 60 s stall
 * limit before), and a watch from a revision this controller no longer knows ends with why
 * (it waited for ever before: grpc-js sends no status for a destroyed stream).
 */
import * as http2 from 'node:http2';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('refusals of server streams reach ctl', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, raft: { snapshotThreshold: 10 } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  // 12 MB of state: more than a client that reads nothing takes in before its windows are full.
  const value = 'v'.repeat(1000 * 1024);
  for (let i = 0; i < 12; i++) await client.put(`big/${i}`, value);

  await t.test('a second snapshot save while the first is unread is refused at once', async (t) => {
    const session = http2.connect(`http://${cluster.addresses.get('c1')!}`);
    t.teardown(() => session.destroy());
    const unread = session.request({ ':method': 'POST', ':path': '/controller.api.Operator/SnapshotSave', 'content-type': 'application/grpc', te: 'trailers' });
    unread.end(Buffer.from([0, 0, 0, 0, 0]));
    unread.pause();
    let header = false;
    unread.on('response', () => (header = true));
    await waitFor(() => header, 'the first save to start');
    const second = await cluster.ctl(['snapshot', 'save', path.join(cluster.dir, 'second.snap')]);
    t.equal(second.code, 1, second.stderr);
    t.match(second.stderr, /c1 is already serving a snapshot save \(one at a time: each holds a copy of the state until it is read\); try again when it ends, or ask another controller/);
    t.notMatch(second.stderr, /sent nothing/, 'refused, not timed out');
    session.destroy();
    await waitFor(async () => (await cluster.ctl(['snapshot', 'save', path.join(cluster.dir, 'third.snap')])).code === 0, 'a save once the first client has gone');
  });

  await t.test('a watch from a revision older than the controller knows ends with why', async (t) => {
    for (let i = 0; i < 20; i++) await client.put(`small/${i}`, String(i));
    client.close();
    await cluster.kill('c1', 'SIGTERM');
    cluster.start('c1');
    await cluster.waitForLeader();
    const watch = await cluster.ctl(['watch', 'small/', '--prefix', '--rev', '1']);
    t.equal(watch.code, 1, watch.stderr);
    t.match(watch.stderr, /revision 1 is older than this controller's history of changes, which starts at revision \d+/);
  });
});
