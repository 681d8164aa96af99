/**
 * readSnapshotFile (src/backup/snapshot-file.ts), which `ctl snapshot status` and `controller
 * restore` share, does not trust the header's size: a size no snapshot can hold is refused from
 * the head, and a file is hashed in bounded steps before anything is parsed, so a sparse file
 * whose size matches its lying header is refused without being held in memory (attack-33 G5:
 * 1.9 GB read whole, 23 s, before "checksum mismatch").
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { encodeSnapshotFile, MAX_SNAPSHOT_DATA_BYTES, readSnapshotFile, SNAPSHOT_FILE_MAGIC, SnapshotFileError, type SnapshotFileHeader } from '../../src/backup/snapshot-file.js';
import { SNAPSHOT_DATA, SNAPSHOT_HEADER } from '../helpers/snapshot-fixture.js';

const data = SNAPSHOT_DATA;
const header: SnapshotFileHeader = SNAPSHOT_HEADER;

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-read-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A file of the magic line and a header claiming `size` bytes of data, made sparse to the length that claim implies. */
function sparseClaiming(dir: string, size: number): string {
  const head = SNAPSHOT_FILE_MAGIC + JSON.stringify({ ...header, size }) + '\n';
  const file = path.join(dir, `claims-${size}.snap`);
  fs.writeFileSync(file, head);
  fs.truncateSync(file, Buffer.byteLength(head) + size + 32);
  return file;
}

function refusal(file: string): SnapshotFileError {
  try {
    readSnapshotFile(file);
  } catch (err) {
    if (err instanceof SnapshotFileError) return err;
    throw err;
  }
  throw new Error(`expected ${file} to be refused`);
}

/** The process's peak resident set, in bytes (it only grows: this file's first test measures it). */
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

void t.test('a sparse file whose header claims 256 MiB is hashed in steps and refused, its size never held', async (t) => {
  const file = sparseClaiming(tempDir(t), 256 * 1024 * 1024);
  const before = peakRss();
  const err = refusal(file);
  const grew = peakRss() - before;
  t.match(err, { code: 'CORRUPT', message: /checksum mismatch/ });
  t.ok(grew < 32 * 1024 * 1024, `peak RSS grew ${(grew / 1024 / 1024).toFixed(1)} MiB reading a 256 MiB file (bound: 32 MiB)`);
});

void t.test('a header claiming more than any snapshot holds is refused from the head, at once', async (t) => {
  t.equal(MAX_SNAPSHOT_DATA_BYTES > 1_500_000_000 && MAX_SNAPSHOT_DATA_BYTES < 1_700_000_000, true, `the bound is about 1.5 GiB: ${MAX_SNAPSHOT_DATA_BYTES}`);
  const dir = tempDir(t);
  for (const size of [1_900_000_000, MAX_SNAPSHOT_DATA_BYTES + 1]) {
    const file = sparseClaiming(dir, size);
    const started = process.hrtime.bigint();
    const err = refusal(file);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.match(err, { code: 'CORRUPT', message: new RegExp(`^${file}: the header claims a ${size}-byte snapshot; no snapshot holds more than ${MAX_SNAPSHOT_DATA_BYTES} bytes`) });
    // Reading the file would take seconds (1.9 GB took 23 s); the head is a few hundred bytes.
    t.ok(ms < 500, `refused in ${ms.toFixed(1)} ms`);
  }
});

void t.test('a saved file reads back; one changed or cut short is refused by name', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'ok.snap');
  const bytes = encodeSnapshotFile(header, data);
  fs.writeFileSync(file, bytes);
  const back = readSnapshotFile(file);
  t.strictSame(back.header, header);
  t.equal(Buffer.compare(Buffer.from(back.data), data), 0);

  const flipped = Buffer.from(bytes);
  flipped[bytes.length - data.length - 20] = flipped[bytes.length - data.length - 20]! ^ 0x04;
  fs.writeFileSync(file, flipped);
  t.match(refusal(file), { code: 'CORRUPT', message: /checksum mismatch/ });
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1));
  t.match(refusal(file), { code: 'TRUNCATED', message: /the file is cut short/ });
  fs.writeFileSync(file, encodeSnapshotFile({ ...header, sha256: '0'.repeat(64) }, data));
  t.match(refusal(file), { code: 'CORRUPT', message: /does not match the SHA-256 the server sent/ });
});

// `ctl snapshot status <(ssh backup cat x.snap)` and `controller restore --from /dev/stdin` were
// refused as a file that "ends inside its first line (0 bytes)" while the pipe held a whole
// snapshot, and a FIFO with no writer left both waiting for ever (attack-operator round 15). A
// pipe from a shell is a FIFO too: fstat tells them apart from files alike.
void t.test('a FIFO (a shell\'s pipe too), a device or a directory is refused by what it is, without waiting for a writer', async (t) => {
  t.match(refusal('/dev/zero'), { code: 'NOT_A_FILE', message: /^\/dev\/zero is a character device: / });
  const dir = tempDir(t);
  t.match(refusal(dir), { code: 'NOT_A_FILE', message: `${dir} is a directory: ` });
  const fifo = path.join(dir, 'backup.fifo');
  execFileSync('mkfifo', [fifo]);
  t.match(refusal(fifo), { code: 'NOT_A_FILE', message: `${fifo} is a FIFO (named pipe): expected a snapshot file, which is read twice (checked, then loaded); copy it to a regular file first` });
});
