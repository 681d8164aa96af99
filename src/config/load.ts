/**
 * Loading the cluster config: read, parse YAML, check keys, apply defaults, check combinations.
 * Synchronous and free of side effects (nothing is created, data_dir included), so a bad file is
 * refused before the process touches anything.
 */
import { NotRegularFileError, readRegularFileSync } from '../util/bounded-read.js';
import path from 'node:path';
import { ConfigError } from './errors.js';
import type { ConfigProblem, ConfigProblems } from './errors.js';
import { formatKeyPath, problemsFromIssues } from './issues.js';
import type { LocatedProblem } from './issues.js';
import { resolveConfig } from './resolve.js';
import { rawConfigSchema } from './schema.js';
import type { ClusterConfig, NodeConfig } from './types.js';
import { parseYamlSource } from './yaml-source.js';

export { ConfigError } from './errors.js';
export type { ConfigProblem } from './errors.js';

export function loadClusterConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (err) {
    const reason = `cannot read the config file: ${describeFsError(err)}`;
    throw new ConfigError(file, [{ keyPath: '(file)', reason, line: null }], { cause: err });
  }
  return parseClusterConfig(text, file);
}

/** The cluster config plus this process's own entry; `cwd` (default: the process's) anchors a relative data_dir. */
export function loadNodeConfig(file: string, id: string, cwd?: string): NodeConfig {
  return nodeConfigFor(loadClusterConfig(file), id, cwd, file);
}

/** `file` names the source in errors and anchors relative TLS paths; nothing is read from it. */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const source = parseYamlSource(text);
  if (!source.ok) {
    throw new ConfigError(file, [{ keyPath: '(yaml)', reason: source.reason, line: source.line }]);
  }
  const fail = (problems: readonly LocatedProblem[]): ConfigError => {
    const located = problems
      .map((p): ConfigProblem => ({ keyPath: formatKeyPath(p.path), reason: p.reason, line: source.lineOf(p.path) }))
      .sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
    return new ConfigError(file, nonEmpty(located));
  };
  if (source.data === null || source.data === undefined) {
    throw fail([{ path: [], reason: 'the file is empty; expected a mapping with at least cluster.nodes' }]);
  }
  const parsed = rawConfigSchema.safeParse(source.data, { reportInput: true });
  if (!parsed.success) throw fail(problemsFromIssues(rawConfigSchema, parsed.error.issues));
  const resolved = resolveConfig(parsed.data, path.resolve(file));
  if (!resolved.ok) throw fail(resolved.problems);
  return resolved.config;
}

/** Picks `id`'s entry and substitutes it into data_dir and the TLS paths; `file` names the source in errors. */
export function nodeConfigFor(
  config: ClusterConfig,
  id: string,
  cwd?: string,
  file: string = config.file,
): NodeConfig {
  const self = config.nodes.find((n) => n.id === id);
  if (self === undefined) {
    const known = config.nodes.map((n) => n.id).join(', ');
    const reason = `no node with id "${id}" (--id); the cluster's nodes are: ${known}`;
    throw new ConfigError(file, [{ keyPath: 'cluster.nodes', reason, line: null }]);
  }
  const template = config.dataDirTemplate.replaceAll('${id}', id);
  // path.resolve of an absolute path never asks for the working directory, which fails once it
  // was deleted: only a relative data_dir needs it.
  const dataDir = path.isAbsolute(template) ? path.resolve(template) : path.resolve(cwd ?? workingDirectory(file, template), template);
  const own = (p: string): string => p.replaceAll('${id}', id);
  const tls = config.tls === null ? null : { ...config.tls, ca: own(config.tls.ca), cert: own(config.tls.cert), key: own(config.tls.key), clientCa: config.tls.clientCa === null ? null : own(config.tls.clientCa), agentCa: config.tls.agentCa === null ? null : own(config.tls.agentCa), metricsClientCa: config.tls.metricsClientCa === null ? null : own(config.tls.metricsClientCa), crl: config.tls.crl === null ? null : own(config.tls.crl) };
  return { ...config, self, dataDir, tls };
}

/** process.cwd(), or a config error when it cannot be had (the directory was deleted). */
function workingDirectory(file: string, dataDir: string): string {
  try {
    return process.cwd();
  } catch (err) {
    const reason = `data_dir "${dataDir}" is relative, but the working directory it is relative to cannot be read (${(err as Error).message}; deleted?): start from an existing directory, or give an absolute data_dir`;
    throw new ConfigError(file, [{ keyPath: 'controller.data_dir', reason, line: null }], { cause: err });
  }
}

function nonEmpty(problems: readonly ConfigProblem[]): ConfigProblems {
  const [first, ...rest] = problems;
  if (first === undefined) throw new Error('invariant: a config failure carries at least one problem');
  return [first, ...rest];
}

/** The most a config file may hold: a 31-member cluster's is a few KB. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/** The config file's text: a regular file (a FIFO put in its place must not freeze a reload) of at most CONFIG_FILE_MAX_BYTES. */
export function readConfigFile(file: string): string {
  const bytes = readRegularFileSync(file, CONFIG_FILE_MAX_BYTES);
  const notText = notUtf8Text(bytes);
  if (notText !== null) throw new Error(notText);
  return bytes.toString('utf8');
}

/**
 * Why `bytes` is no UTF-8 text YAML can hold; null when it may be. A file saved as UTF-16 (an
 * editor's "Unicode") was refused as `expected a mapping, found the string "��c\u0000l\u0000..."`,
 * 2.7 KB of it on one line (attack round 13): the cause is named instead.
 */
export function notUtf8Text(bytes: Buffer): string | null {
  const bom = bytes.subarray(0, 2).toString('hex');
  if (bom === 'fffe' || bom === 'feff') {
    return `it is UTF-16 text (it starts with the byte-order mark ${bom.toUpperCase().replace(/(..)(..)/, '$1 $2')}): save it as UTF-8`;
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return `it holds a NUL byte at offset ${nul}: not a text file (UTF-16 without a byte-order mark, or binary?); save it as UTF-8 text`;
  return null;
}

/** Why a config file could not be read, in a few words (`it is a FIFO (named pipe)`, `no such file`). */
export function describeFsError(err: unknown): string {
  if (err instanceof NotRegularFileError) return `it is ${err.kind}`;
  if (err instanceof Error && 'code' in err) {
    if (err.code === 'ENOENT') return 'no such file';
    if (err.code === 'EISDIR') return 'it is a directory';
    if (err.code === 'EACCES') return 'permission denied';
  }
  return err instanceof Error ? err.message : String(err);
}
