/**
 * Makes a directory tree only its owner can read: directories 0700, files 0600. The offline
 * tools (`controller restore`, `controller recover`) write data dirs that hold every value the
 * cluster stores, and LevelDB creates its files with the process umask (0644 by default):
 * a restored data dir was 0755 with 0644 files, so any local user read the restored values
 * until the controller's first start (attack-33 G4). Symbolic links are left alone, never
 * followed.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export function makePrivateTree(root: string): void {
  const st = fs.lstatSync(root);
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) fs.chmodSync(root, PRIVATE_DIR_MODE);
    for (const name of fs.readdirSync(root)) makePrivateTree(path.join(root, name));
  } else if (st.isFile() && (st.mode & 0o777) !== PRIVATE_FILE_MODE) {
    fs.chmodSync(root, PRIVATE_FILE_MODE);
  }
}
