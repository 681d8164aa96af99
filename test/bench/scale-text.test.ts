/** The scale sweep's table (bench/report.ts): a cell without one answer shows no latency. */
import t from 'tap';
import { NONE_ANSWERED, scaleText, type ScaleRow } from '../../bench/report.js';

const row = (system: 'ours' | 'etcd', clients: number, opsPerSec: number): ScaleRow => ({
  system,
  phase: 'steady',
  nodes: 5,
  clients,
  opsPerSec,
  p50Ms: opsPerSec === 0 ? 0 : 12.5,
  p99Ms: opsPerSec === 0 ? 0 : 40.25,
  serverCpuMsPerOp: opsPerSec === 0 ? 0 : 0.75,
  errors: 0,
});

void t.test('a cell with no answer in its window says so instead of 0 ms', async (t) => {
  const text = scaleText([row('ours', 16, 300), row('etcd', 16, 500), row('ours', 256, 0), row('etcd', 256, 1777)]);
  const lines = text.split('\n');
  const cell256 = lines.find((l) => /│ 5\s+│ 256\s+│/.test(l));
  t.ok(cell256 !== undefined, 'the 256-client row is there');
  t.match(cell256!, new RegExp(`│ 0\\s+│ ${NONE_ANSWERED}\\s+│ ${NONE_ANSWERED}\\s+│\\s+│ 1777`), 'no p50 or p99 of 0 ms for ours');
  const cell16 = lines.find((l) => /│ 5\s+│ 16\s+│/.test(l));
  t.match(cell16!, /│ 300\s+│ 12\.5\s+│ 40\.25\s+│ 0\.75\s+│ 500/, 'a cell with answers keeps its figures');
});
