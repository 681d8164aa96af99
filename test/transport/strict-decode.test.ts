import t from 'tap';
import { assertWellFramed, MalformedMessageError } from '../../src/transport/strict-decode.js';
import { raftPeerMethod } from '../../src/transport/wire.js';
import { seededRng } from '../../src/util/rng.js';

void t.test('well-framed messages pass; truncated or impossible framing is refused', async (t) => {
  const step = raftPeerMethod('Step');
  const good = step.requestSerialize({ cluster: 'c', from: 'n1', to: 'n2', messages: [] });
  t.doesNotThrow(() => assertWellFramed(good));
  t.doesNotThrow(() => assertWellFramed(new Uint8Array(0)), 'the empty message is valid protobuf');
  const cases: Array<[string, number[], RegExp]> = [
    ['a string longer than the message', [0x0a, 0xff, 0xff, 0x03, 0x01], /needs \d+ more byte/],
    ['a truncated varint', [0x08, 0x80], /runs past the end/],
    ['a truncated fixed64', [0x09, 1, 2, 3], /needs 5 more byte/],
    ['field number 0', [0x02, 0x00], /field number 0/],
    ['a group (deprecated wire type 3)', [0x0b], /wire type 3/],
    ['an endless varint', [0x08, ...Array<number>(11).fill(0xff)], /longer than 10 bytes/],
  ];
  for (const [what, bytes, message] of cases) t.throws(() => assertWellFramed(Uint8Array.from(bytes)), { name: 'MalformedMessageError', message }, what);
  t.throws(() => assertWellFramed(good.subarray(0, good.length - 1)), MalformedMessageError, 'any real message cut by one byte');
});

void t.test('random corruption never gets past as anything but MalformedMessageError', async (t) => {
  const step = raftPeerMethod('Step');
  const good = step.requestSerialize({ cluster: 'cluster', from: 'n1', to: 'n2', messages: [] });
  const rng = seededRng(7);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from(good);
    bytes[rng.int(0, bytes.length)] = rng.int(0, 256);
    try {
      assertWellFramed(bytes);
    } catch (e) {
      if (!(e instanceof MalformedMessageError)) throw e;
      refused++;
    }
  }
  t.ok(refused > 0, `corrupted framing is caught (${refused} of 2000)`);
});
