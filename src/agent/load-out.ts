/**
 * An agent restarts from its --out file: the configuration it accepted last time, with its
 * version and cluster, so its first hello says what it holds and nothing is sent again. The
 * file is checked like any other input; one that does not parse is ignored with the reason.
 */
import fs from 'node:fs';
import { Fields, parseResource, type ErrorFactory } from '../statemachine/index.js';
import type { ConfigJson } from './config-state.js';

const makeError: ErrorFactory = (m) => new Error(m);

export function parseConfigJson(text: string, file: string): ConfigJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: expected JSON, found: ${(err as Error).message}`, { cause: err });
  }
  const f = Fields.of(value, file, makeError).only(new Set(['version', 'cluster', 'clusterName', 'resources']));
  const version = f.int('version', { min: 0 });
  const cluster = f.has('cluster') ? f.string('cluster', { maxBytes: 256 }) : '';
  const clusterName = f.has('clusterName') ? f.string('clusterName', { maxBytes: 256 }) : '';
  const resources = f.array('resources', 100_000).map((r, i) => parseResource(r, `${file}: resources[${i}]`, makeError));
  return { version, cluster, ...(clusterName === '' ? {} : { clusterName }), resources };
}

/** The previous run's configuration, null when there is none; `warn` hears why a file was ignored. */
export function loadPreviousConfig(file: string, warn: (message: string) => void): ConfigJson | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${file}: ${(err as Error).message}; starting without a configuration`);
    return null;
  }
  try {
    return parseConfigJson(text, file);
  } catch (err) {
    warn(`${(err as Error).message}; starting without a configuration`);
    return null;
  }
}
