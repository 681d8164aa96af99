/**
 * What `controller restore` and `controller recover` share: each is a tool that runs once on
 * one stopped node's data dir, parses its flags (exit 2 on a usage error) and loads that node's
 * configuration (exit 2 on a config error, an unusable data_dir among them) before doing its own
 * work, with umask 077: what it writes is the owner's alone.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, loadNodeConfig, type NodeConfig } from '../config/index.js';
import { checkDataDir } from '../node/data-dir-check.js';
import { parseUnknownOptionsFirst, usageLine } from './usage-line.js';

export interface OfflineTool<O> {
  readonly opts: O;
  readonly config: NodeConfig;
  /** Prints `controller NAME: message` and exits with `code`. */
  readonly fail: (message: string, code: number) => never;
}

/** `command` declares the tool's flags, --config and --id among them; it is parsed here. */
export function startOfflineTool<O extends { readonly config: string; readonly id: string }>(command: Command, argv: readonly string[]): OfflineTool<O> {
  const fail = (message: string, code: number): never => {
    process.stderr.write(`${command.name()}: ${message}\n`);
    process.exit(code);
  };
  command.exitOverride().configureOutput({ outputError: usageLine(command.name()) });
  try {
    parseUnknownOptionsFirst(command, () => command.parse([...argv], { from: 'user' }));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  const opts = command.opts<O>();
  // Each writes a data dir holding every value the cluster stores: nothing it creates is for
  // other local users (LevelDB's files were 0644 under the usual umask 022).
  process.umask(0o077);
  try {
    const config = loadNodeConfig(opts.config, opts.id);
    checkDataDir(opts.config, config.dataDir);
    return { opts, config, fail };
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
}
