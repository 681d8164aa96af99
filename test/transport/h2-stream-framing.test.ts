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

void t.test('a message split into many chunks is joined once, not once per chunk', async (t) => {
  // Counts the bytes Buffer.concat writes while one 4 MiB message arrives in 16 KiB DATA frames:
  // joining the held bytes again with every chunk wrote about chunks/2 times the message.
  const message = Buffer.alloc(4 * 1024 * 1024, 7);
  const wire = frameMessage(message);
  const reader = new MessageReader(message.length);
  const concat = Buffer.concat.bind(Buffer);
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], totalLength?: number): Buffer<ArrayBuffer> => {
    const joined = concat(list, totalLength);
    copied += joined.length;
    return joined;
  };
  const out: Buffer[] = [];
  try {
    for (let at = 0; at < wire.length; at += 16 * 1024) out.push(...reader.read(wire.subarray(at, at + 16 * 1024)));
  } finally {
    Buffer.concat = concat;
  }
  t.equal(out.length, 1);
  t.ok(out[0]!.equals(message), 'the message comes out whole');
  t.ok(copied <= 2 * wire.length, `copied ${copied} bytes for a message of ${wire.length}`);
  t.equal(reader.midMessage, false);
});

void t.test('a prefix split across chunks, and a message ending mid-chunk with the next one after it', async (t) => {
  const a = Buffer.alloc(100, 1);
  const b = Buffer.from('second');
  const wire = Buffer.concat([frameMessage(a), frameMessage(b)]);
  const reader = new MessageReader(1024);
  t.same(reader.read(wire.subarray(0, 3)), [], 'three bytes of the prefix');
  t.equal(reader.midMessage, true);
  t.same(reader.read(wire.subarray(3, 50)), [], 'the rest of the prefix and part of the body');
  t.same(reader.read(wire.subarray(50, 108)).map((m) => Buffer.from(m)), [a], 'the first message, and 3 bytes of the next prefix');
  t.same(reader.read(wire.subarray(108)).map((m) => Buffer.from(m)), [b]);
  t.equal(reader.midMessage, false);
});
