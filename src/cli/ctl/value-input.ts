/**
 * The value of `ctl kv put --file FILE|-`. A value over the limit is refused before it is sent,
 * naming its size, and without holding it all: a regular file is judged by its size before it is
 * read (it may be gigabytes), stdin is counted to its end but kept only up to the limit.
 */
import fs from 'node:fs/promises';
import { MAX_VALUE_BYTES } from '../../limits/entry-size.js';
import { UsageError } from '../../api/errors.js';

function tooLarge(bytes: number, maxBytes: number, from: string): UsageError {
  return new UsageError(`field "value" must be at most ${maxBytes} bytes, found ${bytes} in ${from}`);
}

async function readStdin(stdin: AsyncIterable<unknown>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const bytes = chunk as Buffer;
    total += bytes.byteLength;
    if (total <= maxBytes) chunks.push(bytes);
  }
  if (total > maxBytes) throw tooLarge(total, maxBytes, 'stdin');
  return Buffer.concat(chunks);
}

/** The bytes of `file`, or of stdin for '-'; a UsageError when there are more than `maxBytes`. */
export async function readValueInput(file: string, maxBytes = MAX_VALUE_BYTES, stdin: AsyncIterable<unknown> = process.stdin): Promise<Uint8Array> {
  if (file === '-') return readStdin(stdin, maxBytes);
  const st = await fs.stat(file);
  if (st.isFile() && st.size > maxBytes) throw tooLarge(st.size, maxBytes, file);
  return fs.readFile(file);
}
