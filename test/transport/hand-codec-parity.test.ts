/**
 * The hand codecs (batch-codec.ts, ping-codec.ts) against the path they replaced: proto-loader
 * encoding, and on the server assertWellFramed then proto-loader decoding (strictRequests).
 * Same bytes for every field; every frame the old path refused is refused; whatever the new
 * path accepts, the old one accepted as the same object.
 */
import t, { type Test } from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { encodeBatch, type OutgoingBatch } from '../../src/transport/batch-codec.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { encodePing, encodePong } from '../../src/transport/ping-codec.js';
import { peerServiceDefinition } from '../../src/transport/peer-methods.js';
import { MalformedMessageError, strictRequests } from '../../src/transport/strict-decode.js';
import { raftPeerMethod, raftPeerService, type WirePing, type WirePong } from '../../src/transport/wire.js';
import { seededRng } from '../../src/util/rng.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const env = { from: 'n1', to: 'n2', term: 7 } as const;
const IDENTITY = { clusterId: '0123456789abcdef', incarnation: 'fedcba9876543210', toIncarnation: 'aa55aa55aa55aa55', creation: '5a5a5a5a5a5a5a5a', boot: 'a5a5a5a5a5a5a5a5' };

/** Together these set every field of RaftMessage and Entry a Step batch carries (checked below). */
const MESSAGES: readonly Message[] = [
  { type: 'PreVote', ...env, lastLogIndex: 10, lastLogTerm: 6, commit: 9 },
  { type: 'PreVoteResp', ...env, reject: true },
  { type: 'Vote', ...env, lastLogIndex: 2 ** 33, lastLogTerm: 6, commit: 9, transfer: true },
  { type: 'VoteResp', ...env, reject: false },
  {
    type: 'Append',
    ...env,
    prevIndex: 300,
    prevTerm: 3,
    entries: [
      { term: 3, index: 301, kind: 'normal', data: bytes('a') },
      { term: 7, index: 302, kind: 'noop', data: new Uint8Array(0) },
      { term: 7, index: 303, kind: 'conf', data: bytes('{"type":"promote"}') },
      { term: 2 ** 40, index: 2 ** 45, kind: 'normal', data: new Uint8Array(200).fill(0xff) },
    ],
    commit: 299, commitOnly: false,
  },
  { type: 'Append', ...env, prevIndex: 0, prevTerm: 0, entries: [], commit: 0, commitOnly: true },
  { type: 'AppendResp', ...env, reject: true, index: 9, rejectHint: 5, hintTerm: 3 },
  { type: 'Heartbeat', ...env, commit: 12, context: 'read-1' },
  { type: 'HeartbeatResp', ...env, context: '' },
  { type: 'TimeoutNow', ...env, term: 0 },
  { type: 'ReadIndex', ...env, context: 'ctx-ü' },
  { type: 'ReadIndexResp', ...env, index: 44, reject: true, context: 'ctx' },
];

const BATCH: OutgoingBatch = { cluster: 'clüster', from: 'n1', to: 'ノード2', messages: MESSAGES, ...IDENTITY, replies: true };
const PING: WirePing = { from: 'n1', to: 'n2', cluster: 'c', sendTimeMs: 1234.5678, payload: bytes('view'), seq: 2 ** 35, ...IDENTITY };
const PONG: WirePong = { from: 'n2', echoSendTimeMs: -0.25, payload: bytes('answer'), seq: 300, ...IDENTITY, disk: { freeBytes: 2 ** 40 + 7, floorBytes: 64 * 2 ** 20 } };
/** A pong of an older member, or of one with no disk reading yet: no PeerDisk. */
const { disk: _disk, ...PONG_WITHOUT_DISK } = PONG;

const step = raftPeerMethod('Step');
const hb = raftPeerMethod('Heartbeat');
const oldBatchBytes = (b: OutgoingBatch): Buffer => step.requestSerialize({ ...b, messages: b.messages.map(encodeMessage) });

/** Every key of a decoded object (proto-loader fills in defaults) holds a non-default somewhere. */
function unsetFields(objects: readonly Record<string, unknown>[], skip: readonly string[]): string[] {
  const isDefault = (v: unknown): boolean =>
    v === 0 || v === '' || v === false || v === null || (v instanceof Uint8Array && v.length === 0) || (Array.isArray(v) && v.length === 0) || (typeof v === 'string' && v.endsWith('_UNSPECIFIED'));
  const keys = new Set(objects.flatMap((o) => Object.keys(o)));
  return [...keys].filter((k) => !skip.includes(k) && objects.every((o) => isDefault(o[k])));
}

void t.test('the samples set every field the hand codecs write', async (t) => {
  const batch = step.requestDeserialize(oldBatchBytes(BATCH)) as Record<string, unknown> & { messages: Record<string, unknown>[] };
  t.same(unsetFields([batch], []), [], 'MessageBatch');
  // snapshot (17) travels only with InstallSnapshot, on its own stream, never in a Step batch.
  t.same(unsetFields(batch.messages, ['snapshot']), [], 'RaftMessage');
  const entries = batch.messages.flatMap((m) => m.entries as Record<string, unknown>[]);
  t.same(unsetFields(entries, []), [], 'Entry');
  t.same(unsetFields([hb.requestDeserialize(hb.requestSerialize(PING)) as Record<string, unknown>], []), [], 'HeartbeatPing');
  t.same(unsetFields([hb.responseDeserialize(hb.responseSerialize(PONG)) as Record<string, unknown>], []), [], 'HeartbeatPong');
});

void t.test('the hand encoders write the same bytes as proto-loader', async (t) => {
  t.ok(encodeBatch(BATCH).equals(oldBatchBytes(BATCH)), 'a batch of every message type');
  for (const m of MESSAGES) {
    const b = { ...BATCH, messages: [m] };
    t.ok(encodeBatch(b).equals(oldBatchBytes(b)), m.type);
  }
  const empty: OutgoingBatch = { cluster: '', from: '', to: '', messages: [], clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' };
  t.ok(encodeBatch(empty).equals(oldBatchBytes(empty)), 'a batch of defaults: proto-loader writes the present fields, so does the hand encoder');
  t.ok(encodePing(PING).equals(hb.requestSerialize(PING)), 'ping');
  t.ok(encodePong(PONG).equals(hb.responseSerialize(PONG)), 'pong');
  t.ok(encodePong(PONG_WITHOUT_DISK).equals(hb.responseSerialize(PONG_WITHOUT_DISK)), 'pong without a disk');
  const zeroDisk = { ...PONG, disk: { freeBytes: 0, floorBytes: 0 } };
  t.ok(encodePong(zeroDisk).equals(hb.responseSerialize(zeroDisk)), 'pong of a full disk (0 free, written, not left out)');
  const zeroPing = { ...PING, sendTimeMs: 0, payload: new Uint8Array(0), seq: 0 };
  t.ok(encodePing(zeroPing).equals(hb.requestSerialize(zeroPing)), 'ping with defaults');
});

type Decode = (buf: Buffer) => unknown;
const oldService = strictRequests(raftPeerService().service) as unknown as Record<string, { requestDeserialize: Decode; responseDeserialize: Decode }>;
const newService = peerServiceDefinition() as unknown as Record<string, { requestDeserialize: Decode }>;

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };
function attempt(decode: Decode, buf: Buffer): Outcome {
  try {
    return { ok: true, value: decode(buf) };
  } catch (err) {
    return { ok: false, err };
  }
}

/** Checks one frame: refused before means refused now, as MalformedMessageError; accepted now means accepted before, alike. */
function compare(t: Test, oldDecode: Decode, newDecode: Decode, buf: Buffer, what: string): 'both' | 'stricter' | 'refused' {
  const before = attempt(oldDecode, buf);
  const now = attempt(newDecode, buf);
  if (!now.ok) {
    if (!(now.err instanceof MalformedMessageError)) t.fail(`${what}: refused with ${String(now.err)}, not MalformedMessageError`);
    return before.ok ? 'stricter' : 'refused';
  }
  if (!before.ok) t.fail(`${what}: the old path refused it (${String(before.err)}), the new one accepted it`);
  else t.strictSame(now.value, before.value, what, { diagnostic: false });
  return 'both';
}

void t.test('truncated and corrupted frames: everything the old path refused is refused, the rest reads alike', async (t) => {
  const cases: [name: string, oldDecode: Decode, newDecode: Decode, good: Buffer][] = [
    ['Step', oldService.Step!.requestDeserialize, newService.Step!.requestDeserialize, oldBatchBytes(BATCH)],
    ['StepStream', oldService.StepStream!.requestDeserialize, newService.StepStream!.requestDeserialize, oldBatchBytes(BATCH)],
    ['Heartbeat', oldService.Heartbeat!.requestDeserialize, newService.Heartbeat!.requestDeserialize, hb.requestSerialize(PING)],
    ['HeartbeatStream', oldService.HeartbeatStream!.requestDeserialize, newService.HeartbeatStream!.requestDeserialize, hb.requestSerialize(PING)],
  ];
  const seed = 1717;
  const rng = seededRng(seed);
  for (const [name, oldDecode, newDecode, good] of cases) {
    const tally = { both: 0, stricter: 0, refused: 0 };
    // Every truncation of the frame.
    for (let cut = 0; cut < good.length; cut++) tally[compare(t, oldDecode, newDecode, good.subarray(0, cut), `${name} cut at ${cut}`)]++;
    // Seeded corruptions, some also cut.
    for (let i = 0; i < 1500; i++) {
      const b = Buffer.from(good);
      for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(0, b.length)] = rng.int(0, 256);
      const buf = rng.next() < 0.3 ? b.subarray(0, rng.int(0, b.length)) : b;
      tally[compare(t, oldDecode, newDecode, buf, `${name} corruption ${i} (seed ${seed})`)]++;
    }
    t.ok(tally.refused > 0 && tally.both > 0, `${name}: ${JSON.stringify(tally)} (stricter: nested framing and wire types the old path did not check)`);
  }
  // Pongs are read by the client: proto-loader had no framing check there, so only agreement on what is accepted.
  const pong = hb.responseSerialize(PONG);
  const newPong = peerServiceDefinition().Heartbeat!.responseDeserialize as Decode;
  for (let cut = 0; cut < pong.length; cut++) {
    const now = attempt(newPong, pong.subarray(0, cut));
    if (now.ok) t.strictSame(now.value, hb.responseDeserialize(pong.subarray(0, cut)), `pong cut at ${cut}`, { diagnostic: false });
    else t.type(now.err, MalformedMessageError, `pong cut at ${cut} refused as malformed`);
  }
});
