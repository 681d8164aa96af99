/**
 * Sizes a client checks before sending. The server refuses the same requests, but one over
 * gRPC's 4 MiB message limit never reaches the check that names our limit: it comes back as a
 * bare RESOURCE_EXHAUSTED. The wording is the server's, so the refusal reads the same either way.
 */
import { MAX_APPLY_BYTES } from '../limits/apply-size.js';
import { MAX_VALUE_BYTES } from '../limits/entry-size.js';
import { ApiError } from './errors.js';
import { keyTooLong, loneSurrogate } from './request-key.js';

/** A key (or prefix: `field`) over the key limit, which every server refuses too, or not Unicode text. */
export function checkKey(key: string, field = 'key'): void {
  const problem = keyTooLong(key, field) ?? loneSurrogate(key, field);
  if (problem !== null) throw new ApiError('INVALID_ARGUMENT', problem);
}

/** A value of `bytes` bytes for a put. */
export function checkValueSize(bytes: number): void {
  if (bytes > MAX_VALUE_BYTES) throw new ApiError('INVALID_ARGUMENT', `field "value" must be at most ${MAX_VALUE_BYTES} bytes, found ${bytes}`);
}

/** Resources to apply, `bytes` long as the JSON that travels. */
export function checkApplySize(bytes: number): void {
  if (bytes > MAX_APPLY_BYTES) throw new ApiError('INVALID_ARGUMENT', `resources: expected at most ${MAX_APPLY_BYTES} bytes, found ${bytes} (encoded as JSON)`);
}

/**
 * gRPC's own refusal of a message over its limit ("Received message larger than max (N vs M)"),
 * sent by a server for a request or raised here for an answer, as one that names both sizes;
 * null for any other failure.
 */
export function describeOversizedMessage(details: string): string | null {
  const m = /larger than max \((\d+) vs\.? (\d+)\)/.exec(details);
  if (m === null) return null;
  return `a gRPC message of ${m[1]} bytes is over the limit of ${m[2]} bytes per message`;
}
