/** gRPC's length-prefixed messages cut from the chunks of an HTTP/2 stream, however the chunks fall. */
import t from 'tap';
import { frameMessage, MessageReader } from '../../src/transport/h2-stream/message-framing.js';
import { StreamCallError } from '../../src/transport/h2-stream/call-error.js';
import { status } from '../../src/transport/h2-stream/status-codes.js';
import { seededRng } from '../../src/util/rng.js';

void t.test('messages come out whole and in order, whatever the chunk boundaries', async (t) => {
  const seed = 4601;
  t.comment(`seed ${seed}`);
  const rng = seededRng(seed);
  for (let round = 0; round < 200; round++) {
    const messages = Array.from({ length: 1 + Math.floor(rng.next() * 6) }, (_, i) => Buffer.alloc(Math.floor(rng.next() * 40), round * 7 + i));
    const wire = Buffer.concat(messages.map(frameMessage));
    const reader = new MessageReader(1024);
    const out: Buffer[] = [];
    for (let at = 0; at < wire.length; ) {
      const size = 1 + Math.floor(rng.next() * 12);
      out.push(...reader.read(wire.subarray(at, at + size)).map((b) => Buffer.from(b)));
      at += size;
    }
    t.same(out, messages, `round ${round}: ${messages.length} messages over ${wire.length} bytes`);
    t.equal(reader.midMessage, false);
  }
});

void t.test('an unfinished message is held, not handed on', async (t) => {
  const reader = new MessageReader(1024);
  const wire = frameMessage(Buffer.from('hello'));
  t.same(reader.read(wire.subarray(0, 7)), []);
  t.equal(reader.midMessage, true);
  t.same(reader.read(wire.subarray(7)), [Buffer.from('hello')]);
  t.equal(reader.midMessage, false);
});

void t.test('a message over the limit is refused from its prefix, before its bytes are gathered', async (t) => {
  const reader = new MessageReader(16);
  const prefix = frameMessage(Buffer.alloc(17)).subarray(0, 5);
  const err = thrown(() => reader.read(prefix));
  t.equal(err?.code, status.RESOURCE_EXHAUSTED);
  t.match(err?.details, /a message of 17 bytes, more than the 16 taken/);
  t.same(new MessageReader(16).read(frameMessage(Buffer.alloc(16))).map((b) => b.length), [16], 'the limit itself is taken');
});

void t.test('a compressed message is refused: this client asked for none', async (t) => {
  const wire = frameMessage(Buffer.from('x'));
  wire[0] = 1;
  const err = thrown(() => new MessageReader(16).read(wire));
  t.equal(err?.code, status.INTERNAL);
  t.match(err?.details, /compressed/);
});

function thrown(f: () => unknown): StreamCallError | null {
  try {
    f();
    return null;
  } catch (err) {
    if (err instanceof StreamCallError) return err;
    throw err;
  }
}
