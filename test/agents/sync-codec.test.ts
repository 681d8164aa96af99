/**
 * AgentSync's hand codec (src/agents/sync-codec.ts) against the path it replaced: proto-loader's
 * encoding, and on the server assertWellFramed then proto-loader's decoding. Same bytes for
 * every message; the same objects decoded; a push encoded once and given each agent's nonce
 * decodes as the push encoded whole; malformed frames are refused with a MalformedMessageError.
 */
import t from 'tap';
import { decodeAgentWire, decodeControllerWire, encodeAgentReply, encodeAgentWire, encodeControllerWire, encodePushShared, withNonce } from '../../src/agents/sync-codec.js';
import { encodeAgentFrame, encodeAgentMessage, encodeControllerFrame, encodeControllerMessage, type AgentMessageWire, type ControllerMessageWire } from '../../src/agents/wire.js';
import type { PushPlan } from '../../src/agents/push-planner.js';
import { loadProto, lookupService } from '../../src/transport/proto.js';
import { MalformedMessageError, strictRequests } from '../../src/transport/strict-decode.js';
import { seededRng } from '../../src/util/rng.js';
import { SYNC_METHOD } from '../../src/agents/sync-codec.js';

const old = lookupService(loadProto('agent.proto'), 'controller.agents.AgentSync').service['Sync']!;
const oldServer = strictRequests(lookupService(loadProto('agent.proto'), 'controller.agents.AgentSync').service)['Sync']!;
const oldAgentBytes = (m: AgentMessageWire): Buffer => old.requestSerialize(m);
const oldControllerBytes = (m: ControllerMessageWire): Buffer => old.responseSerialize(m);
const oldAgentDecode = (b: Buffer): unknown => oldServer.requestDeserialize(b);
const oldControllerDecode = (b: Buffer): unknown => old.responseDeserialize(b);

const plan: PushPlan = {
  version: 2 ** 40,
  baseVersion: 7,
  upserts: [{ kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80] }, labels: { tier: 'ü' }, status: { vip: '10.0.0.1' }, revision: 9 } as unknown as PushPlan['upserts'][number]],
  removes: ['service/old'],
} as unknown as PushPlan;

const AGENT_MESSAGES: readonly AgentMessageWire[] = [
  encodeAgentMessage({ type: 'hello', agentId: 'edge-1', clusterId: 'k-ü', clusterName: 'prod-ü', hasConfig: true, version: 12, manifest: [{ key: 'service/web', revision: 3 }], rejectedVersion: null, pushParts: true, epoch: { boot: 'b', seq: 2 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }),
  encodeAgentMessage({ type: 'hello', agentId: 'edge-2', clusterId: 'k', clusterName: '', hasConfig: true, version: 12, manifest: [], rejectedVersion: 2 ** 40, pushParts: false, epoch: { boot: 'b', seq: 3 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }),
  encodeAgentMessage({ type: 'hello', agentId: 'edge-3', clusterId: 'k', clusterName: 'default', hasConfig: true, version: 12, manifest: [], rejectedVersion: null, pushParts: true, heldClusterOnly: true, epoch: { boot: 'b', seq: 4 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }),
  encodeAgentMessage({ type: 'ack', nonce: 2 ** 45, version: 2 ** 33 }),
  encodeAgentMessage({ type: 'nack', nonce: 5, version: 6, error: 'bad ルート' }),
  encodeAgentMessage({ type: 'pong', seq: 300 }),
  encodeAgentMessage({ type: 'usage', missed: ['a'], used: ['b', 'c'] }),
  { type: 'AGENT_MESSAGE_UNSPECIFIED', agentId: '', clusterId: '', clusterName: '', hasConfig: false, version: 0, nonce: 0, error: '', seq: 0, body: new Uint8Array(0), rejectedVersion: 0, pushParts: false },
];

const CONTROLLER_MESSAGES: readonly ControllerMessageWire[] = [
  encodeControllerMessage({ type: 'welcome', controller: 'c1', clusterId: 'k', clusterName: 'prod-ü', session: 'c1:ab:1', pingIntervalMs: 1000, timeoutMs: 2 ** 31 }),
  encodeControllerMessage({ type: 'push', nonce: 2 ** 50, clusterId: 'k-ü', plan }),
  encodeControllerMessage({ type: 'push', nonce: 1, clusterId: '', plan: { ...plan, baseVersion: null } }),
  encodeControllerMessage({ type: 'ping', seq: 2 ** 36, timeoutMs: 2500 }),
  { ...encodeControllerMessage({ type: 'push', nonce: 3, clusterId: 'k', plan }), parts: 2 ** 31 },
  { ...encodeControllerMessage({ type: 'ping', seq: 0, timeoutMs: 0 }), type: 'CONTROLLER_MESSAGE_PUSH_PART', body: new Uint8Array([1, 2, 3]) },
];

void t.test('every message encodes to the bytes proto-loader writes and decodes to the object it returns', async (t) => {
  for (const m of AGENT_MESSAGES) {
    const b = oldAgentBytes(m);
    t.same(encodeAgentWire(m), b, `AgentMessage ${String(m.type)}: same bytes`);
    t.strictSame(decodeAgentWire(b), oldAgentDecode(b), `AgentMessage ${String(m.type)}: same object`);
  }
  for (const m of CONTROLLER_MESSAGES) {
    const b = oldControllerBytes(m);
    t.same(encodeControllerWire(m), b, `ControllerMessage ${String(m.type)}: same bytes`);
    t.strictSame(decodeControllerWire(b), oldControllerDecode(b), `ControllerMessage ${String(m.type)}: same object`);
  }
});

void t.test('an ACK or a pong written straight to bytes is the message proto-loader writes', async (t) => {
  const rng = seededRng(4242);
  // Each varint length from one byte to the largest safe integer's eight.
  const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 28, 2 ** 35, 2 ** 49, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 200; i++) values.push(Math.floor(rng.next() * 2 ** (1 + Math.floor(rng.next() * 52))));
  let checked = 0;
  for (const [i, a] of values.entries()) {
    const b = values[(i * 7 + 3) % values.length]!;
    const ack = encodeAgentMessage({ type: 'ack', nonce: a, version: b });
    const pong = encodeAgentMessage({ type: 'pong', seq: a });
    if (!encodeAgentReply(2, b, a, 0).equals(oldAgentBytes(ack))) t.fail(`ack nonce ${a} version ${b}: other bytes`);
    else if (!encodeAgentReply(4, 0, 0, a).equals(oldAgentBytes(pong))) t.fail(`pong seq ${a}: other bytes`);
    else checked++;
  }
  t.equal(checked, values.length, `${values.length} ACKs and pongs: the same bytes`);
  t.same(decodeAgentWire(encodeAgentReply(2, 9, 2 ** 45, 0)), encodeAgentMessage({ type: 'ack', nonce: 2 ** 45, version: 9 }), 'an ACK decodes as the message');
  t.throws(() => encodeAgentReply(2, -1, 1, 0), /whole number/, 'a version that is not a whole number is refused, as encodeAgentWire refuses it');
  // The agent's frames: bytes for ACKs and pongs, the message for the rest; the stream writes both.
  const frames = [{ type: 'ack', nonce: 5, version: 6 }, { type: 'pong', seq: 7 }, { type: 'nack', nonce: 5, version: 6, error: 'no' }] as const;
  for (const m of frames) t.same(SYNC_METHOD.requestSerialize(encodeAgentFrame(m)), oldAgentBytes(encodeAgentMessage(m)), `${m.type}: the stream writes proto-loader's bytes`);
});

void t.test('a push encoded once, then given each nonce, decodes as the push encoded whole', async (t) => {
  const whole = CONTROLLER_MESSAGES[1]!;
  const shared = encodePushShared(whole);
  for (const nonce of [0, 1, 127, 128, 2 ** 50]) {
    const frame = withNonce(shared, nonce);
    const expected = oldControllerDecode(oldControllerBytes({ ...whole, nonce }));
    t.strictSame(oldControllerDecode(frame), expected, `nonce ${nonce}: proto-loader reads the same push`);
    t.strictSame(decodeControllerWire(frame), expected, `nonce ${nonce}: the hand decoder reads the same push`);
  }
  // What the driver writes: the plan's shared bytes are reused, each frame carries its own nonce.
  const a = encodeControllerFrame({ type: 'push', nonce: 10, clusterId: 'k', plan });
  const b = encodeControllerFrame({ type: 'push', nonce: 11, clusterId: 'k', plan });
  t.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b), 'pushes are written encoded');
  t.equal(decodeControllerWire(a as Buffer).nonce, 10);
  t.equal(decodeControllerWire(b as Buffer).nonce, 11);
  const other = encodeControllerFrame({ type: 'push', nonce: 12, clusterId: 'another', plan });
  t.equal(decodeControllerWire(other as Buffer).clusterId, 'another', 'a cluster id other than the cached one is encoded afresh');
  t.notOk(Buffer.isBuffer(encodeControllerFrame({ type: 'ping', seq: 1, timeoutMs: 5 })), 'anything else goes as the message');
});

void t.test('unknown fields are skipped, unknown enum numbers kept as numbers, fields in any order, as proto-loader does', async (t) => {
  const ack = encodeAgentWire(AGENT_MESSAGES[1]!);
  // field 20 (varint) and field 21 (bytes) unknown; type 9 is not in the enum.
  const extra = Buffer.concat([ack, Buffer.from([0xa0, 0x01, 0x05, 0xaa, 0x01, 0x02, 0x41, 0x42, 0x08, 0x09])]);
  t.strictSame(decodeAgentWire(extra), oldAgentDecode(extra));
  t.equal(decodeAgentWire(extra).type, 9);
  const ping = encodeControllerWire(CONTROLLER_MESSAGES[3]!);
  // Its last three fields first: seq (a tag and six bytes for 2 ** 36), parts (a tag and a zero)
  // and clusterName (a tag and a zero length).
  const reversed = Buffer.concat([ping.subarray(ping.length - 11), ping.subarray(0, ping.length - 11)]);
  t.strictSame(decodeControllerWire(reversed), oldControllerDecode(reversed));
});

void t.test('malformed frames are refused, naming the cause', async (t) => {
  const ack = encodeAgentWire(AGENT_MESSAGES[0]!);
  const cases: readonly [string, Buffer, RegExp][] = [
    ['a string that runs past the end', ack.subarray(0, 5), /needs \d+ more byte/],
    ['a varint cut short', Buffer.from([0x08, 0x80]), /varint runs past the end/],
    ['a varint longer than 10 bytes', Buffer.from([0x28, ...new Array<number>(11).fill(0xff)]), /longer than 10 bytes/],
    ['field number 0', Buffer.from([0x00, 0x01]), /field number 0/],
    ['a group', Buffer.from([0x0b]), /unsupported wire type 3/],
    ['a known varint field as bytes', Buffer.from([0x2a, 0x01, 0x01]), /field 5 has wire type 2, expected 0/],
    ['a known string field as a varint', Buffer.from([0x10, 0x01]), /field 2 has wire type 0, expected 2/],
  ];
  for (const [what, frame, why] of cases) {
    t.throws(() => decodeAgentWire(frame), { name: 'MalformedMessageError', message: why }, `AgentMessage: ${what}`);
    t.throws(() => decodeControllerWire(frame), MalformedMessageError, `ControllerMessage: ${what}`);
  }
  t.throws(() => encodeAgentWire({ ...AGENT_MESSAGES[1]!, nonce: -1 }), /nonce must be a whole number/, 'the encoder refuses a negative number');
  t.throws(() => encodeControllerWire({ ...CONTROLLER_MESSAGES[3]!, seq: 1.5 }), /seq must be a whole number/);
  t.throws(() => encodeAgentWire({ ...AGENT_MESSAGES[1]!, type: 'AGENT_MESSAGE_NOPE' as 'AGENT_MESSAGE_ACK' }), /not in proto\/agent\.proto/);
});
