/**
 * `ctl endpoint status [--cluster]`: each controller's own view of itself (term, indexes,
 * leader, database size, problems), asked directly and in parallel, with the round trip it
 * took. `--cluster` asks every member at its address instead of the endpoints given. Endpoints
 * that answer for different clusters (a typo in --endpoints, a staging host among production
 * ones) are named, and the command fails: ctl would otherwise write to whichever answers first.
 * So does an endpoint that hears peers answer for another cluster id.
 */
import { Option, type Command } from 'commander';
import { ApiError, EXIT_FAILED, EXIT_UNREACHABLE } from '../../api/errors.js';
import type { EndpointSelfJson, OtherClusterPeerJson } from '../../api/operator-answers.js';
import type { OperatorClient } from '../../api/operator-client.js';
import { OTHER_CLUSTER_FIX } from '../../identity/other-cluster-peers.js';
import { formatBytes, formatDuration } from '../cell-format.js';
import { plainTable } from '../plain-table.js';
import type { Session } from './context.js';
import { probeTls } from './tls-probe.js';
import { jsonText } from '../printable.js';

const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** One row of `ctl endpoint status -o json`; null where the endpoint did not answer. */
export interface EndpointStatusJson {
  readonly endpoint: string;
  readonly id: string | null;
  readonly version: string | null;
  readonly role: string | null;
  readonly leader: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly lastIndex: number | null;
  readonly snapshotIndex: number | null;
  readonly dbSizeBytes: number | null;
  readonly revision: number | null;
  readonly latencyMs: number | null;
  readonly errors: readonly string[];
  /** cluster.name of the cluster it answers for. */
  readonly cluster: string | null;
  /** The cluster id; null before its first leader drew one, or when it did not answer. */
  readonly clusterId: string | null;
  /** Peers it saw answer for another cluster id (two clusters under one cluster file); [] when none, or when it did not answer. */
  readonly otherClusterPeers: readonly OtherClusterPeerJson[];
}

/** Some endpoints did not answer; the rows were printed. Exit 1, or 3 when none answered. */
export class EndpointsFailedError extends Error {
  override readonly name = 'EndpointsFailedError';
  readonly code = 'ENDPOINTS_FAILED';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function row(endpoint: string, expectedId: string | null, s: EndpointSelfJson | null, latencyMs: number | null, errors: readonly string[]): EndpointStatusJson {
  return {
    endpoint,
    id: s?.id ?? expectedId,
    version: s?.version ?? null,
    role: s?.role ?? null,
    leader: s === null ? null : s.leader === '' ? null : s.leader,
    term: s?.term ?? null,
    commitIndex: s?.commitIndex ?? null,
    appliedIndex: s?.appliedIndex ?? null,
    lastIndex: s?.lastIndex ?? null,
    snapshotIndex: s?.snapshotIndex ?? null,
    dbSizeBytes: s?.dbSizeBytes ?? null,
    revision: s?.revision ?? null,
    latencyMs,
    errors,
    cluster: s?.cluster ?? null,
    clusterId: s === null || s.clusterId === '' ? null : s.clusterId,
    otherClusterPeers: s?.otherClusterPeers ?? [],
  };
}

/** The endpoints of each cluster the rows answer for, when there is more than one; null otherwise. */
export function mixedClusters(rows: readonly EndpointStatusJson[]): string | null {
  const answered = rows.filter((r) => r.cluster !== null);
  const names = new Set(answered.map((r) => r.cluster));
  const ids = new Set(answered.flatMap((r) => (r.clusterId === null ? [] : [r.clusterId])));
  if (names.size <= 1 && ids.size <= 1) return null;
  const groups = new Map<string, string[]>();
  for (const r of answered) {
    const key = `${r.cluster ?? ''}${r.clusterId === null ? '' : ` (${r.clusterId})`}`;
    groups.set(key, [...(groups.get(key) ?? []), r.endpoint]);
  }
  return [...groups].map(([cluster, endpoints]) => `${endpoints.join(', ')} answer for cluster ${cluster}`).join('; ');
}

/** The endpoints that saw peers answer for another cluster id, each with those peers; null when none did. */
export function otherClusterPeers(rows: readonly EndpointStatusJson[]): string | null {
  const seen = rows.filter((r) => r.otherClusterPeers.length > 0);
  if (seen.length === 0) return null;
  return seen
    .map((r) => `${r.id ?? r.endpoint} hears ${r.otherClusterPeers.map((p) => `${p.peer} answer for cluster ${p.clusterId ?? 'unknown'}`).join(', ')}`)
    .join('; ');
}

/**
 * Which clusters `endpoints` answer for, when more than one (null otherwise, or with one
 * endpoint): `ctl health` asks it too, since each of two clusters under one cluster file (a
 * restore run on every member, attack round 10) calls itself healthy. Endpoints that do not
 * answer are left out.
 */
export async function mixedClustersAt(operator: OperatorClient, endpoints: readonly string[]): Promise<string | null> {
  if (endpoints.length < 2) return null;
  return mixedClusters(await statusRowsAt(operator, endpoints));
}

/** Each endpoint's status row, asked in parallel; an endpoint that does not answer has an empty row. */
export async function statusRowsAt(operator: OperatorClient, endpoints: readonly string[]): Promise<EndpointStatusJson[]> {
  return Promise.all(
    endpoints.map(async (e) => {
      try {
        const s = await operator.endpointStatusOn(e);
        return row(e, null, s, 0, s.errors);
      } catch {
        return row(e, null, null, null, []);
      }
    }),
  );
}

/** An endpoint failing within this was refused, not silent: a handshake of ctl's own may say why. */
const QUICK_FAILURE_MS = 2_000;

/**
 * Why `endpoint` refused ctl for TLS (a TLS server asked without TLS settings, a CA it does not
 * trust, ...), or null. grpc-js reports only `Failed to connect` there, so one endpoint of a list
 * mixing TLS and plaintext controllers read as `did not answer (UNAVAILABLE: No connection
 * established ...)` beside the others that answered (attack round 14); ctl names the cause once
 * no endpoint answers at all (tls-probe.ts), and so does each row now. An endpoint that stayed
 * silent is not probed: the probe would wait its timeout there too.
 */
async function tlsCause(session: Session, endpoint: string, reason: string, tookMs: number): Promise<string | null> {
  if (reason.startsWith('TLS:') || tookMs > QUICK_FAILURE_MS) return null;
  return probeTls(endpoint, session.tlsSettings(), QUICK_FAILURE_MS).catch(() => null);
}

const cell = (v: string | number | null): string => (v === null ? '-' : String(v));

export function renderEndpointStatus(rows: readonly EndpointStatusJson[], format: Format): string {
  switch (format) {
    case 'json':
      return `${jsonText(rows, 2)}\n`;
    case 'table':
      return plainTable(
        ['ENDPOINT', 'ID', 'VERSION', 'DB-SIZE', 'ROLE', 'LEADER', 'TERM', 'COMMIT', 'APPLIED', 'LATENCY', 'ERRORS'],
        rows.map((r) => [
          r.endpoint,
          cell(r.id),
          cell(r.version),
          r.dbSizeBytes === null ? '-' : formatBytes(r.dbSizeBytes),
          cell(r.role),
          cell(r.leader),
          cell(r.term),
          cell(r.commitIndex),
          cell(r.appliedIndex),
          r.latencyMs === null ? '-' : formatDuration(r.latencyMs),
          r.errors.length === 0 ? '-' : r.errors.join('; '),
        ]),
      );
    default: {
      const never: never = format;
      return never;
    }
  }
}

export function registerEndpoint(program: Command, session: Session): void {
  const endpoint = program.command('endpoint').description("each controller's own view of itself");
  endpoint
    .command('status')
    .description('term, indexes, leader, database size and problems of each endpoint (--cluster: of every member)')
    .option('--cluster', 'ask every member of the cluster at its address, not just the endpoints given', false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('table'))
    .action(async (opts: { readonly cluster: boolean; readonly output: Format }) => {
      const operator = session.operator();
      let targets: { endpoint: string; id: string | null }[];
      if (opts.cluster) {
        const list = await operator.memberList({ serializable: true });
        targets = list.members.map((m) => ({ endpoint: m.address, id: m.id }));
        // The endpoints given too: one that answers for another cluster (a second cluster under
        // the same file) is no member of this one's list, and must still be seen.
        const listed = new Set(targets.map((t) => t.endpoint));
        for (const e of session.endpoints()) if (!listed.has(e)) targets.push({ endpoint: e, id: null });
      } else {
        targets = session.endpoints().map((e) => ({ endpoint: e, id: null }));
      }
      const rows = await Promise.all(
        targets.map(async (t) => {
          const started = performance.now();
          try {
            const s = await operator.endpointStatusOn(t.endpoint);
            return row(t.endpoint, t.id, s, performance.now() - started, s.errors);
          } catch (err) {
            const reason = err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err);
            const tls = await tlsCause(session, t.endpoint, reason, performance.now() - started);
            return row(t.endpoint, t.id, null, null, tls === null ? [reason] : [tls, reason]);
          }
        }),
      );
      session.io.out(renderEndpointStatus(rows, opts.output));
      const mixed = mixedClusters(rows);
      if (mixed !== null) throw new EndpointsFailedError(`the endpoints belong to different clusters: ${mixed}; check --endpoints`, EXIT_FAILED);
      // Each of two clusters under one cluster file answers for itself alone; its members name
      // the other's (a restore run on more than one host): as `ctl health` does, fail.
      const other = otherClusterPeers(rows);
      if (other !== null) throw new EndpointsFailedError(`${other}: ${OTHER_CLUSTER_FIX}`, EXIT_FAILED);
      const failed = rows.filter((r) => r.latencyMs === null);
      if (failed.length > 0) {
        const code = failed.length === rows.length ? EXIT_UNREACHABLE : EXIT_FAILED;
        const tlsOf = (r: EndpointStatusJson): string | null => (r.errors[0]?.startsWith('TLS:') === true ? r.errors[0].replace(` (${r.endpoint})`, '') : null);
        const named = failed.map((r) => (tlsOf(r) === null ? r.endpoint : `${r.endpoint} (${tlsOf(r)})`));
        throw new EndpointsFailedError(`${failed.length} of ${rows.length} endpoints did not answer: ${named.join(', ')}`, code);
      }
    });
}
