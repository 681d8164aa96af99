/**
 * A string field read by the hand codecs' Reader (src/transport/protobuf.ts) decodes its bytes as
 * Buffer's UTF-8 decode of that field alone does, whatever the buffer is (a Buffer, a view into a
 * larger one, an embedded message's reader): bad UTF-8 becomes U+FFFD as before, never bytes of a
 * neighbouring field, and a field past the message's end is still refused.
 */
import t from 'tap';
import { Reader, WIRE_BYTES } from '../../src/transport/protobuf.js';
import { MalformedMessageError } from '../../src/transport/strict-decode.js';

/** Field 1..n as length-delimited fields holding `parts`, each a tag byte, a length byte, the bytes. */
function message(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p, i) => Buffer.concat([Buffer.from([((i + 1) << 3) | WIRE_BYTES, p.length]), p])));
}

/** What the Reader decoded before: a Buffer made over the field's bytes alone. */
function alone(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function readAll(r: Reader): string[] {
  const out: string[] = [];
  while (r.more()) {
    const [field, wire] = r.tag();
    t.equal(wire, WIRE_BYTES, `field ${field} is length-delimited`);
    out.push(r.string(field));
  }
  return out;
}

const PARTS: readonly Uint8Array[] = [
  Buffer.from('agent-0001'),
  Buffer.from(''),
  Buffer.from('héllo, 世界 🙂'),
  Uint8Array.from([0x61, 0xff, 0x62]), // an invalid byte
  Uint8Array.from([0xe4, 0xb8]), // a sequence cut short at the field's end
  Uint8Array.from([0x80, 0x41]), // a continuation byte first
  Uint8Array.from([0xed, 0xa0, 0x80]), // an encoded surrogate
];

void t.test('string fields decode as each field alone did, in a Buffer, a view and an embedded reader', async (t) => {
  const want = PARTS.map(alone);
  const buf = message(PARTS);
  t.same(readAll(new Reader(buf)), want, 'a Buffer');
  // A plain Uint8Array view at an offset into a larger buffer, bytes around it that must not leak in.
  const larger = new Uint8Array(buf.length + 20).fill(0x7a);
  larger.set(buf, 9);
  const view = new Uint8Array(larger.buffer, 9, buf.length);
  t.notOk(Buffer.isBuffer(view), 'the view is no Buffer');
  t.same(readAll(new Reader(view)), want, 'a view at an offset');
  // An embedded message: a Reader over the same bytes, bounded by start and end.
  const outer = Buffer.concat([Buffer.from([0x0a, buf.length]), buf, Buffer.from([0x12, 1, 0x79])]);
  const r = new Reader(outer);
  r.tag();
  const [start, end] = r.span(1);
  t.same(readAll(new Reader(new Uint8Array(outer.buffer, outer.byteOffset, outer.length), start, end)), want, 'an embedded message');
  t.same(want[3], 'a\ufffdb', 'bad UTF-8 as U+FFFD');
});

void t.test('a string field longer than what is left of the message is refused', async (t) => {
  const buf = Buffer.from([0x0a, 5, 0x61, 0x62]);
  const r = new Reader(buf);
  r.tag();
  t.throws(() => r.string(1), MalformedMessageError);
  const bounded = new Reader(Buffer.from([0x0a, 3, 0x61, 0x62, 0x63]), 0, 4);
  bounded.tag();
  t.throws(() => bounded.string(1), { message: /field 1 at byte 2 needs 1 more byte/ }, 'the bound is the message end, not the buffer end');
});
