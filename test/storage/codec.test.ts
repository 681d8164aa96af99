import { crc32 as zlibCrc32 } from 'node:zlib';
import t from 'tap';
import type { Entry } from '../../src/raft/types.js';
import { decodeEntry, decodeHardState, decodeSnapshotMeta, encodeEntry, encodeHardState, encodeSnapshotMeta } from '../../src/storage/codec.js';
import { entryKey, parseEntryKey } from '../../src/storage/keys.js';
import { MAX_RAFT_NUMBER } from '../../src/limits/raft-numbers.js';

const BIG = MAX_RAFT_NUMBER;

void t.test('entries round-trip, including empty data and indexes beyond 32 bits', async (t) => {
  const cases: Entry[] = [
    { index: 1, term: 1, kind: 'noop', data: new Uint8Array(0) },
    { index: 2 ** 40 + 7, term: 2 ** 33, kind: 'conf', data: new Uint8Array([0, 255, 7]) },
    { index: BIG, term: BIG, kind: 'normal', data: new Uint8Array(70_000).fill(9) },
  ];
  for (const e of cases) t.same(decodeEntry(encodeEntry(e)), { ok: true, value: e }, `entry ${e.index}`);
});

void t.test('a decoded entry does not alias the buffer it was read from', async (t) => {
  const raw = encodeEntry({ index: 3, term: 1, kind: 'normal', data: new Uint8Array([1, 2, 3]) });
  const d = decodeEntry(raw);
  raw.fill(0);
  t.ok(d.ok);
  if (d.ok) t.same(d.value.data, new Uint8Array([1, 2, 3]));
});

void t.test('an entry of an unknown kind or with a wrong data length is refused', async (t) => {
  const raw = encodeEntry({ index: 3, term: 1, kind: 'normal', data: new Uint8Array([1, 2, 3]) });
  const kind = Buffer.from(raw);
  kind[1] = 9;
  kind.writeUInt32BE(crc(kind), kind.length - 4);
  t.same(decodeEntry(kind), { ok: false, problem: 'expected entry kind 0..2, found 9' });
  const len = Buffer.from(raw);
  len.writeUInt32BE(4, 18);
  len.writeUInt32BE(crc(len), len.length - 4);
  t.same(decodeEntry(len), { ok: false, problem: 'header says 4 data bytes, value holds 3' });
});

void t.test('hard states round-trip and keep a null vote apart from an empty one', async (t) => {
  for (const hs of [
    { term: 0, vote: null, commit: 0 },
    { term: 5, vote: '', commit: 3 },
    { term: BIG, vote: 'c2-ünï', commit: 2 ** 45 },
  ]) {
    t.same(decodeHardState(encodeHardState(hs)), { ok: true, value: hs });
  }
});

void t.test('snapshot meta round-trips with its data length and checksum', async (t) => {
  const meta = { index: 2 ** 35, term: 9, conf: { voters: ['c1', 'ñode-2', 'c3'], learners: [] } };
  const d = decodeSnapshotMeta(encodeSnapshotMeta(meta, new Uint8Array([1, 2, 3, 4])));
  t.ok(d.ok);
  if (d.ok) {
    t.same(d.value.meta, meta);
    t.equal(d.value.dataLength, 4);
    t.equal(d.value.dataCrc, crc(Buffer.from([1, 2, 3, 4, 0, 0, 0, 0])));
  }
});

void t.test('terms and indexes beyond the shared bound are refused when read and when written', async (t) => {
  const entry = encodeEntry({ index: 5, term: 2, kind: 'normal', data: new Uint8Array([1]) });
  const forged = Buffer.from(entry);
  forged.writeUInt32BE(0x1f_ffff, 2); // term 2^53 - 2: the high word 0x1fffff, low word below
  forged.writeUInt32BE(0xffff_fffe, 6);
  forged.writeUInt32BE(crc(forged), forged.length - 4);
  const d = decodeEntry(forged);
  t.notOk(d.ok, 'an entry at term 2^53 - 2 is refused');
  if (!d.ok) t.match(d.problem, /^term: expected a term of at most 2\^52 \(4503599627370496;.*found 9007199254740990$/);
  const hs = Buffer.from(encodeHardState({ term: 3, vote: null, commit: 1 }));
  hs.writeUInt32BE(0x10_0001, 1); // term 2^52 + 2^32
  hs.writeUInt32BE(crc(hs), hs.length - 4);
  const h = decodeHardState(hs);
  t.notOk(h.ok, 'a hard state beyond the bound is refused');
  if (!h.ok) t.match(h.problem, /^term: expected a term of at most 2\^52/);
  t.throws(() => encodeEntry({ index: MAX_RAFT_NUMBER + 1, term: 1, kind: 'noop', data: new Uint8Array(0) }), /refusing to store index: expected an index of at most 2\^52/);
  t.throws(() => encodeHardState({ term: MAX_RAFT_NUMBER + 1, vote: null, commit: 0 }), /refusing to store term/);
  t.throws(() => encodeSnapshotMeta({ index: 1, term: 2 ** 53, conf: { voters: ['a'], learners: [] } }, new Uint8Array(0)), /refusing to store term/);
});

void t.test('entry keys sort in index order and parse back', async (t) => {
  const indexes = [1, 9, 10, 15, 16, 255, 256, 2 ** 32, 2 ** 40, BIG];
  const keys = indexes.map(entryKey);
  t.same([...keys].sort(), keys);
  t.same(keys.map(parseEntryKey), indexes);
  t.equal(parseEntryKey('e12'), null);
  t.equal(parseEntryKey('e00000000000000G1'), null);
  t.equal(parseEntryKey('effffffffffffffff'), null, 'beyond a safe integer');
});

/** crc32 of all but the last 4 bytes, as the codec seals records. */
function crc(buf: Buffer): number {
  return zlibCrc32(buf.subarray(0, buf.length - 4));
}
