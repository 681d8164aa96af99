import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensurePrivateDataDir } from '../../src/node/data-dir-mode.js';

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

void t.test('a data dir is created 0700, and one other users can read is made 0700 with a warning naming its old mode', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-mode-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

  const fresh = path.join(root, 'new', 'c1');
  t.equal(ensurePrivateDataDir(fresh), null, 'a new one needs no warning');
  t.equal(modeOf(fresh), 0o700, 'created 0700');

  const open = path.join(root, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o755);
  fs.writeFileSync(path.join(open, 'LOG'), 'kept');
  const w = ensurePrivateDataDir(open);
  t.match(w, { code: 'DATA_DIR_OPEN', message: `data dir ${open} was mode 0755, so other local users could read every value the cluster stores; made it 0700` });
  t.equal(modeOf(open), 0o700, 'now 0700');
  t.equal(fs.readFileSync(path.join(open, 'LOG'), 'utf8'), 'kept', 'its contents untouched');
  t.equal(ensurePrivateDataDir(open), null, 'and a second start says nothing');

  const groupOnly = path.join(root, 'group');
  fs.mkdirSync(groupOnly);
  fs.chmodSync(groupOnly, 0o750);
  t.match(ensurePrivateDataDir(groupOnly)?.message, /was mode 0750/, 'group access counts too');
  t.equal(modeOf(groupOnly), 0o700);
});
