/**
 * A controller's TLS files as one snapshot: each file read once, checked exactly as the
 * controller checks them at start, and kept as the bytes that were checked. Start and reload
 * both come through here, so a reload can never accept what a start would refuse, and what is
 * swapped in is what was checked, not a second read of a file an operator is still writing.
 *
 * The checks: each file readable and holding what its key needs, the key matching the
 * certificate, the certificate current and this node's peer certificate, a current CRL from
 * every CA that signs client certificates (OpenSSL refuses every certificate of a CA without
 * one, crl-coverage.ts), and an agent CA that is a CA of its own.
 */
import { X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../config/types.js';
import { subjectText } from './cert-subject.js';
import { crlCoverageProblem, crlSummary, type CrlSummary } from './crl-coverage.js';
import { ownCertificateProblem } from './peer-auth.js';
import { pemCertificates, pemCrls, readTlsFileFromDisk, tlsFileProblem, type ReadTlsFile, type TlsRole } from './tls-files.js';

/** The paths of a controller's `tls` block: the config's own type, one from the file to the reload. */
export type ControllerTlsFiles = TlsConfig;

export interface TlsSnapshot {
  readonly files: ControllerTlsFiles;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa: Buffer | null;
  readonly agentCa: Buffer | null;
  /** Only with `files.metrics` (it is no CA of anything otherwise). */
  readonly metricsClientCa: Buffer | null;
  readonly crl: Buffer | null;
  /** The leaf of `cert`. */
  readonly certificate: X509Certificate;
  /** Each CRL of `crl`, in file order; empty without one. */
  readonly crls: readonly CrlSummary[];
}

/** Why the files are refused: the config key, its file, and the reason (which names the file). */
export interface TlsCheckProblem {
  readonly keyPath: string;
  readonly file: string;
  readonly reason: string;
}

export type TlsSnapshotResult = { readonly ok: true; readonly snapshot: TlsSnapshot } | { readonly ok: false; readonly problem: TlsCheckProblem };

export const TLS_CONFIG_KEY: Readonly<Record<TlsRole, string>> = {
  ca: 'tls.ca',
  cert: 'tls.cert',
  key: 'tls.key',
  clientCa: 'tls.client_ca',
  agentCa: 'tls.agent_ca',
  metricsClientCa: 'tls.metrics_client_ca',
  crl: 'tls.crl',
};

/** The DER inside one PEM block. */
export function pemDer(block: string): Buffer {
  return Buffer.from(block.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

const subjectOf = (c: X509Certificate): string => subjectText(c);

class Refused extends Error {
  constructor(readonly problem: TlsCheckProblem) {
    super(problem.reason);
  }
}

/** Reads and checks `files` for member `selfId` at `now`; `readFile` is the disk unless a test says otherwise. */
export function readTlsSnapshot(files: ControllerTlsFiles, selfId: string, opts: { readonly readFile?: ReadTlsFile; readonly now?: number } = {}): TlsSnapshotResult {
  const disk = opts.readFile ?? readTlsFileFromDisk;
  const now = opts.now ?? Date.now();
  // One read per path: every check below, and the snapshot, see the same bytes.
  const seen = new Map<string, Buffer>();
  const readOnce = (file: string): Buffer => {
    const hit = seen.get(file);
    if (hit !== undefined) return hit;
    const bytes = disk(file);
    seen.set(file, bytes);
    return bytes;
  };
  const refuse = (keyPath: string, file: string, reason: string): never => {
    throw new Refused({ keyPath, file, reason });
  };
  try {
    const metricsClientCa = files.metrics ? files.metricsClientCa : null;
    const problem = tlsFileProblem({ ...files, metricsClientCa }, readOnce, now);
    if (problem?.kind === 'file') refuse(TLS_CONFIG_KEY[problem.role], problem.file, `${problem.file}: ${problem.reason}`);
    if (problem?.kind === 'mismatch') refuse('tls.key', problem.keyFile, `${problem.keyFile} does not match the certificate in tls.cert ${problem.certFile}`);
    const cert = readOnce(files.cert);
    // With TLS, this node's certificate must be its peer certificate, or every peer refuses it.
    const own = ownCertificateProblem(cert, selfId);
    if (own !== null) refuse('tls.cert', files.cert, `${files.cert}: ${own}`);
    const crls = files.crl === null ? [] : coveringCrls(files, metricsClientCa, readOnce, now, refuse);
    if (files.agentCa !== null) checkAgentCaOwn(files, readOnce, refuse);
    const opt = (file: string | null): Buffer | null => (file === null ? null : readOnce(file));
    return {
      ok: true,
      snapshot: {
        files,
        ca: readOnce(files.ca),
        cert,
        key: readOnce(files.key),
        clientCa: opt(files.clientCa),
        agentCa: opt(files.agentCa),
        metricsClientCa: opt(metricsClientCa),
        crl: opt(files.crl),
        certificate: pemCertificates(cert)[0]!,
        crls,
      },
    };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, problem: err.problem };
    throw err;
  }
}

/**
 * The CRLs of `files.crl`, summarised, once each CA that signs client certificates is covered
 * by a current one: without the controllers' CA's, every peer would be locked out.
 */
function coveringCrls(files: ControllerTlsFiles, metricsClientCa: string | null, readOnce: ReadTlsFile, now: number, refuse: (keyPath: string, file: string, reason: string) => never): CrlSummary[] {
  const crl = files.crl!;
  const cas: [string, X509Certificate[]][] = (
    [
      ['tls.ca', files.ca],
      ['tls.client_ca', files.clientCa],
      ['tls.agent_ca', files.agentCa],
      ['tls.metrics_client_ca', metricsClientCa],
    ] as const
  ).flatMap(([key, file]) => (file === null ? [] : [[`${key} ${file}`, pemCertificates(readOnce(file))]]));
  // Intermediate CAs in this member's own chain: the other members' certificates come from them
  // too, and OpenSSL wants a CRL for every CA of a chain it is sent (UNABLE_TO_GET_CRL otherwise).
  const chainCas = pemCertificates(readOnce(files.cert)).slice(1).filter((c) => c.ca);
  if (chainCas.length > 0) cas.push([`tls.cert ${files.cert} (its chain)`, chainCas]);
  const ders = pemCrls(readOnce(crl)).map(pemDer);
  let gap;
  try {
    gap = crlCoverageProblem(ders, cas, now);
  } catch (err) {
    return refuse('tls.crl', crl, `${crl}: ${(err as Error).message}`);
  }
  if (gap?.kind === 'missing') {
    refuse('tls.crl', crl, `${crl} holds no CRL from the CA ${subjectOf(gap.ca)} (in ${gap.key}): OpenSSL would refuse every certificate it signs; add that CA's current CRL (an empty one if it revokes nothing)`);
  }
  if (gap?.kind === 'wrong-signer') {
    refuse('tls.crl', crl, `${crl} holds a CRL under the name of the CA ${subjectOf(gap.ca)} (in ${gap.key}) that this CA's key did not sign (a CRL of another CA with the same name?): OpenSSL would refuse every certificate the CA signs (CRL_SIGNATURE_FAILURE); take the CRL this CA issued`);
  }
  if (gap?.kind === 'not-yet-valid') {
    refuse('tls.crl', crl, `${crl}: the CRL from the CA ${subjectOf(gap.ca)} (in ${gap.key}) is issued for ${new Date(gap.thisUpdate).toISOString()}, later than this host's clock: OpenSSL would refuse every certificate it signs until then (CRL_NOT_YET_VALID); check the CA's clock and this host's, or wait`);
  }
  if (gap?.kind === 'expired') {
    refuse('tls.crl', crl, `${crl}: the CRL from the CA ${subjectOf(gap.ca)} (in ${gap.key}) is past its nextUpdate, ${new Date(gap.nextUpdate).toISOString()}: OpenSSL would refuse every certificate it signs; issue a fresh CRL`);
  }
  return ders.map(crlSummary);
}

/** A CA shared with the controllers or the operators would make their certificates agents'. */
function checkAgentCaOwn(files: ControllerTlsFiles, readOnce: ReadTlsFile, refuse: (keyPath: string, file: string, reason: string) => never): void {
  const fingerprints = (file: string): Map<string, string> => new Map(pemCertificates(readOnce(file)).map((c) => [c.fingerprint256, subjectOf(c)]));
  const agentCa = files.agentCa!;
  const agentCas = fingerprints(agentCa);
  for (const [key, file] of [['tls.ca', files.ca], ['tls.client_ca', files.clientCa]] as const) {
    if (file === null) continue;
    const shared = [...fingerprints(file)].find(([fp]) => agentCas.has(fp));
    if (shared !== undefined) {
      refuse('tls.agent_ca', agentCa, `${agentCa} holds the CA certificate ${shared[1]} that ${key} holds too; the agent CA must be a CA of its own, or every certificate ${key} signs would count as an agent's`);
    }
  }
}
