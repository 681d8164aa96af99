import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { decodeBatch, encodeBatch, type OutgoingBatch } from '../../src/transport/batch-codec.js';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.js';
import { decodePing, decodePong, encodePing, encodePong } from '../../src/transport/ping-codec.js';
import { MalformedMessageError } from '../../src/transport/strict-decode.js';
import { raftPeerMethod } from '../../src/transport/wire.js';
import { seededRng } from '../../src/util/rng.js';
import { bytes, env, SNAPSHOT_SAMPLE, STEP_SAMPLES } from './sample-messages.js';

const SAMPLES = STEP_SAMPLES;

const IDENTITY = { clusterId: '0123456789abcdef', incarnation: 'fedcba9876543210', toIncarnation: '', creation: '00112233445566ff', boot: '0f1e2d3c4b5a6978' };

function batchOf(messages: readonly Message[], extra: Partial<OutgoingBatch> = {}): OutgoingBatch {
  return { cluster: 'test', from: 'n1', to: 'n2', messages, ...IDENTITY, ...extra };
}

/** The bytes proto-loader makes of the same batch (the way every earlier version sent it). */
function protoLoaderBytes(b: OutgoingBatch): Buffer {
  return raftPeerMethod('Step').requestSerialize({ ...b, messages: b.messages.map(encodeMessage) });
}

const protoLoaderDecode = (buf: Buffer): unknown => raftPeerMethod('Step').requestDeserialize(buf);

void t.test('a batch encoded by hand decodes in proto-loader exactly as proto-loader encoded it', async (t) => {
  for (const m of SAMPLES) {
    const b = batchOf([m]);
    t.strictSame(protoLoaderDecode(encodeBatch(b)), protoLoaderDecode(protoLoaderBytes(b)), m.type);
  }
  const all = batchOf(SAMPLES);
  t.strictSame(protoLoaderDecode(encodeBatch(all)), protoLoaderDecode(protoLoaderBytes(all)), 'every type in one batch');
  const unicode = batchOf([{ ...SAMPLES[0]!, from: 'nœud-1', to: 'ノード2' }], { cluster: 'clüster', from: 'nœud-1', to: 'ノード2' });
  t.strictSame(protoLoaderDecode(encodeBatch(unicode)), protoLoaderDecode(protoLoaderBytes(unicode)), 'ids outside ASCII');
});

void t.test('decodeBatch reads what proto-loader reads, from either encoder', async (t) => {
  for (const m of [...SAMPLES, SNAPSHOT_SAMPLE]) {
    const buf = protoLoaderBytes(batchOf([m]));
    t.strictSame(decodeBatch(buf), protoLoaderDecode(buf), `${m.type} from proto-loader`);
  }
  for (const m of SAMPLES) {
    const decoded = decodeBatch(encodeBatch(batchOf([m]))) as { messages: unknown[] };
    t.strictSame(decodeMessage(decoded.messages[0]), m, `${m.type} round trip`);
  }
  t.strictSame(decodeBatch(new Uint8Array(0)), protoLoaderDecode(Buffer.alloc(0)), 'the empty batch: every field at its default');
});

void t.test('fields of an unexpected wire type or broken framing are malformed, unknown fields skipped', async (t) => {
  const good = encodeBatch(batchOf([SAMPLES[4]!]));
  // Field 2 (from) sent as a varint.
  t.throws(() => decodeBatch(Uint8Array.from([0x10, 0x01])), { name: 'MalformedMessageError', message: /field 2 has wire type 0/ });
  t.throws(() => decodeBatch(good.subarray(0, good.length - 1)), MalformedMessageError, 'cut by one byte');
  // A length inside a nested entry that runs past the entry but not past the buffer.
  const nested = Buffer.from(encodeBatch(batchOf([{ type: 'Append', ...env, prevIndex: 0, prevTerm: 0, entries: [{ term: 7, index: 1, kind: 'normal', data: bytes('xy') }], commit: 0, commitOnly: false }])));
  const at = nested.indexOf(Buffer.from([0x22, 0x02, 0x78, 0x79])); // entry field 4: 2 bytes "xy"
  t.ok(at > 0, 'found the entry data');
  nested[at + 1] = 0x05;
  t.throws(() => decodeBatch(nested), MalformedMessageError, 'a field longer than its enclosing message');
  const withUnknown = Buffer.concat([good, Buffer.from([0xf8, 0x01, 0x05])]); // field 31 varint 5
  t.strictSame(decodeBatch(withUnknown), decodeBatch(good), 'an unknown field is skipped');
  // A tag whose varint runs to 2^35: no uint32, so no tag (proto-loader refused it too).
  const longTag = Buffer.concat([good, Buffer.from([0xf8, 0x80, 0x80, 0x80, 0x80, 0x01, 0x05])]);
  t.throws(() => decodeBatch(longTag), { name: 'MalformedMessageError', message: /tag longer than 32 bits/ });
});

void t.test('a commit notice crosses versions: an earlier leader sends none, an earlier follower skips the mark', async (t) => {
  const notice: Message = { type: 'Append', ...env, prevIndex: 9, prevTerm: 2, entries: [], commit: 9, commitOnly: true };
  // An earlier leader's append: proto-loader wrote only the fields the object had.
  const { commitOnly: _, ...earlier } = encodeMessage(notice);
  const fromEarlier = decodeBatch(raftPeerMethod('Step').requestSerialize({ ...batchOf([]), messages: [earlier] })) as { messages: unknown[] };
  t.strictSame(decodeMessage(fromEarlier.messages[0]), { ...notice, commitOnly: false }, 'read as an ordinary append, which is answered');
  // An earlier follower reads field 18 as an unknown field: the append without the mark.
  const bytesNow = encodeBatch(batchOf([notice]));
  const bytesBefore = encodeBatch(batchOf([{ ...notice, commitOnly: false }]));
  t.equal(bytesNow.length, bytesBefore.length, 'the mark is the one field that differs');
  const mark = Buffer.from([18 << 3, 1]);
  t.ok(Buffer.from(bytesNow).indexOf(mark) > 0, 'field 18 carries it');
});

void t.test('random corruption never escapes as anything but MalformedMessageError', async (t) => {
  const good = encodeBatch(batchOf(SAMPLES.filter((m) => m.type !== 'Append' || m.entries.length < 2 || m.entries[0]!.data.length < 1000)));
  const seed = 17;
  const rng = seededRng(seed);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const b = Uint8Array.from(good);
    for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(0, b.length)] = rng.int(0, 256);
    const cut = rng.next() < 0.3 ? b.subarray(0, rng.int(0, b.length)) : b;
    try {
      decodeBatch(cut);
    } catch (e) {
      if (!(e instanceof MalformedMessageError)) throw new Error(`seed ${seed}, case ${i}: ${String(e)}`, { cause: e });
      refused++;
    }
  }
  t.ok(refused > 0, `corruption is caught (${refused} of 3000, seed ${seed})`);
});

void t.test('pings and pongs: same bytes as proto-loader, same decoded shape', async (t) => {
  const ping = { from: 'n1', to: 'n2', cluster: 'test', sendTimeMs: 1234.5678, payload: bytes('view'), seq: 300, ...IDENTITY };
  const pong = { from: 'n2', echoSendTimeMs: 1234.5678, payload: bytes('answer'), seq: 300, ...IDENTITY };
  const hb = raftPeerMethod('Heartbeat');
  t.strictSame(hb.requestDeserialize(encodePing(ping)), hb.requestDeserialize(hb.requestSerialize(ping)), 'ping as proto-loader reads it');
  t.strictSame(decodePing(hb.requestSerialize(ping)), hb.requestDeserialize(hb.requestSerialize(ping)), 'ping read by hand');
  t.strictSame(hb.responseDeserialize(encodePong(pong)), hb.responseDeserialize(hb.responseSerialize(pong)), 'pong as proto-loader reads it');
  t.strictSame(decodePong(hb.responseSerialize(pong)), hb.responseDeserialize(hb.responseSerialize(pong)), 'pong read by hand');
  const empty = { ...ping, payload: new Uint8Array(0), seq: 0, sendTimeMs: 0 };
  t.strictSame(decodePing(encodePing(empty)), hb.requestDeserialize(hb.requestSerialize(empty)), 'defaults');
  t.throws(() => decodePing(Uint8Array.from([0x21, 1, 2])), MalformedMessageError, 'a truncated double');
});
