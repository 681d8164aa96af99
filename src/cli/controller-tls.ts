/**
 * A controller's TLS files, checked with its config before anything starts: each is readable
 * and holds what its key needs, the key matches the certificate, and the certificate is this
 * node's peer certificate, and an agent CA is a CA of its own. A problem is a config error
 * (exit 2) naming the key and the file, instead of OpenSSL's words from inside gRPC and exit 1
 * with a stack trace.
 */
import type { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError, type NodeConfig } from '../config/index.js';
import { ownCertificateProblem } from '../transport/index.js';
import { crlCoverageProblem } from '../transport/crl-coverage.js';
import { pemCertificates, pemCrls, tlsFileProblem, type TlsRole } from '../transport/tls-files.js';

const CONFIG_KEY: Readonly<Record<TlsRole, string>> = { ca: 'tls.ca', cert: 'tls.cert', key: 'tls.key', clientCa: 'tls.client_ca', agentCa: 'tls.agent_ca', metricsClientCa: 'tls.metrics_client_ca', crl: 'tls.crl' };

export function checkTlsConfig(file: string, config: NodeConfig): void {
  if (config.tls === null) return;
  const refuse = (keyPath: string, reason: string): never => {
    throw new ConfigError(file, [{ keyPath, reason, line: null }]);
  };
  const problem = tlsFileProblem(config.tls);
  if (problem?.kind === 'file') refuse(CONFIG_KEY[problem.role], `${problem.file}: ${problem.reason}`);
  if (problem?.kind === 'mismatch') refuse('tls.key', `${problem.keyFile} does not match the certificate in tls.cert ${problem.certFile}`);
  // With TLS, this node's certificate must be its peer certificate, or every peer refuses it.
  const own = ownCertificateProblem(fs.readFileSync(config.tls.cert), config.self.id);
  if (own !== null) refuse('tls.cert', `${config.tls.cert}: ${own}`);
  // With a CRL, OpenSSL refuses every certificate of a CA with no current CRL in the file:
  // without the controllers' CA's, every peer.
  if (config.tls.crl !== null) {
    const crl = config.tls.crl;
    const cas = (
      [
        ['tls.ca', config.tls.ca],
        ['tls.client_ca', config.tls.clientCa],
        ['tls.agent_ca', config.tls.agentCa],
        ['tls.metrics_client_ca', config.tls.metrics ? config.tls.metricsClientCa : null],
      ] as const
    ).flatMap(([key, file]) => (file === null ? [] : [[`${key} ${file}`, pemCertificates(fs.readFileSync(file))] as const]));
    let gap;
    try {
      gap = crlCoverageProblem(pemCrls(fs.readFileSync(crl)).map(pemDer), cas);
    } catch (err) {
      refuse('tls.crl', `${crl}: ${(err as Error).message}`);
    }
    const subject = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');
    if (gap?.kind === 'missing') {
      refuse('tls.crl', `${crl} holds no CRL from the CA ${subject(gap.ca)} (in ${gap.key}): OpenSSL would refuse every certificate it signs; add that CA's current CRL (an empty one if it revokes nothing)`);
    }
    if (gap?.kind === 'expired') {
      refuse('tls.crl', `${crl}: the CRL from the CA ${subject(gap.ca)} (in ${gap.key}) is past its nextUpdate, ${new Date(gap.nextUpdate).toISOString()}: OpenSSL would refuse every certificate it signs; issue a fresh CRL`);
    }
  }
  // A CA shared with the controllers or the operators would make their certificates agents'.
  if (config.tls.agentCa !== null) {
    const agentCas = fingerprints(config.tls.agentCa);
    for (const [key, file] of [['tls.ca', config.tls.ca], ['tls.client_ca', config.tls.clientCa]] as const) {
      if (file === null) continue;
      const shared = [...fingerprints(file)].find(([fp]) => agentCas.has(fp));
      if (shared !== undefined) {
        refuse('tls.agent_ca', `${config.tls.agentCa} holds the CA certificate ${shared[1]} that ${key} holds too; the agent CA must be a CA of its own, or every certificate ${key} signs would count as an agent's`);
      }
    }
  }
}

/** The DER inside one PEM block. */
function pemDer(block: string): Buffer {
  return Buffer.from(block.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** Each certificate of a PEM bundle (already checked to parse): fingerprint to subject. */
function fingerprints(file: string): Map<string, string> {
  return new Map(pemCertificates(fs.readFileSync(file)).map((c) => [c.fingerprint256, c.subject.replace(/\n/g, ', ')]));
}
