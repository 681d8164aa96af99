import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { MESSAGE_TYPES } from '../../src/raft/messages.js';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.js';
import { ProtocolError } from '../../src/transport/errors.js';
import { raftPeerMethod } from '../../src/transport/wire.js';
import { bytes, env, SNAPSHOT_SAMPLE, STEP_SAMPLES } from './sample-messages.js';

const SAMPLES: readonly Message[] = [...STEP_SAMPLES, SNAPSHOT_SAMPLE];

/** What a peer's server hands the decoder: the message after a real protobuf round trip. */
function overTheWire(m: Message): Record<string, unknown> {
  const step = raftPeerMethod('Step');
  const buf = step.requestSerialize({ cluster: 'c', from: m.from, to: m.to, messages: [encodeMessage(m)] });
  const batch = step.requestDeserialize(buf) as { messages: Record<string, unknown>[] };
  const first = batch.messages[0];
  if (first === undefined) throw new Error('no message after round trip');
  return first;
}

/** The subtest type (the last `t.test` overload takes just the callback). */
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function rejects(t: Test, raw: unknown, field: RegExp, why: string): void {
  try {
    decodeMessage(raw);
    t.fail(`${why}: expected a ProtocolError`);
  } catch (err) {
    t.ok(err instanceof ProtocolError, `${why}: a ProtocolError`);
    if (err instanceof ProtocolError) {
      t.equal(err.code, 'BAD_MESSAGE');
      t.match(err.message, field, `${why}: message names the field, the expectation and what was found`);
    }
  }
}


void t.test('every message type survives encode, protobuf and decode unchanged', async (t) => {
  const covered = new Set(SAMPLES.map((m) => m.type));
  t.same([...covered].sort(), [...MESSAGE_TYPES].sort(), 'the samples cover every type');
  for (const m of SAMPLES) {
    t.strictSame(decodeMessage(overTheWire(m)), m, m.type);
  }
});

void t.test('an InstallSnapshot envelope carries meta but never the data', async (t) => {
  const m: Extract<Message, { type: 'InstallSnapshot' }> = {
    type: 'InstallSnapshot',
    ...env,
    snapshot: { meta: { index: 3, term: 2, conf: { voters: ['n1'], learners: [] } }, data: bytes('big state') },
  };
  const decoded = decodeMessage(overTheWire(m));
  t.equal(decoded.type, 'InstallSnapshot');
  if (decoded.type === 'InstallSnapshot') {
    t.strictSame(decoded.snapshot.meta, m.snapshot.meta);
    t.equal(decoded.snapshot.data.byteLength, 0);
  }
});

void t.test('decode copies only the fields the type uses', async (t) => {
  const raw = overTheWire({ type: 'TimeoutNow', ...env });
  t.equal(raw['context'], '', 'the wire form has every field, defaulted');
  const m = decodeMessage({ ...raw, context: 'x', commit: 5, reject: true });
  t.strictSame(Object.keys(m).sort(), ['from', 'term', 'to', 'type']);
});

void t.test('decoded entry data does not alias the receive buffer', async (t) => {
  const raw = overTheWire(SAMPLES[4] as Message);
  const entries = raw['entries'] as { data: Uint8Array }[];
  const m = decodeMessage(raw);
  (entries[0] as { data: Uint8Array }).data[0] = 0;
  t.equal(m.type === 'Append' ? m.entries[0]?.data[0] : -1, 'a'.charCodeAt(0));
});

const byType = (type: Message['type']): Record<string, unknown> => {
  const m = SAMPLES.find((s) => s.type === type);
  if (m === undefined) throw new Error(`no sample ${type}`);
  return overTheWire(m);
};

void t.test('decode rejects a malformed envelope', async (t) => {
  const ok = byType('TimeoutNow');
  rejects(t, null, /message: expected an object, found null/, 'null');
  rejects(t, [ok], /message: expected an object, found an array/, 'array');
  rejects(t, { ...ok, type: 'BOGUS' }, /type: expected one of PRE_VOTE.*found "BOGUS"/, 'unknown type name');
  rejects(t, { ...ok, type: 99 }, /type: expected .*found 99/, 'unknown enum number');
  rejects(t, { ...ok, type: 'MESSAGE_TYPE_UNSPECIFIED' }, /type: .*found "MESSAGE_TYPE_UNSPECIFIED"/, 'unspecified type');
  rejects(t, { ...ok, from: '' }, /from: expected a non-empty string, found ""/, 'empty from');
  rejects(t, { ...ok, to: undefined }, /to: expected a string, found undefined/, 'missing to');
  rejects(t, { ...ok, to: 'n1' }, /to: expected a node other than the sender "n1", found "n1"/, 'to self');
  rejects(t, { ...ok, term: -1 }, /term: expected a non-negative safe integer, found -1/, 'negative term');
  rejects(t, { ...ok, term: 1.5 }, /term: .*found 1\.5/, 'fractional term');
  rejects(t, { ...ok, term: 2 ** 60 }, /term: expected a non-negative safe integer/, 'unsafe integer term');
  rejects(t, { ...ok, term: '7' }, /term: .*found "7"/, 'string term');
  rejects(t, { ...ok, term: 2 ** 53 - 2 }, /term: expected a term of at most 2\^52 \(4503599627370496; .*\), found 9007199254740990/, 'a term near 2^53');
  rejects(t, { ...byType('ReadIndexResp'), index: 2 ** 52 + 1 }, /index: expected an index of at most 2\^52/, 'an index beyond the bound');
  t.doesNotThrow(() => decodeMessage({ ...ok, term: 2 ** 52 }), 'the bound itself is accepted');
});

void t.test('decode rejects impossible votes', async (t) => {
  const vote = byType('Vote');
  rejects(t, { ...vote, lastLogTerm: 8 }, /lastLogTerm: expected at most the message term \(7\), found 8/, 'log term above term');
  rejects(t, { ...vote, lastLogIndex: 0, lastLogTerm: 2 }, /lastLogTerm: expected 0 when lastLogIndex is 0, found 2/, 'term at index 0');
  rejects(t, { ...vote, transfer: 'yes' }, /transfer: expected a boolean, found "yes"/, 'transfer not boolean');
  rejects(t, { ...byType('PreVote'), lastLogIndex: -3 }, /lastLogIndex: expected a non-negative safe integer, found -3/, 'negative index');
  rejects(t, { ...byType('VoteResp'), reject: 1 }, /reject: expected a boolean, found 1/, 'reject not boolean');
});

void t.test('decode rejects appends whose entries could not follow prevIndex', async (t) => {
  const app = byType('Append');
  const entries = app['entries'] as Record<string, unknown>[];
  const withEntry = (i: number, patch: Record<string, unknown>): Record<string, unknown> => ({
    ...app,
    entries: entries.map((e, j) => (j === i ? { ...e, ...patch } : e)),
  });
  rejects(t, withEntry(0, { index: 6 }), /entries\[0\]\.index: expected 5 \(contiguous after prevIndex 4\), found 6/, 'first index');
  rejects(t, withEntry(2, { index: 9 }), /entries\[2\]\.index: expected 7 .*found 9/, 'gap');
  rejects(t, { ...app, prevIndex: 5 }, /entries\[0\]\.index: expected 6 .*found 5/, 'entries not after prevIndex');
  rejects(t, withEntry(2, { term: 8 }), /entries\[2\]\.term: expected at most the message term \(7\), found 8/, 'entry term above term');
  rejects(t, withEntry(1, { term: 2 }), /entries\[1\]\.term: expected at least 3 \(terms never decrease along a log\), found 2/, 'decreasing');
  rejects(t, withEntry(0, { term: 0 }), /entries\[0\]\.term: expected at least 3/, 'entry term below prevTerm');
  rejects(t, withEntry(1, { kind: 'ENTRY_KIND_UNSPECIFIED' }), /entries\[1\]\.kind: expected one of ENTRY_NORMAL, ENTRY_NOOP, ENTRY_CONF, found "ENTRY_KIND_UNSPECIFIED"/, 'kind');
  rejects(t, withEntry(1, { kind: 7 }), /entries\[1\]\.kind: .*found 7/, 'kind number');
  rejects(t, withEntry(0, { data: 'abc' }), /entries\[0\]\.data: expected bytes, found "abc"/, 'data not bytes');
  rejects(t, withEntry(0, { index: undefined }), /entries\[0\]\.index: expected a non-negative safe integer, found undefined/, 'missing index');
  rejects(t, { ...app, entries: [null] }, /entries\[0\]: expected an object, found null/, 'entry not an object');
  rejects(t, { ...app, entries: 'x' }, /entries: expected an array, found "x"/, 'entries not a list');
  rejects(t, { ...app, prevTerm: 9 }, /prevTerm: expected at most the message term \(7\), found 9/, 'prevTerm above term');
  rejects(t, { ...app, prevIndex: 0, prevTerm: 1, entries: [] }, /prevTerm: expected 0 when prevIndex is 0, found 1/, 'prevTerm at 0');
  rejects(t, { ...app, commit: undefined }, /commit: expected a non-negative safe integer, found undefined/, 'missing commit');
});

void t.test('decode rejects impossible append responses', async (t) => {
  const resp = byType('AppendResp');
  rejects(t, { ...resp, rejectHint: 10 }, /rejectHint: expected at most the rejected index \(9\), found 10/, 'hint past index');
  rejects(t, { ...resp, hintTerm: 8 }, /hintTerm: expected at most the message term \(7\), found 8/, 'hint term above term');
  t.doesNotThrow(() => decodeMessage({ ...resp, reject: false, index: 9, rejectHint: 0 }), 'the hint is only checked on reject');
});

void t.test('decode rejects bad contexts and read index responses', async (t) => {
  rejects(t, { ...byType('Heartbeat'), context: 5 }, /context: expected a string, found 5/, 'heartbeat context');
  rejects(t, { ...byType('Heartbeat'), commit: -2 }, /commit: .*found -2/, 'heartbeat commit');
  rejects(t, { ...byType('HeartbeatResp'), context: null }, /context: expected a string, found null/, 'heartbeat resp context');
  rejects(t, { ...byType('ReadIndex'), context: undefined }, /context: .*found undefined/, 'read index context');
  rejects(t, { ...byType('ReadIndexResp'), reject: 'no' }, /reject: expected a boolean, found "no"/, 'read index reject');
  rejects(t, { ...byType('ReadIndexResp'), index: 0.5 }, /index: .*found 0\.5/, 'read index index');
});

void t.test('decode rejects impossible snapshots', async (t) => {
  const snap = byType('InstallSnapshot');
  const meta = snap['snapshot'] as Record<string, unknown>;
  const conf = meta['conf'] as Record<string, unknown>;
  const withMeta = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...snap, snapshot: { ...meta, ...patch } });
  rejects(t, { ...snap, snapshot: null }, /snapshot: expected an object, found null/, 'no meta');
  rejects(t, withMeta({ index: 0 }), /snapshot\.index: expected at least 1 .*found 0/, 'empty snapshot');
  rejects(t, withMeta({ term: 0 }), /snapshot\.term: expected at least 1, found 0/, 'term 0');
  rejects(t, withMeta({ term: 8 }), /snapshot\.term: expected at most the message term \(7\), found 8/, 'term above message term');
  rejects(t, withMeta({ conf: null }), /snapshot\.conf: expected an object, found null/, 'no conf');
  rejects(t, withMeta({ conf: { ...conf, voters: [] } }), /snapshot\.conf\.voters: expected at least one voter, found none/, 'no voters');
  rejects(t, withMeta({ conf: { ...conf, voters: ['n1', ''] } }), /snapshot\.conf\.voters\[1\]: expected a non-empty node id, found ""/, 'empty id');
  rejects(t, withMeta({ conf: { ...conf, learners: ['n2'] } }), /snapshot\.conf: expected each node once among voters and learners, found "n2" twice/, 'voter and learner');
});
