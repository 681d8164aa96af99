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

  /** A self-signed CA in `<name>.crt` / `<name>.key`; `cn`: its subject's CN when not `name` (two CAs of one name). */
  makeCa(name: string, opts: { readonly cn?: string } = {}): void {
    this.openssl('req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${opts.cn ?? name}`);
  }

  /** An intermediate CA `name` signed by CA `root` (usable as `ca` by makeCert and crl). */
  makeIntermediate(root: string, name: string): void {
    fs.writeFileSync(path.join(this.dir, 'ext-ca.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    this.openssl('req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${root}.crt`, '-CAkey', `${root}.key`, '-set_serial', String(this.serial++), '-days', '1', '-extfile', 'ext-ca.cnf', '-out', `${name}.crt`);
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

  /**
   * Marks certificate `name` (made by makeCert) revoked in CA `ca`'s database, as an operator
   * would with `openssl ca -revoke`; it shows in the CA's next crl().
   */
  revoke(ca: string, name: string): void {
    this.caDatabase(ca);
    this.openssl('ca', '-config', `${ca}.ca.cnf`, '-revoke', `${name}.crt`, '-keyfile', `${ca}.key`, '-cert', `${ca}.crt`);
  }

  /**
   * CA `ca`'s PEM CRL (every certificate revoked so far), written to `<ca>.crl`; its path. With
   * `expired`, its nextUpdate is already past (lastUpdate two days ago, nextUpdate yesterday),
   * written to `<ca>.expired.crl`. `days`: its nextUpdate that many days ahead (default 1).
   */
  crl(ca: string, opts: { readonly expired?: boolean; readonly future?: boolean; readonly days?: number } = {}): string {
    this.caDatabase(ca);
    const day = 24 * 3600 * 1000;
    const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
    const when = opts.expired
      ? ['-crl_lastupdate', stamp(Date.now() - 2 * day), '-crl_nextupdate', stamp(Date.now() - day)]
      : opts.future
        ? ['-crl_lastupdate', stamp(Date.now() + 2 * day), '-crl_nextupdate', stamp(Date.now() + 3 * day)]
        : ['-crldays', String(opts.days ?? 1)];
    const out = opts.expired ? `${ca}.expired.crl` : opts.future ? `${ca}.future.crl` : `${ca}.crl`;
    this.openssl('ca', '-config', `${ca}.ca.cnf`, '-gencrl', '-keyfile', `${ca}.key`, '-cert', `${ca}.crt`, ...when, '-out', out);
    return path.join(this.dir, out);
  }

  /** The minimal `openssl ca` config and database (index.txt) of CA `ca`, made once. */
  private caDatabase(ca: string): void {
    const cnf = path.join(this.dir, `${ca}.ca.cnf`);
    if (fs.existsSync(cnf)) return;
    fs.writeFileSync(path.join(this.dir, `${ca}.index.txt`), '');
    fs.writeFileSync(path.join(this.dir, `${ca}.crlnumber`), '01\n');
    fs.writeFileSync(cnf, `[ca]\ndefault_ca = own\n[own]\ndatabase = ${ca}.index.txt\ncrlnumber = ${ca}.crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n`);
  }
}
