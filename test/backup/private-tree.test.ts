/**
 * The offline tools' data dirs: owner-only modes, and, run as root, the owner of the directory
 * they write into (operator round 17: `controller recover` run as root left raft/CURRENT and the
 * tables root's, 0600, and the recovered controller, running as its own user, stopped at start
 * with `Permission denied`). Chown is injected: the test runs as any user.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makePrivateTree, ownerWhenRoot } from '../../src/backup/private-tree.js';

function tree(t: { teardown(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'private-tree-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'raft'), { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'raft', 'CURRENT'), 'MANIFEST-000004\n', { mode: 0o644 });
  fs.symlinkSync('/etc/hostname', path.join(root, 'raft', 'link'));
  return root;
}

void t.test('without an owner: modes only, nothing chowned', async (t) => {
  const root = tree(t);
  const chowned: string[] = [];
  makePrivateTree(root, null, (p) => void chowned.push(p));
  t.same(chowned, []);
  t.equal(fs.statSync(path.join(root, 'raft')).mode & 0o777, 0o700);
  t.equal(fs.statSync(path.join(root, 'raft', 'CURRENT')).mode & 0o777, 0o600);
});

void t.test("with an owner: every directory and file that is not the owner's is given to it, links left alone", async (t) => {
  const root = tree(t);
  const me = fs.statSync(root);
  const chowned: Array<[string, number, number]> = [];
  makePrivateTree(root, { uid: me.uid + 1, gid: me.gid }, (p, uid, gid) => void chowned.push([path.relative(root, p), uid, gid]));
  t.same(chowned, [
    ['', me.uid + 1, me.gid],
    ['raft', me.uid + 1, me.gid],
    ['raft/CURRENT', me.uid + 1, me.gid],
  ]);
  const none: string[] = [];
  makePrivateTree(root, { uid: me.uid, gid: me.gid }, (p) => void none.push(p));
  t.same(none, [], 'already the owner: nothing to do');
});

void t.test("the owner to give is the directory's own, only when running as root", async (t) => {
  const root = tree(t);
  const st = fs.statSync(path.join(root, 'raft'));
  t.same(ownerWhenRoot(path.join(root, 'raft'), 0), { uid: st.uid, gid: st.gid });
  t.equal(ownerWhenRoot(path.join(root, 'raft'), 1000), null, 'another user can give its files to no one');
  t.equal(ownerWhenRoot(path.join(root, 'missing'), 0), null);
});
