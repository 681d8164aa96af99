/**
 * controller.peer.MemberResources over real gRPC on loopback: a member answers a member of its
 * cluster and refuses others; the client bounds a silent member by its deadline, and refuses
 * answers that are malformed, lie about who answers, are out of bounds, or are too large.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { ResourcesError } from '../../src/resources/errors.js';
import { ResourcesPeerClient } from '../../src/resources/peer-client.js';
import { memberResourcesHandlers } from '../../src/resources/peer-service.js';
import type { MachineReading } from '../../src/resources/types.js';
import { describeMethod, memberResourcesDefinition, toWire } from '../../src/resources/wire.js';
import { basicIdentity, plaintextPeerAuth, type PeerAuth } from '../../src/transport/index.js';
import { strictRequests } from '../../src/transport/strict-decode.js';

const READING: MachineReading = {
  static: { cpus: 4, cpuModel: 'Test CPU', cpuFlags: ['avx', 'sse2'], memoryBytes: 8 * 1024 ** 3 },
  live: { diskFreeBytes: 5_000_000, loadAverage: [0.5, 0.4, 0.3], readAt: 1_700_000_000_000 },
};

/**
 * The deadline of a call that should end in an answer or a refusal, not in the deadline: it only
 * bounds a failure. (1 s was a guess that a loaded host beat: a first call also connects.)
 */
const ANSWER_MS = 20_000;

async function serve(t: Test, impl: grpc.UntypedServiceImplementation, definition: grpc.ServiceDefinition = strictRequests(memberResourcesDefinition().service)): Promise<string> {
  const server = new grpc.Server();
  server.addService(definition, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function client(t: Test, self = 'c1', clusterName = 'test'): ResourcesPeerClient {
  const c = new ResourcesPeerClient({ self, clusterName, credentials: grpc.credentials.createInsecure(), envelope: () => ({ clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' }) });
  t.teardown(() => c.close());
  return c;
}

async function failure(p: Promise<unknown>): Promise<ResourcesError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ResourcesError) return err;
    throw err;
  }
  throw new Error('expected a failure, found an answer');
}

void t.test('a member answers its figures to a member of its cluster, live only unless asked for the static ones', async (t) => {
  const asked: boolean[] = [];
  const refused: string[] = [];
  const address = await serve(
    t,
    memberResourcesHandlers({
      self: 'c2',
      auth: plaintextPeerAuth,
      identity: { ...basicIdentity('c2', 'test', (id) => id === 'c1'), onRefused: (peer, r) => void refused.push(`${peer} ${r.code}`) },
      read: async (includeStatic) => {
        asked.push(includeStatic);
        return { static: includeStatic ? READING.static : null, live: READING.live };
      },
    }),
  );
  const c = client(t);
  t.strictSame(await c.describe({ id: 'c2', address }, true, ANSWER_MS), READING);
  t.strictSame(await c.describe({ id: 'c2', address }, false, ANSWER_MS), { static: null, live: READING.live });
  t.strictSame(asked, [true, false]);

  const stranger = await failure(client(t, 'c9').describe({ id: 'c2', address }, true, ANSWER_MS));
  t.equal(stranger.code, 'UNREACHABLE');
  t.match(stranger.message, /PERMISSION_DENIED: UNKNOWN_MEMBER: unknown sender/);
  const otherCluster = await failure(client(t, 'c1', 'other').describe({ id: 'c2', address }, true, ANSWER_MS));
  t.match(otherCluster.message, /PERMISSION_DENIED: CLUSTER_NAME: cluster name mismatch/);
  t.strictSame(refused, ['c9 UNKNOWN_MEMBER', 'c1 CLUSTER_NAME'], 'refusals reported like those of every peer RPC');
  const misdirected = await failure(c.describe({ id: 'c3', address }, true, ANSWER_MS));
  t.match(misdirected.message, /INVALID_ARGUMENT: misdirected/);
});

void t.test("the caller's certificate must be the peer certificate of the member it claims to be", async (t) => {
  // A stand-in for certificatePeerAuth (tested with real certificates in test/e2e/resources.test.ts):
  // this connection's certificate is c3's peer certificate.
  const claims: string[] = [];
  const auth: PeerAuth = {
    check: (_call, claimed) => {
      claims.push(claimed);
      return claimed === 'c3' ? null : { code: 'WRONG_PEER', reason: `the caller's peer certificate is member c3's, but the message claims to come from ${JSON.stringify(claimed)}` };
    },
    checkAnyPeer: () => null,
    peerNamed: () => 'c3',
    peerCaNonPeer: () => false,
  };
  let reads = 0;
  const refused: string[] = [];
  const address = await serve(
    t,
    memberResourcesHandlers({
      self: 'c2',
      auth,
      identity: { ...basicIdentity('c2', 'test', (id) => id === 'c1' || id === 'c3'), onRefused: (peer, r) => void refused.push(`${peer} ${r.code}`) },
      read: async () => {
        reads += 1;
        return READING;
      },
    }),
  );
  const impostor = await failure(client(t, 'c1').describe({ id: 'c2', address }, true, ANSWER_MS));
  t.match(impostor.message, /PERMISSION_DENIED: WRONG_PEER: the caller's peer certificate is member c3's, but the message claims to come from "c1"/);
  t.equal(reads, 0, 'nothing is read for a caller that is not who it claims to be');
  t.strictSame(await client(t, 'c3').describe({ id: 'c2', address }, true, ANSWER_MS), READING, 'the member the certificate names is answered');
  t.strictSame(claims, ['c1', 'c3'], 'the claimed sender is what the certificate is checked against');
  t.strictSame(refused, ['c1 WRONG_PEER'], 'the refusal is reported like those of every peer RPC');
});

void t.test('a silent member is given up on at the deadline', async (t) => {
  const address = await serve(t, { Describe: () => undefined });
  const err = await failure(client(t).describe({ id: 'c2', address }, true, 300));
  t.equal(err.code, 'UNREACHABLE');
  t.match(err.message, /c2 at 127\.0\.0\.1:\d+: no answer within 300ms/);
});

void t.test('a dead address fails fast as unreachable', async (t) => {
  const address = await serve(t, { Describe: () => undefined });
  const dead = address.replace(/:\d+$/, ':1');
  const err = await failure(client(t).describe({ id: 'c2', address: dead }, false, ANSWER_MS));
  t.equal(err.code, 'UNREACHABLE');
  t.match(err.message, /UNAVAILABLE/, 'refused at once, not given up on at the deadline');
});

void t.test('answers that are not figures are refused, and say why', async (t) => {
  const good = toWire('c2', READING);
  const cases: Array<[string, object, RegExp]> = [
    ['another member answering', { ...good, member: 'c3' }, /expected an answer from "c2", found one from "c3"/],
    ['no static figures when asked', { ...good, hasStatic: false }, /asked for the static figures, found none/],
    ['zero CPUs', { ...good, cpus: 0 }, /"cpus" must be in \[1, 65536\]/],
    ['a flag that is not one', { ...good, cpuFlags: ['avx', '<script>'] }, /CPU flag names/],
    ['a load average of two figures', { ...good, loadAverage: [1, 2] }, /3 numbers/],
    ['an infinite load', { ...good, loadAverage: [1, 2, Number.POSITIVE_INFINITY] }, /numbers in \[0, 1000000\]/],
    ['no read time', { ...good, readAtMs: 0 }, /"readAtMs" must be a time after 1970/],
  ];
  for (const [what, answer, reason] of cases) {
    const address = await serve(t, { Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, answer) });
    const err = await failure(client(t).describe({ id: 'c2', address }, true, ANSWER_MS));
    t.equal(err.code, 'INVALID_ANSWER', what);
    t.match(err.message, reason, what);
  }
});

void t.test('malformed bytes and oversized answers are refused before they are decoded', async (t) => {
  const method = describeMethod();
  const rawAnswer = (bytes: Buffer): grpc.ServiceDefinition => ({ Describe: { ...method, responseSerialize: () => bytes } });
  // Field 4 (cpu_model) claims 200 bytes and has 3.
  const truncated = await serve(t, { Describe: (_c: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}) }, rawAnswer(Buffer.from([0x22, 0xc8, 0x01, 0x61, 0x62, 0x63])));
  const malformed = await failure(client(t).describe({ id: 'c2', address: truncated }, true, ANSWER_MS));
  t.equal(malformed.code, 'INVALID_ANSWER');
  const huge = Buffer.concat([Buffer.from([0x22, 0x80, 0x80, 0x08]), Buffer.alloc(128 * 1024, 0x61)]);
  const oversized = await serve(t, { Describe: (_c: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}) }, rawAnswer(huge));
  const tooLarge = await failure(client(t).describe({ id: 'c2', address: oversized }, true, ANSWER_MS));
  t.match(tooLarge.message, /RESOURCE_EXHAUSTED/);
});
