import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensurePrivateDataDir, removeCreatedDataDir } from '../../src/node/data-dir-mode.js';

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

void t.test('a data dir is created 0700, and one other users can read is made 0700 with a warning naming its old mode', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-mode-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

  const fresh = path.join(root, 'new', 'c1');
  t.equal(ensurePrivateDataDir(fresh).note, null, 'a new one needs no warning');
  t.equal(modeOf(fresh), 0o700, 'created 0700');

  const open = path.join(root, 'open');
  fs.mkdirSync(path.join(open, 'raft'), { recursive: true });
  fs.chmodSync(open, 0o755);
  fs.writeFileSync(path.join(open, 'raft', 'LOG'), 'kept');
  const w = ensurePrivateDataDir(open).note;
  t.match(w, { code: 'DATA_DIR_OPEN', message: `data dir ${open} was mode 0755, so other local users could read every value the cluster stores; made it 0700` });
  t.equal(modeOf(open), 0o700, 'now 0700');
  t.equal(fs.readFileSync(path.join(open, 'raft', 'LOG'), 'utf8'), 'kept', 'its contents untouched');
  t.equal(ensurePrivateDataDir(open).note, null, 'and a second start says nothing');

  const groupOnly = path.join(root, 'group');
  fs.mkdirSync(groupOnly);
  fs.chmodSync(groupOnly, 0o750);
  t.match(ensurePrivateDataDir(groupOnly).note?.message, /was mode 0750/, 'group access counts too');
  t.equal(modeOf(groupOnly), 0o700);
});

void t.test('a directory shared with others is left as it is, with a warning saying why: /tmp-like, holding other files, or not ours', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-shared-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const fullMode = (p: string): number => fs.statSync(p).mode & 0o7777;

  const sticky = path.join(root, 'tmp-like');
  fs.mkdirSync(sticky);
  fs.chmodSync(sticky, 0o1777);
  t.match(ensurePrivateDataDir(sticky).note, { code: 'DATA_DIR_SHARED', message: /mode 1777\) is left as it is: it has the sticky bit .*; other local users may read/ });
  t.equal(fullMode(sticky), 0o1777, 'sticky bit and mode kept');

  const parent = path.join(root, 'var-lib');
  fs.mkdirSync(path.join(parent, 'postgresql'), { recursive: true });
  fs.chmodSync(parent, 0o755);
  t.match(ensurePrivateDataDir(parent).note, { code: 'DATA_DIR_SHARED', message: /it holds files a controller does not write \("postgresql"\): is controller\.data_dir meant to name a directory of this member's own/ });
  t.equal(fullMode(parent), 0o755, "others' access to their own files kept");

  const mounted = path.join(root, 'disk');
  fs.mkdirSync(path.join(mounted, 'lost+found'), { recursive: true });
  fs.mkdirSync(path.join(mounted, 'audit'));
  fs.chmodSync(mounted, 0o755);
  t.match(ensurePrivateDataDir(mounted).note, { code: 'DATA_DIR_OPEN' }, "a file system's root with lost+found is still ours");
  t.equal(fullMode(mounted), 0o700);

  const privateShared = path.join(root, 'private-shared');
  fs.mkdirSync(path.join(privateShared, 'notes'), { recursive: true });
  fs.chmodSync(privateShared, 0o700);
  t.match(ensurePrivateDataDir(privateShared).note?.message, /is left as it is: it holds files/, 'a private one with others\' files is named too');
});

void t.test('a refused start removes the directories it created, only while empty', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-created-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

  const leaf = path.join(root, 'typo', 'data', 'c1');
  const made = ensurePrivateDataDir(leaf);
  t.same(made.created, [path.join(root, 'typo'), path.join(root, 'typo', 'data'), leaf], 'each directory created is named, outermost first');
  removeCreatedDataDir(made.created);
  t.notOk(fs.existsSync(path.join(root, 'typo')), 'all three removed');
  t.ok(fs.existsSync(root), 'the directory that was there stays');

  t.same(ensurePrivateDataDir(root).created, [], 'an existing one was not created');

  const busy = path.join(root, 'busy', 'c1');
  const second = ensurePrivateDataDir(busy);
  fs.writeFileSync(path.join(root, 'busy', 'other'), 'not ours');
  removeCreatedDataDir(second.created);
  t.notOk(fs.existsSync(busy), 'the empty leaf is removed');
  t.equal(fs.readFileSync(path.join(root, 'busy', 'other'), 'utf8'), 'not ours', 'a parent something else wrote into stays, with its file');

  const kept = path.join(root, 'kept');
  const third = ensurePrivateDataDir(kept);
  fs.mkdirSync(path.join(kept, 'raft'));
  removeCreatedDataDir(third.created);
  t.ok(fs.existsSync(path.join(kept, 'raft')), 'a data dir with anything in it is left');
});

void t.test('through `..`, only what was created is removed: never an existing directory the lexical path names', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-dotdot-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

  // `a/../ab` with `a` missing: mkdir -p makes `a`, and `ab` was there (a prefix of `a`'s name).
  fs.mkdirSync(path.join(root, 'ab'));
  const viaMissing = ensurePrivateDataDir(`${root}/a/../ab`);
  t.same(viaMissing.created, [`${root}/a`], 'only `a` was created');
  removeCreatedDataDir(viaMissing.created);
  t.ok(fs.existsSync(path.join(root, 'ab')), 'the existing `ab` stays');
  t.notOk(fs.existsSync(path.join(root, 'a')), 'the created `a` is removed');

  // `link/../x`: the kernel makes `x` beside the link's target, lexically it is `root/x`.
  fs.mkdirSync(path.join(root, 'real', 'sub'), { recursive: true });
  fs.symlinkSync(path.join(root, 'real', 'sub'), path.join(root, 'link'));
  fs.mkdirSync(path.join(root, 'x'));
  const viaLink = ensurePrivateDataDir(`${root}/link/../x`);
  t.ok(fs.existsSync(path.join(root, 'real', 'x')), 'made beside the target');
  removeCreatedDataDir(viaLink.created);
  t.ok(fs.existsSync(path.join(root, 'x')), 'the existing lexical `x` stays');
  t.notOk(fs.existsSync(path.join(root, 'real', 'x')), 'the one created is removed');
});
