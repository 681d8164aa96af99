/**
 * The certificates a set of CRLs revokes, to find the connections a reload must close: OpenSSL
 * checks a CRL only in a handshake, so a connection a revoked certificate opened before the
 * new CRL went in would otherwise keep its calls, watches and streams until it closed.
 *
 * A certificate is named by its issuer's Name (DER) and its serial number, as RFC 5280 5.3
 * has a CRL name it. The CRLs are the ones a snapshot already checked (tls-snapshot.ts): each
 * under a configured CA's name is signed by that CA, so its list is the CA's word.
 */
import type { X509Certificate } from 'node:crypto';
import { children, INTEGER, isTime, Malformed, SEQUENCE, spanAt, tlv } from './der.js';

/** A serial's INTEGER content as hex, without the sign byte DER adds before a high bit. */
function serialHex(content: Buffer): string {
  let i = 0;
  while (i < content.length - 1 && content[i] === 0) i++;
  return content.subarray(i).toString('hex');
}

/** Issuer Name (DER, hex) and serial (hex) of a certificate (RFC 5280 4.1). */
function certificateName(cert: X509Certificate): { readonly issuer: string; readonly serial: string } {
  const tbs = children(tlv(cert.raw).content)[0];
  if (tbs === undefined) throw new Malformed('no tbsCertificate');
  const fields = children(tbs.content);
  const i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version, optional
  const serial = fields[i];
  const issuer = fields[i + 2]; // serialNumber, signature, issuer
  if (serial?.tag !== INTEGER || issuer?.tag !== SEQUENCE) throw new Malformed('no serial and issuer');
  return { issuer: issuer.der.toString('hex'), serial: serialHex(serial.content) };
}

/** Issuer and revoked serials of one DER CertificateList (RFC 5280 5.1). */
function revokedBy(der: Buffer): { readonly issuer: string; readonly serials: string[] } {
  const tbs = children(tlv(der).content)[0];
  if (tbs?.tag !== SEQUENCE) throw new Malformed('no tbsCertList');
  const fields = children(tbs.content);
  let i = fields[0]?.tag === INTEGER ? 1 : 0; // version, optional
  const issuer = fields[i + 1];
  if (issuer?.tag !== SEQUENCE || !isTime(fields[i + 2])) throw new Malformed('no issuer and thisUpdate');
  i += 3;
  if (isTime(fields[i])) i++; // nextUpdate, optional
  const list = fields[i];
  return { issuer: issuer.der.toString('hex'), serials: list?.tag !== SEQUENCE ? [] : listedSerials(list.content) };
}

/** The serials of revokedCertificates' entries, read by offsets (a large CRL has 100,000s). */
function listedSerials(list: Buffer): string[] {
  const serials: string[] = [];
  for (let at = 0; at < list.length; ) {
    const entry = spanAt(list, at, list.length);
    const serial = spanAt(list, entry.contentStart, entry.end);
    if (serial.tag !== INTEGER || serial.end === serial.contentStart) throw new Malformed('a revoked entry without a serial');
    let start = serial.contentStart;
    while (start < serial.end - 1 && list[start] === 0) start++;
    serials.push(list.toString('hex', start, serial.end));
    at = entry.end;
  }
  return serials;
}

export class Revocations {
  /** Serials by issuer: a few CAs, each with up to 100,000s of serials (one Set each, not a second Set of all). */
  private readonly byIssuer = new Map<string, Set<string>>();

  /** From the DER of each CRL; throws on one that does not parse (a checked snapshot's never does). */
  constructor(crls: readonly Buffer[]) {
    for (const der of crls) {
      const { issuer, serials } = revokedBy(der);
      const known = this.byIssuer.get(issuer);
      if (known === undefined) this.byIssuer.set(issuer, new Set(serials));
      else for (const s of serials) known.add(s);
    }
  }

  get empty(): boolean {
    for (const serials of this.byIssuer.values()) if (serials.size > 0) return false;
    return true;
  }

  /** Whether any CRL lists this serial (lower-case hex of its whole bytes, as Node's serialNumber has it). */
  listsSerial(serialHex: string): boolean {
    const serial = serialHex.replace(/^(00)+(?=..)/, '');
    for (const serials of this.byIssuer.values()) if (serials.has(serial)) return true;
    return false;
  }

  /** Whether a CRL of its issuer lists it. A certificate that does not parse is not judged here. */
  revokes(cert: X509Certificate): boolean {
    let name;
    try {
      name = certificateName(cert);
    } catch {
      return false;
    }
    return this.byIssuer.get(name.issuer)?.has(name.serial) === true;
  }
}
