/**
 * Which cluster id each controller address of the list welcomed this agent with, kept beside
 * --out (FILE.controllers.json) so it survives a restart. The cluster guard tells another cluster
 * of the held name from a restore by where the held cluster answered (cluster-guard.ts); known
 * only in memory, an agent restarted while its own cluster was down took the other cluster's
 * controller for a restore, warned, and swapped its whole configuration.
 *
 * `{ "controllers": { "10.0.0.1:7101": "CLUSTER_ID", ... } }`, written atomically like --out
 * (out-file.ts). Read back like --out (load-out.ts): a file that does not parse is ignored with
 * the reason, and nothing else is lost (the configuration in --out is read as ever). Addresses
 * no longer on --controllers are dropped at the start: a restore onto other hosts, with a new
 * list, is taken as before.
 */
import fs from 'node:fs';
import { Fields, type ErrorFactory } from '../statemachine/index.js';
import { writeAtomically } from './out-file.js';

/** Far above any --controllers list; bounds what a file can make the agent hold. */
const MAX_ADDRESSES = 1_000;
const MAX_ADDRESS_BYTES = 1_024;
const MAX_CLUSTER_ID_BYTES = 256;

const makeError: ErrorFactory = (m) => new Error(m);

/** Address -> the cluster id it last welcomed this agent with (a welcome taken). */
export type AnsweredClusters = ReadonlyMap<string, string>;

/** Where the map of --out `out` is kept. */
export function answeredFileOf(out: string): string {
  return `${out}.controllers.json`;
}

export function answeredText(answered: AnsweredClusters): string {
  const sorted = [...answered].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify({ controllers: Object.fromEntries(sorted) }, null, 2)}\n`;
}

export function parseAnswered(text: string, file: string): Map<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: expected JSON, found: ${(err as Error).message}`, { cause: err });
  }
  const f = Fields.of(value, file, makeError).only(new Set(['controllers']));
  const controllers = Fields.of(f.raw['controllers'], `${file}: controllers`, makeError);
  const addresses = Object.keys(controllers.raw);
  if (addresses.length > MAX_ADDRESSES) controllers.fail(`expected at most ${MAX_ADDRESSES} addresses, found ${addresses.length}`);
  const out = new Map<string, string>();
  for (const address of addresses) {
    if (address === '' || Buffer.byteLength(address) > MAX_ADDRESS_BYTES) controllers.fail(`expected controller addresses of 1 to ${MAX_ADDRESS_BYTES} bytes, found ${JSON.stringify(address.slice(0, 80))}`);
    out.set(address, controllers.string(address, { nonEmpty: true, maxBytes: MAX_CLUSTER_ID_BYTES }));
  }
  return out;
}

/**
 * The previous run's map, the addresses of `controllers` only; empty when there is none. `warn`
 * hears why a file was ignored.
 */
export function loadAnswered(file: string, controllers: readonly string[], warn: (message: string) => void): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${file}: ${(err as Error).message}; starting with no controller address known to have answered for this agent's cluster`);
    return new Map();
  }
  let answered: Map<string, string>;
  try {
    answered = parseAnswered(text, file);
  } catch (err) {
    warn(`${(err as Error).message}; starting with no controller address known to have answered for this agent's cluster`);
    return new Map();
  }
  const listed = new Set(controllers);
  for (const address of [...answered.keys()]) if (!listed.has(address)) answered.delete(address);
  return answered;
}

/**
 * Writes the map on each change, one write at a time: a change during a write is written after
 * it, the newest map only (two writes at once would share the temporary file's name).
 */
export class AnsweredWriter {
  /** The writes under way, done when the newest map is written (or failed); null: none. */
  private writing: Promise<void> | null = null;
  private pending: string | null = null;

  constructor(
    private readonly file: string,
    private readonly onError: (err: Error) => void,
  ) {}

  save(answered: AnsweredClusters): void {
    this.pending = answeredText(answered);
    this.writing ??= this.drain();
  }

  /** Resolves once every map saved so far is written (or its write failed). */
  async settled(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.pending !== null) {
      const text = this.pending;
      this.pending = null;
      try {
        await writeAtomically(this.file, text);
      } catch (err) {
        this.onError(err as Error);
      }
    }
    this.writing = null;
  }
}
