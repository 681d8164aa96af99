/**
 * The one bound on an error's text a controller sends (KvSession answers and gRPC statuses):
 * whole up to 1,024 UTF-8 bytes, cut on a character boundary beyond it with its size told, and
 * always well-formed (grpc-js's encodeURI of half a surrogate pair throws).
 */
import t from 'tap';
import { TransportError } from '../../src/transport/errors.js';
import { asStatus } from '../../src/transport/peer-service.js';
import { errorMessage, MAX_ERROR_MESSAGE_BYTES } from '../../src/util/error-message.js';

void t.test('a message is kept whole up to MAX_ERROR_MESSAGE_BYTES and cut on a character boundary beyond it', async (t) => {
  const fits = 'x'.repeat(MAX_ERROR_MESSAGE_BYTES);
  t.equal(errorMessage(fits), fits, 'at the bound: whole');
  for (const unit of ['x', 'é', '€', '😀']) {
    for (let extra = 1; extra <= 4; extra++) {
      const text = 'a'.repeat(extra) + unit.repeat(600);
      const cut = errorMessage(text);
      if (Buffer.byteLength(text) <= MAX_ERROR_MESSAGE_BYTES) {
        t.equal(cut, text);
        continue;
      }
      const bytes = Buffer.byteLength(cut);
      if (bytes > MAX_ERROR_MESSAGE_BYTES || cut.includes('\ufffd') || !cut.endsWith(`…(${Buffer.byteLength(text)} bytes)`) || bytes < MAX_ERROR_MESSAGE_BYTES - 24) {
        t.fail(`${JSON.stringify(unit)} after ${extra}: cut to ${bytes} bytes: ${JSON.stringify(cut.slice(-30))}`);
      }
      t.equal(errorMessage(cut), cut, 'a cut message passes unchanged (a forwarded status is not cut twice)');
    }
  }
  t.pass('every cut within the bound, whole characters, its size told');
});

void t.test('half a surrogate pair is sent as U+FFFD, so the text can be percent-encoded', async (t) => {
  for (const text of ['a\uD800', '\uDC00b', 'x\uDBFF\uDBFFy', `${'a'.repeat(1000)}\uD83D`, `\uD800${'a'.repeat(2000)}`]) {
    const sent = errorMessage(text);
    t.doesNotThrow(() => encodeURI(sent), JSON.stringify(text.slice(-8)));
    t.ok(sent.includes('\ufffd'));
  }
  t.equal(errorMessage('pair 😀 whole'), 'pair 😀 whole');
});

void t.test("a refused peer RPC's status is held to the same bound, whatever its source's text", async (t) => {
  // The peer statuses' sources cut what a peer claims; this holds the rest (an internal error's
  // text, a storage failure's) to the bound too, and keeps a lone surrogate out of the trailer.
  const long = `${'y'.repeat(5_000)}\ud83d`;
  for (const err of [new TransportError('REFUSED', long, 8), new Error(long), long]) {
    const status = asStatus(err);
    t.ok(Buffer.byteLength(status.details) <= MAX_ERROR_MESSAGE_BYTES, `${status.code}: ${Buffer.byteLength(status.details)} bytes`);
    t.match(status.details, /…\(\d+ bytes\)$/, 'its size told');
    t.doesNotThrow(() => encodeURI(status.details), 'well-formed: grpc-js can encode it');
  }
  t.equal(asStatus(new TransportError('REFUSED', 'short', 8)).details, 'short', 'a short text whole');
});
