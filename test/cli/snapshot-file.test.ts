/** The snapshot file: what save writes, restore and status read; damage of any kind is refused by name. */
import t from 'tap';
import { SnapshotAssembler } from '../../src/api/operator-client.js';
import { decodeSnapshotFile, encodeSnapshotFile, SnapshotFileError, type SnapshotFileHeader } from '../../src/backup/snapshot-file.js';
import { SNAPSHOT_DATA, SNAPSHOT_HEADER } from '../helpers/snapshot-fixture.js';

const data = SNAPSHOT_DATA;
const header: SnapshotFileHeader = SNAPSHOT_HEADER;
const file = encodeSnapshotFile(header, data);

function refusal(bytes: Uint8Array): SnapshotFileError {
  try {
    decodeSnapshotFile(bytes, 'x.snap');
  } catch (err) {
    if (err instanceof SnapshotFileError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

void t.test('a written file reads back exactly', async (t) => {
  const back = decodeSnapshotFile(file, 'x.snap');
  t.strictSame(back.header, header);
  t.equal(Buffer.compare(Buffer.from(back.data), data), 0);
});

void t.test('a file cut short anywhere is TRUNCATED, and says so', async (t) => {
  for (const at of [0, 5, 30, file.length - data.length - 40, file.length - 33, file.length - 1]) {
    const err = refusal(file.subarray(0, at));
    t.equal(err.code, 'TRUNCATED', `cut at ${at}: ${err.message}`);
  }
  t.match(refusal(file.subarray(0, file.length - 1)).message, /x\.snap: expected \d+ bytes .*the file is cut short/);
});

void t.test('a flipped bit anywhere is CORRUPT; extra bytes too; another file is NOT_A_SNAPSHOT', async (t) => {
  for (const at of [40, file.length - data.length - 20, file.length - 10]) {
    const bad = Buffer.from(file);
    bad[at] = bad[at]! ^ 0x04;
    t.equal(refusal(bad).code, 'CORRUPT', `flipped at ${at}`);
  }
  t.equal(refusal(Buffer.concat([file, Buffer.from('x')])).code, 'CORRUPT');
  t.equal(refusal(Buffer.from('{"not":"a snapshot"}')).code, 'NOT_A_SNAPSHOT');
});

void t.test('a header whose data checksum is wrong is refused even when the file digest matches', async (t) => {
  const lying = encodeSnapshotFile({ ...header, sha256: '0'.repeat(64) }, data);
  t.match(refusal(lying), { code: 'CORRUPT', message: /does not match the SHA-256 the server sent/ });
});

void t.test('the client checks a streamed snapshot: order, size and checksum', async (t) => {
  const ok = new SnapshotAssembler('e:1');
  ok.add({ part: 'header', header: { ...header } });
  ok.add({ part: 'data', data: data.subarray(0, 10) });
  ok.add({ part: 'data', data: data.subarray(10) });
  ok.add({ part: 'trailer', sha256: header.sha256 });
  t.equal(ok.finish().sha256, header.sha256);

  const noHeader = new SnapshotAssembler('e:1');
  t.throws(() => noHeader.add({ part: 'data', data }), /expected the header first/);
  const short = new SnapshotAssembler('e:1');
  short.add({ part: 'header', header: { ...header } });
  short.add({ part: 'data', data: data.subarray(1) });
  short.add({ part: 'trailer', sha256: header.sha256 });
  t.throws(() => short.finish(), /expected \d+ bytes of data, found \d+/);
  const tampered = new SnapshotAssembler('e:1');
  tampered.add({ part: 'header', header: { ...header } });
  tampered.add({ part: 'data', data: Buffer.from(data).fill(0x20, 5, 6) });
  tampered.add({ part: 'trailer', sha256: header.sha256 });
  t.throws(() => tampered.finish(), /checksum mismatch/);
  const cut = new SnapshotAssembler('e:1');
  cut.add({ part: 'header', header: { ...header } });
  t.throws(() => cut.finish(), /ended before the trailer \(0 of \d+ bytes received\)/);
});
