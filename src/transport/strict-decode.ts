/**
 * protobufjs, on Node, reads a length-delimited string whose length runs past the end of the
 * buffer by silently cutting it short (BufferReader.string clamps). A truncated or corrupted
 * request would then decode as a different, valid-looking one. This walks the protobuf wire
 * format first and refuses any field that does not fit, so servers see only messages whose
 * framing is intact.
 */
import type * as grpc from '@grpc/grpc-js';

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

function varint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= buf.length) throw new MalformedMessageError(`malformed protobuf: a varint runs past the end at byte ${at}`);
    const b = buf[at++]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, at];
  }
  throw new MalformedMessageError(`malformed protobuf: a varint longer than 10 bytes ends at byte ${at}`);
}

/** Throws MalformedMessageError unless every top-level field of `buf` is well framed. */
export function assertWellFramed(buf: Uint8Array): void {
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [tag, afterTag] = varint(buf, at);
    at = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new MalformedMessageError(`malformed protobuf: field number 0 at byte ${start}`);
    let end: number;
    switch (wire) {
      case 0:
        end = varint(buf, at)[1];
        break;
      case 1:
        end = at + 8;
        break;
      case 2: {
        const [length, afterLength] = varint(buf, at);
        end = afterLength + length;
        break;
      }
      case 5:
        end = at + 4;
        break;
      default:
        throw new MalformedMessageError(`malformed protobuf: field ${field} at byte ${start} has unsupported wire type ${wire}`);
    }
    if (end > buf.length) {
      throw new MalformedMessageError(`malformed protobuf: field ${field} at byte ${start} needs ${end - buf.length} more byte(s) than the message has`);
    }
    at = end;
  }
}

/** The same service definition, with every request checked by assertWellFramed before decoding. */
export function strictRequests(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        assertWellFramed(bytes);
        return decode(bytes);
      },
    };
  }
  return out as grpc.ServiceDefinition;
}
