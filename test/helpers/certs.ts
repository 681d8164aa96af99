/**
 * Throwaway certificate authorities and node certificates for TLS tests, made with openssl
 * exactly as docs/deploy.md tells operators to (EC P-256, SAN 127.0.0.1, server+client use).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TlsFiles } from '../../src/transport/credentials.js';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export class CertMaker {
  private serial = 1;

  constructor(readonly dir: string) {}

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  makeCa(name: string): void {
    this.openssl('req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`);
  }

  /**
   * A node certificate usable both to serve and to dial, valid for 127.0.0.1 (or `san`) for
   * `days` days from now (-1: expired yesterday). With `peer`, it also carries the peer URI of
   * that member (docs/deploy.md): a controller's certificate. `subject` replaces the subject
   * `/CN=name` (a certificate with no CN, say).
   */
  makeCert(ca: string, name: string, opts: { readonly peer?: string; readonly cn?: string; readonly subject?: string; readonly days?: number; readonly san?: string } = {}): TlsFiles {
    const uri = opts.peer === undefined ? '' : `,URI:urn:raft-controller:peer:${opts.peer}`;
    fs.writeFileSync(
      path.join(this.dir, 'ext.cnf'),
      `basicConstraints=CA:FALSE\nsubjectAltName=${opts.san ?? 'IP:127.0.0.1,DNS:localhost'}${uri}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    this.openssl('req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', opts.subject ?? `/CN=${opts.cn ?? name}`);
    const serial = String(this.serial++);
    this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', serial, '-days', String(opts.days ?? 1), '-extfile', 'ext.cnf', '-out', `${name}.crt`);
    return { ca: path.join(this.dir, `${ca}.crt`), cert: path.join(this.dir, `${name}.crt`), key: path.join(this.dir, `${name}.key`) };
  }
}
