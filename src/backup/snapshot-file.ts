/**
 * The file `ctl snapshot save` writes and `controller restore` reads:
 *
 *     RAFT-CONTROLLER-SNAPSHOT 1\n
 *     {"index":..,"term":..,"revision":..,"size":..,"sha256":"..",...}\n   (one line of JSON)
 *     <size bytes: the state machine's snapshot>
 *     <32 bytes: SHA-256 of everything above>
 *
 * The header's sha256 covers the data alone (what the server sent); the trailing digest covers
 * the header too, so a flipped bit anywhere, or a file cut short, is refused by name.
 */
import { constants } from 'node:buffer';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { fileKind } from '../util/bounded-read.js';
import { describe, Fields } from '../util/untrusted.js';

export const SNAPSHOT_FILE_MAGIC = 'RAFT-CONTROLLER-SNAPSHOT 1\n';
const DIGEST_BYTES = 32;
/** A header line is a few hundred bytes; anything longer is not one. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * The most data a snapshot can hold: its format byte, then UTF-8 JSON that restore decodes into
 * one string, which V8 ends at MAX_STRING_LENGTH UTF-16 units (2^29 - 24, 512 MiB), each at most
 * 3 bytes of UTF-8 (a surrogate pair is 4 bytes for 2 units). About 1.5 GiB: a server refuses to
 * serialize a longer state (snapshot-job.ts), so no saved file holds more. controller.quota_bytes
 * (at most 384 MiB) is not the bound: it counts UTF-16 units and in-flight proposals can pass it,
 * so a bound taken from it could refuse a real backup. A header claiming more is refused from
 * the head: a sparse file claiming 1.9 GB was read whole (1.9 GB, 23 s) before its checksum
 * failed.
 */
export const MAX_SNAPSHOT_DATA_BYTES = 1 + 3 * constants.MAX_STRING_LENGTH;

/** Bytes read a step when a file is hashed before it is parsed. */
const HASH_CHUNK_BYTES = 1 << 20;

export interface SnapshotFileHeader {
  /** The Raft index the state reflects. */
  readonly index: number;
  /** The serving node's Raft term when it was taken. */
  readonly term: number;
  /** The store's revision. */
  readonly revision: number;
  /** Bytes of data. */
  readonly size: number;
  /** SHA-256 of the data, hex. */
  readonly sha256: string;
  readonly cluster: string;
  readonly takenBy: string;
  readonly version: string;
  readonly createdAt: string;
}

export type SnapshotFileErrorCode = 'NOT_A_FILE' | 'NOT_A_SNAPSHOT' | 'TRUNCATED' | 'CORRUPT';

export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';
  constructor(
    readonly code: SnapshotFileErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const HEADER_FIELDS = new Set(['index', 'term', 'revision', 'size', 'sha256', 'cluster', 'takenBy', 'version', 'createdAt']);

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function encodeSnapshotFile(header: SnapshotFileHeader, data: Uint8Array): Buffer {
  const head = Buffer.from(
    SNAPSHOT_FILE_MAGIC +
      JSON.stringify({
        index: header.index,
        term: header.term,
        revision: header.revision,
        size: header.size,
        sha256: header.sha256,
        cluster: header.cluster,
        takenBy: header.takenBy,
        version: header.version,
        createdAt: header.createdAt,
      }) +
      '\n',
    'utf8',
  );
  return Buffer.concat([head, data, sha256(head, data)]);
}

function parseHeader(line: string, where: string): SnapshotFileHeader {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new SnapshotFileError('CORRUPT', `${where}: the header line is not JSON`);
  }
  const f = Fields.of(value, `${where}: header`, (m) => new SnapshotFileError('CORRUPT', m)).only(HEADER_FIELDS);
  const header = {
    index: f.int('index', { min: 1 }),
    term: f.int('term', { min: 0 }),
    revision: f.int('revision', { min: 0 }),
    size: f.int('size', { min: 0 }),
    sha256: f.string('sha256'),
    cluster: f.string('cluster'),
    takenBy: f.string('takenBy'),
    version: f.string('version'),
    createdAt: f.string('createdAt'),
  };
  if (!/^[0-9a-f]{64}$/.test(header.sha256)) f.fail(`field "sha256" must be 64 hex digits, found ${describe(header.sha256)}`);
  return header;
}

/**
 * The first line, the header and the size a snapshot file must have, judged from its start (`buf`
 * may be only its first bytes) and its length in bytes.
 */
function layout(buf: Buffer, length: number, where: string): { header: SnapshotFileHeader; dataStart: number; expected: number } {
  const magic = Buffer.from(SNAPSHOT_FILE_MAGIC, 'utf8');
  if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(magic)) {
    if (magic.subarray(0, buf.length).equals(buf)) throw new SnapshotFileError('TRUNCATED', `${where}: the file ends inside its first line (${buf.length} bytes)`);
    throw new SnapshotFileError('NOT_A_SNAPSHOT', `${where}: expected a file made by \`ctl snapshot save\` (first line ${JSON.stringify(SNAPSHOT_FILE_MAGIC.trim())}), found something else`);
  }
  const end = buf.indexOf(0x0a, magic.length);
  if (end < 0) {
    if (length - magic.length > MAX_HEADER_BYTES) throw new SnapshotFileError('CORRUPT', `${where}: no header line within ${MAX_HEADER_BYTES} bytes`);
    throw new SnapshotFileError('TRUNCATED', `${where}: the file ends inside its header line (${length} bytes)`);
  }
  const header = parseHeader(buf.subarray(magic.length, end).toString('utf8'), where);
  if (header.size > MAX_SNAPSHOT_DATA_BYTES) {
    throw new SnapshotFileError(
      'CORRUPT',
      `${where}: the header claims a ${header.size}-byte snapshot; no snapshot holds more than ${MAX_SNAPSHOT_DATA_BYTES} bytes (V8's longest string, 3 bytes of UTF-8 a unit)`,
    );
  }
  const dataStart = end + 1;
  const expected = dataStart + header.size + DIGEST_BYTES;
  if (length < expected) {
    throw new SnapshotFileError('TRUNCATED', `${where}: expected ${expected} bytes (a ${header.size}-byte snapshot and its checksum), found ${length}: the file is cut short`);
  }
  if (length > expected) throw new SnapshotFileError('CORRUPT', `${where}: expected ${expected} bytes, found ${length}: extra bytes after the checksum`);
  return { header, dataStart, expected };
}

/** Reads `buf.length` bytes of `fd` from `position`; fewer only at the end of the file. */
function readAt(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * A snapshot file read from disk. Its first line, header and size are judged from its first
 * bytes, so a large file of something else costs nothing (a 1.5 GB file took 1.5 GB and 5.6 s
 * before it was refused), and a header claiming more than any snapshot holds is refused there.
 * Then the whole file is hashed a MiB at a time, both checksums compared, and only a file that
 * passes is read into memory: a file whose size matches its header but whose bytes do not (a
 * sparse file) is refused holding a MiB, not its size.
 */
export function readSnapshotFile(file: string): { header: SnapshotFileHeader; data: Uint8Array } {
  // Without blocking: a FIFO opened plainly waits for a writer, for ever if none comes.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    // Read at positions, twice (hashed, then loaded), so only a regular file will do. A pipe
    // (`--from <(ssh host cat x.snap)`) or /dev/zero has no length, and was refused as a file
    // that "ends inside its first line (0 bytes)", naming the wrong cause.
    if (!st.isFile()) throw new SnapshotFileError('NOT_A_FILE', `${file} is ${fileKind(st)}: expected a snapshot file, which is read twice (checked, then loaded); copy it to a regular file first`);
    const length = st.size;
    const head = Buffer.allocUnsafe(Math.min(length, SNAPSHOT_FILE_MAGIC.length + MAX_HEADER_BYTES + 1));
    const { header, dataStart, expected } = layout(head.subarray(0, readAt(fd, head, 0)), length, file);
    const hashedEnd = expected - DIGEST_BYTES;
    const whole = createHash('sha256');
    const ofData = createHash('sha256');
    const chunk = Buffer.allocUnsafe(Math.min(HASH_CHUNK_BYTES, hashedEnd));
    for (let at = 0; at < hashedEnd; ) {
      const want = chunk.subarray(0, Math.min(chunk.length, hashedEnd - at));
      const n = readAt(fd, want, at);
      if (n === 0) throw new SnapshotFileError('TRUNCATED', `${file}: the file ended at ${at} bytes while it was read (expected ${expected}): it is cut short`);
      const got = want.subarray(0, n);
      whole.update(got);
      if (at + n > dataStart) ofData.update(got.subarray(Math.max(0, dataStart - at)));
      at += n;
    }
    const digest = Buffer.alloc(DIGEST_BYTES);
    if (readAt(fd, digest, hashedEnd) < DIGEST_BYTES) throw new SnapshotFileError('TRUNCATED', `${file}: the file ended inside its checksum while it was read: it is cut short`);
    if (!whole.digest().equals(digest)) throw new SnapshotFileError('CORRUPT', `${file}: checksum mismatch: the file's contents changed after it was written`);
    if (ofData.digest('hex') !== header.sha256) throw new SnapshotFileError('CORRUPT', `${file}: the data does not match the SHA-256 the server sent`);
    // Checked: now the data itself, hashed again in case the file changed since.
    const data = Buffer.allocUnsafe(header.size);
    if (readAt(fd, data, dataStart) < header.size || sha256(data).toString('hex') !== header.sha256) {
      throw new SnapshotFileError('CORRUPT', `${file}: the file changed while it was read; read it again`);
    }
    return { header, data };
  } finally {
    fs.closeSync(fd);
  }
}

/** The header and data of a snapshot file, every check passed; `where` names the file in errors. */
export function decodeSnapshotFile(bytes: Uint8Array, where: string): { header: SnapshotFileHeader; data: Uint8Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { header, dataStart, expected } = layout(buf, buf.length, where);
  const data = buf.subarray(dataStart, dataStart + header.size);
  const digest = buf.subarray(expected - DIGEST_BYTES);
  if (!sha256(buf.subarray(0, expected - DIGEST_BYTES)).equals(digest)) {
    throw new SnapshotFileError('CORRUPT', `${where}: checksum mismatch: the file's contents changed after it was written`);
  }
  if (sha256(data).toString('hex') !== header.sha256) {
    throw new SnapshotFileError('CORRUPT', `${where}: the data does not match the SHA-256 the server sent`);
  }
  return { header, data };
}
