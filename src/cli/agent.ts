#!/usr/bin/env node
/**
 * `agent --controllers host:port,... --id AGENT_ID [--config agent.yaml] [--out FILE]
 *        [--admin HOST:PORT] [--tls-ca F --tls-cert F --tls-key F] [--tls-crl F]`
 *
 * One data-plane agent (docs/agents.md). Usage and config errors exit 2 with one line on
 * stderr; SIGTERM and SIGINT close the stream and exit 0; SIGHUP reads agent.yaml again and
 * says what a restart would do (agent/yaml-reread.ts), the agent running on as it was.
 */
import { onStopSignal, stopRequested } from './stop-signals.js';
import { onReloadSignal } from './reload-signal.js';
import { tuneForServing } from './server-tiering.js';
import { capYoungGeneration } from './young-generation.js';
import './quiet-warnings.js';
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { adminExposure, listenAdmin } from '../agent/admin.js';
import { AgentRunner } from '../agent/agent-runner.js';
import { agentYamlWarnings, DEFAULT_AGENT_YAML, loadAgentYaml } from '../agent/agent-yaml.js';
import { rereadAgentYaml, rereadNote } from '../agent/yaml-reread.js';
import { sweepStaleTemps } from '../agent/out-file.js';
import { loadPreviousConfig } from '../agent/load-out.js';
import { answeredFileOf, loadAnswered } from '../agent/answered-file.js';
import { certificateIdentity } from '../agents/identity.js';
import { AgentsError } from '../agents/errors.js';
import { TlsFilesError, UsageError } from '../api/errors.js';
import { ConfigError } from '../config/errors.js';
import { parseHostPort } from '../config/host-port.js';
import { LOG_LEVELS, type LogLevel } from '../config/types.js';
import { AGENT_ID_PATTERN, MAX_AGENT_ID_BYTES, resourceKey } from '../statemachine/index.js';
import { randomSeed, seededRng } from '../util/rng.js';
import { parseEndpointList, streamSecurity } from './ctl/context.js';
import { VERSION } from '../node/version.js';
import { writeTargetProblem } from '../backup/write-target.js';
import { ignoredProxy } from '../agent/ignored-proxy.js';
import { parseUnknownOptionsFirst, usageLine } from './usage-line.js';
import { givenOnce } from './given-once.js';
import { TERMINAL_SAFE_LOG_HOOKS } from './printable.js';

interface Opts {
  controllers: string;
  id?: string;
  config?: string;
  out?: string;
  admin?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCrl?: string;
  logLevel: string;
}

const program = new Command()
  .name('agent')
  .description('Run one data-plane agent: keep a sync stream to a controller, accept or reject each configuration, fail over.')
  .version(VERSION)
  .requiredOption('--controllers <list>', 'host:port,... of the controllers to connect to, in order of preference')
  .option('--id <id>', "this agent's id (with TLS: the certificate's CN, which --id must then match)", givenOnce('--id'))
  .option('--config <file>', 'agent.yaml: protocols, lazy, dependencies, hosts', givenOnce('--config'))
  .option('--out <file>', 'write the accepted configuration here as JSON, atomically, on each change')
  .option('--admin <host:port>', 'serve GET /config and GET /resolve/NAME over HTTP here')
  .option('--tls-ca <file>', 'CA certificate (default: $AGENT_TLS_CA)')
  .option('--tls-cert <file>', 'client certificate; its CN is the agent id (default: $AGENT_TLS_CERT)')
  .option('--tls-key <file>', 'client private key (default: $AGENT_TLS_KEY)')
  .option('--tls-crl <file>', "CRLs (PEM) to check the controllers' certificates against, one current CRL of their CA at least (default: $AGENT_TLS_CRL)")
  .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
  .exitOverride()
  .configureOutput({ outputError: usageLine('agent') });

function fail(message: string, code = 2): never {
  process.stderr.write(`agent: ${message}\n`);
  process.exit(code);
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

async function main(): Promise<void> {
  tuneForServing(); // after the imports: see server-tiering.ts
  capYoungGeneration();
  try {
    parseUnknownOptionsFirst(program, () => program.parse());
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  const opts = program.opts<Opts>();
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) fail(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, found ${JSON.stringify(opts.logLevel)}`);
  let controllers: string[];
  try {
    controllers = parseEndpointList(opts.controllers, '--controllers');
  } catch (err) {
    fail((err as Error).message);
  }
  if (opts.admin !== undefined) {
    const parsed = parseHostPort(opts.admin);
    if (!parsed.ok) fail(`--admin: ${parsed.reason}`);
  }
  if (opts.out !== undefined) {
    // Refused now rather than as a NACK of every configuration later.
    try {
      // Inside: a relative --out asks for the working directory, which fails once it was deleted.
      const dir = path.dirname(path.resolve(opts.out));
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      fail(`--out: expected a writable directory for ${opts.out}, found: ${(err as Error).message}`);
    }
    // The file is renamed over on each change: a link, FIFO or device there would be replaced.
    const target = writeTargetProblem(opts.out);
    if (target !== null) fail(`--out: ${target}`);
    // Its companion beside it (answered-file.ts) likewise: and a FIFO there would hang the start's read.
    const companion = writeTargetProblem(answeredFileOf(opts.out));
    if (companion !== null) fail(`--out: ${companion}`);
  }
  const tls = {
    ca: opts.tlsCa ?? nonEmpty(process.env['AGENT_TLS_CA']),
    cert: opts.tlsCert ?? nonEmpty(process.env['AGENT_TLS_CERT']),
    key: opts.tlsKey ?? nonEmpty(process.env['AGENT_TLS_KEY']),
    crl: opts.tlsCrl ?? nonEmpty(process.env['AGENT_TLS_CRL']),
  };
  let security;
  try {
    const envNames = { ca: '$AGENT_TLS_CA', cert: '$AGENT_TLS_CERT', key: '$AGENT_TLS_KEY', clientCa: '', agentCa: '', metricsClientCa: '', crl: '$AGENT_TLS_CRL' } as const;
    const flags = { ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey, clientCa: undefined, agentCa: undefined, metricsClientCa: undefined, crl: opts.tlsCrl };
    security = streamSecurity(tls, (role) => (flags[role] === undefined ? envNames[role] : `--tls-${role}`));
  } catch (err) {
    // A bad TLS file is a config error for the agent: exit 2, as for its other files.
    fail(err instanceof UsageError || err instanceof TlsFilesError ? err.message : String(err));
  }
  let id = opts.id;
  if (tls.cert !== undefined) {
    let identity: string;
    try {
      identity = certificateIdentity(fs.readFileSync(tls.cert), tls.cert);
    } catch (err) {
      fail(err instanceof AgentsError ? err.message : `cannot read ${tls.cert}: ${(err as Error).message}`);
    }
    if (id !== undefined && id !== identity) fail(`--id ${JSON.stringify(id)} differs from the certificate's identity ${JSON.stringify(identity)}; with TLS the agent id is the certificate's`);
    id = identity;
  }
  if (id === undefined) fail('missing --id (required without a TLS certificate)');
  if (Buffer.byteLength(id) > MAX_AGENT_ID_BYTES || !AGENT_ID_PATTERN.test(id)) fail(`--id: expected letters, digits and _ . : @ / -, starting with a letter or digit, found ${JSON.stringify(id)}`);
  let yaml = DEFAULT_AGENT_YAML;
  if (opts.config !== undefined) {
    try {
      yaml = loadAgentYaml(opts.config);
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message);
      throw err;
    }
  }
  const logger = pino({ level: opts.logLevel as LogLevel, base: { agent: id }, hooks: TERMINAL_SAFE_LOG_HOOKS });
  if (opts.config !== undefined) for (const warning of agentYamlWarnings(yaml, opts.config)) logger.warn(warning);
  if (opts.admin !== undefined) {
    const warning = adminExposure(opts.admin);
    if (warning !== null) logger.warn({ code: 'ADMIN_EXPOSED', admin: opts.admin }, warning);
  }
  const proxy = ignoredProxy(process.env, controllers);
  if (proxy !== null) {
    logger.warn(
      { code: 'PROXY_NOT_USED', variable: proxy.variable, proxy: proxy.proxy, controllers: proxy.controllers },
      `$${proxy.variable} names the HTTP CONNECT proxy ${proxy.proxy}, and this agent does not use it: it dials ${proxy.controllers.join(', ')} directly (an agent on grpc-js's client tunnelled through it). Where only the proxy reaches the controllers, open the way to them; set no_grpc_proxy to their hosts to silence this`,
    );
  }
  if (opts.out !== undefined) for (const file of [opts.out, answeredFileOf(opts.out)]) for (const stale of sweepStaleTemps(file)) logger.info({ file: stale }, 'removed a temporary copy of --out left by an agent that stopped mid-write');
  const initial = opts.out === undefined ? null : loadPreviousConfig(opts.out, (m) => logger.warn(m));
  // Where its cluster answered before (answered-file.ts): a restart while that cluster is down does not take another of its name.
  const answered = opts.out === undefined ? new Map<string, string>() : loadAnswered(answeredFileOf(opts.out), controllers, (m) => logger.warn(m));
  const runner = new AgentRunner({ id, controllers, security, yaml, out: opts.out ?? null, logger, rng: seededRng(randomSeed()), initial, answered });
  let admin: http.Server | null = null;
  if (opts.admin !== undefined) {
    try {
      admin = await listenAdmin(opts.admin, { config: () => runner.config.json(), resolve: (name) => runner.resolve(name) });
    } catch (err) {
      fail(`--admin: cannot listen on ${opts.admin}: ${(err as Error).message}`);
    }
  }
  if (stopRequested() !== null) {
    admin?.close();
    process.exit(0);
  }
  runner.start();
  logger.info({ controllers, version: runner.config.version, hosts: yaml.hosts.map((h) => resourceKey('service', h.name)) }, 'agent started');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void runner.stop().then(() => {
      admin?.close();
      process.exit(0);
    });
  };
  onStopSignal(stop);
  const config = opts.config;
  onReloadSignal(() => {
    if (stopping) return;
    if (config === undefined) {
      logger.info({ code: 'AGENT_CONFIG_UNCHANGED' }, 'SIGHUP: this agent runs without --config; nothing to read again');
      return;
    }
    const note = rereadNote(config, rereadAgentYaml(config, yaml));
    logger[note.level]({ code: note.code, file: config, keys: note.keys }, note.message);
  });
}

void main();
