/**
 * Finding 3 of issue 10 on real processes: the sender of a Raft message was just its `from`
 * field, so with the operator's client certificate a forged Append made a follower apply a put
 * nobody proposed (reproduced on the version before: "accepted", and the key appeared). Now peer
 * RPCs accept only the peer certificate of the member a message claims to come from.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { loadProto, lookupService } from '../../src/transport/proto.js';
import { refusalOf } from '../../src/transport/refusal-status.js';
import { raftPeerMethod, raftPeerService, type RaftPeerMethod } from '../../src/transport/wire.js';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

type Files = { readonly ca: string; readonly cert: string; readonly key: string };

/** One unary peer RPC with the given client certificate; the error, or null. */
function call(address: string, files: Files, method: RaftPeerMethod, request: object): Promise<grpc.ServiceError | null> {
  const creds = grpc.credentials.createSsl(fs.readFileSync(files.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert));
  const client = new (raftPeerService())(address, creds);
  const def = raftPeerMethod(method);
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

void t.test('forged Raft messages, heartbeats and status reports are refused unless signed as the claimed member', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-forged-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('ca', id, { peer: id });
  const operator = certs.makeCert('ca', 'operator', { cn: 'c1' }); // even named like a member
  const peerFiles = (id: string): Files => ({ ca: path.join(dir, 'ca.crt'), cert: path.join(dir, `${id}.crt`), key: path.join(dir, `${id}.key`) });

  const cluster = await ProcessCluster.create({
    nodes: 3,
    logLevel: 'info',
    tls: { ca: path.join(dir, 'ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` },
    clientTls: operator,
  });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [follower, other] = cluster.ids.filter((id) => id !== leader) as [string, string];
  const client = cluster.client();
  t.teardown(() => client.close());
  await client.put('real', '1');
  const st = (await cluster.status(follower))!;
  const hello = await cluster.ctl(['status', '-o', 'json'], cluster.endpoints([leader]));
  t.equal(hello.code, 0, 'the operator certificate works for the client API');

  // A put nobody proposed, as the leader would append it.
  const put = encodeCommand({ kind: 'kv', op: 'put', key: 'forged', value: new TextEncoder().encode('nobody proposed this') });
  const append: Message = {
    type: 'Append', from: leader, to: follower, term: st.term, prevIndex: st.lastIndex, prevTerm: st.term,
    entries: [{ term: st.term, index: st.lastIndex + 1, kind: 'normal', data: put }], commit: st.lastIndex + 1, commitOnly: false,
  };
  const heartbeat: Message = { type: 'Heartbeat', from: leader, to: follower, term: st.term, commit: st.commitIndex, context: '' };
  const batch = (m: Message) => ({ cluster: 'e2e', from: leader, to: follower, messages: [encodeMessage(m)] });
  const ping = { cluster: 'e2e', from: leader, to: follower, sendTimeMs: 1, payload: new Uint8Array(0) };
  const report = { cluster: 'e2e', from: leader, to: follower, member: other, status: 'offline', reason: 'forged' };
  const target = cluster.addresses.get(follower)!;

  for (const [who, files, code] of [
    ["the operator's client certificate (CN equal to a member id)", operator, 'NOT_A_PEER'],
    [`${other}'s peer certificate`, peerFiles(other), 'WRONG_PEER'],
  ] as const) {
    for (const [what, method, request] of [
      ['a forged Append', 'Step', batch(append)],
      ['a forged Raft heartbeat', 'Step', batch(heartbeat)],
      ['a forged membership heartbeat', 'Heartbeat', ping],
      ['a forged status report', 'ReportStatus', report],
    ] as const) {
      const err = await call(target, files, method, request);
      t.equal(err?.code, grpc.status.PERMISSION_DENIED, `${what} with ${who} is refused`);
      t.equal(err && refusalOf(err), code, `  as ${code}: ${err?.details ?? ''}`);
    }
  }

  // ReportStatus used to sit on the client API with no caller check.
  const api = new (lookupService(loadProto('controller.proto'), 'controller.api.Controller'))(
    target,
    grpc.credentials.createSsl(fs.readFileSync(operator.ca), fs.readFileSync(operator.key), fs.readFileSync(operator.cert)),
  );
  const viaClientApi = await new Promise<grpc.ServiceError | null>((resolve) =>
    api.makeUnaryRequest('/controller.api.Controller/ReportStatus', (x: object) => Buffer.from(JSON.stringify(x)).subarray(0, 0), (b: Buffer) => b, {}, { deadline: Date.now() + 5000 }, (err) => resolve(err ?? null)),
  );
  api.close();
  t.equal(viaClientApi?.code, grpc.status.PERMISSION_DENIED, 'ReportStatus on the client API with the operator certificate is refused');
  t.match(viaClientApi?.details, /served by controller\.peer\.RaftPeer\/ReportStatus, for peer certificates only/);

  await client.put('after', '2');
  await cluster.explainFailure(
    waitFor(async () => (await cluster.client([follower]).get('after', { serializable: true }).catch(() => null)) !== null, `${follower} to keep applying`, 10000),
  );
  const forged = await cluster.client([follower]).get('forged', { serializable: true }).catch(() => null);
  t.equal(forged, null, `${follower} never applied the forged put`);
  await cluster.explainFailure(
    waitFor(async () => (await client.listControllers()).controllers.every((c) => c.online && c.lagEntries === 0), 'every member online and caught up', 15000),
  );
  t.pass('every member online and caught up: the forgeries disturbed nothing');
  const audit = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([follower]));
  t.match(audit.stdout, /"type":"peer.refused".*NOT_A_PEER/, 'the refusals are in the audit trail');
  t.match(audit.stdout, /"type":"peer.refused".*WRONG_PEER/);
});

void t.test('plaintext beyond loopback logs a loud warning at start', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  const address = cluster.addresses.get('c1')!;
  const port = address.split(':')[1]!;
  const yaml = fs.readFileSync(cluster.configFile, 'utf8').replace(`address: "${address}"`, `address: "${address}", listen: "0.0.0.0:${port}"`);
  fs.writeFileSync(cluster.configFile, yaml);
  cluster.start('c1');
  await waitFor(() => /PLAINTEXT: listening on 0\.0\.0\.0:\d+ without TLS/.test(cluster.dumpLogs('c1')), 'the plaintext warning', 20000);
  t.match(cluster.dumpLogs('c1'), /"level":40.*PLAINTEXT.*Anyone who can reach it can act as any member/);
});

void t.test("a controller whose own certificate is not its peer certificate refuses to start (exit 2), naming the fix", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-own-cert-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  const plain = certs.makeCert('ca', 'c1', { cn: 'c1' }); // an old-style certificate: CN only
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info', tls: { ca: plain.ca, cert: plain.cert, key: plain.key } });
  t.teardown(() => cluster.stop());
  const child = cluster.start('c1');
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
  t.equal(code, 2, 'exit 2, as for any config error');
  t.match(
    cluster.dumpLogs('c1'),
    /tls\.cert: .*c1\.crt: expected this node's peer certificate, with exactly one subjectAltName URI urn:raft-controller:peer:c1, found none/,
    'naming the key, the file and what it lacks',
  );
  t.notOk(fs.existsSync(path.join(cluster.dir, 'data', 'c1')), 'nothing written to the data dir');
});
