/**
 * Reading an operator's input file without trusting its size. `fs.readFile` of /dev/zero, a FIFO
 * or an endless pipe never returns and holds all it read (ctl grew to 1.35 GB in 6 s), and of a
 * 3 GB file holds 3 GB before any check: here a regular file is judged by its size first, and
 * anything else is read only until it is known to be too large.
 */
import fs from 'node:fs';

export class InputTooLargeError extends Error {
  constructor(
    readonly source: string,
    readonly maxBytes: number,
    /** The size when known (a regular file); null: more than maxBytes, read no further. */
    readonly found: number | null,
  ) {
    super(`${source}: expected at most ${maxBytes} bytes, found ${found === null ? 'more' : found}`);
    this.name = 'InputTooLargeError';
  }
}

const CHUNK = 64 * 1024;

/** The bytes of `file` (any kind of file; '-' is stdin), or InputTooLargeError past `maxBytes`. */
export function readBoundedSync(file: string, maxBytes: number): Buffer {
  const stdin = file === '-';
  const fd = stdin ? 0 : fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.size > maxBytes) throw new InputTooLargeError(stdin ? 'stdin' : file, maxBytes, st.size);
    return readBoundedFd(fd, stdin ? 'stdin' : file, maxBytes);
  } finally {
    if (!stdin) fs.closeSync(fd);
  }
}

/**
 * Standard input, read as a stream (a synchronous read of fd 0 fails with EAGAIN when the
 * shell or a parent process left it non-blocking), until it ends or passes `maxBytes`.
 */
export async function readStdinBounded(maxBytes: number, stdin: AsyncIterable<unknown> = process.stdin): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const bytes = chunk as Buffer;
    total += bytes.byteLength;
    // Leaving the loop ends the stream: nothing past the limit is read.
    if (total > maxBytes) throw new InputTooLargeError('stdin', maxBytes, null);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

/** The first `bytes` bytes of a regular file (fewer when it is shorter), to judge its format before reading it all. */
export function readHeadSync(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A path that names something other than a regular file; `message` says what ('a FIFO'). */
export class NotRegularFileError extends Error {
  constructor(readonly kind: string) {
    super(kind);
    this.name = 'NotRegularFileError';
  }
}

/** What a file is, in an error message ('a FIFO (named pipe)'), for one that is not a regular file. */
export function fileKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of `file`, which must be a regular file of at most `maxBytes`: for files a server
 * re-reads while it runs (its config and TLS files on SIGHUP). Opened without blocking, so a FIFO
 * put in a file's place cannot freeze the process waiting for a writer, and judged by fstat of
 * what was opened, so a swap between a check and the read changes nothing; /dev/zero is refused
 * as a device before a byte is read.
 */
export function readRegularFileSync(file: string, maxBytes: number): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(fileKind(st));
    if (st.size > maxBytes) throw new InputTooLargeError(file, maxBytes, st.size);
    return readBoundedFd(fd, file, maxBytes);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `fd` to its end, or InputTooLargeError past `maxBytes` (a file that grows while read). */
function readBoundedFd(fd: number, source: string, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = fs.readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new InputTooLargeError(source, maxBytes, null);
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}
