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
  fs.mkdirSync(path.join(open, 'raft'), { recursive: true });
  fs.chmodSync(open, 0o755);
  fs.writeFileSync(path.join(open, 'raft', 'LOG'), 'kept');
  const w = ensurePrivateDataDir(open);
  t.match(w, { code: 'DATA_DIR_OPEN', message: `data dir ${open} was mode 0755, so other local users could read every value the cluster stores; made it 0700` });
  t.equal(modeOf(open), 0o700, 'now 0700');
  t.equal(fs.readFileSync(path.join(open, 'raft', 'LOG'), 'utf8'), 'kept', 'its contents untouched');
  t.equal(ensurePrivateDataDir(open), null, 'and a second start says nothing');

  const groupOnly = path.join(root, 'group');
  fs.mkdirSync(groupOnly);
  fs.chmodSync(groupOnly, 0o750);
  t.match(ensurePrivateDataDir(groupOnly)?.message, /was mode 0750/, 'group access counts too');
  t.equal(modeOf(groupOnly), 0o700);
});

void t.test('a directory shared with others is left as it is, with a warning saying why: /tmp-like, holding other files, or not ours', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-shared-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const fullMode = (p: string): number => fs.statSync(p).mode & 0o7777;

  const sticky = path.join(root, 'tmp-like');
  fs.mkdirSync(sticky);
  fs.chmodSync(sticky, 0o1777);
  t.match(ensurePrivateDataDir(sticky), { code: 'DATA_DIR_SHARED', message: /mode 1777\) is left as it is: it has the sticky bit .*; other local users may read/ });
  t.equal(fullMode(sticky), 0o1777, 'sticky bit and mode kept');

  const parent = path.join(root, 'var-lib');
  fs.mkdirSync(path.join(parent, 'postgresql'), { recursive: true });
  fs.chmodSync(parent, 0o755);
  t.match(ensurePrivateDataDir(parent), { code: 'DATA_DIR_SHARED', message: /it holds files a controller does not write \("postgresql"\): is controller\.data_dir meant to name a directory of this member's own/ });
  t.equal(fullMode(parent), 0o755, "others' access to their own files kept");

  const mounted = path.join(root, 'disk');
  fs.mkdirSync(path.join(mounted, 'lost+found'), { recursive: true });
  fs.mkdirSync(path.join(mounted, 'audit'));
  fs.chmodSync(mounted, 0o755);
  t.match(ensurePrivateDataDir(mounted), { code: 'DATA_DIR_OPEN' }, "a file system's root with lost+found is still ours");
  t.equal(fullMode(mounted), 0o700);

  const privateShared = path.join(root, 'private-shared');
  fs.mkdirSync(path.join(privateShared, 'notes'), { recursive: true });
  fs.chmodSync(privateShared, 0o700);
  t.match(ensurePrivateDataDir(privateShared)?.message, /is left as it is: it holds files/, 'a private one with others\' files is named too');
});
