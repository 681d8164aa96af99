/**
 * A controller's TLS files, checked with its config before anything starts: each is readable
 * and holds what its key needs, the key matches the certificate, and the certificate is this
 * node's peer certificate. A problem is a config error (exit 2) naming the key and the file,
 * instead of OpenSSL's words from inside gRPC and exit 1 with a stack trace.
 */
import fs from 'node:fs';
import { ConfigError, type NodeConfig } from '../config/index.js';
import { ownCertificateProblem } from '../transport/index.js';
import { tlsFileProblem, type TlsRole } from '../transport/tls-files.js';

const CONFIG_KEY: Readonly<Record<TlsRole, string>> = { ca: 'tls.ca', cert: 'tls.cert', key: 'tls.key', clientCa: 'tls.client_ca' };

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
}
