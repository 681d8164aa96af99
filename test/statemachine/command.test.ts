import t from 'tap';
import {
  CommandError,
  MAX_ENCODED_COMMAND_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  StateMachine,
  decodeCommand,
  encodeCommand,
  validateCommand,
  type Envelope,
  type KvCommand,
  type MembersCommand,
} from '../../src/statemachine/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const framed = (json: string): Uint8Array => bytes('\u0001' + json);

/** The message of the CommandError decoding `data` throws, or what happened instead. */
function decodeFailure(data: Uint8Array): string {
  try {
    decodeCommand(data);
  } catch (err) {
    return err instanceof CommandError && err.code === 'INVALID_COMMAND' ? err.message : `not a CommandError: ${String(err)}`;
  }
  return 'decoded without error';
}

void t.test('a command survives encode and decode unchanged', async (t) => {
  const commands: Envelope<KvCommand | MembersCommand>[] = [
    { kind: 'kv', op: 'put', key: 'a/b', value: bytes('héllo ✓ 🎉'), ifRevision: 0 },
    { kind: 'kv', op: 'delete', key: 'a/b', client: { id: 'cli-1', seq: 7 } },
    { kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: '127.0.0.1:7101' }] },
    { kind: 'members', op: 'setStatus', id: 'c1', status: 'offline', reason: 'heartbeat timeout', observedAt: 1.5e12, term: 3 },
  ];
  for (const cmd of commands) {
    const data = encodeCommand(cmd);
    const binary = Object.values(cmd).some((v) => v instanceof Uint8Array);
    t.equal(data[0], binary ? 2 : 1, 'the first byte is the format version: 2 with a field of bytes, else 1');
    const { command, client } = decodeCommand(data);
    const { client: sent, ...body } = cmd;
    t.same(command, body);
    t.same(client, sent ?? null);
  }
});

void t.test('undefined optional fields are treated as absent, as JSON drops them', async (t) => {
  const cmd = { kind: 'kv', op: 'put', key: 'k', value: 'v', ifRevision: undefined, client: undefined };
  t.same(validateCommand(cmd).command, { kind: 'kv', op: 'put', key: 'k', value: bytes('v') });
  t.same(decodeCommand(encodeCommand(cmd)).command, { kind: 'kv', op: 'put', key: 'k', value: bytes('v') });
});

void t.test('decode rejects bytes that are not a command', async (t) => {
  t.match(decodeFailure(new Uint8Array(0)), /found 0 bytes/);
  t.match(decodeFailure(bytes('{"kind":"kv"}')), /format version 1 or 2, found byte 123/);
  t.match(decodeFailure(framed('{"kind":')), /UTF-8 JSON/);
  t.match(decodeFailure(new Uint8Array([1, 0xff, 0xfe])), /UTF-8 JSON/);
  t.match(decodeFailure(framed('[1,2]')), /expected an object, found an array/);
  t.match(decodeFailure(framed('null')), /expected an object, found null/);
  t.match(decodeFailure(framed('"put"')), /expected an object/);
});

void t.test('decode rejects unknown kinds and ops', async (t) => {
  t.match(decodeFailure(framed('{"op":"put"}')), /"kind" must be a string, found undefined/);
  t.match(decodeFailure(framed('{"kind":7}')), /"kind" must be a string, found 7/);
  t.match(decodeFailure(framed('{"kind":"vips","op":"put"}')), /unknown kind "vips"/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"patch","key":"k"}')), /"op" must be one of put\|delete, found "patch"/);
  t.match(decodeFailure(framed('{"kind":"members","op":"evict","id":"c1"}')), /"op" must be one of/);
});

void t.test('decode rejects wrong field types, missing fields and unexpected fields', async (t) => {
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":1,"value":"v"}')), /"key" must be a string, found 1/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k"}')), /"value" must be a string, found undefined/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":{"a":1}}')), /"value" must be a string, found an object/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","ifRevision":"3"}')), /"ifRevision" must be an integer/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","ifRevision":1.5}')), /"ifRevision" must be an integer/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","ifRevision":-1}')), /"ifRevision" must be in \[0,/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"","value":"v"}')), /"key" must not be empty/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","ttl":5}')), /unexpected field "ttl"/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"delete","key":"k","value":"v"}')), /unexpected field "value"/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","client":{"id":"c"}}')), /command.client: field "seq" must be an integer/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","client":{"id":"","seq":1}}')), /"id" must not be empty/);
  t.match(decodeFailure(framed('{"kind":"kv","op":"put","key":"k","value":"v","client":"me"}')), /command.client: expected an object/);
  t.match(decodeFailure(framed('{"kind":"members","op":"setStatus","id":"c1","status":"gone","reason":"","observedAt":0,"term":1}')), /"status" must be one of online\|offline/);
  t.match(decodeFailure(framed('{"kind":"members","op":"setStatus","id":"c1","status":"online","reason":"","observedAt":0,"term":-2}')), /"term" must be in/);
  t.match(decodeFailure(framed('{"kind":"members","op":"add","id":"c4","address":"h:1","learner":false}')), /"learner" must be true/);
  t.match(decodeFailure(framed('{"kind":"members","op":"bootstrap","members":[]}')), /must not be empty/);
  t.match(decodeFailure(framed('{"kind":"members","op":"bootstrap","members":[{"id":"c1","address":"a"},{"id":"c1","address":"b"}]}')), /"c1" appears twice/);
  t.match(decodeFailure(framed('{"kind":"members","op":"bootstrap","members":[{"id":"c1"}]}')), /members\[0\]: field "address" must be a string/);
});

void t.test('key and value sizes are limited in UTF-8 bytes', async (t) => {
  const put = (key: string, value: string): unknown => ({ kind: 'kv', op: 'put', key, value });
  t.doesNotThrow(() => validateCommand(put('k'.repeat(MAX_KEY_BYTES), 'v'.repeat(MAX_VALUE_BYTES))));
  t.throws(() => validateCommand(put('k'.repeat(MAX_KEY_BYTES + 1), 'v')), /"key" must be at most 1024 bytes, found 1025/);
  // 342 three-byte characters: 1026 bytes although only 342 UTF-16 units.
  t.throws(() => validateCommand(put('€'.repeat(342), 'v')), /found 1026/);
  t.doesNotThrow(() => validateCommand(put('€'.repeat(341), 'v')));
  t.throws(() => validateCommand(put('k', 'v'.repeat(MAX_VALUE_BYTES + 1))), /"value" must be at most 1048576 bytes/);
});

/** A format-2 frame built by hand: name, header JSON and payload. */
function binaryFrame(name: string, header: string, payload: Uint8Array, headerLen?: number): Uint8Array {
  const n = bytes(name);
  const h = bytes(header);
  const out = Buffer.alloc(1 + 1 + n.length + 4 + h.length + payload.length);
  out[0] = 2;
  out[1] = n.length;
  out.set(n, 2);
  out.writeUInt32BE(headerLen ?? h.length, 2 + n.length);
  out.set(h, 6 + n.length);
  out.set(payload, 6 + n.length + h.length);
  return out;
}

void t.test('any bytes survive as a value: every byte value, and none', async (t) => {
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const value of [every, new Uint8Array(0), bytes('\u0000\u0001 not UTF-8: ').subarray(0, 3)]) {
    const data = encodeCommand({ kind: 'kv', op: 'put', key: 'bin', value });
    const { command } = decodeCommand(data);
    t.same(command, { kind: 'kv', op: 'put', key: 'bin', value }, `${value.length} bytes round-trip`);
  }
  const sm = new StateMachine();
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'bin', value: every }));
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.same(restored.kv.get('bin')?.value, every, 'a value that is not UTF-8 survives a snapshot');
});

void t.test('a value costs its own size in the entry: 1,000,000 bytes of U+0001 fit, escaped JSON would not', async (t) => {
  const value = bytes('\u0001'.repeat(1_000_000));
  const data = encodeCommand({ kind: 'kv', op: 'put', key: 'ctl', value, client: { id: 'c', seq: 1 } });
  t.ok(data.byteLength < 1_000_000 + 200, `the entry is ${data.byteLength} bytes`);
  t.ok(data.byteLength <= MAX_ENCODED_COMMAND_BYTES);
  t.same(decodeCommand(data).command, { kind: 'kv', op: 'put', key: 'ctl', value });
  t.ok(JSON.stringify('\u0001'.repeat(1_000_000)).length > 4 * 1024 * 1024, 'as JSON it would be over 4 MiB');
});

void t.test('the entry limit is checked on the encoded command', async (t) => {
  t.throws(
    () => encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: new Uint8Array(MAX_ENCODED_COMMAND_BYTES) }),
    /expected at most 1114112 bytes encoded .*found 1114\d{3}/,
  );
  const json = { kind: 'members', op: 'setStatus', id: 'c1', status: 'online', reason: '\u0001'.repeat(200_000), observedAt: 0, term: 1 };
  t.throws(() => encodeCommand(json), /expected at most 1114112 bytes encoded/, 'escaped JSON is measured as encoded, not as characters');
  t.throws(() => encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: bytes('a'), other: bytes('b') }), /at most one field of bytes, found value, other/);
});

void t.test('commands written in format 1, with the value as a JSON string, still apply', async (t) => {
  const { command } = decodeCommand(framed('{"kind":"kv","op":"put","key":"k","value":"héllo"}'));
  t.same(command, { kind: 'kv', op: 'put', key: 'k', value: bytes('héllo') });
});

void t.test('decode rejects a malformed binary frame', async (t) => {
  const header = '{"kind":"kv","op":"put","key":"k"}';
  t.same(decodeCommand(binaryFrame('value', header, bytes('v'))).command, { kind: 'kv', op: 'put', key: 'k', value: bytes('v') }, 'the hand-built frame is valid');
  t.match(decodeFailure(new Uint8Array([2, 5])), /format 2\): expected at least 6 bytes, found 2/);
  t.match(decodeFailure(binaryFrame('', header, bytes('v'))), /found an empty name/);
  t.match(decodeFailure(binaryFrame('value', header, bytes('v'), 9999)), /header length says 9999 bytes/);
  t.match(decodeFailure(binaryFrame('value', '{"kind":"kv"', bytes('v'))), /UTF-8 JSON in the header/);
  t.match(decodeFailure(binaryFrame('value', '{"kind":"kv","op":"put","key":"k","value":"x"}', bytes('v'))), /"value" is both in the header and in the bytes frame/);
  t.match(decodeFailure(binaryFrame('ttl', '{"kind":"kv","op":"put","key":"k","value":"x"}', bytes('v'))), /unexpected field "ttl"/);
  t.match(decodeFailure(binaryFrame('key', '{"kind":"kv","op":"put","value":"x"}', bytes('k'))), /"key" must be a string/);
  t.match(decodeFailure(binaryFrame('value', header, new Uint8Array(MAX_VALUE_BYTES + 1))), /"value" must be at most 1048576 bytes, found 1048577/);
});
