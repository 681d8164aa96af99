/**
 * What every `ctl` command shares: where it writes, and the client built from the global
 * options (endpoints, timeout, TLS). The client is made on first use, so `--help` and argument
 * errors never read the config file or open a channel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, type Command } from 'commander';
import YAML from 'yaml';
import { ControllerClient, STREAM_KEEPALIVE } from '../../api/client.js';
import { MeshClient } from '../../api/mesh-client.js';
import { OneClusterCheck } from '../../api/one-cluster.js';
import { OperatorClient } from '../../api/operator-client.js';
import { ApiError, TlsFilesError, UsageError } from '../../api/errors.js';
import { UnreachableError } from '../../api/failover.js';
import { probeTls, type TlsSettings } from './tls-probe.js';
import { parseDuration } from '../../config/duration.js';
import { parseHostPort } from '../../config/host-port.js';
import { packageRoot } from '../../transport/proto.js';
import { subjectText } from '../../transport/cert-subject.js';
import { crlCoverageProblem, type CrlCoverageProblem } from '../../transport/crl-coverage.js';
import { describeTlsFileProblem, pemCertificates, pemCrls, tlsFileProblem, type TlsRole } from '../../transport/tls-files.js';
import { pemDer } from '../../transport/tls-snapshot.js';
import { INSECURE, type StreamSecurity } from '../../transport/h2-stream/index.js';

export interface CtlIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes text (or raw bytes) as it is (renderers end their output with a newline). */
  out(text: string | Uint8Array): void;
  /** Reads a whole file, or stdin for '-'; default: the real file system and stdin. */
  readonly read?: (file: string) => Promise<Uint8Array>;
  /** Writes one line to stderr. */
  err(line: string): void;
  /** stdin is a terminal (nothing piped in): reading it waits for the operator to type; default false. */
  readonly stdinIsTerminal?: boolean;
  now(): number;
  /** Calls handler on SIGINT until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /**
   * Calls handler once when nothing can read the output any more (the reader of a pipe on stdout
   * exited: `| head`), until the returned function is called; absent: never. For commands that
   * run until stopped, which otherwise learn it only at their next write.
   */
  onOutputClosed?(handler: () => void): () => void;
}

/**
 * For a command that runs until stopped (a follow, a watch): calls `stop` on Ctrl-C, and when
 * the output's reader has gone (`| head`), so it exits at once (0) rather than at its next
 * write. Returns the function that stops listening.
 */
export function untilStopped(io: CtlIo, stop: () => void): () => void {
  const interrupt = io.onInterrupt(stop);
  const closed = io.onOutputClosed?.(stop) ?? (() => undefined);
  return () => {
    interrupt();
    closed();
  };
}

export interface GlobalOptions {
  readonly endpoints?: string;
  readonly timeout: number;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCrl?: string;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_CONFIG = 'config/local-3.yaml';

/** commander argParser for durations (`100ms`, `2s`, `1m`). */
export function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function positiveDurationArg(text: string): number {
  const ms = durationArg(text);
  if (ms <= 0) throw new InvalidArgumentError(`expected a duration above zero, found ${JSON.stringify(text)}`);
  return ms;
}

/** commander argParser for revisions: a non-negative integer. */
export function revisionArg(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`expected a non-negative integer revision, found ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * A KEY or PREFIX argument. Node decodes argv as UTF-8 and turns every byte that is not into
 * U+FFFD, so two different byte strings (Latin-1 names, say) would reach the store as one key and
 * the second put would overwrite the first. Such a key is refused; etcdctl's keys are bytes, ours
 * are Unicode text.
 */
export function keyArg(text: string): string {
  const at = text.indexOf('\uFFFD');
  if (at !== -1) {
    throw new InvalidArgumentError(
      `the key holds U+FFFD at character ${at}: the command line passed bytes that are not UTF-8, and each would be stored as U+FFFD, so different keys would be one; pass the key as UTF-8`,
    );
  }
  return text;
}

/**
 * A file path argument, for the same reason as keyArg: a name whose bytes are not UTF-8 reaches
 * Node as U+FFFD and would open another file, one whose name holds U+FFFD (attack round 8: `apply
 * -f` of a Latin-1 name applied its U+FFFD twin), or none at all.
 */
export function pathArg(text: string): string {
  const at = text.indexOf('\uFFFD');
  if (at !== -1) {
    throw new InvalidArgumentError(
      `the path holds U+FFFD at character ${at}: the command line passed bytes that are not UTF-8, which Node reads as U+FFFD, so another file would be opened; rename the file to a UTF-8 name`,
    );
  }
  return text;
}

/** Splits and checks `host:port,host:port`; `source` names where the list came from. */
export function parseEndpointList(text: string, source: string): string[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') {
    throw new UsageError(`expected at least one host:port in ${source}, found an empty list`);
  }
  return parts.map((part) => {
    // etcdctl's list is comma-separated too; a space or a ';' is most often a list written with
    // another separator ("$(echo a b)", a PATH-like "a;b"), which host:port parsing took for an
    // IPv6 address without brackets.
    const separator = /\s|;/.exec(part);
    if (separator !== null) {
      const what = separator[0] === ';' ? "a ';'" : 'a space';
      throw new UsageError(`${source}: expected endpoints separated by commas, found ${JSON.stringify(part)}, which holds ${what} (write ${part.split(/[\s;]+/).join(',')})`);
    }
    const parsed = parseHostPort(part);
    if (!parsed.ok) throw new UsageError(`${source}: ${parsed.reason}`);
    return part;
  });
}

function nodeAddresses(doc: unknown): readonly unknown[] | null {
  if (typeof doc !== 'object' || doc === null || !('cluster' in doc)) return null;
  const cluster = doc.cluster;
  if (typeof cluster !== 'object' || cluster === null || !('nodes' in cluster) || !Array.isArray(cluster.nodes)) return null;
  return (cluster.nodes as readonly unknown[]).map((node) =>
    typeof node === 'object' && node !== null && 'address' in node ? node.address : undefined,
  );
}

/** The `address` of every node in a cluster config file. */
export function endpointsFromConfig(file: string): string[] {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `no --endpoints or $CTL_ENDPOINTS given and ${file} is unreadable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const addresses = nodeAddresses(doc);
  if (addresses === null || addresses.length === 0 || !addresses.every((a) => typeof a === 'string')) {
    throw new UsageError(`expected cluster.nodes[].address entries in ${file}, found none usable`);
  }
  return parseEndpointList((addresses as readonly string[]).join(','), file);
}

const FLAG_OF: Readonly<Record<TlsRole, string>> = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key', clientCa: 'client CA', agentCa: 'agent CA', metricsClientCa: 'metrics client CA', crl: '--tls-crl' };

/** What names a TLS file in messages: its flag, unless it came from elsewhere ($CTL_TLS_CERT). */
export type TlsSourceName = (role: TlsRole) => string;

/**
 * Insecure unless a TLS option is set; mutual TLS when a certificate and key are given. The
 * files are checked first (tls-files.ts): a bad one is a TlsFilesError naming it. With a CRL
 * file, the controllers' certificates are checked against it as a controller checks its peers'
 * (a revoked one fails the handshake); it must hold a current CRL of each CA of --tls-ca, since
 * OpenSSL refuses every certificate of a CA it has no CRL from.
 */
export function channelCredentials(tls: ClientTlsFiles, nameOf: TlsSourceName = (role) => FLAG_OF[role]): grpc.ChannelCredentials {
  const files = checkedTlsFiles(tls, nameOf);
  if (files === null) return grpc.credentials.createInsecure();
  if (files.crls === null) return grpc.credentials.createSsl(files.ca, files.key, files.cert);
  return grpc.credentials.createFromSecureContext(secureContextOf(files));
}

/** The same files and checks as channelCredentials, for an agent's stream (src/transport/h2-stream). */
export function streamSecurity(tls: ClientTlsFiles, nameOf: TlsSourceName = (role) => FLAG_OF[role]): StreamSecurity {
  const files = checkedTlsFiles(tls, nameOf);
  return files === null ? INSECURE : { kind: 'tls', context: secureContextOf(files) };
}

export interface ClientTlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly crl?: string;
}

interface TlsFileContents {
  readonly ca: Buffer | null;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  readonly crls: string[] | null;
}

/** The files read after their checks; null: no TLS option set (plaintext). */
function checkedTlsFiles(tls: ClientTlsFiles, nameOf: TlsSourceName): TlsFileContents | null {
  if (tls.ca === undefined && tls.cert === undefined && tls.key === undefined) {
    if (tls.crl !== undefined) throw new UsageError(`expected ${nameOf('ca')} (or a certificate) with ${nameOf('crl')}: a CRL checks the certificate of a TLS server, and without them ctl does not use TLS`);
    return null;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new UsageError(`expected both ${nameOf('cert')} and ${nameOf('key')} (or neither), found only one`);
  }
  const problem = tlsFileProblem(tls);
  if (problem !== null) throw new TlsFilesError(`TLS: ${describeTlsFileProblem(problem, nameOf)}`);
  const read = (file: string | undefined): Buffer | null => (file === undefined ? null : fs.readFileSync(file));
  const contents = { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
  if (tls.crl === undefined) return { ...contents, crls: null };
  const crls = pemCrls(fs.readFileSync(tls.crl));
  if (tls.ca !== undefined) {
    const gap = crlCoverageProblem(crls.map(pemDer), [['ca', pemCertificates(contents.ca!)]]);
    if (gap !== null) throw new TlsFilesError(`TLS: ${nameOf('crl')} ${tls.crl}: ${describeCrlGap(gap, `${nameOf('ca')} ${tls.ca}`)}`);
  }
  return { ...contents, crls };
}

function secureContextOf(files: TlsFileContents): SecureContext {
  return createSecureContext({
    ...(files.ca === null ? {} : { ca: files.ca }),
    ...(files.cert === null || files.key === null ? {} : { cert: files.cert, key: files.key }),
    ...(files.crls === null ? {} : { crl: files.crls }),
  });
}

/** Why a CRL file leaves the controllers' certificates refused, in ctl's words. */
function describeCrlGap(gap: CrlCoverageProblem, caFile: string): string {
  const ca = subjectText(gap.ca);
  switch (gap.kind) {
    case 'missing':
      return `holds no CRL of the CA ${ca} of ${caFile}; OpenSSL would refuse every certificate it signs`;
    case 'wrong-signer':
      return `holds a CRL under the name of the CA ${ca} of ${caFile} that this CA did not sign`;
    case 'not-yet-valid':
      return `holds a CRL of the CA ${ca} of ${caFile} issued in the future (${new Date(gap.thisUpdate).toISOString()})`;
    case 'expired':
      return `the CRL of the CA ${ca} of ${caFile} expired on ${new Date(gap.nextUpdate).toISOString()}; OpenSSL would refuse every certificate it signs`;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export class Session {
  private cached: ControllerClient | null = null;
  private cachedMesh: MeshClient | null = null;
  private cachedEndpoints: string[] | null = null;
  private endpointSource = '--endpoints';
  private cachedCheck: OneClusterCheck | null = null;

  constructor(
    readonly io: CtlIo,
    private readonly program: Command,
  ) {}

  private options(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  /** --endpoints, else $CTL_ENDPOINTS, else the nodes of config/local-3.yaml. */
  endpoints(): readonly string[] {
    if (this.cachedEndpoints !== null) return this.cachedEndpoints;
    const flag = this.options().endpoints;
    const env = nonEmpty(this.io.env['CTL_ENDPOINTS']);
    this.endpointSource = flag !== undefined ? '--endpoints' : env !== undefined ? '$CTL_ENDPOINTS' : DEFAULT_CONFIG;
    this.cachedEndpoints =
      flag !== undefined
        ? parseEndpointList(flag, '--endpoints')
        : env !== undefined
          ? parseEndpointList(env, '$CTL_ENDPOINTS')
          : endpointsFromConfig(path.join(packageRoot(), DEFAULT_CONFIG));
    return this.cachedEndpoints;
  }

  timeoutMs(): number {
    return this.options().timeout;
  }

  client(): ControllerClient {
    if (this.cached !== null) return this.cached;
    this.cached = new ControllerClient({
      endpoints: this.endpoints(),
      timeoutMs: this.options().timeout,
      credentials: this.credentials(),
      oneCluster: this.oneCluster(),
      keepalive: STREAM_KEEPALIVE,
    });
    return this.cached;
  }

  /** The client of the Mesh service: resources and agents. */
  mesh(): MeshClient {
    this.cachedMesh ??= new MeshClient({ endpoints: this.endpoints(), timeoutMs: this.options().timeout, credentials: this.credentials(), oneCluster: this.oneCluster() });
    return this.cachedMesh;
  }

  /**
   * The check, shared by both clients, that the endpoints are one cluster's before a write or a
   * read of the state (one-cluster.ts). Endpoints not heard from within half the timeout (ctl's
   * head start before it opens the others, failover.ts) are left out.
   */
  private oneCluster(): OneClusterCheck {
    const endpoints = this.endpoints();
    this.cachedCheck ??= new OneClusterCheck({
      endpoints,
      probe: (endpoint) => this.client().identityOn(endpoint),
      boundMs: Math.min(2500, this.options().timeout / 2),
      source: this.endpointSource,
    });
    return this.cachedCheck;
  }

  private credentials(): grpc.ChannelCredentials {
    const o = this.options();
    const env = this.io.env;
    const flags: Readonly<Record<TlsRole, string | undefined>> = { ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey, clientCa: undefined, agentCa: undefined, metricsClientCa: undefined, crl: o.tlsCrl };
    const envNames: Readonly<Record<TlsRole, string>> = { ca: '$CTL_TLS_CA', cert: '$CTL_TLS_CERT', key: '$CTL_TLS_KEY', clientCa: '', agentCa: '', metricsClientCa: '', crl: '$CTL_TLS_CRL' };
    return channelCredentials(
      {
        ca: o.tlsCa ?? nonEmpty(env['CTL_TLS_CA']),
        cert: o.tlsCert ?? nonEmpty(env['CTL_TLS_CERT']),
        key: o.tlsKey ?? nonEmpty(env['CTL_TLS_KEY']),
        crl: o.tlsCrl ?? nonEmpty(env['CTL_TLS_CRL']),
      },
      (role) => (flags[role] === undefined ? envNames[role] : FLAG_OF[role]),
    );
  }

  /** The Operator service's client, on the same channels as client(). */
  operator(): OperatorClient {
    return new OperatorClient(this.client());
  }

  /** The TLS files ctl was given (flags, then $CTL_TLS_*), for a handshake of its own (tls-probe.ts). */
  tlsSettings(): TlsSettings {
    const o = this.options();
    const env = this.io.env;
    return { ca: o.tlsCa ?? nonEmpty(env['CTL_TLS_CA']), cert: o.tlsCert ?? nonEmpty(env['CTL_TLS_CERT']), key: o.tlsKey ?? nonEmpty(env['CTL_TLS_KEY']), crl: o.tlsCrl ?? nonEmpty(env['CTL_TLS_CRL']) };
  }

  /**
   * A clearer message for `err` when no endpoint could be reached for a TLS reason grpc-js did
   * not report: a handshake of our own with each endpoint, in parallel, finds it (tls-probe.ts).
   */
  async explainTls(err: unknown): Promise<string | null> {
    if (!(err instanceof ApiError) || err.code !== 'UNREACHABLE' || err.message.startsWith('TLS:')) return null;
    const o = this.options();
    const files = this.tlsSettings();
    // Not those that never answered at all: the probe would wait 2 s more there (ctl took 4.6 s
    // against one such endpoint, saying "no connection within 2500ms"), and a TLS mismatch fails fast.
    const silent = err instanceof UnreachableError ? err.silent : [];
    // Nor those that answered in plaintext HTTP (not gRPC): they require no TLS, whatever a probe makes of them.
    const notGrpc = err instanceof UnreachableError ? err.notGrpc : [];
    const endpoints = this.endpoints().filter((endpoint) => !silent.includes(endpoint) && !notGrpc.includes(endpoint));
    const causes = await Promise.all(endpoints.map((endpoint) => probeTls(endpoint, files, Math.min(2000, o.timeout))));
    const at = causes.findIndex((c) => c !== null);
    return at < 0 ? null : `${causes[at]} (${endpoints[at]}); ${err.message}`;
  }

  close(): void {
    this.cached?.close();
    this.cached = null;
    this.cachedMesh?.close();
    this.cachedMesh = null;
  }
}
