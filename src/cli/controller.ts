#!/usr/bin/env node
/**
 * `controller --config FILE --id ID [--join]`: one controller process. Config errors exit 2
 * before anything is written; so does a data dir the start-up decision refuses (another
 * member's or cluster's, or a lost member's: src/identity). SIGTERM/SIGINT shut down gracefully
 * (a leader hands off first). SIGHUP reloads the TLS files (docs/security.md): checked as at
 * start, in force for new connections when they pass, refused with a log line when not.
 */
import { onStopSignal, releaseStopSignals, stopRequested } from './stop-signals.js';
import { onReloadSignal, releaseReloadSignal } from './reload-signal.js';
import { tuneForServing } from './server-tiering.js';
import { capYoungGeneration } from './young-generation.js';
import './quiet-warnings.js';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { ConfigError, loadNodeConfig } from '../config/index.js';
import { StartupRefusedError } from '../identity/index.js';
import { ControllerNode } from '../node/controller-node.js';
import { listenProblem } from '../node/listen-check.js';
import { warnIfRestartCannotListen } from './reload-listen-check.js';
import { VERSION } from '../node/version.js';
import { runRecover } from './recover.js';
import { runRestore } from './controller-restore.js';
import { DataDirLockedError } from '../storage/errors.js';
import { MemberAddressError } from '../node/file-addresses.js';
import { REMOVED_EXIT_CODE } from '../node/removal-watch.js';
import { exitRemoved } from './removed-exit.js';
import { checkStartable } from './start-checks.js';
import { traceMilestone } from '../util/trace.js';
import { ConfigReloader } from '../config/config-reload.js';
import { applyConfigReload } from './config-reload-apply.js';
import { parseUnknownOptionsFirst, usageLine } from './usage-line.js';
import { givenOnce } from './given-once.js';
import { TERMINAL_SAFE_LOG_HOOKS } from './printable.js';

const program = new Command()
  .name('controller')
  .description('Run one controller of a Raft cluster described by a YAML file.')
  .version(VERSION)
  .requiredOption('-c, --config <file>', 'cluster YAML file', givenOnce('--config'))
  .requiredOption('-i, --id <id>', "this controller's id (one of cluster.nodes)", givenOnce('--id'))
  .option('--join', 'start an empty data dir without bootstrapping: wait for the cluster (after `ctl member add`) to replicate to it', false)
  .exitOverride()
  .addHelpText(
    'after',
    '\nAlso: controller recover --config FILE --id ID [--members ID,...]   (after losing a quorum for good; see controller recover --help)' +
      '\n      controller restore --from FILE --config FILE --id ID   (a new cluster from `ctl snapshot save`; see controller restore --help)',
  )
  .configureOutput({ outputError: usageLine('controller') });

async function main(): Promise<void> {
  traceMilestone('start.main');
  tuneForServing(); // after the imports: see server-tiering.ts
  capYoungGeneration();
  // `controller recover ...` rewrites a stopped survivor's data dir and exits (recover.ts);
  // `controller restore ...` writes a data dir from a snapshot and exits (controller-restore.ts).
  if (process.argv[2] === 'recover' || process.argv[2] === 'restore') {
    releaseStopSignals();
    releaseReloadSignal();
    return process.argv[2] === 'recover' ? runRecover(process.argv.slice(3)) : runRestore(process.argv.slice(3));
  }
  try {
    parseUnknownOptionsFirst(program, () => program.parse());
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  const opts = program.opts<{ config: string; id: string; join: boolean }>();
  let config;
  let configReloader: ConfigReloader;
  let running: ControllerNode | null = null;
  try {
    config = loadNodeConfig(opts.config, opts.id);
    // A reload also asks the running node what a restart's peers would refuse: SIGHUP is held
    // until the node runs (early-sighup.ts), so `running` is set by then.
    configReloader = ConfigReloader.fromStart(opts.config, opts.id, config, (next) => checkStartable(opts.config, next), undefined, (next) => running?.restartProblem(next) ?? null, (next) => running?.fileWarnings(next) ?? []);
    checkStartable(opts.config, config);
    traceMilestone('start.config');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`controller: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // A port in use is one line, before anything is written to data_dir.
  const busy = await listenProblem([['gRPC', config.self.listen], ...(config.self.metrics === null ? [] : [['metrics', config.self.metrics] as const])]);
  if (busy !== null) {
    process.stderr.write(`controller: ${busy}\n`);
    process.exit(2);
  }
  // Stopped before anything was written: nothing to shut down.
  if (stopRequested() !== null) process.exit(0);
  const logger = pino({ level: config.logLevel, base: { node: config.self.id }, hooks: TERMINAL_SAFE_LOG_HOOKS });
  let node: ControllerNode;
  try {
    node = await ControllerNode.start({
      config,
      logger,
      join: opts.join,
      onFatal: (err) => {
        logger.fatal({ err }, 'fatal error; exiting');
        // A config error found once the node runs (its own address, as the cluster has it): one line on stderr, exit 2.
        if (err instanceof MemberAddressError) {
          process.stderr.write(`controller: ${err.message}\n`);
          process.exit(err.exitCode);
        }
        // As a refused start says why on stderr: a terminal or a script reading it sees the cause, not only the JSON log.
        process.stderr.write(`controller: fatal error; exiting: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
        process.exit(1);
      },
      onRemoved: () => exitRemoved(node, logger),
    });
  } catch (err) {
    if (err instanceof StartupRefusedError) {
      logger.fatal({ code: err.code }, `refusing to start: ${err.message}`);
      process.stderr.write(`controller: refusing to start (${err.code}): ${err.message}\n`);
      // Removed from the cluster: stop for good, as a running member told so does (exit 10).
      process.exit(err.code === 'REMOVED' ? REMOVED_EXIT_CODE : err.exitCode);
    }
    logger.fatal({ err }, 'controller failed to start');
    process.stderr.write(`controller: ${err instanceof Error ? err.message : String(err)}\n`);
    // A data dir another process holds cannot be used: a config error, as an unwritable one.
    process.exit(err instanceof DataDirLockedError ? err.exitCode : 1);
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
  running = node;
  onStopSignal(stop);
  // The config file's log_level, then the TLS files; without TLS there are none to reload.
  onReloadSignal(() => {
    if (stopping) return;
    const reloaded = applyConfigReload(configReloader, logger);
    if (reloaded.ok && reloaded.restartNeeded.length > 0) {
      void warnIfRestartCannotListen(opts.config, opts.id, config, logger).catch((err: unknown) => logger.warn({ err }, 'checking the reloaded file\'s listen addresses failed'));
    }
    if (config.tls === null) logger.info({ signal: 'SIGHUP' }, 'SIGHUP: no tls block, no TLS files to reload');
    else node.reloadTls();
  });
}

void main();
