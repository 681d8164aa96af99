/**
 * The value of `ctl kv put --file FILE|-`. A value over the limit is refused before it is sent,
 * naming its size, and without holding it all: a regular file is judged by its size before it is
 * read (it may be gigabytes); anything else (stdin, a FIFO, /dev/zero) is read only until it is
 * over the limit.
 */
import { MAX_VALUE_BYTES } from '../../limits/entry-size.js';
import { UsageError } from '../../api/errors.js';
import { InputTooLargeError, readBoundedSync, readStdinBounded } from '../../util/bounded-read.js';

/** The bytes of `file`, or of stdin for '-'; a UsageError when there are more than `maxBytes`. */
export async function readValueInput(file: string, maxBytes = MAX_VALUE_BYTES, stdin?: AsyncIterable<unknown>): Promise<Uint8Array> {
  try {
    return file === '-' ? await readStdinBounded(maxBytes, stdin) : readBoundedSync(file, maxBytes);
  } catch (err) {
    if (!(err instanceof InputTooLargeError)) throw err;
    const found = err.found === null ? `more in ${err.source} (read no further)` : `${err.found} in ${err.source}`;
    throw new UsageError(`field "value" must be at most ${maxBytes} bytes, found ${found}`);
  }
}
