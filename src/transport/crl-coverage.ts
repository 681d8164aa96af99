/**
 * Whether a tls.crl file covers the CAs that sign client certificates. With a CRL loaded,
 * OpenSSL refuses every certificate whose issuing CA has no CRL in it ("unable to get
 * certificate CRL") or whose CRL is past its nextUpdate ("CRL has expired"), the chain's CAs
 * included: a file without the controllers' CA's CRL locks out every peer. Node parses no CRL,
 * so this reads the fields it needs (issuer, thisUpdate, nextUpdate, the signature) from the DER
 * itself, and matches a CA by its subject's DER encoding (what a CA copies into the CRLs it signs).
 *
 * A name is not proof: two CAs may share one (deploy.md's recipe names every CA
 * /CN=controller-ca), and OpenSSL, finding a CRL under the CA's name that the CA did not sign,
 * refuses the certificate (CRL_SIGNATURE_FAILURE); nor does it take a CRL issued in the future
 * (CRL_NOT_YET_VALID). Both locked a restarted member out of its cluster (attack round 8), so
 * both are refused here too: each CRL under a CA's name is verified with that CA's key.
 */
import { verify, type X509Certificate } from 'node:crypto';
import { BIT_STRING, children, INTEGER, isTime, Malformed, OID, SEQUENCE, time, tlv } from './der.js';

/** Signature algorithms by their OID's DER content: the digest crypto.verify takes (null: the key's own, Ed25519/Ed448). */
const SIGNATURE_DIGESTS: ReadonlyMap<string, string | null> = new Map([
  ['2a864886f70d010105', 'sha1'], // sha1WithRSAEncryption
  ['2a864886f70d01010b', 'sha256'], // sha256WithRSAEncryption
  ['2a864886f70d01010c', 'sha384'],
  ['2a864886f70d01010d', 'sha512'],
  ['2a8648ce3d040302', 'sha256'], // ecdsa-with-SHA256
  ['2a8648ce3d040303', 'sha384'],
  ['2a8648ce3d040304', 'sha512'],
  ['2b6570', null], // Ed25519
  ['2b6571', null], // Ed448
]);
export interface CrlSummary {
  /** The CRL itself (DER), as it was checked. */
  readonly der: Buffer;
  /** DER of the issuer Name. */
  readonly issuer: Buffer;
  /** ms since the epoch: when the CA issued it (the start of its validity, for expiry warnings). */
  readonly thisUpdate: number;
  /** ms since the epoch; null when the CRL has none (OpenSSL then never counts it expired). */
  readonly nextUpdate: number | null;
}

/** What a CRL's signature covers and is, to check it against a CA's key. */
interface CrlSignature {
  readonly tbs: Buffer;
  /** undefined: an algorithm this check does not know (RSA-PSS, say): not judged. */
  readonly digest: string | null | undefined;
  readonly signature: Buffer;
}

function crlSignature(der: Buffer): CrlSignature {
  const [tbs, algorithm, value] = children(tlv(der).content);
  if (tbs === undefined || algorithm?.tag !== SEQUENCE || value?.tag !== BIT_STRING) throw new Malformed('no signature');
  const oid = children(algorithm.content)[0];
  if (oid?.tag !== OID) throw new Malformed('no signature algorithm');
  // A BIT STRING's first byte counts the unused bits of its last: a signature uses them all.
  if (value.content[0] !== 0) throw new Malformed('a signature that is not whole bytes');
  return { tbs: tbs.der, digest: SIGNATURE_DIGESTS.get(oid.content.toString('hex')), signature: value.content.subarray(1) };
}

/** Whether `ca`'s key signed the CRL; null when its algorithm is not one this check knows. */
export function signedBy(der: Buffer, ca: X509Certificate): boolean | null {
  const s = crlSignature(der);
  if (s.digest === undefined) return null;
  try {
    return verify(s.digest, s.tbs, ca.publicKey, s.signature);
  } catch {
    // A key of another type than the signature's (an RSA CA, an ECDSA signature): not its signer.
    return false;
  }
}

/** Issuer and nextUpdate of a DER CertificateList (RFC 5280 5.1). */
export function crlSummary(der: Buffer): CrlSummary {
  const list = tlv(der);
  if (list.tag !== SEQUENCE) throw new Malformed('not a SEQUENCE');
  const tbs = children(list.content)[0];
  if (tbs?.tag !== SEQUENCE) throw new Malformed('no tbsCertList');
  const fields = children(tbs.content);
  const i = fields[0]?.tag === INTEGER ? 1 : 0; // version, optional
  const issuer = fields[i + 1];
  if (issuer?.tag !== SEQUENCE || !isTime(fields[i + 2])) throw new Malformed('no issuer and thisUpdate');
  const next = fields[i + 3];
  return { der, issuer: issuer.der, thisUpdate: time(fields[i + 2]!), nextUpdate: isTime(next) ? time(next) : null };
}

/** DER of a certificate's subject Name (RFC 5280 4.1). */
export function subjectDer(cert: X509Certificate): Buffer {
  const tbs = children(tlv(cert.raw).content)[0];
  if (tbs === undefined) throw new Malformed('no tbsCertificate');
  const fields = children(tbs.content);
  const i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version, optional
  const subject = fields[i + 4]; // serialNumber, signature, issuer, validity, subject
  if (subject?.tag !== SEQUENCE) throw new Malformed('no subject');
  return subject.der;
}

export type CrlCoverageProblem =
  /** `ca` (a certificate of the file under `key`) has no CRL in the file. */
  | { readonly kind: 'missing'; readonly key: string; readonly ca: X509Certificate }
  /** A CRL under `ca`'s name that `ca`'s key did not sign (another CA of the same name). */
  | { readonly kind: 'wrong-signer'; readonly key: string; readonly ca: X509Certificate }
  /** A CRL under `ca`'s name issued after now (the CA's clock ahead, or dated ahead). */
  | { readonly kind: 'not-yet-valid'; readonly key: string; readonly ca: X509Certificate; readonly thisUpdate: number }
  /** Its CRL's nextUpdate (ms) has passed. */
  | { readonly kind: 'expired'; readonly key: string; readonly ca: X509Certificate; readonly nextUpdate: number };

/**
 * The first CA of `cas` (key: the certificates of that config key's file) that `crls` (DER)
 * leaves its certificates refused for: no CRL from it, or only expired ones. null: all covered.
 */
export function crlCoverageProblem(crls: readonly Buffer[], cas: ReadonlyArray<readonly [string, readonly X509Certificate[]]>, now: number = Date.now()): CrlCoverageProblem | null {
  let summaries: CrlSummary[];
  try {
    summaries = crls.map(crlSummary);
    for (const der of crls) crlSignature(der);
  } catch (err) {
    if (err instanceof Malformed) throw new Error(`a CRL whose DER does not parse (${err.message})`, { cause: err });
    throw err;
  }
  const everyCa = cas.flatMap(([, certs]) => certs);
  for (const [key, certs] of cas) {
    for (const ca of certs) {
      const subject = subjectDer(ca);
      const named = summaries.flatMap((s, i) => (s.issuer.equals(subject) ? [i] : []));
      if (named.length === 0) return { kind: 'missing', key, ca };
      // Any CRL under its name OpenSSL may pick: each must be signed by a configured CA of that
      // name (two CAs may share one, each with its CRL), and issued already.
      const signers = everyCa.filter((c) => subjectDer(c).equals(subject));
      for (const i of named) {
        if (signers.every((c) => signedBy(crls[i]!, c) === false)) return { kind: 'wrong-signer', key, ca };
        if (summaries[i]!.thisUpdate > now) return { kind: 'not-yet-valid', key, ca, thisUpdate: summaries[i]!.thisUpdate };
      }
      const own = named.filter((i) => signedBy(crls[i]!, ca) !== false).map((i) => summaries[i]!);
      if (own.length === 0) return { kind: 'missing', key, ca };
      // Of several CRLs from one CA OpenSSL prefers a current one: any one will do.
      if (own.every((s) => s.nextUpdate !== null && s.nextUpdate < now)) {
        return { kind: 'expired', key, ca, nextUpdate: Math.max(...own.map((s) => s.nextUpdate ?? 0)) };
      }
    }
  }
  return null;
}
