/**
 * A LevelDB directory whose CURRENT file is gone while its data files are not. LevelDB opened
 * with create_if_missing (level's default) takes such a directory for a new database: it writes
 * a new MANIFEST and CURRENT, replays the .log files into it and deletes every table the new
 * MANIFEST does not list, which is all of them. Measured (attack round 12): a member's entries
 * 1..246, in one .ldb table, deleted by the first open after CURRENT was removed; the start was
 * refused only afterwards. So it is checked before opening, and nothing is changed.
 */
import fs from 'node:fs';

/** The files LevelDB keeps data in: manifests, tables (.ldb, or .sst of old versions), logs. */
const DATA_FILE = /^(?:MANIFEST-(\d+)|\d+\.(?:ldb|sst|log))$/;
/**
 * The files that hold records: tables and logs. Manifests alone are what a first open leaves when
 * it stops between writing MANIFEST-000001 and renaming its CURRENT into place (killed, or the
 * rename failed: LevelDB 1.20's NewDB keeps the manifest then). That directory never held a record,
 * and LevelDB's next open simply creates the database again: not a lost CURRENT.
 */
const RECORD_FILE = /^\d+\.(?:ldb|sst|log)$/;

/** The newest manifest among `names`: the one a lost CURRENT most likely named. */
function newestManifest(names: readonly string[]): string | null {
  let best: { name: string; n: number } | null = null;
  for (const name of names) {
    const n = Number(DATA_FILE.exec(name)?.[1] ?? NaN);
    if (Number.isFinite(n) && (best === null || n > best.n)) best = { name, n };
  }
  return best?.name ?? null;
}

/** Why `dir` must not be opened (its data files without a CURRENT); null when it may be. */
export function lostCurrentProblem(dir: string): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null; // absent, or unreadable: the open says why
  }
  if (names.includes('CURRENT')) return null;
  if (!names.some((n) => RECORD_FILE.test(n))) return null;
  const data = names.filter((n) => DATA_FILE.test(n)).sort();
  const shown = data.length > 4 ? `${data.slice(0, 4).join(', ')} and ${data.length - 4} more` : data.join(', ');
  const manifest = newestManifest(data);
  const fix =
    manifest === null
      ? 'no MANIFEST is left to name in one, so its tables cannot be opened as they are'
      : `if only CURRENT was lost, write it back naming the newest MANIFEST: printf '${manifest}\\n' > ${dir}/CURRENT`;
  return (
    `it holds LevelDB data files (${shown}) but no CURRENT file, which names the live MANIFEST: opened as it is, LevelDB ` +
    `would take it for a new database and delete those tables. Nothing was changed; ${fix}`
  );
}
