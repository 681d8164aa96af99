/** A small snapshot's data and a header that matches it, for tests of the snapshot file. */
import { createHash } from 'node:crypto';
import type { SnapshotFileHeader } from '../../src/backup/snapshot-file.js';

export const SNAPSHOT_DATA = Buffer.from('\u0001{"appliedIndex":7,"revision":3,"kinds":{},"clients":[]}');

export const SNAPSHOT_HEADER: SnapshotFileHeader = {
  index: 7,
  term: 2,
  revision: 3,
  size: SNAPSHOT_DATA.length,
  sha256: createHash('sha256').update(SNAPSHOT_DATA).digest('hex'),
  cluster: 'prod',
  takenBy: 'c1',
  version: '0.1.0',
  createdAt: '2026-11-30T10:00:00.000Z',
};
