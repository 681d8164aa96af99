#!/usr/bin/env node
/**
 * `controller --config FILE --id ID [--join]`: one controller process. Config errors exit 2
 * before anything is written; SIGTERM/SIGINT shut down gracefully (a leader hands off first).
 */
import './quiet-warnings.js';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { ConfigError, loadNodeConfig } from '../config/index.js';
import { ControllerNode } from '../node/controller-node.js';
import { VERSION } from '../node/version.js';
import { runRestore } from './controller-restore.js';
import { exitRemoved } from './removed-exit.js';

const program = new Command()
  .name('controller')
  .description('Run one controller of a Raft cluster described by a YAML file.')
  .version(VERSION)
  .requiredOption('-c, --config <file>', 'cluster YAML file')
  .requiredOption('-i, --id <id>', "this controller's id (one of cluster.nodes)")
  .option('--join', 'start empty and wait to be added with `ctl member add` (do not bootstrap a new cluster)', false)
  .exitOverride()
  .addHelpText('after', '\nAlso: controller restore --from FILE --config FILE --id ID   (a new cluster from `ctl snapshot save`; see controller restore --help)')
  .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

async function main(): Promise<void> {
  // `controller restore ...` writes a data dir from a snapshot and exits (controller-restore.ts).
  if (process.argv[2] === 'restore') return runRestore(process.argv.slice(3));
  try {
    program.parse();
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  const opts = program.opts<{ config: string; id: string; join: boolean }>();
  let config;
  try {
    config = loadNodeConfig(opts.config, opts.id);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`controller: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { node: config.self.id } });
  let node: ControllerNode;
  try {
    node = await ControllerNode.start({
      config,
      logger,
      join: opts.join,
      onFatal: (err) => {
        logger.fatal({ err }, 'fatal error; exiting');
        process.exit(1);
      },
      onRemoved: () => exitRemoved(node, logger),
    });
  } catch (err) {
    logger.fatal({ err }, 'controller failed to start');
    process.stderr.write(`controller: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    node.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
