import t from 'tap';
import { DEFAULT_KINDS, DEFAULT_REGISTRY } from '../../src/statemachine/kinds.js';
import { kvKind } from '../../src/statemachine/kv.js';
import { KindRegistry, type AnyResourceKind } from '../../src/statemachine/resource-kind.js';
import { StateMachine, decodeCommand, encodeCommand, validateCommand, type Envelope, type KvCommand } from '../../src/statemachine/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A registry whose kv kind counts its parses: a second parse of one command is a decode that did the work again. */
function countingRegistry(): { registry: KindRegistry; parses: () => number } {
  let n = 0;
  const kv: AnyResourceKind = { ...kvKind, parse: (f) => (n++, kvKind.parse(f)) } as AnyResourceKind;
  return { registry: new KindRegistry(DEFAULT_KINDS.map((k) => (k === kvKind ? kv : k))), parses: () => n };
}

const commands: Envelope<KvCommand>[] = [
  { kind: 'kv', op: 'put', key: 'a/b', value: bytes('héllo ✓ 🎉') },
  { kind: 'kv', op: 'put', key: 'k', value: new Uint8Array(0), ifRevision: 4, client: { id: 'cli-1', seq: 7 } },
  { kind: 'kv', op: 'put', key: '\ud800lone', value: bytes('v'), client: { id: 'cli-1', seq: 8, retry: true, owner: 'o' } },
  { kind: 'kv', op: 'delete', key: 'a/b', client: { id: 'cli-2', seq: 0 } },
  { kind: 'kv', op: 'delete', key: 'a/b', ifRevision: 9 },
];

void t.test("an entry this process encoded from a validated kv command decodes as a follower's copy does, without a second parse", async (t) => {
  for (const cmd of commands) {
    const { registry, parses } = countingRegistry();
    // A value that is a view of a larger buffer, as a request's bytes are of the message they came in.
    const request = cmd.op === 'put' ? new Uint8Array([9, ...cmd.value, 9]).subarray(1, 1 + cmd.value.byteLength) : null;
    const envelope = cmd.op === 'put' && request !== null ? { ...cmd, value: request } : cmd;
    validateCommand(envelope, registry);
    const data = encodeCommand(envelope);
    const follower = decodeCommand(data.slice(), registry);
    const before = parses();
    const leader = decodeCommand(data, registry);
    t.equal(parses(), before, `${cmd.op} ${cmd.key}: not parsed again`);
    t.same(leader, follower, `${cmd.op} ${cmd.key}: the same command and client ref as the bytes decoded anew`);
    t.same(Object.keys(leader.command), Object.keys(follower.command), `${cmd.op} ${cmd.key}: its fields in a follower's order`);
    if (request !== null) {
      const value = (leader.command as KvCommand & { value: Uint8Array }).value;
      t.not(value.buffer, request.buffer, 'the value is a copy, not a view of the request');
      t.equal(value.byteLength, value.buffer.byteLength, 'a copy of the value alone');
    }
    t.same(decodeCommand(data, registry), follower, 'a second decode of the same bytes parses them and gives the same');
    t.equal(parses(), before + 1, 'and did parse them');
  }
});

void t.test('what is not remembered is decoded as before', async (t) => {
  const { registry, parses } = countingRegistry();
  // Encoded without validation: the bytes are parsed at decode.
  const unchecked = encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: bytes('v') });
  decodeCommand(unchecked, registry);
  t.equal(parses(), 1, 'bytes never validated here are parsed');
  // -0 is written as 0 in JSON: decoded from the bytes, not remembered.
  const negative = { kind: 'kv', op: 'delete', key: 'k', ifRevision: -0 } as const;
  validateCommand(negative, registry);
  const negData = encodeCommand(negative);
  const decoded = decodeCommand(negData, registry);
  t.ok(Object.is((decoded.command as KvCommand).ifRevision, 0), 'the revision is +0, as every follower reads it');
  t.equal(parses(), 3, 'validated, then parsed again');
  // Validated under one registry, applied under another: decoded by the one applying.
  const other = countingRegistry();
  const cmd = { kind: 'kv', op: 'put', key: 'k', value: bytes('v') } as const;
  validateCommand(cmd, DEFAULT_REGISTRY);
  decodeCommand(encodeCommand(cmd), other.registry);
  t.equal(other.parses(), 1, 'another registry parses the bytes itself');
});

void t.test('a state machine applies its own proposals as it applies the same bytes received', async (t) => {
  const own = new StateMachine();
  const received = new StateMachine();
  let index = 0;
  for (const cmd of commands) {
    validateCommand(cmd);
    const data = encodeCommand(cmd);
    index++;
    t.same(own.apply(index, data), received.apply(index, data.slice()), `${cmd.op} ${cmd.key}: the same result`);
  }
  t.same(own.snapshot(), received.snapshot(), 'and the same state');
});

void t.test('a command changed between its validation and its encoding is decoded from its bytes, as a follower decodes them', async (t) => {
  // No caller does this today (kv-ops.ts validates and encodes a fresh object in one go); if one
  // did, the leader must not apply what was validated while every follower applies what was sent.
  type Loose = Record<string, unknown> & { kind: 'kv' };
  const changes: readonly [string, (c: Loose) => void][] = [
    ['its key', (c) => void (c['key'] = 'other')],
    ['its op', (c) => void ((c['op'] = 'delete'), delete c['value'])],
    ['its value', (c) => void (c['value'] = bytes('longer value'))],
    ['its revision', (c) => void (c['ifRevision'] = 3)],
    ['a field no kv command has', (c) => void (c['extra'] = 1)],
    ['its client tag', (c) => void (c['client'] = { id: 'cli-9', seq: 1 })],
    ["its client tag's seq", (c) => void ((c['client'] as { seq: number }).seq = 99)],
    ["a field no client tag has", (c) => void ((c['client'] as Record<string, unknown>)['extra'] = true)],
  ];
  for (const [what, change] of changes) {
    const cmd: Loose = { kind: 'kv', op: 'put', key: 'k', value: bytes('v'), client: { id: 'cli-1', seq: 7 } };
    validateCommand(cmd);
    change(cmd);
    const data = encodeCommand(cmd as unknown as Envelope<KvCommand>);
    let follower: unknown;
    try {
      follower = decodeCommand(data.slice());
    } catch (err) {
      follower = `refused: ${(err as Error).message}`;
    }
    let leader: unknown;
    try {
      leader = decodeCommand(data);
    } catch (err) {
      leader = `refused: ${(err as Error).message}`;
    }
    t.same(leader, follower, `${what} changed: the leader decodes what a follower does`);
  }
});

void t.test("an entry waiting for its apply holds its value once, in the entry's bytes, not a second copy beside them", async (t) => {
  // Between its proposal and its apply a put's value was held twice: in the entry and in the
  // decoded form remembered for it (copied at encode). The copy is made at the decode, as a
  // follower's decode makes it, so in-flight puts hold what their entries hold.
  const valueBytes = 1024 * 1024;
  const count = 16;
  const value = new Uint8Array(valueBytes).fill(7);
  const before = process.memoryUsage().arrayBuffers;
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const cmd = { kind: 'kv', op: 'put', key: `k${i}`, value } as const;
    validateCommand(cmd);
    entries.push(encodeCommand(cmd));
  }
  const held = process.memoryUsage().arrayBuffers - before;
  t.ok(held < count * valueBytes * 1.5, `${count} entries of ${valueBytes} bytes hold ${held} bytes until applied (twice that before)`);
  for (const data of entries) {
    const decoded = decodeCommand(data).command as KvCommand & { value: Uint8Array };
    t.equal(decoded.value.byteLength, valueBytes);
    t.not(decoded.value.buffer, data.buffer, 'the value decoded is a copy of the entry\'s');
    t.equal(decoded.value[valueBytes - 1], 7);
  }
});
