/**
 * TLS files checked before use, so a bad one is named with its cause instead of surfacing as
 * OpenSSL's "error:0480006C:PEM routines::no start line" from deep inside gRPC: each file must
 * be readable and hold what its role needs (PEM certificates, a private key), and the key must
 * belong to the certificate. The caller names the files in its own terms: `--tls-cert` for ctl
 * and the agent, `tls.cert` for a controller's config.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readRegularFileSync } from '../util/bounded-read.js';

export type TlsRole = 'ca' | 'cert' | 'key' | 'clientCa' | 'agentCa' | 'metricsClientCa' | 'crl';

export interface TlsFileSet {
  readonly ca?: string | null | undefined;
  readonly cert?: string | null | undefined;
  readonly key?: string | null | undefined;
  readonly clientCa?: string | null | undefined;
  readonly agentCa?: string | null | undefined;
  readonly metricsClientCa?: string | null | undefined;
  readonly crl?: string | null | undefined;
}

export type TlsFileProblem =
  /** One file is unusable for its role. */
  | { readonly kind: 'file'; readonly role: TlsRole; readonly file: string; readonly reason: string }
  /** The key is a key, the certificate a certificate, but not a pair. */
  | { readonly kind: 'mismatch'; readonly keyFile: string; readonly certFile: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

class Unusable extends Error {}

/** How a file's bytes are read: the disk, or (a reload) the bytes already read once. */
export type ReadTlsFile = (file: string) => Buffer;

/**
 * The most a TLS file may hold. CRLs are the large ones: one of 8.9 MB (300,000 serials) held a
 * controller's event loop for about 4.5 s at a reload; a bigger file is refused, not read.
 */
export const TLS_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** A TLS file from disk: a regular file (never a FIFO or a device) of at most TLS_FILE_MAX_BYTES. */
export const readTlsFileFromDisk: ReadTlsFile = (file) => readRegularFileSync(file, TLS_FILE_MAX_BYTES);

function read(file: string, readFile: ReadTlsFile): Buffer {
  try {
    return readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Unusable(`cannot read it (${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a directory' : e.message})`);
  }
}

/** The certificate blocks of a PEM text, parsed (a block that does not parse throws); none: []. */
export function pemCertificates(pem: Buffer | string): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  return (text.match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block));
}

/** Every certificate of a PEM file (a CA bundle may hold several); the first is the leaf's. */
function certificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new Unusable('not a PEM certificate (no -----BEGIN CERTIFICATE----- block)');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new Unusable('not a PEM certificate (a certificate block does not parse)');
    }
  });
}

/**
 * A certificate outside its validity period is refused by every peer at the handshake, where
 * the error names no cause ("certificate expired" arrives as an alert, or not at all): say so
 * before connecting, naming the date.
 */
function current(cert: X509Certificate, now: number = Date.now()): X509Certificate {
  const to = Date.parse(cert.validTo);
  const from = Date.parse(cert.validFrom);
  // The clock is named too: a host whose clock is wrong sees a valid certificate as expired or not
  // yet valid, and renewing the certificate would not help (attack-operator round 16).
  const clock = `; this host's clock reads ${new Date(now).toISOString()}: if that is wrong, set the clock rather than the certificate`;
  if (Number.isFinite(to) && to < now) throw new Unusable(`the certificate expired on ${new Date(to).toISOString()}${clock}`);
  if (Number.isFinite(from) && from > now) throw new Unusable(`the certificate is not valid before ${new Date(from).toISOString()}${clock}`);
  return cert;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const PEM_CRL = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g;

/**
 * The CRL blocks of a PEM text, one string each: Node's `crl` option reads only the first CRL
 * of a string or Buffer (the rest of a file of several would be ignored, and the certificates
 * of those CAs refused for want of a CRL), so it must be given an array.
 */
export function pemCrls(pem: Buffer | string): string[] {
  return (typeof pem === 'string' ? pem : pem.toString('latin1')).match(PEM_CRL) ?? [];
}

/**
 * A file of PEM certificate revocation lists, and nothing else (a certificate in it would be
 * silently ignored by OpenSSL, which is how a CA certificate put there by mistake would go
 * unnoticed), that Node's TLS accepts as `crl`.
 */
function revocationLists(pem: Buffer): void {
  const labels = [...pem.toString('latin1').matchAll(PEM_BLOCK)].map((m) => m[1]);
  if (labels.length === 0) throw new Unusable('not a PEM certificate revocation list (no -----BEGIN X509 CRL----- block)');
  const other = labels.find((label) => label !== 'X509 CRL');
  if (other !== undefined) throw new Unusable(`holds a -----BEGIN ${other}----- block; it takes PEM certificate revocation lists (-----BEGIN X509 CRL-----) only`);
  const blocks = pemCrls(pem);
  if (blocks.length !== labels.length) throw new Unusable('not a usable certificate revocation list (an X509 CRL block is not closed by its -----END X509 CRL----- line)');
  try {
    createSecureContext({ crl: blocks });
  } catch (err) {
    throw new Unusable(`not a usable certificate revocation list (OpenSSL: ${(err as Error).message})`);
  }
}

function privateKey(pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // OpenSSL asks for a passphrase nobody gives; the error then says "interrupted or cancelled".
    if (/ENCRYPTED/.test(pem.toString('latin1'))) throw new Unusable('an encrypted private key (give it unencrypted)');
    throw new Unusable('not a PEM private key');
  }
}

/** `parse` of `file`'s contents; an unusable file becomes its problem, named by `role`. */
function useFile<T>(role: TlsRole, file: string, parse: (pem: Buffer) => T, readFile: ReadTlsFile): T {
  try {
    return parse(read(file, readFile));
  } catch (err) {
    if (err instanceof Unusable) throw new Found({ kind: 'file', role, file, reason: err.message });
    throw err;
  }
}

class Found extends Error {
  constructor(readonly problem: TlsFileProblem) {
    super(problem.kind);
  }
}

function pairs(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // a key of another kind (a public key, a secret) is no pair either
  }
}

/**
 * The first problem with `files` (absent ones are not checked), or null when all are usable.
 * `readFile` lets a reload check the very bytes it will use, not a second read of the disk.
 */
export function tlsFileProblem(files: TlsFileSet, readFile: ReadTlsFile = readTlsFileFromDisk, now: number = Date.now()): TlsFileProblem | null {
  const use = <T>(role: TlsRole, file: string, parse: (pem: Buffer) => T): T => useFile(role, file, parse, readFile);
  try {
    if (files.ca != null) use('ca', files.ca, certificates);
    if (files.clientCa != null) use('clientCa', files.clientCa, certificates);
    if (files.agentCa != null) use('agentCa', files.agentCa, certificates);
    if (files.metricsClientCa != null) use('metricsClientCa', files.metricsClientCa, certificates);
    if (files.crl != null) use('crl', files.crl, revocationLists);
    const cert = files.cert == null ? null : use('cert', files.cert, (pem) => current(certificates(pem)[0]!, now));
    const key = files.key == null ? null : use('key', files.key, privateKey);
    if (cert !== null && key !== null && !pairs(cert, key)) return { kind: 'mismatch', keyFile: files.key!, certFile: files.cert! };
    return null;
  } catch (err) {
    if (err instanceof Found) return err.problem;
    throw err;
  }
}

/** The problem in one line, each file named by `nameOf` its role (`--tls-cert`, `tls.cert`). */
export function describeTlsFileProblem(p: TlsFileProblem, nameOf: (role: TlsRole) => string): string {
  return p.kind === 'file'
    ? `${nameOf(p.role)} ${p.file}: ${p.reason}`
    : `${nameOf('key')} ${p.keyFile} does not match the certificate in ${nameOf('cert')} ${p.certFile}`;
}
