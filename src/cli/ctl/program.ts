/**
 * Builds and runs the `ctl` command line. Every failure ends as exactly one stderr line
 * (`ctl: <message>`) and an exit code from the contract, so commander is told to throw instead
 * of printing and exiting on its own.
 */
import { watchOutputClosed } from '../output-closed.js';
import { stdoutWriter } from '../stdout-writer.js';
import { Command, CommanderError, Option } from 'commander';
import { exitCodeFor, EXIT_OK, EXIT_USAGE } from '../../api/errors.js';
import { VERSION } from '../../node/version.js';
import { registerAudit } from './audit.js';
import { registerCompletion } from './completion.js';
import { registerHelp } from './help-command.js';
import { registerConfig } from './config.js';
import { registerEndpoint } from './endpoint.js';
import { shortTimeoutHint } from './short-timeout.js';
import { DEFAULT_TIMEOUT_MS, pathArg, positiveDurationArg, Session, type CtlIo } from './context.js';
import { dashValueHint } from './dash-value.js';
import { registerHealth } from './health.js';
import { registerKv } from './kv.js';
import { registerLeader } from './leader.js';
import { registerList } from './list.js';
import { registerMachineResources } from './machine-resources.js';
import { registerMember } from './member.js';
import { registerResources } from './resources.js';
import { registerSnapshot } from './snapshot.js';
import { registerStatus } from './status.js';
import { registerWatch } from './watch.js';
import { registerVersion } from './version.js';
import { aliasWriteOut } from './write-out.js';

export function processIo(): CtlIo {
  return {
    env: process.env,
    out: stdoutWriter(),
    err: (line) => void process.stderr.write(`${line}\n`),
    stdinIsTerminal: process.stdin.isTTY === true,
    now: () => Date.now(),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => void process.off('SIGINT', handler);
    },
    onOutputClosed: (handler) => watchOutputClosed(handler),
  };
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

export function buildProgram(io: CtlIo, helpErrors: string[]): { program: Command; session: Session } {
  const program = new Command('ctl');
  const session = new Session(io, program);
  // Set before adding subcommands: commander copies these settings into each one it creates.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      // Only help shown for a missing subcommand goes here; it is reduced to one line later.
      writeErr: (text) => void helpErrors.push(text),
      outputError: () => undefined,
    })
    .description('operate a controller cluster')
    .version(VERSION, '-V, --version', "print ctl's version")
    .option('--endpoints <list>', 'host:port,... to ask (default: $CTL_ENDPOINTS, else the nodes of config/local-3.yaml)')
    .addOption(
      new Option('--timeout <duration>', 'deadline of each request to one endpoint, e.g. 500ms, 2s, 1m')
        .argParser(positiveDurationArg)
        .default(DEFAULT_TIMEOUT_MS, '5s'),
    )
    .option('--tls-ca <file>', 'CA certificate for TLS (default: $CTL_TLS_CA)', pathArg)
    .option('--tls-cert <file>', 'client certificate for mutual TLS (default: $CTL_TLS_CERT)', pathArg)
    .option('--tls-key <file>', 'client private key for mutual TLS (default: $CTL_TLS_KEY)', pathArg)
    .option('--tls-crl <file>', "CRLs (PEM) to check the controllers' certificates against, one current CRL of their CA at least (default: $CTL_TLS_CRL)", pathArg);
  registerList(program, session);
  registerStatus(program, session);
  registerHealth(program, session);
  registerKv(program, session);
  registerMember(program, session);
  registerLeader(program, session);
  registerAudit(program, session);
  registerConfig(program, session);
  registerResources(program, session);
  registerMachineResources(program, session);
  registerEndpoint(program, session);
  registerWatch(program, session);
  registerSnapshot(program, session);
  registerVersion(program, session);
  registerCompletion(program, session);
  registerHelp(program);
  program.addHelpText('after', '\n-w, --write-out FORMAT is accepted wherever -o, --output FORMAT is (as in etcdctl).');
  return { program, session };
}

function commanderFailure(err: CommanderError, helpErrors: readonly string[], argv: readonly string[]): { code: number; message: string | null } {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return { code: EXIT_OK, message: null };
  // A group's own `help SUB` printed to stdout (writeOut); only a missing subcommand's help goes to writeErr.
  if (err.code === 'commander.help' && helpErrors.length === 0) return { code: EXIT_OK, message: null };
  if (err.code === 'commander.help') {
    // A command group without its subcommand: name the group's usage instead of printing all of its help.
    const usage = /Usage: (.*)/.exec(helpErrors.join(''))?.[1]?.trim() ?? 'ctl [options] [command]';
    return { code: EXIT_USAGE, message: `missing command; usage: ${usage} (see --help)` };
  }
  const message = oneLine(err.message).replace(/^error: /, '');
  const flag = err.code === 'commander.unknownOption' ? /^unknown option '(.*)'/.exec(message)?.[1] : undefined;
  const hint = flag === undefined ? null : dashValueHint(flag, argv);
  return { code: EXIT_USAGE, message: hint === null ? message : `${message}: ${hint}` };
}

/** A command's error that chose its exit code itself (endpoint status: 1 some, 3 all failed). */
function ownExitCode(err: unknown): number | null {
  if (typeof err !== 'object' || err === null || !('exitCode' in err)) return null;
  return typeof err.exitCode === 'number' && Number.isInteger(err.exitCode) ? err.exitCode : null;
}

/** Runs one command line; resolves with the exit code (it never throws). */
export async function runCtl(argv: readonly string[], io: CtlIo): Promise<number> {
  const helpErrors: string[] = [];
  const { program, session } = buildProgram(io, helpErrors);
  try {
    await program.parseAsync(aliasWriteOut(argv), { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      const { code, message } = commanderFailure(err, helpErrors, argv);
      if (message !== null) io.err(`ctl: ${message}`);
      return code;
    }
    const tls = await session.explainTls(err).catch(() => null);
    const message = tls ?? (err instanceof Error ? err.message : String(err));
    const hint = tls === null ? shortTimeoutHint(err, session) : null;
    io.err(`ctl: ${oneLine(hint === null ? message : `${message}; ${hint}`)}`);
    return ownExitCode(err) ?? exitCodeFor(err);
  } finally {
    session.close();
  }
}
