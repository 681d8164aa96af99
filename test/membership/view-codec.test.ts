import t from 'tap';
import { decodeHeartbeat, decodeView, encodeHeartbeat, encodeView, type MemberView } from '../../src/membership/view-codec.js';
import { ViewDecodeError } from '../../src/membership/errors.js';
import { seededRng } from '../../src/util/rng.js';

const view: MemberView = {
  reporter: 'c1',
  incarnation: 0xdeadbeef,
  seq: 42,
  connected: true,
  appliedIndex: 2 ** 40 + 7,
  version: '0.1.0',
  entries: [
    { id: 'c1', status: 'online', lastContactAgoMs: 0, timeoutMs: 0 },
    { id: 'c2', status: 'offline', lastContactAgoMs: 2300, timeoutMs: 2230 },
    { id: 'node.3_x-y', status: 'online', lastContactAgoMs: null, timeoutMs: 2000 },
  ],
};

void t.test('a view survives encode and decode unchanged', async (t) => {
  t.same(decodeView(encodeView(view)), view);
  const empty: MemberView = { reporter: 'x', incarnation: 0, seq: 0xffffffff, connected: false, appliedIndex: 0, version: null, entries: [] };
  t.same(decodeView(encodeView(empty)), empty);
});

void t.test('relayed views travel with their age, and a version 2 view (no relays, no version) still decodes', async (t) => {
  const other: MemberView = { ...view, reporter: 'c3', seq: 9, version: null, entries: [view.entries[0]!] };
  const payload = { view, relayed: [{ ageMs: 120, view: other }] };
  t.same(decodeHeartbeat(encodeHeartbeat(payload)), payload);
  t.same(decodeView(encodeHeartbeat(payload)), view, "decodeView is the sender's own view");
  // Version 2: the same header and body without the version field, nothing after the entries.
  const v3 = encodeView({ ...view, version: null, entries: [] });
  const v2 = new Uint8Array([...v3.subarray(0, HEADER + 3), 0, 0]);
  v2[2] = 2;
  t.same(decodeHeartbeat(v2), { view: { ...view, version: null, entries: [] }, relayed: [] });
  const many = encodeHeartbeat({ view, relayed: [] }).slice();
  many[many.length - 2] = 0xff;
  rejects(t, many, /expected at most 1024 relayed views, found 65280/, 'too many relayed views');
  const short = encodeHeartbeat(payload);
  rejects(t, short.subarray(0, short.length - 3), /more byte/, 'a truncated relayed view');
});

void t.test('decode works on a view inside a larger buffer (as gRPC hands it over)', async (t) => {
  const bytes = encodeView(view);
  const big = new Uint8Array(bytes.length + 20);
  big.set(bytes, 7);
  t.same(decodeView(big.subarray(7, 7 + bytes.length)), view);
});

/** magic(2) version(1) flags(1) incarnation(4) seq(4) appliedIndex(8). */
const HEADER = 20;

const rejects = (t: Pick<typeof import('tap').default, 'throws'>, bytes: Uint8Array, pattern: RegExp, what: string): void => {
  t.throws(() => decodeView(bytes), { name: 'ViewDecodeError', code: 'INVALID_VIEW', message: pattern }, what);
};

void t.test('garbage is refused with a message saying what was expected', async (t) => {
  const good = encodeView(view);
  rejects(t, new Uint8Array(0), /expected 1 more byte/, 'empty');
  rejects(t, new TextEncoder().encode('{"reporter":"c1"}'), /expected magic "MV"/, 'JSON');
  const future = good.slice();
  future[2] = 4;
  rejects(t, future, /expected version 2 to 3, found 4/, 'future version');
  const flags = good.slice();
  flags[3] = 0x80;
  rejects(t, flags, /flags/, 'unknown flag');
  rejects(t, good.subarray(0, good.length - 1), /more byte/, 'truncated');
  rejects(t, new Uint8Array([...good, 0]), /trailing data/, 'trailing byte');
  const status = good.slice();
  // The first entry's status byte: header(20) + reporter(1+2) + version(1+5) + count(2) + id(1+2).
  status[HEADER + 3 + 6 + 2 + 3] = 7;
  rejects(t, status, /status: expected 0 or 1, found 7/, 'bad status');
  const ctl = good.slice();
  ctl[HEADER + 1] = 0x0a; // a newline inside the reporter id
  rejects(t, ctl, /printable ASCII/, 'control character in an id');
  // One entry (12 bytes: id 1+2, status 1, two u32) followed by the relayed count (2 bytes):
  // repeat the entry and raise the entry count (after header, reporter and version) to 2.
  const dup = encodeView({ ...view, entries: [view.entries[1]!] }).slice();
  const entry = dup.subarray(dup.length - 14, dup.length - 2);
  const twice = new Uint8Array([...dup.subarray(0, dup.length - 2), ...entry, 0, 0]);
  twice[HEADER + 3 + 6] = 0;
  twice[HEADER + 3 + 6 + 1] = 2;
  rejects(t, twice, /appears twice/, 'duplicate entry');
});

void t.test('random bytes never crash the decoder with anything but a ViewDecodeError', async (t) => {
  const rng = seededRng(99);
  const good = encodeView(view);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = good.slice();
    for (let k = 0; k < 1 + rng.int(0, 4); k++) bytes[rng.int(0, bytes.length)] = rng.int(0, 256);
    const cut = rng.next() < 0.3 ? bytes.subarray(0, rng.int(0, bytes.length)) : bytes;
    try {
      const v = decodeView(cut);
      t.equal(typeof v.reporter, 'string');
    } catch (e) {
      if (!(e instanceof ViewDecodeError)) throw e;
      refused++;
    }
  }
  t.ok(refused > 500, `most mutations are refused (${refused})`);
});

void t.test('encode refuses what decode would refuse', async (t) => {
  const bad = { name: 'MembershipError', code: 'INVALID_VIEW' };
  t.throws(() => encodeView({ ...view, reporter: '' }), bad);
  t.throws(() => encodeView({ ...view, seq: -1 }), bad);
  t.throws(() => encodeView({ ...view, appliedIndex: -1 }), bad);
  t.throws(() => encodeView({ ...view, appliedIndex: 0.5 }), bad);
  t.throws(() => encodeView({ ...view, entries: [view.entries[0]!, view.entries[0]!] }), bad);
  t.throws(() => encodeView({ ...view, version: 'has space' }), bad);
  t.throws(() => encodeView({ ...view, version: 'x'.repeat(65) }), bad);
  t.throws(() => encodeHeartbeat({ view, relayed: [{ ageMs: 1, view: { ...view, reporter: '' } }] }), bad);
});

void t.test('the wire bytes are fixed: a heartbeat encodes exactly as the byte-by-byte layout says (members of different builds read each other)', async (t) => {
  const view = {
    reporter: 'c1',
    incarnation: 0xdeadbeef,
    seq: 7,
    connected: true,
    appliedIndex: 123456789012,
    version: '0.2.0',
    entries: [
      { id: 'c1', status: 'online' as const, lastContactAgoMs: 0, timeoutMs: 2000 },
      { id: 'node-2.example', status: 'offline' as const, lastContactAgoMs: null, timeoutMs: 4123.6 },
      { id: 'c3', status: 'online' as const, lastContactAgoMs: 77.4, timeoutMs: 2e10 },
    ],
  };
  const relayed = [{ ageMs: 12.5, view: { ...view, reporter: 'c3', version: null, connected: false, entries: view.entries.slice(0, 1) } }];
  // Written by the encoder before it wrote byte by byte (DataView and TextEncoder), 0.2.0.
  const expected =
    '4d560301deadbeef00000007423cbe991a14000002633105302e322e3000030263310100000000000007d00e6e6f64652d322e6578616d706c6500ffffffff0000101c' +
    '026333010000004dfffffffe00010000000d00deadbeef00000007423cbe991a1400000263330000010263310100000000000007d0';
  t.equal(Buffer.from(encodeHeartbeat({ view, relayed })).toString('hex'), expected);
  t.same(decodeHeartbeat(Buffer.from(expected, 'hex')).relayed[0]!.view.reporter, 'c3', 'and decodes');
});
