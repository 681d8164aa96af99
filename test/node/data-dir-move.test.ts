/** The data dir probe a SIGHUP reload uses, on a real file system: what holds Raft state, what is one dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { dataDirMoveProblem, holdsRaftState, sameDir } from '../../src/node/data-dir-move.js';

void t.test('holdsRaftState: a raft/ with CURRENT or a table or log; not a missing, empty or manifest-only one', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-move-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = (name: string, files: string[]): string => {
    const d = path.join(root, name);
    fs.mkdirSync(path.join(d, 'raft'), { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(d, 'raft', f), '');
    return d;
  };
  t.equal(holdsRaftState(path.join(root, 'missing')), false, 'no data dir');
  t.equal(holdsRaftState(dir('empty', [])), false, 'an empty raft/');
  t.equal(holdsRaftState(dir('manifest', ['MANIFEST-000001'])), false, 'a first open cut short opens as new');
  t.equal(holdsRaftState(dir('current', ['CURRENT', 'MANIFEST-000002', 'LOCK'])), true);
  t.equal(holdsRaftState(dir('log-only', ['000003.log'])), true, 'a lost CURRENT still holds records');
  const real = dir('real', ['CURRENT']);
  fs.symlinkSync(real, path.join(root, 'link'));
  t.equal(sameDir(path.join(root, 'link'), real), true, 'a link to it');
  t.equal(sameDir(path.join(root, 'real', '..', 'real'), real), true, 'another spelling');
  t.equal(sameDir(path.join(root, 'missing'), real), false);
  t.equal(dataDirMoveProblem('/f.yaml', 'c1', { file: path.join(root, 'link'), running: real }), null, 'a link to the running dir is no move');
  t.match(dataDirMoveProblem('/f.yaml', 'c1', { file: path.join(root, 'missing'), running: real }), /holds no Raft state, but c1 runs on/);
});
