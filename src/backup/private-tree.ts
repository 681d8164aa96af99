/**
 * Makes a directory tree only its owner can read: directories 0700, files 0600. The offline
 * tools (`controller restore`, `controller recover`) write data dirs that hold every value the
 * cluster stores, and LevelDB creates its files with the process umask (0644 by default):
 * a restored data dir was 0755 with 0644 files, so any local user read the restored values
 * until the controller's first start (attack-33 G4). Symbolic links are left alone, never
 * followed.
 *
 * Run as root (as an operator in the middle of a recovery does), the tools also give what they
 * write the owner of the directory it goes into: the controller runs as its own user
 * (deploy.md's `controller`), and files root made 0600 are files it cannot open. `controller
 * recover` so left raft/CURRENT, the manifest and the tables root's, and the recovered node
 * stopped at its start, `Permission denied` (operator round 17).
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The owner to give what is written into `dir`: its own, when this process runs as root; null
 * otherwise (a process can give its files to no one else), or when `dir` does not exist.
 */
export function ownerWhenRoot(dir: string, euid: number | undefined = process.geteuid?.()): FileOwner | null {
  if (euid !== 0) return null;
  try {
    const st = fs.statSync(dir);
    return { uid: st.uid, gid: st.gid };
  } catch {
    return null;
  }
}

export function makePrivateTree(root: string, owner: FileOwner | null = null, chown: (p: string, uid: number, gid: number) => void = fs.lchownSync): void {
  const st = fs.lstatSync(root);
  if (owner !== null && !st.isSymbolicLink() && (st.uid !== owner.uid || st.gid !== owner.gid)) chown(root, owner.uid, owner.gid);
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) fs.chmodSync(root, PRIVATE_DIR_MODE);
    for (const name of fs.readdirSync(root)) makePrivateTree(path.join(root, name), owner, chown);
  } else if (st.isFile() && (st.mode & 0o777) !== PRIVATE_FILE_MODE) {
    fs.chmodSync(root, PRIVATE_FILE_MODE);
  }
}
