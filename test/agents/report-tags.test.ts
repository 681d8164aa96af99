/** A controller's report tags: one id per run, mesh reports under `<id>/mesh`, renewed once per stale id. */
import t from 'tap';
import { ReportTags } from '../../src/agents/report-tags.js';

void t.test('agent and mesh reports count their own seqs under one id; a stale refusal renews it once', async (t) => {
  let n = 0;
  const tags = new ReportTags(() => `id${++n}`);
  t.same(tags.nextReport(), { id: 'agents/id1', seq: 1 });
  t.same(tags.nextReport(), { id: 'agents/id1', seq: 2 });
  const mesh = tags.nextMeshReport();
  t.same(mesh, { id: 'agents/id1/mesh', seq: 1 });
  t.equal(tags.renew(mesh.id), 'agents/id2', 'a stale mesh report renews the id');
  t.equal(tags.renew('agents/id1'), 'agents/id2', 'the agent report refused under the old id too: renewed already, not again');
  t.same(tags.nextReport(), { id: 'agents/id2', seq: 1 }, 'seqs start again under the new id');
  t.same(tags.nextMeshReport(), { id: 'agents/id2/mesh', seq: 1 });
});
