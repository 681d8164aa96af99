import t from 'tap';
import {
  CommandError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
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
    { kind: 'kv', op: 'put', key: 'a/b', value: 'héllo ✓ 🎉', ifRevision: 0 },
    { kind: 'kv', op: 'delete', key: 'a/b', client: { id: 'cli-1', seq: 7 } },
    { kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: '127.0.0.1:7101' }] },
    { kind: 'members', op: 'setStatus', id: 'c1', status: 'offline', reason: 'heartbeat timeout', observedAt: 1.5e12, term: 3 },
  ];
  for (const cmd of commands) {
    const data = encodeCommand(cmd);
    t.equal(data[0], 1, 'the first byte is the format version');
    const { command, client } = decodeCommand(data);
    const { client: sent, ...body } = cmd;
    t.same(command, body);
    t.same(client, sent ?? null);
  }
});

void t.test('undefined optional fields are treated as absent, as JSON drops them', async (t) => {
  const cmd = { kind: 'kv', op: 'put', key: 'k', value: 'v', ifRevision: undefined, client: undefined };
  t.same(validateCommand(cmd).command, { kind: 'kv', op: 'put', key: 'k', value: 'v' });
  t.same(decodeCommand(encodeCommand(cmd)).command, { kind: 'kv', op: 'put', key: 'k', value: 'v' });
});

void t.test('decode rejects bytes that are not a command', async (t) => {
  t.match(decodeFailure(new Uint8Array(0)), /found 0 bytes/);
  t.match(decodeFailure(bytes('{"kind":"kv"}')), /format version 1, found byte 123/);
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
