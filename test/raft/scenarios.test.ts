/**
 * Runs every scenario in test/raft/testdata/*.txt (scenario.ts explains the format) and
 * compares each command's trace with the expected one written under it.
 *
 *   node dist/test/raft/scenarios.test.js --rewrite    rewrites the expected traces in place,
 *                                                     to be reviewed as a diff
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseScenario, renderScenario, ScenarioRunner, type Block } from './scenario.js';

// Compiled to dist/test/raft/: the scenarios stay in the source tree.
const TESTDATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/raft/testdata');
const REWRITE = process.argv.includes('--rewrite');

const files = fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.txt')).sort();

void t.test('the scenarios are there', async (t) => {
  t.ok(files.length >= 5, `${files.length} scenario files in ${TESTDATA}`);
  t.ok(files.includes('campaign_learner_must_vote.txt'), 'campaign_learner_must_vote among them');
});

for (const file of files) {
  void t.test(file, async (t) => {
    const full = path.join(TESTDATA, file);
    const segments = parseScenario(fs.readFileSync(full, 'utf8'), file);
    const runner = new ScenarioRunner();
    const actual = new Map<Block, readonly string[]>();
    for (const seg of segments) {
      if (seg.kind !== 'block') continue;
      const { block } = seg;
      // A refusal (RaftError, HostError) is part of the trace; anything else, a safety check
      // included, fails the scenario and is never written into it.
      const out = runner.run(block);
      actual.set(block, out);
      if (!REWRITE) t.same(out, block.expected, `${file}:${block.line}: ${block.command}`);
    }
    if (REWRITE) {
      fs.writeFileSync(full, renderScenario(segments, actual));
      t.pass(`rewrote ${file}`);
    }
  });
}
